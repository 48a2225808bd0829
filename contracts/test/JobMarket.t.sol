// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IJobMarket} from "../src/interfaces/IJobMarket.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {TestStablecoin} from "../src/devnet/TestStablecoin.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC20Errors, IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Unit tests: every external function of JobMarket and every revert path, with exact error
/// arguments, expected events, and a check that no failing call moves funds.
contract JobMarketTest is MarketFixture {
    uint96 internal constant FEE = AMOUNT * FEE_BPS / 10_000; // 2.5e6
    uint96 internal constant ROYALTY = AMOUNT * 500 / 10_000; // 5e6 (design at 5 %)
    uint96 internal constant BOND = AMOUNT * BOND_BPS / 10_000; // 10e6

    // ============================================================================ constructor/views

    function test_constructor_setsState() public view {
        vm.assertEq(market.owner(), owner, "owner");
        vm.assertEq(market.registry(), address(registry), "registry");
        vm.assertEq(market.designs(), address(designs), "designs");
        vm.assertEq(market.treasury(), treasury, "treasury");
        vm.assertEq(market.arbiter(), arbiter, "arbiter");
        vm.assertEq(market.jobCount(), 0, "jobCount");
        vm.assertTrue(market.isTokenAllowed(address(usd)), "usd allowed");
        vm.assertFalse(market.isTokenAllowed(address(fab)), "fab not allowed");
        IJobMarket.Params memory p = market.params();
        vm.assertEq(p.feeBps, FEE_BPS, "feeBps");
        vm.assertEq(p.maxRoyaltyBps, 2_000, "maxRoyaltyBps");
        vm.assertEq(p.disputeBondBps, BOND_BPS, "disputeBondBps");
        vm.assertEq(p.reviewWindow, REVIEW_WINDOW, "reviewWindow");
        vm.assertEq(p.minDeliveryWindow, 1 hours, "minDeliveryWindow");
        vm.assertEq(p.minCollateral, MIN_COLLATERAL, "minCollateral");
        vm.assertEq(market.MAX_FEE_BPS(), 1_000, "MAX_FEE_BPS");
        vm.assertEq(market.MAX_ROYALTY_BPS(), 2_500, "MAX_ROYALTY_BPS");
        vm.assertEq(market.MAX_DISPUTE_BOND_BPS(), 5_000, "MAX_DISPUTE_BOND_BPS");
        vm.assertEq(market.MIN_REVIEW_WINDOW(), 1 hours, "MIN_REVIEW_WINDOW");
        vm.assertEq(market.MAX_REVIEW_WINDOW(), 30 days, "MAX_REVIEW_WINDOW");
        vm.assertEq(market.MIN_DELIVERY_WINDOW(), 10 minutes, "MIN_DELIVERY_WINDOW");
        vm.assertEq(market.MAX_DELIVERY_WINDOW(), 365 days, "MAX_DELIVERY_WINDOW");
        vm.assertEq(market.MAX_CLAIM_PERIOD(), 365 days, "MAX_CLAIM_PERIOD");
        vm.assertEq(market.MAX_MIN_COLLATERAL(), 1_000_000e18, "MAX_MIN_COLLATERAL");
    }

    function _deploy(address treasury_, address arbiter_, IJobMarket.Params memory p) internal returns (JobMarket) {
        return new JobMarket(owner, INodeRegistry(address(registry)), IERC2981(address(designs)), treasury_, arbiter_, p);
    }

    function test_constructor_emitsConfiguration() public {
        IJobMarket.Params memory p = defaultParams();
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        vm.expectEmit(predicted);
        emit IJobMarket.TreasurySet(treasury);
        vm.expectEmit(predicted);
        emit IJobMarket.ArbiterSet(arbiter);
        vm.expectEmit(predicted);
        emit IJobMarket.ParamsSet(p);
        _deploy(treasury, arbiter, p);
    }

    function test_constructor_revertsWhenTreasuryZero() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__ZeroAddress.selector, bytes32("treasury")));
        _deploy(address(0), arbiter, defaultParams());
    }

    function test_constructor_revertsWhenArbiterZero() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__ZeroAddress.selector, bytes32("arbiter")));
        _deploy(treasury, address(0), defaultParams());
    }

    function test_constructor_revertsWhenParamsOutOfBounds() public {
        IJobMarket.Params memory p = defaultParams();
        p.reviewWindow = 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__ParameterOutOfBounds.selector, bytes32("reviewWindow"), 0, 1 hours, 30 days
            )
        );
        _deploy(treasury, arbiter, p);
    }

    function test_constructor_revertsWhenOwnerZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new JobMarket(
            address(0), INodeRegistry(address(registry)), IERC2981(address(designs)), treasury, arbiter, defaultParams()
        );
    }

    function test_views_unknownJob() public view {
        vm.assertEq(market.commitmentOf(1), bytes32(0), "commitment");
        vm.assertEq(_status(1), uint256(JobStatus.None), "status");
        vm.assertEq(market.balanceOf(address(usd), customer), 0, "balance");
        vm.assertEq(market.feesOf(address(usd)), 0, "fees");
    }

    function test_hashJob_isAbiEncodingHashWithStatusInLowByte() public view {
        Job memory job = openJob(AMOUNT, designId, 12345, 7 days, MIN_COLLATERAL);
        job.node = shop;
        job.bond = 77;
        for (uint256 s; s <= uint256(JobStatus.Expired); ++s) {
            bytes32 expected = (keccak256(abi.encode(job)) & ~bytes32(uint256(0xff))) | bytes32(s);
            vm.assertEq(market.hashJob(job, JobStatus(s)), expected, "hashJob");
        }
    }

    function test_hashJob_revertsWhenStatusOutOfRange() public {
        Job memory job = openJob(AMOUNT, 0, 12345, 7 days, MIN_COLLATERAL);
        (bool ok,) = address(market).call(abi.encodeWithSelector(market.hashJob.selector, job, uint256(9)));
        vm.assertFalse(ok, "status 9 accepted");
    }

    // ========================================================================================= post

    function test_post_escrowsPaymentAndCommitsJob() public {
        uint40 claimBy = uint40(block.timestamp + 1 days);
        Job memory job = openJob(AMOUNT, 0, claimBy, 7 days, MIN_COLLATERAL);
        uint256 customerBefore = usd.balanceOf(customer);
        vm.expectEmit(address(market));
        emit IJobMarket.JobPosted(1, customer, address(usd), job, SPEC_CID, 0);
        vm.prank(customer);
        uint256 id = market.post(address(usd), AMOUNT, SPEC_CID, 0, claimBy, 7 days, MIN_COLLATERAL);
        vm.assertEq(id, 1, "id");
        vm.assertEq(market.jobCount(), 1, "jobCount");
        vm.assertEq(_status(id), uint256(JobStatus.Open), "status");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "commitment");
        vm.assertEq(usd.balanceOf(customer), customerBefore - AMOUNT, "customer paid");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "escrowed");
        vm.assertEq(job.royaltyReceiver, address(0), "no royalty receiver");
        vm.assertEq(job.royalty, 0, "no royalty");
    }

    function test_post_idsIncrement() public {
        (uint256 a,) = _open();
        (uint256 b,) = _open();
        vm.assertEq(a, 1, "first");
        vm.assertEq(b, 2, "second");
        vm.assertEq(market.jobCount(), 2, "jobCount");
    }

    function test_post_withDesign_snapshotsRoyaltyOfDesignOwner() public {
        uint40 claimBy = uint40(block.timestamp + 1 days);
        Job memory job = openJob(AMOUNT, designId, claimBy, 7 days, MIN_COLLATERAL);
        vm.assertEq(job.royaltyReceiver, designer, "receiver");
        vm.assertEq(job.royalty, ROYALTY, "royalty");
        vm.expectEmit(address(market));
        emit IJobMarket.JobPosted(1, customer, address(usd), job, SPEC_CID, designId);
        vm.prank(customer);
        uint256 id = market.post(address(usd), AMOUNT, SPEC_CID, designId, claimBy, 7 days, MIN_COLLATERAL);
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "commitment");
    }

    function test_post_capsRoyaltyAtMaxRoyaltyBps() public {
        uint256 greedy = designs.mint(designer, META_CID, 2_500); // 25 % > market cap of 20 %
        (uint256 id, Job memory job) = postJob(AMOUNT, greedy);
        job.royalty = AMOUNT * 2_000 / 10_000;
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "capped commitment");
    }

    function test_post_royaltyBelowCapIsNotCapped() public {
        uint256 d = designs.mint(designer, META_CID, 1_999);
        (uint256 id, Job memory job) = postJob(AMOUNT, d);
        vm.assertEq(job.royalty, uint256(AMOUNT) * 1_999 / 10_000, "uncapped");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "commitment");
    }

    function test_post_zeroRoyaltyDesignStillNamesReceiver() public {
        uint256 d = designs.mint(designer, META_CID, 0);
        (uint256 id, Job memory job) = postJob(AMOUNT, d);
        vm.assertEq(job.royaltyReceiver, designer, "receiver");
        vm.assertEq(job.royalty, 0, "royalty");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "commitment");
    }

    function test_post_royaltyCapZeroTakesNoRoyalty() public {
        IJobMarket.Params memory p = defaultParams();
        p.maxRoyaltyBps = 0;
        vm.prank(owner);
        market.setParams(p);
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        job.royalty = 0;
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "commitment");
    }

    function test_post_royaltyGoesToOwnerAtPostTime() public {
        vm.prank(designer);
        designs.transferFrom(designer, stranger, designId);
        (uint256 id, Job memory job) = postJob(AMOUNT, designId);
        vm.assertEq(job.royaltyReceiver, stranger, "new owner");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "commitment");
    }

    function test_post_ignoresRoyaltyWhenReceiverIsZero() public {
        vm.mockCall(
            address(designs),
            abi.encodeWithSelector(IERC2981.royaltyInfo.selector, designId, uint256(AMOUNT)),
            abi.encode(address(0), uint256(7e6))
        );
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        uint256 id = market.post(address(usd), AMOUNT, SPEC_CID, designId, claimBy, 7 days, MIN_COLLATERAL);
        vm.clearMockedCalls();
        Job memory job = openJob(AMOUNT, 0, claimBy, 7 days, MIN_COLLATERAL);
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "no royalty");
    }

    function test_post_drawsFromDepositFirst() public {
        vm.prank(customer);
        market.deposit(address(usd), 150e6);
        uint256 walletBefore = usd.balanceOf(customer);
        _open();
        vm.assertEq(usd.balanceOf(customer), walletBefore, "nothing pulled");
        vm.assertEq(market.balanceOf(address(usd), customer), 50e6, "deposit drawn");
        vm.assertEq(usd.balanceOf(address(market)), 150e6, "market holds");
    }

    function test_post_drawsExactDeposit() public {
        vm.prank(customer);
        market.deposit(address(usd), AMOUNT);
        uint256 walletBefore = usd.balanceOf(customer);
        _open();
        vm.assertEq(usd.balanceOf(customer), walletBefore, "nothing pulled");
        vm.assertEq(market.balanceOf(address(usd), customer), 0, "deposit used up");
    }

    function test_post_pullsOnlyTheShortfall() public {
        vm.prank(customer);
        market.deposit(address(usd), 30e6);
        uint256 walletBefore = usd.balanceOf(customer);
        _open();
        vm.assertEq(usd.balanceOf(customer), walletBefore - 70e6, "shortfall pulled");
        vm.assertEq(market.balanceOf(address(usd), customer), 0, "deposit used up");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "market holds");
    }

    function test_post_snapshotsFeeAndReviewWindow() public {
        (uint256 id, Job memory job) = _open();
        IJobMarket.Params memory p = defaultParams();
        p.feeBps = 1_000;
        p.reviewWindow = 1 days;
        vm.prank(owner);
        market.setParams(p);
        job = deliverJob(id, claimJob(id, job));
        vm.assertEq(job.deadline, block.timestamp + REVIEW_WINDOW, "old review window");
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(market.feesOf(address(usd)), FEE, "old fee");
    }

    function test_post_acceptsBoundaryValues() public {
        uint40 claimBy = uint40(block.timestamp + 365 days);
        vm.prank(customer);
        market.post(address(usd), 1, SPEC_CID, 0, claimBy, 1 hours, MIN_COLLATERAL);
        vm.prank(customer);
        market.post(address(usd), 1, SPEC_CID, 0, uint40(block.timestamp + 1), 365 days, type(uint96).max);
        vm.assertEq(market.jobCount(), 2, "posted");
    }

    function test_post_revertsWhenSpecCidInvalid() public {
        bytes memory bad = hex"1221aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidCid.selector, bad));
        market.post(address(usd), AMOUNT, bad, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenSpecCidEmpty() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidCid.selector, bytes("")));
        market.post(address(usd), AMOUNT, "", 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenTokenNotAllowed() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__TokenNotAllowed.selector, address(fab)));
        market.post(address(fab), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenTokenDisallowedAgain() public {
        vm.prank(owner);
        market.setTokenAllowed(address(usd), false);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__TokenNotAllowed.selector, address(usd)));
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenZeroAmount() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_err(IJobMarket.JobMarket__ZeroAmount.selector));
        market.post(address(usd), 0, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenClaimByIsNow() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__InvalidClaimDeadline.selector, block.timestamp, block.timestamp
            )
        );
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenClaimByInPast() public {
        vm.warp(1_000_000);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidClaimDeadline.selector, 999_999, 1_000_000));
        market.post(address(usd), AMOUNT, SPEC_CID, 0, 999_999, 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenClaimByTooFar() public {
        uint256 claimBy = block.timestamp + 365 days + 1;
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__InvalidClaimDeadline.selector, claimBy, block.timestamp)
        );
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(claimBy), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenDeliveryWindowTooShort() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__InvalidDeliveryWindow.selector, 1 hours - 1, 1 hours, 365 days
            )
        );
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 1 hours - 1, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenDeliveryWindowTooLong() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__InvalidDeliveryWindow.selector, 365 days + 1, 1 hours, 365 days
            )
        );
        market.post(
            address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 365 days + 1, MIN_COLLATERAL
        );
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenCollateralTooLow() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__CollateralTooLow.selector, MIN_COLLATERAL - 1, MIN_COLLATERAL)
        );
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL - 1);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenDesignUnknown() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownDesign.selector, 99));
        market.post(address(usd), AMOUNT, SPEC_CID, 99, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenDesignRoyaltyLookupReverts() public {
        vm.mockCallRevert(
            address(designs),
            abi.encodeWithSelector(IERC2981.royaltyInfo.selector, designId, uint256(AMOUNT)),
            bytes("boom")
        );
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownDesign.selector, designId));
        market.post(
            address(usd), AMOUNT, SPEC_CID, designId, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL
        );
        vm.clearMockedCalls();
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenAllowanceTooLow() public {
        vm.prank(customer);
        usd.approve(address(market), AMOUNT - 1);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), AMOUNT - 1, AMOUNT
            )
        );
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
    }

    function test_post_revertsWhenShortfallNotCoveredKeepsDeposit() public {
        vm.startPrank(customer);
        market.deposit(address(usd), 40e6);
        usd.approve(address(market), 59e6);
        vm.stopPrank();
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 59e6, 60e6)
        );
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        _assertNoFundsMoved(before);
        vm.assertEq(market.balanceOf(address(usd), customer), 40e6, "deposit kept");
    }

    function test_post_checksCidBeforeToken() public {
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidCid.selector, bytes("x")));
        market.post(address(fab), 0, "x", 0, 0, 0, 0);
    }

    function test_post_checksTokenBeforeAmount() public {
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__TokenNotAllowed.selector, address(fab)));
        market.post(address(fab), 0, SPEC_CID, 0, 0, 0, 0);
    }

    // ====================================================================================== deposit

    function test_deposit_creditsBalance() public {
        vm.expectEmit(address(market));
        emit IJobMarket.Deposited(address(usd), customer, 42e6);
        vm.prank(customer);
        market.deposit(address(usd), 42e6);
        vm.assertEq(market.balanceOf(address(usd), customer), 42e6, "credited");
        vm.assertEq(usd.balanceOf(address(market)), 42e6, "held");
        vm.prank(customer);
        market.deposit(address(usd), 8e6);
        vm.assertEq(market.balanceOf(address(usd), customer), 50e6, "accumulates");
    }

    function test_deposit_revertsWhenTokenNotAllowed() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__TokenNotAllowed.selector, address(fab)));
        market.deposit(address(fab), 1);
        _assertNoFundsMoved(before);
    }

    function test_deposit_revertsWhenZeroAmount() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(_err(IJobMarket.JobMarket__ZeroAmount.selector));
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

    // ======================================================================================= cancel

    function test_cancel_creditsRefund() public {
        (uint256 id, Job memory job) = _open();
        vm.expectEmit(address(market));
        emit IJobMarket.JobCancelled(id, customer, AMOUNT);
        vm.prank(customer);
        market.cancel(id, job);
        vm.assertEq(_status(id), uint256(JobStatus.Cancelled), "status");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Cancelled), "commitment");
        vm.assertEq(market.balanceOf(address(usd), customer), AMOUNT, "refund credited");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "still held");
    }

    function test_cancel_allowedAfterClaimDeadline() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(job.deadline + 365 days);
        vm.prank(customer);
        market.cancel(id, job);
        vm.assertEq(market.balanceOf(address(usd), customer), AMOUNT, "refund credited");
    }

    function test_cancel_revertsWhenUnknownJob() public {
        (, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownJob.selector, 2));
        market.cancel(2, job);
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenNotOpen() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Claimed, JobStatus.Open)
        );
        market.cancel(id, job);
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenAlreadyCancelled() public {
        (uint256 id, Job memory job) = _open();
        vm.prank(customer);
        market.cancel(id, job);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Cancelled, JobStatus.Open)
        );
        market.cancel(id, job);
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _openWithDesign();
        bytes32 before = _funds();
        for (uint256 f; f < 12; ++f) {
            vm.prank(customer);
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id));
            market.cancel(id, _tamper(job, f));
        }
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenCalldataNotCanonical() public {
        (uint256 id, Job memory job) = _open();
        bytes memory data = abi.encodeWithSelector(market.cancel.selector, id, job);
        // Dirty the unused high bits of the `token` word (argument word 2): same struct, other hash.
        data[4 + 2 * 32] = 0x01;
        bytes32 before = _funds();
        vm.prank(customer);
        (bool ok, bytes memory ret) = address(market).call(data);
        vm.assertFalse(ok, "non-canonical job accepted");
        vm.assertEq(ret, abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id), "error");
        _assertNoFundsMoved(before);
    }

    function test_cancel_revertsWhenNotCustomer() public {
        (uint256 id, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__NotCustomer.selector, id, stranger, customer));
        market.cancel(id, job);
        _assertNoFundsMoved(before);
    }

    // ======================================================================================== claim

    function test_claim_locksCollateralAndStartsDeliveryClock() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(block.timestamp + 1 hours);
        uint256 deliverBy = block.timestamp + 7 days;
        vm.expectCall(
            address(registry), abi.encodeCall(INodeRegistry.lockCollateral, (shop, nodeId, uint256(MIN_COLLATERAL)))
        );
        vm.expectEmit(address(market));
        emit IJobMarket.JobClaimed(id, shop, nodeId, deliverBy);
        vm.prank(shop);
        market.claim(id, job, nodeId);
        job.node = shop;
        job.deadline = uint40(deliverBy);
        vm.assertEq(_status(id), uint256(JobStatus.Claimed), "status");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Claimed), "commitment");
        vm.assertEq(registry.stakeOf(shop).locked, MIN_COLLATERAL, "locked");
        vm.assertEq(registry.stakeOf(shop).staked, 10_000e18, "staked unchanged");
    }

    function test_claim_allowedAtClaimDeadline() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(job.deadline);
        claimJob(id, job);
        vm.assertEq(_status(id), uint256(JobStatus.Claimed), "status");
    }

    function test_claim_revertsWhenUnknownJob() public {
        (, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownJob.selector, 7));
        market.claim(7, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenNotOpen() public {
        (uint256 id, Job memory job) = _open();
        vm.prank(customer);
        market.cancel(id, job);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Cancelled, JobStatus.Open)
        );
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenAlreadyClaimed() public {
        (uint256 id, Job memory job) = _open();
        claimJob(id, job);
        bytes32 before = _funds();
        vm.prank(shop2);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Claimed, JobStatus.Open)
        );
        market.claim(id, job, nodeId2);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _openWithDesign();
        bytes32 before = _funds();
        for (uint256 f; f < 12; ++f) {
            vm.prank(shop);
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id));
            market.claim(id, _tamper(job, f), nodeId);
        }
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenDeadlinePassed() public {
        (uint256 id, Job memory job) = _open();
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__DeadlinePassed.selector, id, job.deadline, job.deadline + 1)
        );
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenNodeUnknown() public {
        (uint256 id, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnknownNode.selector, 99));
        market.claim(id, job, 99);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenNodeOfOtherOperator() public {
        (uint256 id, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotNodeOperator.selector, nodeId2, shop, shop2)
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
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NodeInactive.selector, nodeId));
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenBelowMinimumStake() public {
        (uint256 id, Job memory job) = _open();
        vm.prank(shop);
        registry.requestUnbond(9_001e18);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__BelowMinimumStake.selector, shop, 999e18, MIN_STAKE)
        );
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    function test_claim_revertsWhenFreeStakeTooLow() public {
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        uint256 id = market.post(address(usd), AMOUNT, SPEC_CID, 0, claimBy, 7 days, 10_000e18 + 1);
        Job memory job = openJob(AMOUNT, 0, claimBy, 7 days, 10_000e18 + 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, shop, 10_000e18, 10_000e18 + 1
            )
        );
        market.claim(id, job, nodeId);
        _assertNoFundsMoved(before);
    }

    // ====================================================================================== deliver

    function test_deliver_startsReviewWindow() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(block.timestamp + 2 days);
        uint256 reviewUntil = block.timestamp + REVIEW_WINDOW;
        vm.expectEmit(address(market));
        emit IJobMarket.JobDelivered(id, shop, PROOF_CID, reviewUntil);
        vm.prank(shop);
        market.deliver(id, job, PROOF_CID);
        job.deadline = uint40(reviewUntil);
        vm.assertEq(_status(id), uint256(JobStatus.Delivered), "status");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Delivered), "commitment");
        vm.assertEq(registry.stakeOf(shop).locked, MIN_COLLATERAL, "still locked");
    }

    function test_deliver_allowedAtDeliveryDeadline() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline);
        deliverJob(id, job);
        vm.assertEq(_status(id), uint256(JobStatus.Delivered), "status");
    }

    function test_deliver_revertsWhenUnknownJob() public {
        (, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownJob.selector, 0));
        market.deliver(0, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenNotClaimed() public {
        (uint256 id, Job memory job) = _open();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Open, JobStatus.Claimed)
        );
        market.deliver(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenAlreadyDelivered() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Delivered, JobStatus.Claimed
            )
        );
        market.deliver(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _claimed(designId);
        bytes32 before = _funds();
        for (uint256 f; f < 12; ++f) {
            vm.prank(shop);
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id));
            market.deliver(id, _tamper(job, f), PROOF_CID);
        }
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenNotClaimer() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(shop2);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__NotClaimer.selector, id, shop2, shop));
        market.deliver(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenDeadlinePassed() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__DeadlinePassed.selector, id, job.deadline, job.deadline + 1)
        );
        market.deliver(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_deliver_revertsWhenProofCidInvalid() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes memory bad = hex"0155";
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidCid.selector, bad));
        market.deliver(id, job, bad);
        _assertNoFundsMoved(before);
    }

    // ======================================================================================= accept

    function test_accept_paysNodeTreasuryAndDesignerAndReleasesCollateral() public {
        (uint256 id, Job memory job) = _delivered(designId);
        uint96 payout = AMOUNT - FEE - ROYALTY;
        vm.expectCall(
            address(registry), abi.encodeCall(INodeRegistry.releaseCollateral, (shop, uint256(MIN_COLLATERAL)))
        );
        vm.expectEmit(address(market));
        emit IJobMarket.JobSettled(id, shop, payout, FEE, ROYALTY, true);
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_status(id), uint256(JobStatus.Settled), "status");
        vm.assertEq(market.commitmentOf(id), bytes32(0), "settled slot is cleared");
        vm.assertEq(market.balanceOf(address(usd), shop), 92_500_000, "node payout");
        vm.assertEq(market.balanceOf(address(usd), designer), 5_000_000, "royalty");
        vm.assertEq(market.feesOf(address(usd)), 2_500_000, "fee");
        vm.assertEq(market.balanceOf(address(usd), customer), 0, "customer");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT, "held until withdrawn");
        vm.assertEq(registry.stakeOf(shop).locked, 0, "released");
        vm.assertEq(registry.stakeOf(shop).staked, 10_000e18, "not slashed");
    }

    function test_accept_withoutDesignPaysNoRoyalty() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(market.balanceOf(address(usd), shop), AMOUNT - FEE, "node payout");
        vm.assertEq(market.feesOf(address(usd)), FEE, "fee");
    }

    function test_accept_allowedAfterReviewWindow() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline + 30 days);
        vm.prank(customer);
        market.accept(id, job);
        vm.assertEq(_status(id), uint256(JobStatus.Settled), "status");
    }

    function test_accept_revertsWhenUnknownJob() public {
        (, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownJob.selector, 5));
        market.accept(5, job);
        _assertNoFundsMoved(before);
    }

    function test_accept_revertsWhenNotDelivered() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Claimed, JobStatus.Delivered
            )
        );
        market.accept(id, job);
        _assertNoFundsMoved(before);
    }

    function test_accept_revertsWhenAlreadySettled() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Settled, JobStatus.Delivered
            )
        );
        market.accept(id, job);
        _assertNoFundsMoved(before);
    }

    function test_accept_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _delivered(designId);
        bytes32 before = _funds();
        for (uint256 f; f < 12; ++f) {
            vm.prank(customer);
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id));
            market.accept(id, _tamper(job, f));
        }
        _assertNoFundsMoved(before);
    }

    function test_accept_revertsWhenNotCustomer() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__NotCustomer.selector, id, shop, customer));
        market.accept(id, job);
        _assertNoFundsMoved(before);
    }

    // ======================================================================================= settle

    function test_settle_byAnyoneAfterReviewWindow() public {
        (uint256 id, Job memory job) = _delivered(designId);
        vm.warp(job.deadline + 1);
        vm.expectEmit(address(market));
        emit IJobMarket.JobSettled(id, shop, AMOUNT - FEE - ROYALTY, FEE, ROYALTY, false);
        vm.prank(stranger);
        market.settle(id, job);
        vm.assertEq(_status(id), uint256(JobStatus.Settled), "status");
        vm.assertEq(market.balanceOf(address(usd), shop), AMOUNT - FEE - ROYALTY, "payout");
        vm.assertEq(market.balanceOf(address(usd), designer), ROYALTY, "royalty");
        vm.assertEq(market.feesOf(address(usd)), FEE, "fee");
        vm.assertEq(registry.stakeOf(shop).locked, 0, "released");
        vm.assertEq(market.balanceOf(address(usd), stranger), 0, "settler earns nothing");
    }

    function test_settle_revertsWhenReviewWindowRunning() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline);
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__DeadlineNotPassed.selector, id, job.deadline, job.deadline)
        );
        market.settle(id, job);
        _assertNoFundsMoved(before);
    }

    function test_settle_revertsWhenUnknownJob() public {
        (, Job memory job) = _delivered(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownJob.selector, 3));
        market.settle(3, job);
        _assertNoFundsMoved(before);
    }

    function test_settle_revertsWhenDisputed() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Disputed, JobStatus.Delivered
            )
        );
        market.settle(id, job);
        _assertNoFundsMoved(before);
    }

    function test_settle_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _delivered(designId);
        vm.warp(job.deadline + 10);
        bytes32 before = _funds();
        for (uint256 f; f < 12; ++f) {
            Job memory t = _tamper(job, f);
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id));
            market.settle(id, t);
        }
        _assertNoFundsMoved(before);
    }

    // ====================================================================================== reclaim

    function test_reclaim_refundsAndSlashesCollateralToCustomer() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        vm.expectCall(
            address(registry),
            abi.encodeCall(
                INodeRegistry.slashCollateral, (shop, uint256(MIN_COLLATERAL), uint256(MIN_COLLATERAL), customer)
            )
        );
        vm.expectEmit(address(market));
        emit IJobMarket.JobExpired(id, shop, AMOUNT, MIN_COLLATERAL);
        vm.expectEmit(address(registry));
        emit INodeRegistry.CollateralSlashed(shop, customer, MIN_COLLATERAL, 10_000e18 - MIN_COLLATERAL);
        vm.prank(customer);
        market.reclaim(id, job);
        vm.assertEq(_status(id), uint256(JobStatus.Expired), "status");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Expired), "commitment");
        vm.assertEq(market.balanceOf(address(usd), customer), AMOUNT, "refund");
        vm.assertEq(fab.balanceOf(customer), MIN_COLLATERAL, "slashed FAB");
        INodeRegistry.Stake memory s = registry.stakeOf(shop);
        vm.assertEq(s.locked, 0, "unlocked");
        vm.assertEq(s.staked, 10_000e18 - MIN_COLLATERAL, "stake slashed");
        vm.assertEq(fab.balanceOf(address(registry)), 20_000e18 - MIN_COLLATERAL, "registry FAB");
    }

    function test_reclaim_revertsWhenDeliveryDeadlineNotPassed() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__DeadlineNotPassed.selector, id, job.deadline, job.deadline)
        );
        market.reclaim(id, job);
        _assertNoFundsMoved(before);
    }

    function test_reclaim_revertsWhenNotCustomer() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__NotCustomer.selector, id, stranger, customer));
        market.reclaim(id, job);
        _assertNoFundsMoved(before);
    }

    function test_reclaim_revertsWhenDelivered() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Delivered, JobStatus.Claimed
            )
        );
        market.reclaim(id, job);
        _assertNoFundsMoved(before);
    }

    function test_reclaim_revertsWhenAlreadyExpired() public {
        (uint256 id, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        vm.prank(customer);
        market.reclaim(id, job);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Expired, JobStatus.Claimed)
        );
        market.reclaim(id, job);
        _assertNoFundsMoved(before);
    }

    function test_reclaim_revertsWhenUnknownJob() public {
        (, Job memory job) = _claimed(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownJob.selector, 4));
        market.reclaim(4, job);
        _assertNoFundsMoved(before);
    }

    function test_reclaim_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _claimed(designId);
        vm.warp(job.deadline + 10);
        bytes32 before = _funds();
        for (uint256 f; f < 12; ++f) {
            vm.prank(customer);
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id));
            market.reclaim(id, _tamper(job, f));
        }
        _assertNoFundsMoved(before);
    }

    // ====================================================================================== dispute

    function test_dispute_pullsBondAndCommitsIt() public {
        (uint256 id, Job memory job) = _delivered(0);
        uint256 walletBefore = usd.balanceOf(customer);
        vm.expectEmit(address(market));
        emit IJobMarket.JobDisputed(id, customer, BOND, SPEC_CID);
        vm.prank(customer);
        market.dispute(id, job, SPEC_CID);
        job.bond = BOND;
        vm.assertEq(_status(id), uint256(JobStatus.Disputed), "status");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Disputed), "commitment");
        vm.assertEq(usd.balanceOf(customer), walletBefore - BOND, "bond pulled");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT + BOND, "bond held");
        vm.assertEq(registry.stakeOf(shop).locked, MIN_COLLATERAL, "collateral stays locked");
    }

    function test_dispute_allowedAtReviewDeadline() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline);
        vm.prank(customer);
        market.dispute(id, job, PROOF_CID);
        vm.assertEq(_status(id), uint256(JobStatus.Disputed), "status");
    }

    function test_dispute_bondDrawnFromDeposit() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.deposit(address(usd), BOND + 1);
        uint256 walletBefore = usd.balanceOf(customer);
        vm.prank(customer);
        market.dispute(id, job, PROOF_CID);
        vm.assertEq(usd.balanceOf(customer), walletBefore, "nothing pulled");
        vm.assertEq(market.balanceOf(address(usd), customer), 1, "deposit drawn");
    }

    function test_dispute_bondUsesCurrentBondBps() public {
        (uint256 id, Job memory job) = _delivered(0);
        IJobMarket.Params memory p = defaultParams();
        p.disputeBondBps = 5_000;
        vm.prank(owner);
        market.setParams(p);
        vm.prank(customer);
        market.dispute(id, job, PROOF_CID);
        job.bond = AMOUNT / 2;
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Disputed), "half bond");
    }

    function test_dispute_zeroBondMovesNoTokens() public {
        IJobMarket.Params memory p = defaultParams();
        p.disputeBondBps = 0;
        vm.prank(owner);
        market.setParams(p);
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        usd.approve(address(market), 0);
        uint256 walletBefore = usd.balanceOf(customer);
        vm.expectEmit(address(market));
        emit IJobMarket.JobDisputed(id, customer, 0, PROOF_CID);
        vm.prank(customer);
        market.dispute(id, job, PROOF_CID);
        vm.assertEq(usd.balanceOf(customer), walletBefore, "no bond");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Disputed), "zero bond commitment");
    }

    function test_dispute_revertsWhenReviewWindowOver() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.warp(job.deadline + 1);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__DeadlinePassed.selector, id, job.deadline, job.deadline + 1)
        );
        market.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenNotCustomer() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__NotCustomer.selector, id, shop, customer));
        market.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenReasonCidInvalid() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes memory bad = hex"01a9031220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidCid.selector, bad));
        market.dispute(id, job, bad);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenNotDelivered() public {
        (uint256 id, Job memory job) = _claimed(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Claimed, JobStatus.Delivered
            )
        );
        market.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenAlreadyDisputed() public {
        (uint256 id, Job memory job) = _disputed(0);
        job.bond = 0; // the struct as delivered
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Disputed, JobStatus.Delivered
            )
        );
        market.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenUnknownJob() public {
        (, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownJob.selector, 2));
        market.dispute(2, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    function test_dispute_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _delivered(designId);
        bytes32 before = _funds();
        for (uint256 f; f < 12; ++f) {
            vm.prank(customer);
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id));
            market.dispute(id, _tamper(job, f), PROOF_CID);
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
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), BOND - 1, BOND)
        );
        market.dispute(id, job, PROOF_CID);
        _assertNoFundsMoved(before);
    }

    // ====================================================================================== resolve

    struct Expected {
        uint256 refund;
        uint256 payout;
        uint256 fee;
        uint256 royalty;
        uint256 slashed;
        bool customerGetsBond;
    }

    function _resolveAndCheck(uint256 design, uint16 refundBps, uint16 slashBps, Expected memory e) internal {
        (uint256 id, Job memory job) = _disputed(design);
        uint256 fabBefore = fab.balanceOf(customer);
        vm.expectCall(
            address(registry),
            abi.encodeCall(INodeRegistry.slashCollateral, (shop, uint256(MIN_COLLATERAL), e.slashed, customer))
        );
        vm.expectEmit(address(market));
        emit IJobMarket.JobResolved(id, refundBps, slashBps, e.refund, e.payout, e.fee, e.royalty, e.slashed);
        vm.expectEmit(address(registry));
        emit INodeRegistry.CollateralSlashed(shop, customer, e.slashed, 10_000e18 - e.slashed);
        vm.prank(arbiter);
        market.resolve(id, job, refundBps, slashBps);

        vm.assertEq(_status(id), uint256(JobStatus.Resolved), "status");
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Resolved), "commitment");
        uint256 bondToCustomer = e.customerGetsBond ? BOND : 0;
        uint256 bondToNode = e.customerGetsBond ? 0 : BOND;
        vm.assertEq(market.balanceOf(address(usd), customer), e.refund + bondToCustomer, "customer credit");
        vm.assertEq(market.balanceOf(address(usd), shop), e.payout + bondToNode, "node credit");
        vm.assertEq(market.balanceOf(address(usd), designer), e.royalty, "royalty credit");
        vm.assertEq(market.feesOf(address(usd)), e.fee, "fee");
        vm.assertEq(e.refund + e.payout + e.fee + e.royalty, AMOUNT, "conservation");
        vm.assertEq(usd.balanceOf(address(market)), AMOUNT + BOND, "held until withdrawn");
        vm.assertEq(fab.balanceOf(customer) - fabBefore, e.slashed, "slash paid to customer");
        INodeRegistry.Stake memory s = registry.stakeOf(shop);
        vm.assertEq(s.locked, 0, "collateral released");
        vm.assertEq(s.staked, 10_000e18 - e.slashed, "stake slashed");
    }

    function test_resolve_fullRefundFullSlash_bondToCustomer() public {
        _resolveAndCheck(designId, 10_000, 10_000, Expected(AMOUNT, 0, 0, 0, MIN_COLLATERAL, true));
    }

    function test_resolve_nodeWinsEverything_bondToNode() public {
        _resolveAndCheck(designId, 0, 0, Expected(0, 92_500_000, 2_500_000, 5_000_000, 0, false));
    }

    function test_resolve_exactHalf_bondToCustomer() public {
        // rest 50e6: fee 1.25e6, royalty 5e6 * 50e6 / 100e6 = 2.5e6, payout 46.25e6.
        _resolveAndCheck(designId, 5_000, 2_500, Expected(50e6, 46_250_000, 1_250_000, 2_500_000, 2.5e18, true));
    }

    function test_resolve_justUnderHalf_bondToNode() public {
        // refund 49.99e6, rest 50.01e6: fee 1_250_250, payout 48_759_750; no design.
        _resolveAndCheck(0, 4_999, 1, Expected(49_990_000, 48_759_750, 1_250_250, 0, 1e15, false));
    }

    function test_resolve_thirdRefund_bondToNode() public {
        // refund 33.33 %: refund 33_330_000, rest 66_670_000, fee 1_666_750, royalty 3_333_500.
        _resolveAndCheck(designId, 3_333, 10_000, Expected(33_330_000, 61_669_750, 1_666_750, 3_333_500, 10e18, false));
    }

    function test_resolve_zeroBondSplit() public {
        IJobMarket.Params memory p = defaultParams();
        p.disputeBondBps = 0;
        vm.prank(owner);
        market.setParams(p);
        (uint256 id, Job memory job) = _disputed(0);
        vm.assertEq(job.bond, 0, "no bond");
        vm.prank(arbiter);
        market.resolve(id, job, 2_000, 0);
        vm.assertEq(market.balanceOf(address(usd), customer), 20e6, "refund");
        vm.assertEq(market.balanceOf(address(usd), shop), 78e6, "payout"); // 80e6 - 2.5 %
        vm.assertEq(market.feesOf(address(usd)), 2e6, "fee");
    }

    function test_resolve_revertsWhenNotArbiter() public {
        (uint256 id, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__NotArbiter.selector, owner, arbiter));
        market.resolve(id, job, 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_resolve_checksArbiterFirst() public {
        (, Job memory job) = _disputed(0);
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__NotArbiter.selector, customer, arbiter));
        market.resolve(42, job, 10_001, 10_001);
    }

    function test_resolve_revertsWhenRefundBpsTooHigh() public {
        (uint256 id, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidSplit.selector, 10_001, 0));
        market.resolve(id, job, 10_001, 0);
        _assertNoFundsMoved(before);
    }

    function test_resolve_revertsWhenSlashBpsTooHigh() public {
        (uint256 id, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidSplit.selector, 10_000, 65_535));
        market.resolve(id, job, 10_000, 65_535);
        _assertNoFundsMoved(before);
    }

    function test_resolve_revertsWhenNotDisputed() public {
        (uint256 id, Job memory job) = _delivered(0);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Delivered, JobStatus.Disputed
            )
        );
        market.resolve(id, job, 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_resolve_revertsWhenAlreadyResolved() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        market.resolve(id, job, 0, 0);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.JobMarket__WrongStatus.selector, id, JobStatus.Resolved, JobStatus.Disputed
            )
        );
        market.resolve(id, job, 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_resolve_revertsWhenUnknownJob() public {
        (, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__UnknownJob.selector, 9));
        market.resolve(9, job, 0, 0);
        _assertNoFundsMoved(before);
    }

    function test_resolve_revertsWhenJobDataMismatch() public {
        (uint256 id, Job memory job) = _disputed(designId);
        bytes32 before = _funds();
        for (uint256 f; f < 12; ++f) {
            vm.prank(arbiter);
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id));
            market.resolve(id, _tamper(job, f), 5_000, 5_000);
        }
        _assertNoFundsMoved(before);
    }

    // ===================================================================================== withdraw

    function test_withdraw_paysCreditedBalanceToRecipient() public {
        (uint256 id, Job memory job) = _delivered(designId);
        vm.prank(customer);
        market.accept(id, job);
        uint256 payout = AMOUNT - FEE - ROYALTY;
        vm.expectEmit(address(market));
        emit IJobMarket.Withdrawn(address(usd), shop, stranger, payout);
        vm.prank(shop);
        uint256 paid = market.withdraw(address(usd), stranger);
        vm.assertEq(paid, payout, "returned");
        vm.assertEq(usd.balanceOf(stranger), 1_000_000e6 + payout, "recipient paid");
        vm.assertEq(market.balanceOf(address(usd), shop), 0, "zeroed");
        vm.assertEq(usd.balanceOf(address(market)), FEE + ROYALTY, "rest still held");
    }

    function test_withdraw_returnsDeposit() public {
        vm.startPrank(customer);
        market.deposit(address(usd), 5e6);
        uint256 walletBefore = usd.balanceOf(customer);
        vm.assertEq(market.withdraw(address(usd), customer), 5e6, "returned");
        vm.stopPrank();
        vm.assertEq(usd.balanceOf(customer), walletBefore + 5e6, "paid back");
    }

    function test_withdraw_worksForDisallowedToken() public {
        vm.prank(customer);
        market.deposit(address(usd), 5e6);
        vm.prank(owner);
        market.setTokenAllowed(address(usd), false);
        vm.prank(customer);
        vm.assertEq(market.withdraw(address(usd), customer), 5e6, "withdrawn");
    }

    function test_withdraw_revertsWhenRecipientZero() public {
        vm.prank(customer);
        market.deposit(address(usd), 5e6);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__ZeroAddress.selector, bytes32("to")));
        market.withdraw(address(usd), address(0));
        _assertNoFundsMoved(before);
    }

    function test_withdraw_revertsWhenNothingToWithdraw() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__NothingToWithdraw.selector, address(usd), customer)
        );
        market.withdraw(address(usd), customer);
        _assertNoFundsMoved(before);
    }

    function test_withdraw_revertsWhenCalledTwice() public {
        vm.startPrank(customer);
        market.deposit(address(usd), 5e6);
        market.withdraw(address(usd), customer);
        bytes32 before = _funds();
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__NothingToWithdraw.selector, address(usd), customer)
        );
        market.withdraw(address(usd), customer);
        vm.stopPrank();
        _assertNoFundsMoved(before);
    }

    // ================================================================================= withdrawFees

    function test_withdrawFees_paysTreasury() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        vm.expectEmit(address(market));
        emit IJobMarket.FeesWithdrawn(address(usd), treasury, FEE);
        vm.prank(stranger); // anyone may trigger it; only the treasury is paid
        uint256 paid = market.withdrawFees(address(usd));
        vm.assertEq(paid, FEE, "returned");
        vm.assertEq(usd.balanceOf(treasury), FEE, "treasury paid");
        vm.assertEq(market.feesOf(address(usd)), 0, "zeroed");
    }

    function test_withdrawFees_goesToCurrentTreasury() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(customer);
        market.accept(id, job);
        vm.prank(owner);
        market.setTreasury(stranger);
        uint256 before = usd.balanceOf(stranger);
        market.withdrawFees(address(usd));
        vm.assertEq(usd.balanceOf(stranger) - before, FEE, "new treasury paid");
        vm.assertEq(usd.balanceOf(treasury), 0, "old treasury not paid");
    }

    function test_withdrawFees_revertsWhenNothingAccrued() public {
        bytes32 before = _funds();
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarket__NothingToWithdraw.selector, address(usd), treasury)
        );
        market.withdrawFees(address(usd));
        _assertNoFundsMoved(before);
    }

    // =================================================================================== governance

    function test_setParams_setsAndEmits() public {
        IJobMarket.Params memory p = IJobMarket.Params({
            feeBps: 1_000,
            maxRoyaltyBps: 2_500,
            disputeBondBps: 5_000,
            reviewWindow: 30 days,
            minDeliveryWindow: 365 days,
            minCollateral: 1_000_000e18
        });
        vm.expectEmit(address(market));
        emit IJobMarket.ParamsSet(p);
        vm.prank(owner);
        market.setParams(p);
        IJobMarket.Params memory q = market.params();
        vm.assertEq(keccak256(abi.encode(q)), keccak256(abi.encode(p)), "params");
        p = IJobMarket.Params(0, 0, 0, 1 hours, 10 minutes, 0);
        vm.prank(owner);
        market.setParams(p);
        vm.assertEq(keccak256(abi.encode(market.params())), keccak256(abi.encode(p)), "lower bounds");
    }

    function _expectParamOutOfBounds(IJobMarket.Params memory p, bytes32 name, uint256 v, uint256 lo, uint256 hi)
        internal
    {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__ParameterOutOfBounds.selector, name, v, lo, hi));
        market.setParams(p);
    }

    function test_setParams_revertsWhenOutOfBounds() public {
        IJobMarket.Params memory before = market.params();
        IJobMarket.Params memory p = defaultParams();
        p.feeBps = 1_001;
        _expectParamOutOfBounds(p, "feeBps", 1_001, 0, 1_000);
        p = defaultParams();
        p.maxRoyaltyBps = 2_501;
        _expectParamOutOfBounds(p, "maxRoyaltyBps", 2_501, 0, 2_500);
        p = defaultParams();
        p.disputeBondBps = 5_001;
        _expectParamOutOfBounds(p, "disputeBondBps", 5_001, 0, 5_000);
        p = defaultParams();
        p.reviewWindow = 1 hours - 1;
        _expectParamOutOfBounds(p, "reviewWindow", 1 hours - 1, 1 hours, 30 days);
        p = defaultParams();
        p.reviewWindow = 30 days + 1;
        _expectParamOutOfBounds(p, "reviewWindow", 30 days + 1, 1 hours, 30 days);
        p = defaultParams();
        p.minDeliveryWindow = 10 minutes - 1;
        _expectParamOutOfBounds(p, "minDeliveryWindow", 10 minutes - 1, 10 minutes, 365 days);
        p = defaultParams();
        p.minDeliveryWindow = 365 days + 1;
        _expectParamOutOfBounds(p, "minDeliveryWindow", 365 days + 1, 10 minutes, 365 days);
        p = defaultParams();
        p.minCollateral = 1_000_000e18 + 1;
        _expectParamOutOfBounds(p, "minCollateral", 1_000_000e18 + 1, 0, 1_000_000e18);
        vm.assertEq(keccak256(abi.encode(market.params())), keccak256(abi.encode(before)), "unchanged");
    }

    function test_setParams_revertsWhenNotOwner() public {
        IJobMarket.Params memory p = defaultParams();
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, arbiter));
        market.setParams(p);
    }

    function test_setTokenAllowed_allowsAndForbids() public {
        TestStablecoin eur = new TestStablecoin(owner);
        vm.expectEmit(address(market));
        emit IJobMarket.TokenAllowed(address(eur), true);
        vm.prank(owner);
        market.setTokenAllowed(address(eur), true);
        vm.assertTrue(market.isTokenAllowed(address(eur)), "allowed");
        vm.expectEmit(address(market));
        emit IJobMarket.TokenAllowed(address(eur), false);
        vm.prank(owner);
        market.setTokenAllowed(address(eur), false);
        vm.assertFalse(market.isTokenAllowed(address(eur)), "forbidden");
    }

    function test_setTokenAllowed_openJobsStillCompleteAfterDisallow() public {
        (uint256 id, Job memory job) = _delivered(0);
        vm.prank(owner);
        market.setTokenAllowed(address(usd), false);
        vm.prank(customer);
        market.accept(id, job);
        vm.prank(shop);
        market.withdraw(address(usd), shop);
        vm.assertEq(usd.balanceOf(shop), AMOUNT - FEE, "paid");
    }

    function test_setTokenAllowed_revertsWhenZeroAddress() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__ZeroAddress.selector, bytes32("token")));
        market.setTokenAllowed(address(0), true);
    }

    function test_setTokenAllowed_revertsWhenNotOwner() public {
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, customer));
        market.setTokenAllowed(address(fab), true);
    }

    function test_setArbiter_handsOverResolution() public {
        vm.expectEmit(address(market));
        emit IJobMarket.ArbiterSet(stranger);
        vm.prank(owner);
        market.setArbiter(stranger);
        vm.assertEq(market.arbiter(), stranger, "arbiter");
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__NotArbiter.selector, arbiter, stranger));
        market.resolve(id, job, 0, 0);
        vm.prank(stranger);
        market.resolve(id, job, 0, 0);
        vm.assertEq(_status(id), uint256(JobStatus.Resolved), "resolved by new arbiter");
    }

    function test_setArbiter_revertsWhenZeroAddress() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__ZeroAddress.selector, bytes32("arbiter")));
        market.setArbiter(address(0));
    }

    function test_setArbiter_revertsWhenNotOwner() public {
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, arbiter));
        market.setArbiter(arbiter);
    }

    function test_setTreasury_setsAndEmits() public {
        vm.expectEmit(address(market));
        emit IJobMarket.TreasurySet(stranger);
        vm.prank(owner);
        market.setTreasury(stranger);
        vm.assertEq(market.treasury(), stranger, "treasury");
    }

    function test_setTreasury_revertsWhenZeroAddress() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__ZeroAddress.selector, bytes32("treasury")));
        market.setTreasury(address(0));
    }

    function test_setTreasury_revertsWhenNotOwner() public {
        vm.prank(treasury);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, treasury));
        market.setTreasury(treasury);
    }

    function test_ownership_twoStepTransfer() public {
        vm.prank(owner);
        market.transferOwnership(stranger);
        vm.assertEq(market.owner(), owner, "not yet");
        vm.assertEq(market.pendingOwner(), stranger, "pending");
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, customer));
        market.acceptOwnership();
        vm.prank(stranger);
        market.acceptOwnership();
        vm.assertEq(market.owner(), stranger, "transferred");
        vm.assertEq(market.pendingOwner(), address(0), "cleared");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        market.setTreasury(owner);
    }

    function test_ownership_transferRevertsWhenNotOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        market.transferOwnership(stranger);
    }

    function test_ownership_renounceLocksGovernance() public {
        vm.prank(owner);
        market.renounceOwnership();
        vm.assertEq(market.owner(), address(0), "renounced");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        market.setTokenAllowed(address(fab), true);
    }

    // ==================================================================================== lifecycle

    function test_lifecycle_fullRoundTripPaysEveryone() public {
        (uint256 id, Job memory job) = _delivered(designId);
        vm.prank(customer);
        market.accept(id, job);
        vm.prank(shop);
        market.withdraw(address(usd), shop);
        vm.prank(designer);
        market.withdraw(address(usd), designer);
        market.withdrawFees(address(usd));
        vm.assertEq(usd.balanceOf(shop), AMOUNT - FEE - ROYALTY, "shop");
        vm.assertEq(usd.balanceOf(designer), ROYALTY, "designer");
        vm.assertEq(usd.balanceOf(treasury), FEE, "treasury");
        vm.assertEq(usd.balanceOf(address(market)), 0, "market drained");
    }

    function test_lifecycle_collateralReusableAfterSettle() public {
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        uint256 id = market.post(address(usd), AMOUNT, SPEC_CID, 0, claimBy, 7 days, 9_000e18);
        Job memory job = openJob(AMOUNT, 0, claimBy, 7 days, 9_000e18);
        job = deliverJob(id, claimJob(id, job));
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, shop, 1_000e18, 2_000e18)
        );
        registry.requestUnbond(2_000e18);
        vm.prank(customer);
        market.accept(id, job);
        vm.prank(shop);
        registry.requestUnbond(2_000e18);
        vm.assertEq(registry.stakeOf(shop).staked, 8_000e18, "unbonded after release");
    }
}
