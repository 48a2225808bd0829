// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {JobMarketModule} from "../src/market/JobMarketModule.sol";
import {IJobMarketTypes} from "../src/interfaces/IJobMarketTypes.sol";
import {IJobMarketModule} from "../src/interfaces/IJobMarketModule.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {JobLib} from "../src/libraries/JobLib.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {IDesignRights} from "../src/interfaces/IDesignRights.sol";
import {IDesignNFT} from "../src/interfaces/IDesignNFT.sol";
import {FabricationLicences} from "../src/design/FabricationLicences.sol";
import {IFabricationLicences} from "../src/interfaces/IFabricationLicences.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Unit tests of the job market (lifecycle, disputes, governance): every external function's
/// happy path with its events, every revert with its exact custom error and arguments, and that no
/// failing call moves funds.
contract JobMarketTest is MarketFixture {
    uint96 internal constant FEE = 2_500_000; // 2.5 % of 100 USD
    uint96 internal constant ROYALTY = 5_000_000; // the fixture's design takes 5 %
    uint96 internal constant BOND = 10_000_000; // dispute bond: 10 % of 100 USD, fixed at post
    uint96 internal constant NODE_PAY = AMOUNT - FEE - ROYALTY; // 92.5 USD
    uint96 internal constant COLLATERAL = MIN_COLLATERAL; // 10 FAB: what the fixture's jobs ask
    uint256 internal constant STAKED = 10_000e18; // what each fixture shop staked

    /// @dev Arguments of `post`, so that revert tests can change one of them.
    struct PostArgs {
        address token;
        uint96 amount;
        bytes cid;
        uint256 design;
        uint40 claimBy;
        uint32 window;
        uint96 collateral;
        uint64 target;
        uint64 reuse;
    }

    function _args() internal view returns (PostArgs memory) {
        return PostArgs(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, COLLATERAL, 0, 0);
    }

    function _post(address who, PostArgs memory a) internal returns (uint256 id) {
        vm.prank(who);
        id = market.post(a.token, a.amount, a.cid, a.design, a.claimBy, a.window, a.collateral, a.target, a.reuse);
    }

    /// @dev Expects `post(a)` by the customer to revert with `err`, creating nothing and moving no funds.
    function _expectPostRevert(PostArgs memory a, bytes memory err) internal {
        bytes32 before = _funds();
        uint256 count = market.jobCount();
        vm.prank(customer);
        vm.expectRevert(err);
        market.post(a.token, a.amount, a.cid, a.design, a.claimBy, a.window, a.collateral, a.target, a.reuse);
        _assertNoFundsMoved(before);
        vm.assertEq(market.jobCount(), count, "no job created");
    }

    function _usdBal(address a) internal view returns (uint256) {
        return market.balanceOf(address(usd), a);
    }

    function _fabBal(address a) internal view returns (uint256) {
        return market.balanceOf(address(fab), a);
    }

    function _wrongStatus(uint256 id, JobStatus actual, JobStatus expected) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__WrongStatus.selector, id, actual, expected);
    }

    function _mismatch(uint256 id) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__JobDataMismatch.selector, id);
    }

    function _unknown(uint256 id) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__UnknownJob.selector, id);
    }

    /// @dev The commitment, computed here from its definition: keccak256(abi.encode(id, job)), status in the low byte.
    function _commitment(uint256 id, Job memory job, JobStatus status) internal pure returns (bytes32) {
        return (keccak256(abi.encode(id, job)) & ~bytes32(uint256(0xff))) | bytes32(uint256(status));
    }

    function _fundShop(address who) internal {
        vm.prank(owner);
        usd.mint(who, 1_000e6);
        vm.prank(who);
        usd.approve(address(market), type(uint256).max);
    }

    // ============================================================================ constructor/views

    /// @dev A module built for the market this contract creates next (the module takes one nonce, the market the next).
    function _module() internal returns (JobMarketModule) {
        address next = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        return new JobMarketModule(next, INodeRegistry(address(registry)), IDesignRights(address(licences)));
    }

    /// @dev Deploys a market on module `m` (built first, so that an expected revert meets the market's constructor).
    function _deploy(
        JobMarketModule m,
        address treasury_,
        address arbiter_,
        address court_,
        IJobMarketTypes.Params memory p
    ) internal returns (JobMarket) {
        return new JobMarket(
            owner, INodeRegistry(address(registry)), IDesignRights(address(licences)), m, treasury_, arbiter_, court_, p
        );
    }

    function test_constructor_setsState() public view {
        vm.assertEq(market.owner(), owner, "owner");
        vm.assertEq(market.registry(), address(registry), "registry");
        vm.assertEq(market.designs(), address(licences), "designs: the licences contract");
        vm.assertEq(market.treasury(), treasury, "treasury");
        vm.assertEq(module.arbiter(), arbiter, "arbiter");
        vm.assertEq(module.appealCourt(), court, "court");
        vm.assertEq(market.jobCount(), 0, "jobCount");
        vm.assertFalse(module.paused(), "not paused");
        vm.assertEq(module.guardian(), address(0), "no guardian");
        vm.assertTrue(market.isTokenAllowed(address(usd)), "usd allowed");
        vm.assertFalse(market.isTokenAllowed(address(fab)), "fab not allowed");
        vm.assertEq(keccak256(abi.encode(module.params())), keccak256(abi.encode(defaultParams())), "params");
        IJobMarketTypes.TokenTerms memory t = module.tokenTerms(address(usd));
        vm.assertTrue(t.allowed, "terms allowed");
        vm.assertEq(t.minCollateralRate, MIN_RATE, "min rate");
        vm.assertEq(t.maxCollateralRate, MAX_RATE, "max rate");
        (address pa, uint256 paAt, address pc, uint256 pcAt) = module.pendingJudges();
        vm.assertEq(pa, address(0), "no pending arbiter");
        vm.assertEq(paAt + pcAt, 0, "no pending times");
        vm.assertEq(pc, address(0), "no pending court");
    }

    function test_constants() public view {
        vm.assertEq(market.MAX_FEE_BPS(), 1_000, "MAX_FEE_BPS");
        vm.assertEq(market.MAX_ROYALTY_BPS(), 2_500, "MAX_ROYALTY_BPS");
        vm.assertEq(market.MAX_DISPUTE_BOND_BPS(), 5_000, "MAX_DISPUTE_BOND_BPS");
        vm.assertEq(market.MIN_DELIVERY_WINDOW(), 1 hours, "MIN_DELIVERY_WINDOW");
        vm.assertEq(market.MIN_MIN_COLLATERAL(), 1e15, "MIN_MIN_COLLATERAL");
        vm.assertEq(market.MAX_COMPENSATION_BPS(), 5_000, "MAX_COMPENSATION_BPS");
        vm.assertEq(market.MIN_EXPIRY_SLASH_BPS(), 1_000, "MIN_EXPIRY_SLASH_BPS");
        vm.assertEq(market.JUDGE_CHANGE_DELAY(), 2 days, "JUDGE_CHANGE_DELAY");
        vm.assertEq(market.REOPEN_PERIOD(), 1 days, "REOPEN_PERIOD");
        vm.assertEq(market.DEFAULT_REFUND_BPS(), 5_000, "DEFAULT_REFUND_BPS");
        vm.assertEq(market.MIN_COURT_WINDOW(), 1 days, "MIN_COURT_WINDOW");
        vm.assertEq(market.MAX_COURT_WINDOW(), 60 days, "MAX_COURT_WINDOW");
        vm.assertEq(market.MAX_ARBITER_FEE_BPS(), 5_000, "MAX_ARBITER_FEE_BPS");
        vm.assertEq(
            market.ORDER_TYPEHASH(),
            keccak256(
                "Order(address customer,address token,uint96 amount,uint96 collateral,uint256 designId,uint32 deliveryWindow,uint64 targetNode,uint40 expiry,uint64 nonce,uint64 counter,bytes specCid)"
            ),
            "ORDER_TYPEHASH"
        );
    }

    function test_constructor_emitsConfiguration() public {
        IJobMarketTypes.Params memory p = defaultParams();
        JobMarketModule m0 = _module();
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        vm.expectEmit(predicted);
        emit IJobMarketTypes.TreasurySet(treasury);
        vm.expectEmit(predicted);
        emit IJobMarketTypes.ArbiterSet(arbiter);
        vm.expectEmit(predicted);
        emit IJobMarketTypes.AppealCourtSet(court);
        vm.expectEmit(predicted);
        emit IJobMarketTypes.ParamsSet(p);
        JobMarket m = _deploy(m0, treasury, arbiter, court, p);
        vm.assertEq(address(m), predicted, "address");
    }

    function test_constructor_revertsWhenTreasuryZero() public {
        JobMarketModule m = _module();
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("treasury")));
        _deploy(m, address(0), arbiter, court, defaultParams());
    }

    function test_constructor_revertsWhenArbiterZero() public {
        JobMarketModule m = _module();
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("arbiter")));
        _deploy(m, treasury, address(0), court, defaultParams());
    }

    function test_constructor_revertsWhenCourtZero() public {
        JobMarketModule m = _module();
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("appealCourt"))
        );
        _deploy(m, treasury, arbiter, address(0), defaultParams());
    }

    function test_constructor_revertsWhenModuleBuiltForAnotherMarket() public {
        // A module bound to another address (here: the market deployed after the next one), or to another
        // registry, would run this market's storage with the wrong immutables: refused.
        address later = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 2);
        JobMarketModule wrongMarket =
            new JobMarketModule(later, INodeRegistry(address(registry)), IDesignRights(address(licences)));
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ModuleMismatch.selector, address(wrongMarket))
        );
        _deploy(wrongMarket, treasury, arbiter, court, defaultParams());
        FabricationLicences otherLicences =
            new FabricationLicences(owner, IDesignNFT(address(designs)), address(0xD0), treasury, 0);
        address next = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        JobMarketModule wrongDesigns =
            new JobMarketModule(next, INodeRegistry(address(registry)), IDesignRights(address(otherLicences)));
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ModuleMismatch.selector, address(wrongDesigns))
        );
        _deploy(wrongDesigns, treasury, arbiter, court, defaultParams());
        (address bm, address br, address bd) = marketModule.binding();
        vm.assertEq(bm, address(market), "the fixture's module is bound to its market");
        vm.assertEq(br, address(registry), "registry");
        vm.assertEq(bd, address(licences), "designs");
    }

    function test_constructor_revertsWhenParamsOutOfBounds() public {
        IJobMarketTypes.Params memory p = defaultParams();
        p.reviewWindow = 0;
        JobMarketModule m = _module();
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__ParameterOutOfBounds.selector, bytes32("reviewWindow"), 0, 1 hours, 30 days
            )
        );
        _deploy(m, treasury, arbiter, court, p);
    }

    function test_constructor_revertsWhenOwnerZero() public {
        JobMarketModule m = _module();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new JobMarket(
            address(0),
            INodeRegistry(address(registry)),
            IDesignRights(address(licences)),
            m,
            treasury,
            arbiter,
            court,
            defaultParams()
        );
    }

    function test_views_unknownJob() public view {
        Job memory job = openJob(AMOUNT, 0, 12345, 7 days, COLLATERAL);
        job.key = 1;
        vm.assertEq(market.commitmentAt(1), bytes32(0), "commitment");
        vm.assertEq(_status(1, job), uint256(JobStatus.None), "status");
        vm.assertEq(_usdBal(customer), 0, "balance");
        vm.assertEq(market.feesOf(address(usd)), 0, "fees");
        vm.assertEq(market.lockedOf(shop), 0, "locked");
    }

    /// @notice JobPosted carries the job packed (159 bytes); unpacking gives back every field.
    function testFuzz_packedJobRoundTrips(Job memory job) public pure {
        bytes memory packed = JobLib.pack(job);
        vm.assertEq(packed.length, 159, "packed length");
        vm.assertEq(keccak256(abi.encode(JobLib.unpack(packed))), keccak256(abi.encode(job)), "round trip");
    }

    function test_hashJob_isAbiEncodingHashWithStatusInLowByte() public view {
        Job memory job = openJob(AMOUNT, designId, 12345, 7 days, COLLATERAL);
        job.node = shop;
        job.targetNode = 9;
        job.key = 77;
        for (uint256 s; s <= uint256(JobStatus.Expired); ++s) {
            vm.assertEq(market.hashJob(5, job, JobStatus(s)), _commitment(5, job, JobStatus(s)), "hashJob");
        }
        // The id is part of the hash: the same struct under another id commits differently.
        vm.assertNotEq(market.hashJob(6, job, JobStatus.Open), market.hashJob(5, job, JobStatus.Open), "id bound");
    }

    function test_hashJob_revertsWhenStatusOutOfRange() public {
        Job memory job = openJob(AMOUNT, 0, 12345, 7 days, COLLATERAL);
        (bool ok,) =
            address(market).call(abi.encodeWithSelector(market.hashJob.selector, uint256(1), job, uint256(9)));
        vm.assertFalse(ok, "status 9 accepted");
    }

    function test_collateralBounds_scaleWithAmountAndFloor() public view {
        // 100 USD: 0.01 FAB/USD gives 1 FAB, below the 10 FAB floor; 10 FAB/USD gives 1 000 FAB.
        (uint256 lo, uint256 hi) = market.collateralBounds(address(usd), AMOUNT);
        vm.assertEq(lo, 10e18, "min 100 USD");
        vm.assertEq(hi, 1_000e18, "max 100 USD");
        // 100 000 USD: 1 000 FAB to 1 000 000 FAB.
        (lo, hi) = market.collateralBounds(address(usd), 100_000e6);
        vm.assertEq(lo, 1_000e18, "min 100k USD");
        vm.assertEq(hi, 1_000_000e18, "max 100k USD");
        // 1 micro-USD: both rates fall below the floor, which is then the only allowed value.
        (lo, hi) = market.collateralBounds(address(usd), 1);
        vm.assertEq(lo, MIN_COLLATERAL, "min dust");
        vm.assertEq(hi, MIN_COLLATERAL, "max dust");
        // A token without terms: the floor only.
        (lo, hi) = market.collateralBounds(address(fab), 1e18);
        vm.assertEq(lo, MIN_COLLATERAL, "min unknown token");
        vm.assertEq(hi, MIN_COLLATERAL, "max unknown token");
    }

    // ========================================================================================= post

    function test_post_escrowsPaymentAndCommitsJob() public {
        PostArgs memory a = _args();
        Job memory job = withKey(openJob(AMOUNT, 0, a.claimBy, 7 days, COLLATERAL), 1);
        uint256 walletBefore = usd.balanceOf(customer);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobPosted(1, customer, JobLib.pack(job), SPEC_CID, 0);
        uint256 id = _post(customer, a);
        vm.assertEq(id, 1, "id");
        vm.assertEq(market.jobCount(), 1, "jobCount");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "status");
        vm.assertEq(market.commitmentAt(1), _commitment(1, job, JobStatus.Open), "commitment");
        vm.assertEq(usd.balanceOf(customer), walletBefore - AMOUNT, "customer paid");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "escrowed");
        vm.assertEq(job.bond, BOND, "bond fixed at post");
        vm.assertEq(job.royaltyReceiver, address(0), "no royalty receiver");
    }

    function test_post_idsIncrementAndTakeFreshSlots() public {
        (uint256 a, Job memory ja) = _open();
        (uint256 b, Job memory jb) = _open();
        vm.assertEq(a, 1, "first");
        vm.assertEq(b, 2, "second");
        vm.assertEq(ja.key, 1, "first slot");
        vm.assertEq(jb.key, 2, "second slot");
        vm.assertEq(market.jobCount(), 2, "jobCount");
    }

    function test_post_targetNodeIsCommitted() public {
        PostArgs memory a = _args();
        a.target = uint64(nodeId2);
        uint256 id = _post(customer, a);
        Job memory job = withKey(openJob(AMOUNT, 0, a.claimBy, 7 days, COLLATERAL), 1);
        vm.assertEq(_status(id, job), uint256(JobStatus.None), "untargeted struct is not the job");
        job.targetNode = uint64(nodeId2);
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "targeted job");
    }

    function test_post_withDesign_snapshotsRoyaltyOfDesignOwner() public {
        PostArgs memory a = _args();
        a.design = designId;
        Job memory job = withKey(openJob(AMOUNT, designId, a.claimBy, 7 days, COLLATERAL), 1);
        vm.assertEq(job.royaltyReceiver, designer, "receiver");
        vm.assertEq(job.royalty, ROYALTY, "royalty");
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobPosted(1, customer, JobLib.pack(job), SPEC_CID, designId);
        uint256 id = _post(customer, a);
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "status");
    }

    function test_post_capsRoyaltyAtMaxRoyaltyBps() public {
        uint256 greedy = mintDesign(designer, 2_500); // 25 % > the market's cap of 20 %
        (uint256 id, Job memory job) = postJob(AMOUNT, greedy);
        vm.assertEq(job.royalty, AMOUNT * 2_000 / 10_000, "capped at 20 %");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "capped royalty committed");
        job.royalty = AMOUNT * 2_500 / 10_000;
        vm.assertEq(_status(id, job), uint256(JobStatus.None), "the uncapped struct is not the job");
    }

    function test_post_royaltyCapZeroTakesNoRoyalty() public {
        IJobMarketTypes.Params memory p = defaultParams();
        p.maxRoyaltyBps = 0;
        vm.prank(owner);
        module.setParams(p);
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        job.royalty = 0;
        job.key = uint64(id);
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "zero royalty, receiver named");
    }

    function test_post_customerOwnedDesignPaysNoRoyalty() public {
        // The customer owns the design: naming it must not route part of the shop's pay back to itself.
        vm.prank(designer);
        designs.transferFrom(designer, customer, designId);
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        vm.assertEq(job.royaltyReceiver, address(0), "no receiver");
        vm.assertEq(job.royalty, 0, "no royalty");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "committed without royalty");
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_usdBal(shop), AMOUNT - FEE, "shop gets all but the fee");
        vm.assertEq(_usdBal(customer), 0, "no rebate to the customer");
    }

    function test_post_royaltyGoesToOwnerAtPostTime() public {
        vm.prank(designer);
        designs.transferFrom(designer, stranger, designId);
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        vm.assertEq(job.royaltyReceiver, stranger, "new owner");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "status");
    }

    function test_post_ignoresRoyaltyWhenReceiverIsZero() public {
        // A zero receiver (the customer's own design) means no royalty, whatever amount comes with it. (The
        // market asks the licences contract about licensed designs.)
        _mockLicensed();
        vm.mockCall(
            address(licences),
            abi.encodeWithSelector(IDesignRights.jobRoyalty.selector),
            abi.encode(address(0), uint256(7e6))
        );
        PostArgs memory a = _args();
        a.design = designId;
        uint256 id = _post(customer, a);
        vm.clearMockedCalls();
        Job memory job = withKey(openJob(AMOUNT, 0, a.claimBy, 7 days, COLLATERAL), uint64(id));
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "no royalty");
    }

    function test_post_drawsFromDepositFirst() public {
        vm.prank(customer);
        market.deposit(address(usd), 150e6);
        uint256 walletBefore = usd.balanceOf(customer);
        _open();
        vm.assertEq(usd.balanceOf(customer), walletBefore, "nothing pulled");
        vm.assertEq(_usdBal(customer), 50e6, "deposit drawn");
        vm.assertEq(usd.balanceOf(address(market)), 150e6, "market holds");
    }

    function test_post_pullsOnlyTheShortfall() public {
        vm.prank(customer);
        market.deposit(address(usd), 30e6);
        uint256 walletBefore = usd.balanceOf(customer);
        _open();
        vm.assertEq(usd.balanceOf(customer), walletBefore - 70e6, "shortfall pulled");
        vm.assertEq(_usdBal(customer), 0, "deposit used up");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "market holds");
    }

    function test_post_snapshotsFeeReviewWindowAndBond() public {
        (uint256 id, Job memory job) = _open();
        IJobMarketTypes.Params memory p = defaultParams();
        p.feeBps = 1_000;
        p.reviewWindow = 1 days;
        p.disputeBondBps = 5_000;
        vm.prank(owner);
        module.setParams(p);
        job = deliverJob(id, claimJob(id, job));
        vm.assertEq(_status(id, job), uint256(JobStatus.Delivered), "old review window in the struct");
        vm.assertEq(job.deadline, block.timestamp + REVIEW_WINDOW, "old review window");
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(market.feesOf(address(usd)), AMOUNT * FEE_BPS / BPS, "old fee");
    }

    function test_post_acceptsBoundaryValues() public {
        PostArgs memory a = _args();
        a.claimBy = uint40(block.timestamp + 365 days);
        a.window = 1 hours;
        _post(customer, a);
        a.claimBy = uint40(block.timestamp + 1);
        a.window = 365 days;
        a.collateral = 1_000e18; // the maximum for 100 USD
        _post(customer, a);
        a.amount = 1;
        a.collateral = MIN_COLLATERAL; // the only value for dust
        _post(customer, a);
        vm.assertEq(market.jobCount(), 3, "posted");
    }

    function test_post_revertsWhenSpecCidInvalid() public {
        PostArgs memory a = _args();
        a.cid = hex"1221aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
        _expectPostRevert(a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, a.cid));
        a.cid = "";
        _expectPostRevert(a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, a.cid));
    }

    function test_post_revertsWhenTokenNotAllowed() public {
        PostArgs memory a = _args();
        a.token = address(fab);
        _expectPostRevert(a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__TokenNotAllowed.selector, address(fab)));
    }

    function test_post_revertsWhenTokenDisallowedAgain() public {
        vm.prank(owner);
        module.setTokenTerms(address(usd), IJobMarketTypes.TokenTerms(false, 0, 0));
        _expectPostRevert(
            _args(), abi.encodeWithSelector(IJobMarketTypes.JobMarket__TokenNotAllowed.selector, address(usd))
        );
    }

    function test_post_revertsWhenZeroAmount() public {
        PostArgs memory a = _args();
        a.amount = 0;
        _expectPostRevert(a, _err(IJobMarketTypes.JobMarket__ZeroAmount.selector));
    }

    function test_post_revertsWhenClaimByNotInFuture() public {
        vm.warp(1_000_000);
        PostArgs memory a = _args();
        a.claimBy = uint40(block.timestamp);
        _expectPostRevert(
            a,
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidClaimDeadline.selector, block.timestamp, block.timestamp
            )
        );
        a.claimBy = 999_999;
        _expectPostRevert(
            a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidClaimDeadline.selector, 999_999, 1_000_000)
        );
    }

    function test_post_revertsWhenClaimByTooFar() public {
        PostArgs memory a = _args();
        a.claimBy = uint40(block.timestamp + 365 days + 1);
        _expectPostRevert(
            a,
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidClaimDeadline.selector, a.claimBy, block.timestamp
            )
        );
    }

    function test_post_revertsWhenDeliveryWindowBelowOneHour() public {
        PostArgs memory a = _args();
        a.window = 1 hours - 1;
        _expectPostRevert(
            a,
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidDeliveryWindow.selector, 1 hours - 1, 1 hours, 365 days
            )
        );
        a.window = 0;
        _expectPostRevert(
            a,
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidDeliveryWindow.selector, 0, 1 hours, 365 days)
        );
    }

    function test_post_deliveryWindowMinimumFollowsParams() public {
        IJobMarketTypes.Params memory p = defaultParams();
        p.minDeliveryWindow = 2 hours;
        vm.prank(owner);
        module.setParams(p);
        PostArgs memory a = _args();
        a.window = 2 hours - 1;
        _expectPostRevert(
            a,
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidDeliveryWindow.selector, 2 hours - 1, 2 hours, 365 days
            )
        );
        a.window = 2 hours;
        _post(customer, a);
    }

    function test_post_revertsWhenDeliveryWindowTooLong() public {
        PostArgs memory a = _args();
        a.window = 365 days + 1;
        _expectPostRevert(
            a,
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidDeliveryWindow.selector, 365 days + 1, 1 hours, 365 days
            )
        );
    }

    function test_post_revertsWhenCollateralBelowBounds() public {
        PostArgs memory a = _args();
        (uint256 lo, uint256 hi) = market.collateralBounds(address(usd), a.amount);
        a.collateral = uint96(lo - 1);
        _expectPostRevert(
            a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector, lo - 1, lo, hi)
        );
        // Above the floor, the rate sets the minimum: 100 000 USD needs at least 1 000 FAB.
        a.amount = 100_000e6;
        (lo, hi) = market.collateralBounds(address(usd), a.amount);
        a.collateral = uint96(lo - 1);
        _expectPostRevert(
            a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector, lo - 1, lo, hi)
        );
    }

    function test_post_revertsWhenCollateralAboveBounds() public {
        PostArgs memory a = _args();
        (uint256 lo, uint256 hi) = market.collateralBounds(address(usd), a.amount);
        a.collateral = uint96(hi + 1);
        _expectPostRevert(
            a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector, hi + 1, lo, hi)
        );
        a.amount = 1; // dust: exactly the floor
        a.collateral = MIN_COLLATERAL + 1;
        _expectPostRevert(
            a,
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector,
                MIN_COLLATERAL + 1,
                MIN_COLLATERAL,
                MIN_COLLATERAL
            )
        );
    }

    function test_post_revertsWhenDesignUnknown() public {
        PostArgs memory a = _args();
        a.design = 99;
        _expectPostRevert(a, abi.encodeWithSelector(IFabricationLicences.Licences__UnknownDesign.selector, 99));
    }

    function test_post_revertsWhenDesignRoyaltyLookupReverts() public {
        // The licences contract's refusal reaches the caller as it is.
        _mockLicensed();
        vm.mockCallRevert(address(licences), abi.encodeWithSelector(IDesignRights.jobRoyalty.selector), bytes("boom"));
        PostArgs memory a = _args();
        a.design = designId;
        _expectPostRevert(a, bytes("boom"));
        vm.clearMockedCalls();
    }

    /// @dev The fixture's design, Active, reads as licensed: the market asks the licences contract.
    function _mockLicensed() internal {
        vm.mockCall(
            address(designs),
            abi.encodeWithSelector(IDesignNFT.rightsOf.selector, designId),
            abi.encode(designer, uint16(500), IDesignNFT.DesignState.Active, true)
        );
    }

    function test_post_revertsWhenAllowanceTooLow() public {
        vm.prank(customer);
        usd.approve(address(market), AMOUNT - 1);
        _expectPostRevert(
            _args(),
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), AMOUNT - 1, AMOUNT
            )
        );
    }

    function test_post_revertsWhenShortfallNotCoveredKeepsDeposit() public {
        vm.startPrank(customer);
        market.deposit(address(usd), 40e6);
        usd.approve(address(market), 59e6);
        vm.stopPrank();
        _expectPostRevert(
            _args(),
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 59e6, 60e6)
        );
        vm.assertEq(_usdBal(customer), 40e6, "deposit kept");
    }

    function test_post_checksCidBeforeToken() public {
        PostArgs memory a = _args();
        a.cid = "x";
        a.token = address(fab);
        a.amount = 0;
        _expectPostRevert(a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, bytes("x")));
    }

    // ================================================================================ slot recycling

    function test_post_reusesFinishedSlot() public {
        (uint256 first, Job memory old) = _open();
        vm.prank(customer);
        market.cancel(first, old);
        (uint256 id, Job memory job) = postJobReusing(AMOUNT, 0, old.key);
        vm.assertEq(id, 2, "new id");
        vm.assertEq(job.key, old.key, "recycled slot");
        vm.assertEq(market.commitmentAt(old.key), _commitment(id, job, JobStatus.Open), "slot holds the new job");
        vm.assertEq(market.commitmentAt(id), bytes32(0), "no fresh slot used");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "new job open");
        // The recycled job is gone: its status reads None and it cannot be acted on any more.
        vm.assertEq(_status(first, old), uint256(JobStatus.None), "old job none");
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_mismatch(first));
        market.cancel(first, old);
        _assertNoFundsMoved(before);
    }

    function test_post_reusesEveryTerminalStatus() public {
        // Settled, Resolved, Cancelled and Expired slots are all recyclable.
        (uint256 s, Job memory settled) = _delivered(0);
        vm.prank(customer);
        market.accept(s, settled);
        (uint256 r, Job memory resolved) = _disputed(0);
        vm.prank(arbiter);
        module.rule(r, resolved, 0, 0);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(r, resolved);
        (uint256 c, Job memory cancelled) = _open();
        vm.prank(customer);
        market.cancel(c, cancelled);
        (uint256 e, Job memory expired) = _claimed(0);
        vm.warp(expired.deadline + 1);
        market.expire(e, expired);
        uint64[4] memory keys = [settled.key, resolved.key, cancelled.key, expired.key];
        for (uint256 i; i < 4; ++i) {
            (uint256 id, Job memory job) = postJobReusing(AMOUNT, 0, keys[i]);
            vm.assertEq(job.key, keys[i], "recycled");
            vm.assertEq(market.commitmentAt(keys[i]), _commitment(id, job, JobStatus.Open), "slot rewritten");
        }
    }

    function test_post_freshSlotWhenReuseKeyLive() public {
        (, Job memory open) = _open();
        (uint256 cId, Job memory claimed) = _claimed(0);
        (uint256 dId, Job memory delivered) = _delivered(0);
        (uint256 xId, Job memory disputed) = _disputed(0);
        uint64[4] memory keys = [open.key, claimed.key, delivered.key, disputed.key];
        for (uint256 i; i < 4; ++i) {
            (uint256 id, Job memory job) = postJobReusing(AMOUNT, 0, keys[i]);
            vm.assertEq(job.key, id, "fresh slot");
            vm.assertEq(market.commitmentAt(id), _commitment(id, job, JobStatus.Open), "fresh slot written");
        }
        // The live jobs are untouched.
        vm.assertEq(_status(1, open), uint256(JobStatus.Open), "open kept");
        vm.assertEq(_status(cId, claimed), uint256(JobStatus.Claimed), "claimed kept");
        vm.assertEq(_status(dId, delivered), uint256(JobStatus.Delivered), "delivered kept");
        vm.assertEq(_status(xId, disputed), uint256(JobStatus.Disputed), "disputed kept");
    }

    function test_post_freshSlotWhenReuseKeyNeverUsed() public {
        (uint256 id, Job memory job) = postJobReusing(AMOUNT, 0, 77);
        vm.assertEq(job.key, id, "fresh slot");
        vm.assertEq(market.commitmentAt(77), bytes32(0), "unused slot untouched");
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "open");
    }

    // ====================================================================================== deposit

    function test_deposit_creditsBalance() public {
        vm.expectEmit(address(market));
        emit IJobMarketTypes.Deposited(address(usd), customer, 42e6);
        vm.prank(customer);
        market.deposit(address(usd), 42e6);
        vm.assertEq(_usdBal(customer), 42e6, "credited");
        vm.assertEq(usd.balanceOf(address(market)), 42e6, "held");
        vm.prank(customer);
        market.deposit(address(usd), 8e6);
        vm.assertEq(_usdBal(customer), 50e6, "accumulates");
    }

    function test_deposit_revertsWhenTokenNotAllowed() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__TokenNotAllowed.selector, address(fab)));
        market.deposit(address(fab), 1);
        _assertNoFundsMoved(before);
    }

    function test_deposit_revertsWhenZeroAmount() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_err(IJobMarketTypes.JobMarket__ZeroAmount.selector));
        market.deposit(address(usd), 0);
        _assertNoFundsMoved(before);
    }

    function test_deposit_revertsWhenAllowanceTooLow() public {
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, 1)
        );
        market.deposit(address(usd), 1);
        _assertNoFundsMoved(before);
    }

    /// @dev A 1 %-fee token allowed for payment (18 decimals: 0.01 to 10 FAB per token).
    function _feeToken(uint256 feeBps) internal returns (FeeOnTransferToken t) {
        t = new FeeOnTransferToken(feeBps);
        vm.prank(owner);
        module.setTokenTerms(address(t), IJobMarketTypes.TokenTerms(true, 1e16, 1e19));
        t.mint(customer, 1_000e18);
        vm.prank(customer);
        t.approve(address(market), type(uint256).max);
    }

    function test_deposit_feeOnTransferCreditsWhatArrived() public {
        FeeOnTransferToken t = _feeToken(100);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.Deposited(address(t), customer, 99e18);
        vm.prank(customer);
        market.deposit(address(t), 100e18);
        vm.assertEq(market.balanceOf(address(t), customer), 99e18, "credited what arrived");
        vm.assertEq(t.balanceOf(address(market)), 99e18, "held what arrived");
        // The credit is fully backed: withdrawing it empties the market (the withdrawal pays the fee again).
        vm.prank(customer);
        market.withdraw(address(t), customer);
        vm.assertEq(t.balanceOf(address(market)), 0, "solvent");
    }

    function test_deposit_revertsWhenNothingArrives() public {
        FeeOnTransferToken t = _feeToken(10_000);
        uint256 walletBefore = t.balanceOf(customer);
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ShortDeposit.selector, address(t), 5e18, 0)
        );
        market.deposit(address(t), 5e18);
        vm.assertEq(t.balanceOf(customer), walletBefore, "nothing taken");
        vm.assertEq(market.balanceOf(address(t), customer), 0, "nothing credited");
    }

    function test_post_revertsWhenPulledShortfallArrivesShort() public {
        FeeOnTransferToken t = _feeToken(100);
        PostArgs memory a = _args();
        a.token = address(t);
        a.amount = 100e18;
        a.collateral = 10e18;
        uint256 walletBefore = t.balanceOf(customer);
        _expectPostRevert(
            a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__ShortDeposit.selector, address(t), 100e18, 99e18)
        );
        vm.assertEq(t.balanceOf(customer), walletBefore, "nothing taken");
        // With a deposit covering part of it, only the shortfall is pulled, and it still must arrive whole.
        vm.prank(customer);
        market.deposit(address(t), 50e18); // 49.5 arrive
        _expectPostRevert(
            a, abi.encodeWithSelector(IJobMarketTypes.JobMarket__ShortDeposit.selector, address(t), 50.5e18, 49.995e18)
        );
        vm.assertEq(market.balanceOf(address(t), customer), 49.5e18, "deposit kept");
        // Escrowing from a deposit large enough works.
        vm.prank(customer);
        market.deposit(address(t), 60e18); // 59.4 arrive: 108.9 credited
        _post(customer, a);
        vm.assertEq(market.balanceOf(address(t), customer), 8.9e18, "escrow drawn from the deposit");
        vm.assertEq(t.balanceOf(address(market)), 108.9e18, "market holds escrow and rest");
    }

    // ======================================================================================= cancel

    function test_cancel_creditsRefund() public {
        (uint256 id, Job memory job) = _open();
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobCancelled(id, customer, AMOUNT);
        vm.prank(customer);
        market.cancel(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Cancelled), "status");
        vm.assertEq(market.commitmentAt(job.key), _commitment(id, job, JobStatus.Cancelled), "commitment");
        vm.assertEq(_usdBal(customer), AMOUNT, "refund credited");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "still held");
    }

    function test_cancel_allowedAfterClaimDeadline() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(job.deadline + 365 days);
        vm.prank(customer);
        market.cancel(id, job);
        vm.assertEq(_usdBal(customer), AMOUNT, "refund credited");
    }

    function test_cancel_revertsWhenUnknownJob() public {
        (, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_unknown(2));
        market.cancel(2, job);
        job.key = 5; // an unused slot
        vm.prank(customer);
        vm.expectRevert(_unknown(1));
        market.cancel(1, job);
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenNotOpen() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_wrongStatus(id, JobStatus.Claimed, JobStatus.Open));
        market.cancel(id, job);
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenAlreadyCancelled() public {
        (uint256 id, Job memory job) = _open();
        vm.prank(customer);
        market.cancel(id, job);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_wrongStatus(id, JobStatus.Cancelled, JobStatus.Open));
        market.cancel(id, job);
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _openWithDesign();
        (uint256 id2,) = _open();
        bytes32 before = _funds();
        // Every field but the key (another key names another slot) is bound by the commitment.
        for (uint256 f; f < JOB_FIELDS - 1; ++f) {
            vm.prank(customer);
            vm.expectRevert(_mismatch(id));
            market.cancel(id, _tamper(job, f));
        }
        // The same struct under another id.
        vm.prank(customer);
        vm.expectRevert(_mismatch(id2));
        market.cancel(id2, job);
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenCalldataNotCanonical() public {
        (uint256 id, Job memory job) = _open();
        bytes memory data = abi.encodeWithSelector(market.cancel.selector, id, job);
        // Dirty the unused high bits of the `token` word: the same struct, but the call must not pass.
        data[4 + 2 * 32] = 0x01;
        bytes32 before = _funds();
        vm.prank(customer);
        (bool ok,) = address(market).call(data);
        vm.assertFalse(ok, "non-canonical job accepted");
        _assertNoFundsMoved(before);
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "still open");
    }

    function test_cancel_revertsWhenNotCustomer() public {
        (uint256 id, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotCustomer.selector, id, stranger, customer)
        );
        market.cancel(id, job);
        _assertNoFundsMoved(before);
    }

    // ======================================================================================== claim

    function test_claim_locksCollateralAndStartsDeliveryClock() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(block.timestamp + 1 hours);
        uint256 deliverBy = block.timestamp + 7 days;
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobClaimed(id, shop, nodeId, deliverBy);
        vm.prank(shop);
        market.claim(id, job, nodeId);
        job.node = shop;
        job.deadline = uint40(deliverBy);
        vm.assertEq(_status(id, job), uint256(JobStatus.Claimed), "status");
        vm.assertEq(market.commitmentAt(job.key), _commitment(id, job, JobStatus.Claimed), "commitment");
        vm.assertEq(market.lockedOf(shop), COLLATERAL, "locked");
        INodeRegistry.Stake memory s = registry.stakeOf(shop);
        vm.assertEq(s.locked, COLLATERAL, "registry reports the lock");
        vm.assertEq(s.staked, STAKED, "staked unchanged");
        vm.assertEq(fab.balanceOf(address(market)), 0, "collateral stays staked in the registry");
    }

    function test_claim_locksAddUpAcrossJobs() public {
        _claimed(0);
        _claimed(0);
        vm.assertEq(market.lockedOf(shop), 2 * COLLATERAL, "two locks");
    }

    function test_claim_allowedAtClaimDeadline() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(job.deadline);
        job = claimJob(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Claimed), "status");
    }

    function test_claim_revertsWhenDeadlinePassed() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, job.deadline + 1
            )
        );
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenUnknownJob() public {
        (, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(_unknown(7));
        market.claim(7, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenNotOpen() public {
        (uint256 id, Job memory job) = _open();
        vm.prank(customer);
        market.cancel(id, job);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(_wrongStatus(id, JobStatus.Cancelled, JobStatus.Open));
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenAlreadyClaimed() public {
        (uint256 id, Job memory job) = _open();
        claimJob(id, _copy(job));
        bytes32 before = _funds();
        vm.prank(shop2);
        // The open struct no longer matches (node and deadline changed): a mismatch, not a second claim.
        vm.expectRevert(_mismatch(id));
        market.claim(id, job, nodeId2);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _openWithDesign();
        bytes32 before = _funds();
        for (uint256 f; f < JOB_FIELDS - 1; ++f) {
            vm.prank(shop);
            vm.expectRevert(_mismatch(id));
            market.claim(id, _tamper(job, f), nodeId);
        }
        _assertNoFundsMoved(before);
    }

    function test_claim_targetNodeOnly() public {
        PostArgs memory a = _args();
        a.target = uint64(nodeId2);
        uint256 id = _post(customer, a);
        Job memory job = withKey(openJob(AMOUNT, 0, a.claimBy, 7 days, COLLATERAL), uint64(id));
        job.targetNode = uint64(nodeId2);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotTargetNode.selector, id, nodeId, nodeId2)
        );
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
        vm.prank(shop2);
        market.claim(id, job, nodeId2);
        vm.assertEq(market.lockedOf(shop2), COLLATERAL, "target node claimed");
    }

    function test_claim_revertsWhenNodeUnknown() public {
        (uint256 id, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__UnknownNode.selector, 99));
        market.claim(id, job, 99);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenNodeOfOtherOperator() public {
        (uint256 id, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotNodeOperator.selector, nodeId2, shop, shop2)
        );
        market.claim(id, job, nodeId2);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenNodeInactive() public {
        (uint256 id, Job memory job) = _open();
        vm.prank(shop);
        registry.setNodeActive(nodeId, false);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NodeInactive.selector, nodeId));
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenOperatorBelowMinimumStake() public {
        (uint256 id, Job memory job) = _open();
        vm.prank(shop);
        registry.requestUnbond(STAKED - MIN_STAKE + 1); // 999.99.. FAB bonded < 1 000 FAB minimum
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NodeInactive.selector, nodeId));
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
        // Staking back above the minimum restores eligibility.
        vm.prank(shop);
        registry.stake(1);
        claimJob(id, job);
        vm.assertEq(market.lockedOf(shop), COLLATERAL, "claimed");
    }

    function test_claim_revertsAfterRaisedMinimumIsRefreshed() public {
        (uint256 id, Job memory job) = _open();
        vm.prank(owner);
        registry.setMinStake(uint96(STAKED + 1));
        // Anyone applies the new minimum to the shop.
        vm.expectEmit(address(registry));
        emit INodeRegistry.EligibilitySet(shop, false);
        vm.prank(stranger);
        vm.assertFalse(registry.refreshEligibility(shop), "ineligible");
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NodeInactive.selector, nodeId));
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenFreeStakeTooLow() public {
        // 10 000 USD may ask up to 100 000 FAB: more than the shop's 10 000 FAB stake.
        PostArgs memory a = _args();
        a.amount = 10_000e6;
        a.collateral = uint96(STAKED + 1);
        uint256 id = _post(customer, a);
        Job memory job = withKey(openJob(a.amount, 0, a.claimBy, 7 days, a.collateral), uint64(id));
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InsufficientFreeStake.selector, shop, STAKED, STAKED + 1
            )
        );
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_freeStakeExcludesLockedCollateral() public {
        PostArgs memory a = _args();
        a.amount = 10_000e6;
        a.collateral = 6_000e18;
        uint256 id1 = _post(customer, a);
        uint256 id2 = _post(customer, a);
        Job memory j1 = withKey(openJob(a.amount, 0, a.claimBy, 7 days, a.collateral), uint64(id1));
        Job memory j2 = withKey(openJob(a.amount, 0, a.claimBy, 7 days, a.collateral), uint64(id2));
        claimJob(id1, j1);
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InsufficientFreeStake.selector, shop, STAKED - 6_000e18, 6_000e18
            )
        );
        market.claim(id2, j2, nodeId);
    }

    // ===================================================================================== handBack

    function test_handBack_freeWithinWindow() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(block.timestamp + HAND_BACK_WINDOW); // the last free second
        uint256 claimBy = block.timestamp + market.REOPEN_PERIOD();
        bytes32 fabBefore = keccak256(abi.encode(fab.balanceOf(address(registry)), fab.balanceOf(address(market))));
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobHandedBack(id, shop, 0, 0, claimBy);
        vm.prank(shop);
        market.handBack(id, job);
        Job memory reopened = _handedBack(_copy(job));
        vm.assertEq(reopened.deadline, claimBy, "claim-by");
        vm.assertEq(_status(id, reopened), uint256(JobStatus.Open), "open again");
        vm.assertEq(_status(id, job), uint256(JobStatus.None), "claimed struct stale");
        vm.assertEq(market.lockedOf(shop), 0, "unlocked");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED, "nothing slashed");
        vm.assertEq(
            keccak256(abi.encode(fab.balanceOf(address(registry)), fab.balanceOf(address(market)))),
            fabBefore,
            "no FAB moved"
        );
        vm.assertEq(_usdBal(customer), 0, "escrow stays in the job");
    }

    function test_handBack_penaltyAfterWindowSplitsCompensationAndTreasury() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(block.timestamp + HAND_BACK_WINDOW + 1);
        // 10 % of 10 FAB = 1 FAB slashed: 50 % (0.5 FAB) to the customer, 0.5 FAB to the treasury.
        uint256 penalty = 1e18;
        uint256 compensation = 0.5e18;
        uint256 claimBy = block.timestamp + 1 days;
        vm.expectEmit(address(registry));
        emit INodeRegistry.Slashed(shop, penalty, STAKED - penalty, 0);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobHandedBack(id, shop, penalty, compensation, claimBy);
        vm.prank(shop);
        market.handBack(id, job);
        vm.assertEq(_status(id, _handedBack(job)), uint256(JobStatus.Open), "open again");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED - penalty, "stake slashed");
        vm.assertEq(market.lockedOf(shop), 0, "unlocked");
        vm.assertEq(_fabBal(customer), compensation, "customer compensated in FAB");
        vm.assertEq(market.feesOf(address(fab)), penalty - compensation, "treasury's share");
        vm.assertEq(fab.balanceOf(address(market)), penalty, "slash moved into the market");
        vm.prank(customer);
        market.withdraw(address(fab), customer);
        vm.assertEq(fab.balanceOf(customer), compensation, "compensation withdrawn");
        market.withdrawFees(address(fab));
        vm.assertEq(fab.balanceOf(treasury), penalty - compensation, "treasury paid");
    }

    function test_handBack_allowedAtDeliveryDeadlineWithPenalty() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline);
        vm.prank(shop);
        market.handBack(id, job);
        vm.assertEq(registry.stakeOf(shop).staked, STAKED - 1e18, "penalty");
    }

    function test_handBack_revertsAfterDeadline() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, job.deadline + 1
            )
        );
        market.handBack(id, job);
        _assertNoFundsMoved(before);
    }

    function test_handBack_revertsWhenNotClaimer() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(shop2);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotClaimer.selector, id, shop2, shop));
        market.handBack(id, job);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotClaimer.selector, id, customer, shop));
        market.handBack(id, job);
        _assertNoFundsMoved(before);
    }

    function test_handBack_revertsWhenNotClaimed() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(_wrongStatus(id, JobStatus.Delivered, JobStatus.Claimed));
        market.handBack(id, job);
        _assertNoFundsMoved(before);
    }

    function test_handBack_reopensForAnotherNodeThenExpires() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.prank(shop);
        market.handBack(id, job);
        job = _handedBack(job);
        vm.assertEq(job.node, shop, "the re-opened job still names who handed it back");
        // Another node claims it within the reopen period, once the cooldown has passed.
        vm.warp(block.timestamp + market.REOPEN_COOLDOWN() - 1);
        vm.prank(shop2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__ReopenCooldown.selector, id, block.timestamp + 1, block.timestamp
            )
        );
        market.claim(id, job, nodeId2);
        vm.warp(job.deadline);
        vm.prank(shop2);
        market.claim(id, job, nodeId2);
        vm.assertEq(market.lockedOf(shop2), COLLATERAL, "shop2 locked");
        job.node = shop2;
        job.deadline = uint40(block.timestamp + job.deliveryWindow);
        vm.assertEq(_status(id, job), uint256(JobStatus.Claimed), "claimed by shop2");
    }

    function test_handBack_reopenedJobExpiresAfterReopenPeriod() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.prank(shop);
        market.handBack(id, job);
        job = _handedBack(job);
        vm.warp(job.deadline + 1);
        vm.prank(shop2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, job.deadline + 1
            )
        );
        market.claim(id, job, nodeId2);
        vm.prank(stranger);
        market.expire(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Cancelled), "cancelled");
        vm.assertEq(_usdBal(customer), AMOUNT, "refunded");
    }

    // ====================================================================================== deliver

    function test_deliver_startsReviewWindow() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(block.timestamp + 2 days);
        uint256 reviewUntil = block.timestamp + REVIEW_WINDOW;
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobDelivered(id, shop, PROOF_CID, reviewUntil);
        vm.prank(shop);
        market.deliver(id, job, PROOF_CID);
        job.deadline = uint40(reviewUntil);
        vm.assertEq(_status(id, job), uint256(JobStatus.Delivered), "status");
        vm.assertEq(market.commitmentAt(job.key), _commitment(id, job, JobStatus.Delivered), "commitment");
        vm.assertEq(market.lockedOf(shop), COLLATERAL, "still locked");
    }

    function test_deliver_allowedAtDeliveryDeadline() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline);
        job = deliverJob(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Delivered), "status");
    }

    function test_deliver_revertsWhenUnknownJob() public {
        (, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(_unknown(0));
        market.deliver(0, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenNotClaimed() public {
        (uint256 id, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(_wrongStatus(id, JobStatus.Open, JobStatus.Claimed));
        market.deliver(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _claimed(designId);
        bytes32 before = _funds();
        for (uint256 f; f < JOB_FIELDS - 1; ++f) {
            vm.prank(shop);
            vm.expectRevert(_mismatch(id));
            market.deliver(id, _tamper(job, f), PROOF_CID);
        }
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenNotClaimer() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(shop2);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotClaimer.selector, id, shop2, shop));
        market.deliver(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenDeadlinePassed() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, job.deadline + 1
            )
        );
        market.deliver(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenProofCidInvalid() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes memory bad = hex"0155";
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, bad));
        market.deliver(id, job, bad);
        _assertNoFundsMoved(before);
    }

    // ======================================================================================= accept

    function test_accept_paysNodeTreasuryAndDesignerAndReleasesCollateral() public {
        (uint256 id, Job memory job) = _delivered(designId);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobSettled(id, true);
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Settled), "status");
        vm.assertEq(_usdBal(shop), 92_500_000, "node payout");
        vm.assertEq(_usdBal(designer), 5_000_000, "royalty");
        vm.assertEq(market.feesOf(address(usd)), 2_500_000, "fee");
        vm.assertEq(_usdBal(customer), 0, "customer");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "held until withdrawn");
        vm.assertEq(market.lockedOf(shop), 0, "released");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED, "not slashed");
    }

    function test_accept_withoutDesignPaysNoRoyalty() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_usdBal(shop), AMOUNT - FEE, "node payout");
        vm.assertEq(market.feesOf(address(usd)), FEE, "fee");
    }

    function test_accept_allowedAfterReviewWindow() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline + 30 days);
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Settled), "status");
    }

    function test_accept_revertsWhenNotDelivered() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_wrongStatus(id, JobStatus.Claimed, JobStatus.Delivered));
        market.accept(id, job);
        _assertNoFundsMoved(before);
    }

    function test_accept_revertsWhenAlreadySettled() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_wrongStatus(id, JobStatus.Settled, JobStatus.Delivered));
        market.accept(id, job);
        _assertNoFundsMoved(before);
    }

    function test_accept_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _delivered(designId);
        bytes32 before = _funds();
        for (uint256 f; f < JOB_FIELDS - 1; ++f) {
            vm.prank(customer);
            vm.expectRevert(_mismatch(id));
            market.accept(id, _tamper(job, f));
        }
        _assertNoFundsMoved(before);
    }

    function test_accept_revertsWhenNotCustomer() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotCustomer.selector, id, shop, customer));
        market.accept(id, job);
        _assertNoFundsMoved(before);
    }

    // ======================================================================================= settle

    function test_settle_byAnyoneAfterReviewWindow() public {
        (uint256 id, Job memory job) = _delivered(designId);
        vm.warp(job.deadline + 1);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobSettled(id, false);
        vm.prank(stranger);
        market.settle(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Settled), "status");
        vm.assertEq(_usdBal(shop), NODE_PAY, "payout");
        vm.assertEq(_usdBal(designer), ROYALTY, "royalty");
        vm.assertEq(market.feesOf(address(usd)), FEE, "fee");
        vm.assertEq(market.lockedOf(shop), 0, "released");
        vm.assertEq(_usdBal(stranger), 0, "settler earns nothing");
    }

    function test_settle_revertsWhenReviewWindowRunning() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline);
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, job.deadline, job.deadline
            )
        );
        market.settle(id, job);
        _assertNoFundsMoved(before);
    }

    function test_settle_revertsWhenDisputed() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.expectRevert(_wrongStatus(id, JobStatus.Disputed, JobStatus.Delivered));
        market.settle(id, job);
        _assertNoFundsMoved(before);
    }

    function test_settle_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _delivered(designId);
        vm.warp(job.deadline + 10);
        bytes32 before = _funds();
        for (uint256 f; f < JOB_FIELDS - 1; ++f) {
            Job memory t = _tamper(job, f);
            vm.expectRevert(_mismatch(id));
            market.settle(id, t);
        }
        _assertNoFundsMoved(before);
    }

    // ======================================================================================= expire

    function test_expire_openJobAfterClaimByRefundsByAnyone() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(job.deadline + 1);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobCancelled(id, customer, AMOUNT);
        vm.prank(stranger);
        market.expire(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Cancelled), "cancelled");
        vm.assertEq(_usdBal(customer), AMOUNT, "refund credited");
        vm.assertEq(_usdBal(stranger), 0, "caller earns nothing");
    }

    function test_expire_openJobRevertsBeforeClaimBy() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(job.deadline);
        bytes32 before = _funds();
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, job.deadline, job.deadline
            )
        );
        market.expire(id, job);
        _assertNoFundsMoved(before);
    }

    function test_expire_claimedJobRefundsSlashesAndCompensates() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        // 50 % of 10 FAB = 5 FAB slashed; the customer gets 50 % of that (2.5 FAB), the treasury 2.5 FAB.
        vm.expectEmit(address(registry));
        emit INodeRegistry.Slashed(shop, 5e18, STAKED - 5e18, 0);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobExpired(id, shop, AMOUNT, 5e18, 2.5e18);
        vm.prank(stranger);
        market.expire(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Expired), "status");
        vm.assertEq(market.commitmentAt(job.key), _commitment(id, job, JobStatus.Expired), "commitment");
        vm.assertEq(_usdBal(customer), AMOUNT, "refund");
        vm.assertEq(_fabBal(customer), 2.5e18, "compensation");
        vm.assertEq(market.feesOf(address(fab)), 2.5e18, "treasury share");
        vm.assertEq(market.lockedOf(shop), 0, "unlocked");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED - 5e18, "stake slashed");
        vm.assertEq(fab.balanceOf(address(registry)), 2 * STAKED - 5e18, "registry FAB");
        vm.assertEq(fab.balanceOf(address(market)), 5e18, "market FAB");
        vm.assertEq(_fabBal(stranger) + _usdBal(stranger), 0, "caller earns nothing");
    }

    function test_expire_claimedJobRevertsAtDeadline() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline);
        bytes32 before = _funds();
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, job.deadline, job.deadline
            )
        );
        market.expire(id, job);
        _assertNoFundsMoved(before);
    }

    function test_expire_revertsWhenDelivered() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.expectRevert(_wrongStatus(id, JobStatus.Delivered, JobStatus.Claimed));
        market.expire(id, job);
        _assertNoFundsMoved(before);
    }

    function test_expire_revertsWhenAlreadyExpired() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        market.expire(id, job);
        bytes32 before = _funds();
        vm.expectRevert(_wrongStatus(id, JobStatus.Expired, JobStatus.Claimed));
        market.expire(id, job);
        _assertNoFundsMoved(before);
    }

    function test_expire_revertsWhenUnknownJob() public {
        (, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.expectRevert(_unknown(4));
        market.expire(4, job);
        _assertNoFundsMoved(before);
    }

    function test_expire_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _claimed(designId);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        for (uint256 f; f < JOB_FIELDS - 1; ++f) {
            Job memory t = _tamper(job, f);
            vm.expectRevert(_mismatch(id));
            market.expire(id, t);
        }
        _assertNoFundsMoved(before);
    }

    // ====================================================================================== dispute

    function test_dispute_pullsBondFixesArbiterAndDeadline() public {
        (uint256 id, Job memory job) = _delivered(designId);
        uint256 walletBefore = usd.balanceOf(customer);
        uint256 ruleBy = block.timestamp + DISPUTE_WINDOW;
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobDisputed(id, customer, BOND, PROOF_CID, arbiter, ruleBy);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.assertEq(_status(id, job), uint256(JobStatus.Disputed), "status");
        vm.assertEq(usd.balanceOf(customer), walletBefore - BOND, "bond paid");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT + BOND, "bond held");
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(d.judge, arbiter, "judge");
        vm.assertEq(d.arbiter, arbiter, "arbiter");
        vm.assertEq(d.deadline, ruleBy, "deadline");
        vm.assertEq(uint256(d.stage), uint256(IJobMarketTypes.DisputeStage.AwaitingArbiter), "stage");
        vm.assertEq(d.appellant, address(0), "no appellant");
        vm.assertEq(market.lockedOf(shop), COLLATERAL, "collateral stays locked");
    }

    function test_dispute_allowedAtReviewDeadline() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.assertEq(_status(id, job), uint256(JobStatus.Disputed), "status");
    }

    function test_dispute_bondDrawnFromDeposit() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.deposit(address(usd), 15e6);
        uint256 walletBefore = usd.balanceOf(customer);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.assertEq(usd.balanceOf(customer), walletBefore, "nothing pulled");
        vm.assertEq(_usdBal(customer), 5e6, "bond drawn from the deposit");
    }

    function test_dispute_bondFixedAtPost() public {
        (uint256 id, Job memory job) = _delivered(0);
        IJobMarketTypes.Params memory p = defaultParams();
        p.disputeBondBps = 5_000;
        vm.prank(owner);
        module.setParams(p);
        uint256 walletBefore = usd.balanceOf(customer);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobDisputed(id, customer, BOND, PROOF_CID, arbiter, block.timestamp + DISPUTE_WINDOW);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.assertEq(walletBefore - usd.balanceOf(customer), BOND, "the bond of the post, not the new 50 %");
    }

    function test_dispute_zeroBondMovesNoTokens() public {
        IJobMarketTypes.Params memory p = defaultParams();
        p.disputeBondBps = 0;
        vm.prank(owner);
        module.setParams(p);
        (uint256 id, Job memory job) = postJob(AMOUNT, 0);
        job.bond = 0;
        job.key = uint64(id);
        job = deliverJob(id, claimJob(id, job));
        bytes32 before = _funds();
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
        vm.assertEq(_status(id, job), uint256(JobStatus.Disputed), "disputed");
    }

    function test_dispute_arbiterFixedAtOpening() public {
        (uint256 id, Job memory job) = _disputed(0);
        address next = address(0xA4B2);
        vm.prank(owner);
        module.proposeArbiter(next);
        vm.warp(block.timestamp + 2 days);
        module.activateArbiter();
        vm.assertEq(module.arbiter(), next, "new arbiter for new disputes");
        vm.assertEq(module.disputeOf(id).judge, arbiter, "open dispute keeps its judge");
        vm.prank(next);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, next, arbiter));
        module.rule(id, job, 10_000, 10_000);
        vm.prank(arbiter);
        module.rule(id, job, 0, 0);
        // A dispute opened now goes to the new arbiter.
        (uint256 id2,) = _disputed(0);
        vm.assertEq(module.disputeOf(id2).judge, next, "new dispute");
    }

    function test_dispute_revertsWhenReviewWindowOver() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, job.deadline, job.deadline + 1
            )
        );
        module.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenNotCustomer() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotCustomer.selector, id, stranger, customer)
        );
        module.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenReasonCidInvalid() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidCid.selector, bytes("nope")));
        module.dispute(id, job, "nope");
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenNotDelivered() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_wrongStatus(id, JobStatus.Claimed, JobStatus.Delivered));
        module.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenAlreadyDisputed() public {
        (uint256 id, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_wrongStatus(id, JobStatus.Disputed, JobStatus.Delivered));
        module.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _delivered(designId);
        bytes32 before = _funds();
        for (uint256 f; f < JOB_FIELDS - 1; ++f) {
            vm.prank(customer);
            vm.expectRevert(_mismatch(id));
            module.dispute(id, _tamper(job, f), PROOF_CID);
        }
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenBondNotCovered() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        usd.approve(address(market), BOND - 1);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), BOND - 1, BOND
            )
        );
        module.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
        vm.assertEq(_status(id, job), uint256(JobStatus.Delivered), "still delivered");
    }

    // ========================================================================================= rule

    function test_rule_arbiterRulingIsAppealable() public {
        (uint256 id, Job memory job) = _disputed(designId);
        vm.warp(block.timestamp + 1 days);
        uint256 appealBy = block.timestamp + APPEAL_WINDOW;
        bytes32 before = _funds();
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeRuled(id, arbiter, 7_000, 2_000, appealBy);
        vm.prank(arbiter);
        module.rule(id, job, 7_000, 2_000);
        _assertNoFundsMoved(before); // a ruling pays nothing until it is final
        vm.assertEq(_status(id, job), uint256(JobStatus.Disputed), "still disputed");
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(uint256(d.stage), uint256(IJobMarketTypes.DisputeStage.Ruled), "stage");
        vm.assertEq(d.refundBps, 7_000, "refund");
        vm.assertEq(d.slashBps, 2_000, "slash");
        vm.assertEq(d.deadline, appealBy, "appeal deadline");
        vm.assertEq(d.judge, arbiter, "judge");
    }

    function test_rule_revertsWhenNotJudge() public {
        (uint256 id, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, stranger, arbiter));
        module.rule(id, job, 0, 0);
        // The court is no judge before an appeal.
        vm.prank(court);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, court, arbiter));
        module.rule(id, job, 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_rule_revertsAfterDeadline() public {
        (uint256 id, Job memory job) = _disputed(0);
        uint256 ruleBy = block.timestamp + DISPUTE_WINDOW;
        vm.warp(ruleBy + 1);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, ruleBy, ruleBy + 1)
        );
        module.rule(id, job, 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_rule_allowedAtDeadline() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.warp(block.timestamp + DISPUTE_WINDOW);
        vm.prank(arbiter);
        module.rule(id, job, 0, 0);
        vm.assertEq(uint256(module.disputeOf(id).stage), uint256(IJobMarketTypes.DisputeStage.Ruled), "ruled");
    }

    function test_rule_revertsWhenSplitInvalid() public {
        (uint256 id, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidSplit.selector, 10_001, 0));
        module.rule(id, job, 10_001, 0);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidSplit.selector, 0, 10_001));
        module.rule(id, job, 0, 10_001);
        _assertNoFundsMoved(before);
    }

    function test_rule_revertsWhenArbiterRulesTwice() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, 0, 0);
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__WrongDisputeStage.selector, id, IJobMarketTypes.DisputeStage.Ruled
            )
        );
        module.rule(id, job, 10_000, 0);
    }

    function test_rule_revertsWhenNotDisputed() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(_wrongStatus(id, JobStatus.Delivered, JobStatus.Disputed));
        module.rule(id, job, 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_rule_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _disputed(designId);
        bytes32 before = _funds();
        for (uint256 f; f < JOB_FIELDS - 1; ++f) {
            vm.prank(arbiter);
            vm.expectRevert(_mismatch(id));
            module.rule(id, _tamper(job, f), 0, 0);
        }
        _assertNoFundsMoved(before);
    }

    /// @dev Disputes a design job, has the arbiter rule, and `appellant` appeal (paying the bond).
    function _appealed(uint16 refundBps, uint16 slashBps, address appellant)
        internal
        returns (uint256 id, Job memory job)
    {
        (id, job) = _disputed(designId);
        vm.prank(arbiter);
        module.rule(id, job, refundBps, slashBps);
        if (appellant == shop) _fundShop(shop);
        vm.prank(appellant);
        module.appeal(id, job);
    }

    function test_rule_courtReversesForAppealingCustomer() public {
        (uint256 id, Job memory job) = _appealed(0, 0, customer);
        // Final: 100 % refund + 100 % slash. The customer won the appeal: both bonds come back to it.
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobResolved(id, court, 10_000, 10_000, AMOUNT, 0, 0, 0, COLLATERAL, COLLATERAL / 2);
        vm.prank(court);
        module.rule(id, job, 10_000, 10_000);
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "resolved");
        vm.assertEq(_usdBal(customer), AMOUNT + 2 * BOND, "escrow and both bonds back");
        vm.assertEq(_usdBal(shop) + _usdBal(designer) + market.feesOf(address(usd)), 0, "nothing paid out");
        vm.assertEq(_fabBal(customer), COLLATERAL / 2, "compensation");
        vm.assertEq(market.feesOf(address(fab)), COLLATERAL / 2, "treasury share");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED - COLLATERAL, "fully slashed");
        vm.assertEq(market.lockedOf(shop), 0, "unlocked");
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(d.judge, address(0), "dispute record cleared");
    }

    function test_rule_courtConfirmsAgainstAppealingCustomer() public {
        (uint256 id, Job memory job) = _appealed(0, 0, customer);
        vm.prank(court);
        module.rule(id, job, 0, 0);
        // Lost appeal: its bond pays the arbiter's fee (20 %) and the rest goes to the treasury, never to the
        // shop; the dispute bond goes to the shop (refund < 50 %).
        uint256 arbiterFee = uint256(BOND) * ARBITER_FEE_BPS / BPS;
        vm.assertEq(_usdBal(customer), 0, "customer gets nothing");
        vm.assertEq(_usdBal(shop), NODE_PAY + BOND, "shop: pay and the dispute bond only");
        vm.assertEq(_usdBal(arbiter), arbiterFee, "arbiter's fee");
        vm.assertEq(_usdBal(designer), ROYALTY, "royalty");
        vm.assertEq(market.feesOf(address(usd)), FEE + BOND - arbiterFee, "fee + the rest of the appeal bond");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED, "no slash");
    }

    function test_rule_courtReversesForAppealingShop() public {
        (uint256 id, Job memory job) = _appealed(10_000, 5_000, shop);
        uint256 shopWallet = usd.balanceOf(shop);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobResolved(id, court, 0, 0, 0, NODE_PAY, FEE, ROYALTY, 0, 0);
        vm.prank(court);
        module.rule(id, job, 0, 0);
        // The shop won the appeal: its bond back, plus the pay and the customer's dispute bond.
        vm.assertEq(_usdBal(shop), BOND + NODE_PAY + BOND, "shop");
        vm.assertEq(_usdBal(customer), 0, "customer");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED, "no slash");
        vm.assertEq(usd.balanceOf(shop), shopWallet, "wallet untouched");
    }

    function test_rule_courtConfirmsAgainstAppealingShop() public {
        (uint256 id, Job memory job) = _appealed(10_000, 0, shop);
        vm.prank(court);
        module.rule(id, job, 10_000, 0);
        // Lost appeal: the shop's bond pays the arbiter's fee and the treasury; the customer gets escrow and
        // dispute bond back, and nothing of the shop's bond.
        uint256 arbiterFee = uint256(BOND) * ARBITER_FEE_BPS / BPS;
        vm.assertEq(_usdBal(customer), AMOUNT + BOND, "customer");
        vm.assertEq(_usdBal(shop), 0, "shop");
        vm.assertEq(_usdBal(arbiter), arbiterFee, "arbiter's fee");
        vm.assertEq(market.feesOf(address(usd)), BOND - arbiterFee, "treasury: the rest of the bond");
    }

    function test_rule_courtPartialSplitRoundsExactly() public {
        (uint256 id, Job memory job) = _appealed(0, 0, customer);
        vm.prank(court);
        module.rule(id, job, 4_999, 0);
        // Refund 49.99 USD; the rest 50.01 pays a 2.5 % fee (1.25025), a pro-rata royalty (2.5005) and the
        // shop (46.25925). The customer won the appeal (refund went up) but less than half: dispute bond to the shop.
        vm.assertEq(_usdBal(customer), 49_990_000 + BOND, "refund + appeal bond");
        vm.assertEq(_usdBal(shop), 46_259_250 + BOND, "pay + dispute bond");
        vm.assertEq(_usdBal(designer), 2_500_500, "royalty");
        vm.assertEq(market.feesOf(address(usd)), 1_250_250, "fee");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT + 2 * BOND, "all of it accounted");
    }

    function test_rule_courtReversesAppealedDefaultRuling() public {
        (uint256 id, Job memory job) = _disputed(designId);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        module.finalize(id, job); // the arbiter was silent: the default ruling applies
        vm.prank(court);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, court, arbiter));
        module.rule(id, job, 10_000, 0); // no court before an appeal
        vm.prank(customer);
        module.appeal(id, job);
        vm.assertEq(module.disputeOf(id).deadline, block.timestamp + COURT_WINDOW, "court window");
        vm.prank(court);
        module.rule(id, job, 10_000, 0);
        // The customer won its appeal of the default ruling: escrow, dispute bond and appeal bond back.
        vm.assertEq(_usdBal(customer), AMOUNT + 2 * BOND, "escrow and both bonds back");
        vm.assertEq(_usdBal(shop), 0, "shop");
        vm.assertEq(market.feesOf(address(usd)), 0, "no fee");
    }

    function test_rule_lostAppealOfDefaultRulingPaysNoArbiterFee() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        module.finalize(id, job);
        vm.prank(customer);
        module.appeal(id, job);
        vm.prank(court);
        module.rule(id, job, 5_000, 0); // the default ruling stands: the appeal is lost
        // Nobody ruled before the court: the whole appeal bond goes to the treasury (with the fee on the half paid).
        vm.assertEq(_usdBal(arbiter), 0, "the silent arbiter earns nothing");
        vm.assertEq(market.feesOf(address(usd)), 1_250_000 + BOND, "fee on the half paid + the whole appeal bond");
        vm.assertEq(_usdBal(customer), 50e6 + BOND, "half refund + dispute bond (50 % wins it)");
        vm.assertEq(_usdBal(shop), 48_750_000, "the other half less the fee");
    }

    function test_rule_revertsWhenCourtLate() public {
        (uint256 id, Job memory job) = _appealed(0, 0, customer);
        uint256 ruleBy = module.disputeOf(id).deadline;
        vm.warp(ruleBy + 1);
        vm.prank(court);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, ruleBy, ruleBy + 1)
        );
        module.rule(id, job, 10_000, 0);
    }

    function test_rule_arbiterCannotRuleAfterAppeal() public {
        (uint256 id, Job memory job) = _appealed(0, 0, customer);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, arbiter, court));
        module.rule(id, job, 0, 0);
    }

    // ======================================================================================= appeal

    function test_appeal_byCustomerPaysBondAndGoesToCourt() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, 0, 0);
        vm.warp(block.timestamp + 1 hours);
        uint256 ruleBy = block.timestamp + COURT_WINDOW; // the court's own window, not the appeal window
        uint256 walletBefore = usd.balanceOf(customer);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeAppealed(id, customer, court, BOND, ruleBy);
        vm.prank(customer);
        module.appeal(id, job);
        vm.assertEq(walletBefore - usd.balanceOf(customer), BOND, "appeal bond");
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(d.judge, court, "judge");
        vm.assertEq(uint256(d.stage), uint256(IJobMarketTypes.DisputeStage.Appealed), "stage");
        vm.assertEq(d.appellant, customer, "appellant");
        vm.assertEq(d.deadline, ruleBy, "deadline");
        vm.assertEq(d.arbiter, arbiter, "arbiter kept");
        vm.assertEq(d.refundBps + d.slashBps, 0, "arbiter's ruling kept");
    }

    function test_appeal_byShopPaysBondFromItsBalance() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, 10_000, 0);
        _fundShop(shop);
        vm.prank(shop);
        market.deposit(address(usd), BOND);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeAppealed(id, shop, court, BOND, block.timestamp + COURT_WINDOW);
        vm.prank(shop);
        module.appeal(id, job);
        vm.assertEq(_usdBal(shop), 0, "bond drawn from the shop's balance");
        vm.assertEq(module.disputeOf(id).appellant, shop, "appellant");
    }

    function test_appeal_courtFixedAtAppeal() public {
        (uint256 id, Job memory job) = _appealed(0, 0, customer);
        vm.prank(owner);
        module.proposeAppealCourt(stranger);
        vm.warp(block.timestamp + 2 days);
        module.activateAppealCourt();
        vm.assertEq(module.disputeOf(id).judge, court, "appeal keeps its court");
        vm.prank(court);
        module.rule(id, job, 10_000, 0);
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "old court ruled");
    }

    function test_appeal_revertsWhenNotParty() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, 0, 0);
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotParty.selector, id, stranger));
        module.appeal(id, job);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotParty.selector, id, arbiter));
        module.appeal(id, job);
        _assertNoFundsMoved(before);
    }

    function test_appeal_revertsBeforeRuling() public {
        (uint256 id, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__WrongDisputeStage.selector,
                id,
                IJobMarketTypes.DisputeStage.AwaitingArbiter
            )
        );
        module.appeal(id, job);
        _assertNoFundsMoved(before);
    }

    function test_appeal_revertsWhenAlreadyAppealed() public {
        (uint256 id, Job memory job) = _appealed(0, 0, customer);
        _fundShop(shop);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__WrongDisputeStage.selector, id, IJobMarketTypes.DisputeStage.Appealed
            )
        );
        module.appeal(id, job);
        _assertNoFundsMoved(before);
    }

    function test_appeal_revertsAfterAppealWindow() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, 0, 0);
        uint256 appealBy = block.timestamp + APPEAL_WINDOW;
        vm.warp(appealBy + 1);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, appealBy, appealBy + 1)
        );
        module.appeal(id, job);
        _assertNoFundsMoved(before);
    }

    function test_appeal_revertsWhenBondNotCovered() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, 10_000, 0);
        bytes32 before = _funds();
        vm.prank(shop); // no USD, no allowance
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, BOND)
        );
        module.appeal(id, job);
        _assertNoFundsMoved(before);
    }

    // ===================================================================================== finalize

    function test_finalize_silentArbiterAppliesAppealableDefaultRuling() public {
        (uint256 id, Job memory job) = _disputed(0);
        uint256 ruleBy = block.timestamp + DISPUTE_WINDOW;
        vm.warp(ruleBy + 1);
        bytes32 before = _funds();
        uint256 appealBy = block.timestamp + APPEAL_WINDOW;
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeRuled(id, address(0), 5_000, 0, appealBy);
        vm.prank(stranger);
        module.finalize(id, job);
        _assertNoFundsMoved(before); // a ruling pays nothing until it is final
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(d.judge, arbiter, "judge unchanged (it can no longer rule: the stage moved on)");
        vm.assertEq(d.arbiter, address(0), "no arbiter: the silent one is owed nothing");
        vm.assertEq(uint256(d.stage), uint256(IJobMarketTypes.DisputeStage.Ruled), "stage");
        vm.assertEq(d.refundBps, 5_000, "default refund");
        vm.assertEq(d.slashBps, 0, "default slash");
        vm.assertEq(d.appellant, address(0), "no appellant");
        vm.assertEq(d.deadline, appealBy, "appeal deadline");
        vm.assertEq(_status(id, job), uint256(JobStatus.Disputed), "still disputed");
        // The silent arbiter can no longer rule.
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__WrongDisputeStage.selector, id, IJobMarketTypes.DisputeStage.Ruled
            )
        );
        module.rule(id, job, 0, 0);
    }

    function test_finalize_revertsBeforeDeadline() public {
        (uint256 id, Job memory job) = _disputed(0);
        uint256 ruleBy = block.timestamp + DISPUTE_WINDOW;
        vm.warp(ruleBy);
        bytes32 before = _funds();
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, ruleBy, ruleBy)
        );
        module.finalize(id, job);
        _assertNoFundsMoved(before);
    }

    function test_finalize_unappealedRulingApplies() public {
        (uint256 id, Job memory job) = _disputed(designId);
        vm.prank(arbiter);
        module.rule(id, job, 10_000, 5_000);
        uint256 appealBy = block.timestamp + APPEAL_WINDOW;
        vm.warp(appealBy);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlineNotPassed.selector, id, appealBy, appealBy)
        );
        module.finalize(id, job);
        vm.warp(appealBy + 1);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobResolved(id, arbiter, 10_000, 5_000, AMOUNT, 0, 0, 0, 5e18, 2.5e18);
        vm.prank(stranger);
        module.finalize(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "resolved");
        vm.assertEq(_usdBal(customer), AMOUNT + BOND, "escrow and bond back");
        vm.assertEq(_fabBal(customer), 2.5e18, "compensation");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED - 5e18, "slashed");
        vm.assertEq(market.lockedOf(shop), 0, "unlocked");
    }

    function test_finalize_silentCourtKeepsArbiterRulingAndReturnsAppealBond() public {
        (uint256 id, Job memory job) = _appealed(0, 0, customer);
        vm.warp(module.disputeOf(id).deadline + 1);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobResolved(id, arbiter, 0, 0, 0, NODE_PAY, FEE, ROYALTY, 0, 0);
        module.finalize(id, job);
        vm.assertEq(_usdBal(customer), BOND, "appeal bond back, dispute bond lost");
        vm.assertEq(_usdBal(shop), NODE_PAY + BOND, "pay + dispute bond");
        vm.assertEq(_usdBal(designer), ROYALTY, "royalty");
        vm.assertEq(market.lockedOf(shop), 0, "unlocked");
    }

    function test_finalize_neitherRuledAppliesDefaultHalfRefundNoSlash() public {
        (uint256 id, Job memory job) = _disputed(designId);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        module.finalize(id, job); // the arbiter was silent
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        // 50 USD back; the other 50 pay fee 1.25, royalty 2.5, shop 46.25; the dispute bond goes back (50 % wins).
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobResolved(id, address(0), 5_000, 0, 50e6, 46_250_000, 1_250_000, 2_500_000, 0, 0);
        vm.prank(stranger);
        module.finalize(id, job);
        vm.assertEq(_usdBal(customer), 50e6 + BOND, "half refund + bond");
        vm.assertEq(_usdBal(shop), 46_250_000, "shop");
        vm.assertEq(_usdBal(designer), 2_500_000, "royalty");
        vm.assertEq(market.feesOf(address(usd)), 1_250_000, "fee");
        vm.assertEq(registry.stakeOf(shop).staked, STAKED, "no slash");
        vm.assertEq(market.lockedOf(shop), 0, "unlocked");
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "resolved");
    }

    function test_finalize_revertsWhenNotDisputed() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(block.timestamp + 30 days);
        bytes32 before = _funds();
        vm.expectRevert(_wrongStatus(id, JobStatus.Delivered, JobStatus.Disputed));
        module.finalize(id, job);
        _assertNoFundsMoved(before);
    }

    function test_finalize_revertsWhenAlreadyResolved() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        module.rule(id, job, 0, 0);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id, job);
        bytes32 before = _funds();
        vm.expectRevert(_wrongStatus(id, JobStatus.Resolved, JobStatus.Disputed));
        module.finalize(id, job);
        _assertNoFundsMoved(before);
    }

    // ===================================================================================== withdraw

    function test_withdraw_paysCreditedBalanceToRecipient() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.Withdrawn(address(usd), shop, stranger, AMOUNT - FEE);
        vm.prank(shop);
        uint256 paid = market.withdraw(address(usd), stranger);
        vm.assertEq(paid, AMOUNT - FEE, "returned");
        vm.assertEq(usd.balanceOf(stranger), 1_000_000e6 + AMOUNT - FEE, "recipient paid");
        vm.assertEq(_usdBal(shop), 0, "balance cleared");
        vm.assertEq(usd.balanceOf(address(market)), FEE, "fee stays");
    }

    function test_withdraw_returnsDeposit() public {
        vm.prank(customer);
        market.deposit(address(usd), 5e6);
        uint256 walletBefore = usd.balanceOf(customer);
        vm.prank(customer);
        market.withdraw(address(usd), customer);
        vm.assertEq(usd.balanceOf(customer), walletBefore + 5e6, "deposit back");
    }

    function test_withdraw_worksForDisallowedToken() public {
        vm.prank(customer);
        market.deposit(address(usd), 5e6);
        vm.prank(owner);
        module.setTokenTerms(address(usd), IJobMarketTypes.TokenTerms(false, 0, 0));
        vm.prank(customer);
        vm.assertEq(market.withdraw(address(usd), customer), 5e6, "withdrawn");
    }

    function test_withdraw_revertsWhenRecipientZero() public {
        vm.prank(customer);
        market.deposit(address(usd), 5e6);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("to")));
        market.withdraw(address(usd), address(0));
        _assertNoFundsMoved(before);
    }

    function test_withdraw_revertsWhenNothingToWithdraw() public {
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NothingToWithdraw.selector, address(usd), stranger)
        );
        market.withdraw(address(usd), stranger);
        _assertNoFundsMoved(before);
    }

    function test_withdraw_revertsWhenCalledTwice() public {
        vm.prank(customer);
        market.deposit(address(usd), 5e6);
        vm.prank(customer);
        market.withdraw(address(usd), customer);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NothingToWithdraw.selector, address(usd), customer)
        );
        market.withdraw(address(usd), customer);
        _assertNoFundsMoved(before);
    }

    function test_withdrawFees_paysTreasuryInEachToken() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        (uint256 id2, Job memory job2) = _claimed(0);
        vm.warp(job2.deadline + 1);
        market.expire(id2, job2);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.FeesWithdrawn(address(usd), treasury, FEE);
        vm.prank(stranger);
        vm.assertEq(market.withdrawFees(address(usd)), FEE, "usd fee");
        vm.expectEmit(address(market));
        emit IJobMarketTypes.FeesWithdrawn(address(fab), treasury, 2.5e18);
        market.withdrawFees(address(fab));
        vm.assertEq(usd.balanceOf(treasury), FEE, "treasury USD");
        vm.assertEq(fab.balanceOf(treasury), 2.5e18, "treasury FAB");
        vm.assertEq(market.feesOf(address(usd)) + market.feesOf(address(fab)), 0, "cleared");
    }

    function test_withdrawFees_goesToCurrentTreasury() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.TreasurySet(stranger);
        vm.prank(owner);
        module.setTreasury(stranger);
        vm.assertEq(market.treasury(), stranger, "treasury");
        uint256 before = usd.balanceOf(stranger);
        market.withdrawFees(address(usd));
        vm.assertEq(usd.balanceOf(stranger) - before, FEE, "new treasury paid");
        vm.assertEq(usd.balanceOf(treasury), 0, "old treasury not");
    }

    function test_withdrawFees_revertsWhenNothingAccrued() public {
        bytes32 before = _funds();
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NothingToWithdraw.selector, address(usd), treasury)
        );
        market.withdrawFees(address(usd));
        _assertNoFundsMoved(before);
    }

    // =================================================================================== governance

    function test_setParams_setsAndEmits() public {
        IJobMarketTypes.Params memory p = IJobMarketTypes.Params({
            feeBps: 1_000,
            maxRoyaltyBps: 2_500,
            disputeBondBps: 5_000,
            reviewWindow: 30 days,
            minDeliveryWindow: 365 days,
            minCollateral: 1_000_000e18,
            handBackWindow: 1 days,
            handBackPenaltyBps: 2_500,
            expirySlashBps: 10_000,
            compensationBps: 5_000,
            disputeWindow: 30 days,
            appealWindow: 30 days,
            courtWindow: 60 days,
            arbiterFeeBps: 5_000
        });
        vm.expectEmit(address(market));
        emit IJobMarketTypes.ParamsSet(p);
        vm.prank(owner);
        module.setParams(p);
        vm.assertEq(keccak256(abi.encode(module.params())), keccak256(abi.encode(p)), "upper bounds stored");
        p = IJobMarketTypes.Params({
            feeBps: 0,
            maxRoyaltyBps: 0,
            disputeBondBps: 0,
            reviewWindow: 1 hours,
            minDeliveryWindow: 1 hours,
            minCollateral: 1e15,
            handBackWindow: 10 minutes,
            handBackPenaltyBps: 0,
            expirySlashBps: 1_000,
            compensationBps: 0,
            disputeWindow: 1 days,
            appealWindow: 1 days,
            courtWindow: 1 days,
            arbiterFeeBps: 0
        });
        vm.prank(owner);
        module.setParams(p);
        vm.assertEq(keccak256(abi.encode(module.params())), keccak256(abi.encode(p)), "lower bounds stored");
    }

    /// @dev `defaultParams()` with field `i` set to `v`.
    function _paramsWith(uint256 i, uint256 v) internal pure returns (IJobMarketTypes.Params memory p) {
        p = defaultParams();
        if (i == 0) p.feeBps = uint16(v);
        else if (i == 1) p.maxRoyaltyBps = uint16(v);
        else if (i == 2) p.disputeBondBps = uint16(v);
        else if (i == 3) p.reviewWindow = uint32(v);
        else if (i == 4) p.minDeliveryWindow = uint32(v);
        else if (i == 5) p.minCollateral = uint96(v);
        else if (i == 6) p.handBackWindow = uint32(v);
        else if (i == 7) p.handBackPenaltyBps = uint16(v);
        else if (i == 8) p.expirySlashBps = uint16(v);
        else if (i == 9) p.compensationBps = uint16(v);
        else if (i == 10) p.disputeWindow = uint32(v);
        else if (i == 11) p.appealWindow = uint32(v);
        else if (i == 12) p.courtWindow = uint32(v);
        else p.arbiterFeeBps = uint16(v);
    }

    function _expectParamRevert(uint256 i, bytes32 name, uint256 value, uint256 min, uint256 max) internal {
        IJobMarketTypes.Params memory p = _paramsWith(i, value);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ParameterOutOfBounds.selector, name, value, min, max)
        );
        module.setParams(p);
    }

    function test_setParams_revertsNamingEachParameterOutOfBounds() public {
        _expectParamRevert(0, "feeBps", 1_001, 0, 1_000);
        _expectParamRevert(1, "maxRoyaltyBps", 2_501, 0, 2_500);
        _expectParamRevert(2, "disputeBondBps", 5_001, 0, 5_000);
        _expectParamRevert(3, "reviewWindow", 1 hours - 1, 1 hours, 30 days);
        _expectParamRevert(3, "reviewWindow", 30 days + 1, 1 hours, 30 days);
        _expectParamRevert(4, "minDeliveryWindow", 1 hours - 1, 1 hours, 365 days);
        _expectParamRevert(4, "minDeliveryWindow", 365 days + 1, 1 hours, 365 days);
        _expectParamRevert(5, "minCollateral", 0, 1e15, 1_000_000e18);
        _expectParamRevert(5, "minCollateral", 1e15 - 1, 1e15, 1_000_000e18);
        _expectParamRevert(5, "minCollateral", 1_000_000e18 + 1, 1e15, 1_000_000e18);
        _expectParamRevert(6, "handBackWindow", 10 minutes - 1, 10 minutes, 1 days);
        _expectParamRevert(6, "handBackWindow", 1 days + 1, 10 minutes, 1 days);
        _expectParamRevert(7, "handBackPenaltyBps", 2_501, 0, 2_500);
        _expectParamRevert(8, "expirySlashBps", 999, 1_000, 10_000);
        _expectParamRevert(8, "expirySlashBps", 10_001, 1_000, 10_000);
        _expectParamRevert(9, "compensationBps", 5_001, 0, 5_000);
        _expectParamRevert(10, "disputeWindow", 1 days - 1, 1 days, 30 days);
        _expectParamRevert(10, "disputeWindow", 30 days + 1, 1 days, 30 days);
        _expectParamRevert(11, "appealWindow", 1 days - 1, 1 days, 30 days);
        _expectParamRevert(11, "appealWindow", 30 days + 1, 1 days, 30 days);
        _expectParamRevert(12, "courtWindow", 1 days - 1, 1 days, 60 days);
        _expectParamRevert(12, "courtWindow", 60 days + 1, 1 days, 60 days);
        _expectParamRevert(13, "arbiterFeeBps", 5_001, 0, 5_000);
        vm.assertEq(keccak256(abi.encode(module.params())), keccak256(abi.encode(defaultParams())), "unchanged");
    }

    function test_setParams_revertsWhenNotOwner() public {
        IJobMarketTypes.Params memory p = defaultParams();
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, arbiter));
        module.setParams(p);
    }

    function test_setTokenTerms_allowsWithRatesAndForbids() public {
        IJobMarketTypes.TokenTerms memory t = IJobMarketTypes.TokenTerms(true, 1e16, 1e19);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.TokenTermsSet(address(fab), t);
        vm.prank(owner);
        module.setTokenTerms(address(fab), t);
        vm.assertTrue(market.isTokenAllowed(address(fab)), "allowed");
        vm.assertEq(keccak256(abi.encode(module.tokenTerms(address(fab)))), keccak256(abi.encode(t)), "stored");
        (uint256 lo, uint256 hi) = market.collateralBounds(address(fab), 10_000e18);
        vm.assertEq(lo, 100e18, "min rate");
        vm.assertEq(hi, 100_000e18, "max rate");
        t = IJobMarketTypes.TokenTerms(false, 0, 0);
        vm.prank(owner);
        module.setTokenTerms(address(fab), t);
        vm.assertFalse(market.isTokenAllowed(address(fab)), "forbidden");
    }

    function test_setTokenTerms_openJobsCompleteAfterDisallow() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(owner);
        module.setTokenTerms(address(usd), IJobMarketTypes.TokenTerms(false, 0, 0));
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_usdBal(shop), AMOUNT - FEE, "paid out");
    }

    function test_setTokenTerms_revertsWhenInvalid() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("token")));
        module.setTokenTerms(address(0), IJobMarketTypes.TokenTerms(true, 1, 1));
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidTokenTerms.selector, address(fab), 0, 1e18)
        );
        module.setTokenTerms(address(fab), IJobMarketTypes.TokenTerms(true, 0, 1e18));
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__InvalidTokenTerms.selector, address(fab), 2, 1)
        );
        module.setTokenTerms(address(fab), IJobMarketTypes.TokenTerms(true, 2, 1));
        vm.stopPrank();
        vm.assertFalse(market.isTokenAllowed(address(fab)), "still forbidden");
    }

    function test_setTokenTerms_revertsWhenNotOwner() public {
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, customer));
        module.setTokenTerms(address(fab), IJobMarketTypes.TokenTerms(true, 1, 1));
    }

    function test_proposeArbiter_activatesAfterDelayByAnyone() public {
        address next = address(0xA4B2);
        uint256 due = block.timestamp + 2 days;
        vm.expectEmit(address(market));
        emit IJobMarketTypes.ArbiterProposed(next, due);
        vm.prank(owner);
        module.proposeArbiter(next);
        (address pa, uint256 paAt,,) = module.pendingJudges();
        vm.assertEq(pa, next, "pending");
        vm.assertEq(paAt, due, "due");
        vm.warp(due - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ChangeNotDue.selector, bytes32("arbiter"), due, due - 1)
        );
        module.activateArbiter();
        vm.assertEq(module.arbiter(), arbiter, "not yet");
        vm.warp(due);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.ArbiterSet(next);
        vm.prank(stranger);
        module.activateArbiter();
        vm.assertEq(module.arbiter(), next, "activated");
        (pa, paAt,,) = module.pendingJudges();
        vm.assertEq(pa, address(0), "pending cleared");
        vm.assertEq(paAt, 0, "due cleared");
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NoPendingChange.selector, bytes32("arbiter"))
        );
        module.activateArbiter();
    }

    function test_proposeArbiter_reproposalRestartsDelay() public {
        vm.prank(owner);
        module.proposeArbiter(address(0xA4B2));
        vm.warp(block.timestamp + 1 days);
        vm.prank(owner);
        module.proposeArbiter(address(0xA4B3));
        uint256 due = block.timestamp + 2 days;
        vm.warp(due - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ChangeNotDue.selector, bytes32("arbiter"), due, due - 1)
        );
        module.activateArbiter();
        vm.warp(due);
        module.activateArbiter();
        vm.assertEq(module.arbiter(), address(0xA4B3), "latest proposal");
    }

    function test_proposeArbiter_revertsWhenZeroOrNotOwner() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("arbiter")));
        module.proposeArbiter(address(0));
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, arbiter));
        module.proposeArbiter(arbiter);
    }

    function test_proposeAppealCourt_activatesAfterDelay() public {
        address next = address(0xC0DE8);
        uint256 due = block.timestamp + 2 days;
        vm.expectEmit(address(market));
        emit IJobMarketTypes.AppealCourtProposed(next, due);
        vm.prank(owner);
        module.proposeAppealCourt(next);
        (,, address pc, uint256 pcAt) = module.pendingJudges();
        vm.assertEq(pc, next, "pending");
        vm.assertEq(pcAt, due, "due");
        vm.warp(due - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__ChangeNotDue.selector, bytes32("appealCourt"), due, due - 1
            )
        );
        module.activateAppealCourt();
        vm.warp(due);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.AppealCourtSet(next);
        module.activateAppealCourt();
        vm.assertEq(module.appealCourt(), next, "activated");
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NoPendingChange.selector, bytes32("appealCourt"))
        );
        module.activateAppealCourt();
    }

    function test_proposeAppealCourt_revertsWhenZeroOrNotOwner() public {
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("appealCourt"))
        );
        module.proposeAppealCourt(address(0));
        vm.prank(court);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, court));
        module.proposeAppealCourt(court);
    }

    function test_setTreasury_revertsWhenZeroOrNotOwner() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAddress.selector, bytes32("treasury")));
        module.setTreasury(address(0));
        vm.prank(treasury);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, treasury));
        module.setTreasury(treasury);
        vm.assertEq(market.treasury(), treasury, "unchanged");
    }

    function test_ownership_twoStepTransfer() public {
        vm.prank(owner);
        market.transferOwnership(stranger);
        vm.assertEq(market.pendingOwner(), stranger, "pending");
        vm.assertEq(market.owner(), owner, "not yet");
        vm.prank(stranger);
        market.acceptOwnership();
        vm.assertEq(market.owner(), stranger, "owner");
        vm.prank(stranger);
        module.setTreasury(stranger); // the module's onlyOwner reads the market's owner
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        module.setTreasury(owner);
    }

    function test_ownership_renounceLocksGovernance() public {
        vm.prank(owner);
        market.renounceOwnership();
        vm.assertEq(market.owner(), address(0), "renounced");
        IJobMarketTypes.Params memory p = defaultParams();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        module.setParams(p);
    }

    // ======================================================================================= module

    function _moduleAddress() internal view returns (address m) {
        // Deployed just before the market, bound to it (see Fixture).
        m = address(marketModule);
        require(m.code.length != 0, "module not found");
    }

    function test_module_refusesDirectCalls() public {
        IJobMarketModule direct = IJobMarketModule(_moduleAddress());
        (uint256 id, Job memory job) = _disputed(0);
        bytes memory notDelegated = _err(JobMarketModule.JobMarketModule__NotDelegated.selector);
        vm.prank(arbiter);
        vm.expectRevert(notDelegated);
        direct.rule(id, job, 0, 0);
        vm.expectRevert(notDelegated);
        direct.params();
        IJobMarketTypes.Params memory p = defaultParams();
        // The module's own owner is the market (its deployer); even that cannot use it directly.
        vm.prank(address(market));
        vm.expectRevert(notDelegated);
        direct.setParams(p);
        vm.expectRevert(notDelegated);
        direct.disputeOf(id);
    }

    function test_module_noReinitializationThroughMarket() public {
        // Set-up runs in the market's constructor only: there is no initializer left to call later.
        IJobMarketTypes.Params memory p = defaultParams();
        vm.prank(owner);
        (bool ok,) = address(market).call(
            abi.encodeWithSignature(
                "initialize(address,address,address,(uint16,uint16,uint16,uint32,uint32,uint96,uint32,uint16,uint16,uint16,uint32,uint32))",
                stranger,
                stranger,
                stranger,
                p
            )
        );
        vm.assertFalse(ok, "initializer reachable");
        vm.assertEq(market.treasury(), treasury, "treasury kept");
        vm.assertEq(module.arbiter(), arbiter, "arbiter kept");
        vm.assertEq(module.appealCourt(), court, "court kept");
    }

    function test_module_unknownSelectorReverts() public {
        (bool ok,) = address(market).call(abi.encodeWithSignature("noSuchFunction()"));
        vm.assertFalse(ok, "unknown selector accepted");
        (ok,) = address(market).call{value: 0}("");
        vm.assertFalse(ok, "empty call accepted");
    }

    // ==================================================================================== lifecycle

    function test_lifecycle_collateralReusableAfterSettle() public {
        PostArgs memory a = _args();
        a.amount = 10_000e6;
        a.collateral = uint96(STAKED); // the shop's whole stake
        uint256 id = _post(customer, a);
        Job memory job = withKey(openJob(a.amount, 0, a.claimBy, 7 days, a.collateral), uint64(id));
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        market.accept(id, job);
        a.claimBy = uint40(block.timestamp + 1 days);
        uint256 id2 = _post(customer, a);
        Job memory job2 = withKey(openJob(a.amount, 0, a.claimBy, 7 days, a.collateral), uint64(id2));
        claimJob(id2, job2);
        vm.assertEq(market.lockedOf(shop), STAKED, "whole stake locked again");
    }
}
