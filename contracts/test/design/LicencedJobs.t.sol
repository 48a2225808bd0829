// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "../utils/MarketFixture.sol";
import {IFabricationLicences} from "../../src/interfaces/IFabricationLicences.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {IJobMarketTypes} from "../../src/interfaces/IJobMarketTypes.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";
import {JobLib} from "../../src/libraries/JobLib.sol";

/// @dev A customer contract that accepts licences when it buys them, then refuses any ERC-1155 token: it
/// must not be able to block its licensed job's expiry (and so lock the shop's collateral).
contract ToggleCustomer {
    bool public accepting = true;

    function setAccepting(bool accepting_) external {
        accepting = accepting_;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external view returns (bytes4) {
        require(accepting, "no tokens now");
        return this.onERC1155Received.selector;
    }

    function call(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }
}

/// @notice Jobs for licensed designs: a customer holding a fabrication licence spends one instead of paying
/// the per-job royalty, gets it back when the job ends without a print (cancel, expiry, full refund), and
/// never twice; customers without one pay the royalty to the design's current owner.
contract LicencedJobsTest is MarketFixture {
    uint96 internal constant PRICE = 10e6;
    uint256 internal constant ROYALTY = AMOUNT * 500 / BPS; // the fixture's design: 5 %
    uint256 internal constant FEE = AMOUNT * FEE_BPS / BPS;
    uint256 internal constant CUSTOMER_KEY = 0xC057;

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        licences.setCurrency(address(usd), true);
        vm.prank(designer);
        licences.setTerms(designId, address(usd), PRICE, 0, 0, 0);
        vm.prank(customer);
        usd.approve(address(licences), type(uint256).max);
        watched.push(address(licences));
    }

    function _buyLicences(address who, uint256 prints) internal {
        vm.prank(who);
        licences.buy(designId, prints, who, address(usd), type(uint256).max);
    }

    /// @dev Posts a job for the fixture's design that spends one of the customer's licences.
    function _postLicensed() internal returns (uint256 id, Job memory job) {
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        id = market.post(address(usd), AMOUNT, SPEC_CID, designId, claimBy, 7 days, MIN_COLLATERAL, 0, 0);
        job = openJob(AMOUNT, 0, claimBy, 7 days, MIN_COLLATERAL);
        job.royaltyReceiver = address(licences);
        job.royalty = 0;
        job.key = uint64(id);
        require(market.statusOf(id, job) == JobStatus.Open, "licensed job struct");
    }

    function _usdCredit(address a) internal view returns (uint256) {
        return market.balanceOf(address(usd), a);
    }

    // ==================================================================================== royalty

    function test_withoutLicence_customerPaysTheRoyaltyToTheOwner() public {
        (uint256 id, Job memory job) = _delivered(designId);
        vm.assertEq(job.royaltyReceiver, designer, "receiver");
        vm.assertEq(job.royalty, ROYALTY, "royalty");
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_usdCredit(designer), ROYALTY, "the owner earns the royalty");
        vm.assertEq(_usdCredit(shop), AMOUNT - FEE - ROYALTY, "shop");
    }

    function test_licensedDesign_customerWithoutLicencePaysTheRoyaltyToTheCurrentOwner() public {
        vm.prank(stranger);
        usd.approve(address(licences), type(uint256).max);
        _buyLicences(stranger, 2); // someone else's licences: the design is licensed
        vm.prank(designer);
        designs.transferFrom(designer, shop2, designId);
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        vm.assertEq(job.royaltyReceiver, shop2, "the current owner");
        vm.assertEq(job.royalty, ROYALTY, "royalty");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "committed");
        vm.assertEq(licences.balanceOf(stranger, designId), 2, "nobody else's licence spent");
    }

    // ==================================================================================== licence used

    function test_licence_usedInsteadOfTheRoyalty() public {
        _buyLicences(customer, 2);
        uint256 designer0 = _usdCredit(designer);
        vm.expectEmit(address(licences));
        emit IFabricationLicences.LicenceUsed(1, customer, designId);
        (uint256 id, Job memory job) = _postLicensed();
        vm.assertEq(licences.balanceOf(customer, designId), 1, "one licence spent");
        (address c, uint256 d) = licences.licenceOf(id);
        vm.assertEq(c, customer, "recorded customer");
        vm.assertEq(d, designId, "recorded design");
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_usdCredit(shop), AMOUNT - FEE, "the shop gets all but the fee");
        vm.assertEq(_usdCredit(designer), designer0, "no per-job royalty");
        vm.assertEq(_usdCredit(address(licences)), 0, "nothing credited to the licences contract");
        vm.assertEq(licences.balanceOf(customer, designId), 1, "the licence stays spent");
    }

    function test_licence_usedByASignedOrder() public {
        address signer = vm.addr(CUSTOMER_KEY);
        vm.startPrank(owner);
        usd.mint(signer, 1_000e6);
        vm.stopPrank();
        vm.startPrank(signer);
        usd.approve(address(market), type(uint256).max);
        usd.approve(address(licences), type(uint256).max);
        licences.buy(designId, 1, signer, address(usd), type(uint256).max);
        vm.stopPrank();
        IJobMarketTypes.Order memory order = IJobMarketTypes.Order({
            customer: signer,
            token: address(usd),
            amount: AMOUNT,
            collateral: MIN_COLLATERAL,
            designId: designId,
            deliveryWindow: 7 days,
            targetNode: 0,
            expiry: uint40(block.timestamp + 1 days),
            nonce: 1,
            counter: 0,
            specCid: SPEC_CID
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(CUSTOMER_KEY, market.orderDigest(order));
        vm.prank(shop);
        uint256 id = market.take(order, abi.encodePacked(r, s, v), nodeId, 0);
        Job memory job = openJob(AMOUNT, 0, uint40(block.timestamp + 7 days), 7 days, MIN_COLLATERAL);
        job.customer = signer;
        job.node = shop;
        job.royaltyReceiver = address(licences);
        job.key = uint64(id);
        vm.assertEq(_status(id, job), uint256(JobStatus.Claimed), "taken with the licence");
        vm.assertEq(licences.balanceOf(signer, designId), 0, "spent");
    }

    function test_licence_ownDesignSpendsNoLicence() public {
        _buyLicences(customer, 1);
        vm.prank(designer);
        designs.transferFrom(designer, customer, designId);
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        vm.assertEq(job.royaltyReceiver, address(0), "no receiver");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "committed");
        vm.assertEq(licences.balanceOf(customer, designId), 1, "kept");
    }

    /// @notice Attack: spending one licence on two jobs.
    function test_attack_licenceUsedTwice() public {
        _buyLicences(customer, 1);
        _postLicensed();
        // The second job finds no licence: it pays the royalty.
        (uint256 id2, Job memory job2) = postJob(AMOUNT, designId);
        vm.assertEq(job2.royaltyReceiver, designer, "royalty");
        vm.assertEq(job2.royalty, ROYALTY, "full royalty");
        vm.assertEq(_status(id2, job2), uint256(JobStatus.Open), "committed");
        (address c,) = licences.licenceOf(id2);
        vm.assertEq(c, address(0), "no licence recorded for the second job");
    }

    /// @notice Attack: moving the licence away after the post, to spend it again elsewhere.
    function test_attack_licenceMovedAfterPostIsAlreadySpent() public {
        _buyLicences(customer, 1);
        _postLicensed();
        vm.prank(customer);
        vm.expectRevert(); // ERC1155InsufficientBalance: the licence is burnt at post
        licences.safeTransferFrom(customer, stranger, designId, 1, "");
    }

    function test_licence_transferredLicenceIsUsedByItsHolder() public {
        _buyLicences(customer, 1);
        vm.prank(customer);
        licences.safeTransferFrom(customer, stranger, designId, 1, "");
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        vm.assertEq(job.royalty, ROYALTY, "the customer gave its licence away: royalty");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "committed");
        vm.prank(stranger);
        uint256 id2 = market.post(
            address(usd), AMOUNT, SPEC_CID, designId, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0
        );
        (address c,) = licences.licenceOf(id2);
        vm.assertEq(c, stranger, "the holder's licence spent");
        vm.assertEq(licences.balanceOf(stranger, designId), 0, "spent");
    }

    function test_licence_survivesASaleOfTheDesign() public {
        _buyLicences(customer, 1);
        vm.prank(designer);
        designs.transferFrom(designer, shop2, designId);
        _postLicensed();
        vm.assertEq(licences.balanceOf(customer, designId), 0, "spent after the sale too");
    }

    // ==================================================================================== release

    function test_release_onCancel() public {
        _buyLicences(customer, 1);
        (uint256 id, Job memory job) = _postLicensed();
        vm.expectEmit(address(licences));
        emit IFabricationLicences.LicenceReleased(id, customer, designId);
        vm.prank(customer);
        market.cancel(id, job);
        vm.assertEq(licences.balanceOf(customer, designId), 1, "given back");
        (address c, uint256 d) = licences.licenceOf(id);
        vm.assertEq(c, address(0), "record cleared");
        vm.assertEq(d, 0, "record cleared");
        // And usable again.
        _postLicensed();
        vm.assertEq(licences.balanceOf(customer, designId), 0, "spent again");
    }

    function test_release_onExpiryOfAnOpenJob() public {
        _buyLicences(customer, 1);
        (uint256 id, Job memory job) = _postLicensed();
        vm.warp(job.deadline + 1);
        vm.prank(stranger);
        market.expire(id, job);
        vm.assertEq(licences.balanceOf(customer, designId), 1, "given back");
    }

    function test_release_onExpiryOfAClaimedJob() public {
        _buyLicences(customer, 1);
        (uint256 id, Job memory job) = _postLicensed();
        job = claimJob(id, job);
        vm.warp(job.deadline + 1);
        vm.prank(stranger);
        market.expire(id, job);
        vm.assertEq(licences.balanceOf(customer, designId), 1, "given back");
        vm.assertEq(_usdCredit(customer), AMOUNT, "refunded");
    }

    function test_release_onAFullRefundOnly() public {
        _buyLicences(customer, 2);
        // Full refund: no print paid for, the licence comes back.
        (uint256 id, Job memory job) = _postLicensed();
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.prank(arbiter);
        module.rule(id, job, 10_000, 0);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id, job);
        vm.assertEq(licences.balanceOf(customer, designId), 2, "full refund: back");
        // Partial refund: the shop is paid for a print, the licence stays spent.
        (uint256 id2, Job memory job2) = _postLicensed();
        job2 = deliverJob(id2, claimJob(id2, job2));
        vm.prank(customer);
        module.dispute(id2, job2, PROOF_CID);
        vm.prank(arbiter);
        module.rule(id2, job2, 9_999, 0);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id2, job2);
        vm.assertEq(licences.balanceOf(customer, designId), 1, "partial refund: spent");
    }

    function test_release_notForRoyaltyJobs() public {
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        vm.prank(customer);
        market.cancel(id, job);
        vm.assertEq(licences.balanceOf(customer, designId), 0, "nothing minted");
    }

    /// @notice Attack: restoring one licence twice.
    function test_attack_releaseTwice() public {
        _buyLicences(customer, 1);
        (uint256 id, Job memory job) = _postLicensed();
        vm.prank(customer);
        market.cancel(id, job);
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__WrongStatus.selector, id, JobStatus.Cancelled, JobStatus.Open
            )
        );
        market.cancel(id, job);
        // Even the market itself gets nothing more for that job.
        vm.prank(address(market));
        vm.assertTrue(!licences.releaseLicence(id), "already released");
        vm.assertEq(licences.balanceOf(customer, designId), 1, "one licence, not two");
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__NotMarket.selector, customer));
        licences.releaseLicence(id);
    }

    /// @notice Attack: a customer contract that stops accepting ERC-1155 tokens cannot block its licensed
    /// job's expiry (which unlocks the shop's collateral) through the licence's return.
    function test_attack_rejectingCustomerCannotBlockExpiry() public {
        ToggleCustomer c = new ToggleCustomer();
        vm.prank(owner);
        usd.mint(address(c), 1_000e6);
        c.call(address(usd), abi.encodeCall(usd.approve, (address(licences), type(uint256).max)));
        c.call(address(usd), abi.encodeCall(usd.approve, (address(market), type(uint256).max)));
        c.call(address(licences), abi.encodeCall(licences.buy, (designId, 1, address(c), address(usd), PRICE)));
        uint40 claimBy = uint40(block.timestamp + 1 days);
        uint256 id = abi.decode(
            c.call(
                address(market),
                abi.encodeCall(
                    market.post, (address(usd), AMOUNT, SPEC_CID, designId, claimBy, 7 days, MIN_COLLATERAL, 0, 0)
                )
            ),
            (uint256)
        );
        c.setAccepting(false);
        Job memory job = openJob(AMOUNT, 0, claimBy, 7 days, MIN_COLLATERAL);
        job.customer = address(c);
        job.royaltyReceiver = address(licences);
        job.key = uint64(id);
        job = claimJob(id, job);
        vm.assertEq(market.lockedOf(shop), MIN_COLLATERAL, "locked");
        vm.warp(job.deadline + 1);
        vm.prank(shop);
        market.expire(id, job);
        vm.assertEq(market.lockedOf(shop), 0, "the shop's collateral is free");
        vm.assertEq(licences.balanceOf(address(c), designId), 1, "the licence went back without a callback");
    }

    // ==================================================================================== design states

    function test_post_refusesTakenDownDesigns_licensedOrNot() public {
        uint256 plain = mintDesign(designer, 300);
        _buyLicences(customer, 1); // the fixture's design is licensed, the other one is not
        vm.startPrank(owner);
        designs.takedown(designId, META_CID);
        designs.takedown(plain, META_CID);
        vm.stopPrank();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__DesignTakenDown.selector, designId));
        market.post(
            address(usd), AMOUNT, SPEC_CID, designId, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0
        );
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__DesignTakenDown.selector, plain));
        market.post(
            address(usd), AMOUNT, SPEC_CID, plain, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0
        );
        vm.prank(owner);
        designs.restore(plain);
        (uint256 id, Job memory job) = postJob(AMOUNT, plain);
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "restored: usable");
    }

    function test_post_licensedDesignTakenDownRefusesTheLicenceToo() public {
        _buyLicences(customer, 1);
        vm.prank(owner);
        designs.takedown(designId, META_CID);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__DesignTakenDown.selector, designId));
        market.post(
            address(usd), AMOUNT, SPEC_CID, designId, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0
        );
        vm.assertEq(licences.balanceOf(customer, designId), 1, "nothing spent");
        vm.prank(owner);
        designs.restore(designId);
        _postLicensed();
        vm.assertEq(licences.balanceOf(customer, designId), 0, "restored: spent");
    }

    function test_post_unknownDesign() public {
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__UnknownDesign.selector, 99));
        market.post(address(usd), AMOUNT, SPEC_CID, 99, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0);
    }

    /// @notice A licensed job that settles leaves the licence spent and the customer no richer than a royalty
    /// job would; a cancelled one returns it: buying licences never beats paying the royalty for free.
    function test_attack_licenceRoundTripGainsNothing() public {
        _buyLicences(customer, 1);
        uint256 wallet0 = usd.balanceOf(customer);
        (uint256 id, Job memory job) = _postLicensed();
        vm.prank(customer);
        market.cancel(id, job);
        vm.prank(customer);
        market.withdraw(address(usd), customer);
        vm.assertEq(usd.balanceOf(customer), wallet0, "the payment back, nothing more");
        vm.assertEq(licences.balanceOf(customer, designId), 1, "the licence back, nothing more");
    }

    /// @notice The market's shortcut (one read of the NFT for designs without licences) agrees with the
    /// licence contract's own answer for every owner / customer / royalty combination.
    function testFuzz_shortcutAgreesWithTheLicenceContract(uint16 bps, uint8 who, bool licensed, uint96 amount) public {
        amount = uint96(bound(amount, 1e6, 1_000_000e6));
        uint256 d = _designHeldBy(uint16(bound(bps, 0, 2_500)), who, licensed);
        uint256 snap = vm.snapshotState();
        vm.prank(address(market));
        (address expectedReceiver, uint256 expectedRoyalty) = licences.jobRoyalty(1, customer, d, amount);
        vm.revertToState(snap);
        Job memory job = openJob(amount, 0, uint40(block.timestamp + 1 days), 7 days, _collateral(amount));
        vm.prank(customer);
        uint256 id = market.post(address(usd), amount, SPEC_CID, d, job.deadline, 7 days, job.collateral, 0, 0);
        uint256 cap = uint256(amount) * 2_000 / BPS;
        job.royaltyReceiver = expectedReceiver;
        job.royalty = uint96(expectedRoyalty > cap ? cap : expectedRoyalty);
        job.key = uint64(id);
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "the market's job = the licence contract's answer");
    }

    /// @dev A fresh design with royalty `bps`, held by the customer, its designer or the licence contract,
    /// flagged licensed or not (without any licence sold: the flag alone must not change the answer).
    function _designHeldBy(uint16 bps, uint8 who, bool licensed) internal returns (uint256 d) {
        d = mintDesign(designer, bps);
        address holder = who % 3 == 0 ? customer : who % 3 == 1 ? designer : address(licences);
        if (holder != designer) {
            vm.prank(designer);
            designs.transferFrom(designer, holder, d);
        }
        if (licensed) {
            vm.prank(address(licences));
            designs.markLicensed(d);
        }
    }

    function _collateral(uint96 amount) internal view returns (uint96) {
        (uint256 lo,) = market.collateralBounds(address(usd), amount);
        return uint96(lo);
    }
}
