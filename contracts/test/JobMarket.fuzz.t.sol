// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {Vm} from "./utils/Vm.sol";
import {IJobMarket} from "../src/interfaces/IJobMarket.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../src/types/Job.sol";

/// @notice Fuzz tests: every payout path conserves value to the unit, deadlines are exact, and job
/// commitments bind every field.
contract JobMarketFuzzTest is MarketFixture {
    struct Split {
        uint256 amount;
        uint256 feeBps;
        uint256 royaltyBps;
        uint256 bondBps;
        uint256 refundBps;
        uint256 slashBps;
        uint256 collateral;
    }

    function _setParams(uint256 feeBps, uint256 maxRoyaltyBps, uint256 bondBps) internal {
        IJobMarket.Params memory p = defaultParams();
        p.feeBps = uint16(feeBps);
        p.maxRoyaltyBps = uint16(maxRoyaltyBps);
        p.disputeBondBps = uint16(bondBps);
        vm.prank(owner);
        market.setParams(p);
    }

    function _fund(address who, uint256 amount) internal {
        vm.prank(owner);
        usd.mint(who, amount);
    }

    /// @dev Posts as `customer` and rebuilds the job from the JobPosted event, as the SDK does.
    function _post(uint256 amount, uint256 design, uint256 collateral) internal returns (uint256 id, Job memory job) {
        vm.recordLogs();
        vm.prank(customer);
        id = market.post(
            address(usd), uint96(amount), SPEC_CID, design, uint40(block.timestamp + 1 days), 7 days, uint96(collateral)
        );
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(market) && logs[i].topics[0] == IJobMarket.JobPosted.selector) {
                (job,,) = abi.decode(logs[i].data, (Job, bytes, uint256));
            }
        }
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Open), "rebuilt job matches");
    }

    function _credit(address a) internal view returns (uint256) {
        return market.balanceOf(address(usd), a);
    }

    // ============================================================================ settlement value

    function testFuzz_settle_conservesValue(
        uint96 amount,
        uint16 feeBps,
        uint16 maxRoyaltyBps,
        uint16 royaltyBps,
        bool accepted
    ) public {
        amount = uint96(bound(amount, 1, type(uint96).max));
        feeBps = uint16(bound(feeBps, 0, 1_000));
        maxRoyaltyBps = uint16(bound(maxRoyaltyBps, 0, 2_500));
        royaltyBps = uint16(bound(royaltyBps, 0, 2_500));
        _setParams(feeBps, maxRoyaltyBps, BOND_BPS);
        uint256 design = designs.mint(designer, META_CID, royaltyBps);
        _fund(customer, amount);

        (uint256 id, Job memory job) = _post(amount, design, MIN_COLLATERAL);
        uint256 royaltyUncapped = uint256(amount) * royaltyBps / BPS;
        uint256 cap = uint256(amount) * maxRoyaltyBps / BPS;
        uint256 royalty = royaltyUncapped < cap ? royaltyUncapped : cap;
        vm.assertEq(job.royalty, royalty, "royalty capped at post");
        vm.assertEq(job.feeBps, feeBps, "fee snapshotted");

        job = deliverJob(id, claimJob(id, job));
        if (accepted) {
            vm.prank(customer);
            market.accept(id, job);
        } else {
            vm.warp(job.deadline + 1);
            market.settle(id, job);
        }
        uint256 fee = uint256(amount) * feeBps / BPS;
        uint256 payout = _credit(shop);
        vm.assertEq(market.feesOf(address(usd)), fee, "fee");
        vm.assertEq(_credit(designer), royalty, "royalty");
        vm.assertEq(payout + fee + royalty, amount, "node payout + fee + royalty == amount");
        vm.assertEq(_credit(customer), 0, "customer gets nothing back");
        vm.assertEq(usd.balanceOf(address(market)), amount, "market holds exactly the payment");
        vm.assertEq(registry.stakeOf(shop).locked, 0, "collateral released");
        vm.assertEq(registry.stakeOf(shop).staked, 10_000e18, "nothing slashed");

        _drain();
    }

    /// @dev Pays every credit and fee out; the market must end empty.
    function _drain() internal {
        address[3] memory payees = [customer, shop, designer];
        for (uint256 i; i < payees.length; ++i) {
            if (_credit(payees[i]) != 0) {
                vm.prank(payees[i]);
                market.withdraw(address(usd), payees[i]);
            }
        }
        if (market.feesOf(address(usd)) != 0) market.withdrawFees(address(usd));
        vm.assertEq(usd.balanceOf(address(market)), 0, "market drained");
    }

    // ============================================================================ resolution value

    function testFuzz_resolve_conservesValue(
        uint96 amount,
        uint16 feeBps,
        uint16 royaltyBps,
        uint16 bondBps,
        uint16 refundBps,
        uint16 slashBps,
        uint96 collateral
    ) public {
        Split memory s = Split({
            amount: bound(amount, 1, type(uint96).max / 2),
            feeBps: bound(feeBps, 0, 1_000),
            royaltyBps: bound(royaltyBps, 0, 2_500),
            bondBps: bound(bondBps, 0, 5_000),
            refundBps: _edgy(refundBps),
            slashBps: _edgy(slashBps),
            collateral: bound(collateral, 0, 10_000e18)
        });
        _resolveAndCheck(s);
    }

    /// @dev A split in basis points, one time in two on an edge: 0, just under half, half, just over, all.
    function _edgy(uint16 seed) internal pure returns (uint256) {
        uint256[5] memory edges = [uint256(0), 4_999, 5_000, 5_001, BPS];
        if (seed % 2 == 0) return edges[(seed / 2) % 5];
        return bound(seed, 0, BPS);
    }

    function _resolveAndCheck(Split memory s) internal {
        IJobMarket.Params memory p = defaultParams();
        p.feeBps = uint16(s.feeBps);
        p.disputeBondBps = uint16(s.bondBps);
        p.maxRoyaltyBps = 2_500;
        p.minCollateral = 0;
        vm.prank(owner);
        market.setParams(p);
        uint256 design = designs.mint(designer, META_CID, uint96(s.royaltyBps));
        uint256 bond = s.amount * s.bondBps / BPS;
        _fund(customer, s.amount + bond);

        (uint256 id, Job memory job) = _post(s.amount, design, s.collateral);
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        market.dispute(id, job, PROOF_CID);
        job.bond = uint96(bond);
        vm.assertEq(usd.balanceOf(address(market)), s.amount + bond, "escrow + bond held");

        uint256 fabCustomer = fab.balanceOf(customer);
        uint256 fabRegistry = fab.balanceOf(address(registry));
        vm.prank(arbiter);
        market.resolve(id, job, uint16(s.refundBps), uint16(s.slashBps));
        _checkPayment(s, job);
        _checkSlash(s, fabCustomer, fabRegistry);
        _drain();
    }

    function _checkPayment(Split memory s, Job memory job) internal view {
        uint256 bond = job.bond;
        uint256 refund = s.amount * s.refundBps / BPS;
        uint256 rest = s.amount - refund;
        uint256 fee = rest * s.feeBps / BPS;
        uint256 royalty = uint256(job.royalty) * rest / s.amount;
        bool customerWins = s.refundBps * 2 >= BPS;
        uint256 customerCredit = _credit(customer);
        uint256 nodeCredit = _credit(shop);

        vm.assertEq(customerCredit, refund + (customerWins ? bond : 0), "customer refund (+bond if won)");
        vm.assertEq(nodeCredit, rest - fee - royalty + (customerWins ? 0 : bond), "node payout (+bond if lost)");
        vm.assertEq(_credit(designer), royalty, "royalty pro rata");
        vm.assertEq(market.feesOf(address(usd)), fee, "fee on the node's part");
        vm.assertEq(
            customerCredit + nodeCredit + _credit(designer) + market.feesOf(address(usd)),
            s.amount + bond,
            "refund + payout + fee + royalty + bond == amount + bond"
        );
        vm.assertLe(royalty, job.royalty, "royalty never grows");
        vm.assertEq(usd.balanceOf(address(market)), s.amount + bond, "all still held");
    }

    function _checkSlash(Split memory s, uint256 fabCustomer, uint256 fabRegistry) internal view {
        uint256 slashed = s.collateral * s.slashBps / BPS;
        vm.assertEq(fab.balanceOf(customer) - fabCustomer, slashed, "slash paid to customer");
        vm.assertEq(fabRegistry - fab.balanceOf(address(registry)), slashed, "slash left the registry");
        INodeRegistry.Stake memory st = registry.stakeOf(shop);
        vm.assertEq(st.locked, 0, "collateral released");
        vm.assertEq(st.staked, 10_000e18 - slashed, "stake slashed");
    }

    function testFuzz_resolve_revertsWhenSplitAboveBps(uint16 refundBps, uint16 slashBps) public {
        vm.assume(refundBps > BPS || slashBps > BPS);
        (uint256 id, Job memory job) = _disputed(designId);
        bytes32 before = _funds();
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarket__InvalidSplit.selector, refundBps, slashBps));
        market.resolve(id, job, refundBps, slashBps);
        _assertNoFundsMoved(before);
    }

    function testFuzz_dispute_bondIsBpsOfAmount(uint96 amount, uint16 bondBps) public {
        amount = uint96(bound(amount, 1, type(uint96).max / 2));
        bondBps = uint16(bound(bondBps, 0, 5_000));
        _setParams(FEE_BPS, 2_000, bondBps);
        _fund(customer, uint256(amount) * 2);
        (uint256 id, Job memory job) = _post(amount, 0, MIN_COLLATERAL);
        job = deliverJob(id, claimJob(id, job));
        uint256 walletBefore = usd.balanceOf(customer);
        vm.prank(customer);
        market.dispute(id, job, PROOF_CID);
        uint256 bond = uint256(amount) * bondBps / BPS;
        vm.assertEq(walletBefore - usd.balanceOf(customer), bond, "bond pulled");
        job.bond = uint96(bond);
        vm.assertEq(market.commitmentOf(id), market.hashJob(job, JobStatus.Disputed), "bond committed");
    }

    // ============================================================================ refunds & draws

    function testFuzz_reclaim_refundsAllAndSlashesAllCollateral(
        uint96 amount,
        uint96 collateral,
        uint32 window,
        uint32 late
    ) public {
        amount = uint96(bound(amount, 1, type(uint96).max));
        collateral = uint96(bound(collateral, MIN_COLLATERAL, 10_000e18));
        window = uint32(bound(window, 1 hours, 365 days));
        late = uint32(bound(late, 1, 400 days));
        _fund(customer, amount);
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        uint256 id = market.post(address(usd), amount, SPEC_CID, 0, claimBy, window, collateral);
        Job memory job = claimJob(id, openJob(amount, 0, claimBy, window, collateral));
        vm.warp(uint256(job.deadline) + late);
        uint256 fabBefore = fab.balanceOf(customer);
        vm.prank(customer);
        market.reclaim(id, job);
        vm.assertEq(_credit(customer), amount, "full refund");
        vm.assertEq(_credit(shop), 0, "node unpaid");
        vm.assertEq(market.feesOf(address(usd)), 0, "no fee");
        vm.assertEq(fab.balanceOf(customer) - fabBefore, collateral, "collateral slashed to customer");
        vm.assertEq(registry.stakeOf(shop).staked, 10_000e18 - collateral, "stake cut");
        vm.assertEq(registry.stakeOf(shop).locked, 0, "unlocked");
        _drain();
    }

    function testFuzz_cancel_refundsExactly(uint96 amount, uint256 deposited) public {
        amount = uint96(bound(amount, 1, type(uint96).max));
        deposited = bound(deposited, 0, uint256(amount) * 2);
        _fund(customer, uint256(amount) * 3);
        if (deposited != 0) {
            vm.prank(customer);
            market.deposit(address(usd), deposited);
        }
        uint256 wallet = usd.balanceOf(customer);
        (uint256 id, Job memory job) = _post(amount, 0, MIN_COLLATERAL);
        vm.prank(customer);
        market.cancel(id, job);
        vm.assertEq(_credit(customer), deposited > amount ? deposited : amount, "refund credited on top");
        vm.prank(customer);
        market.withdraw(address(usd), customer);
        vm.assertEq(usd.balanceOf(customer), wallet + deposited, "customer made whole");
        vm.assertEq(usd.balanceOf(address(market)), 0, "market empty");
    }

    function testFuzz_post_drawsDepositThenPullsShortfall(uint96 amount, uint256 deposited) public {
        amount = uint96(bound(amount, 1, type(uint96).max));
        deposited = bound(deposited, 0, uint256(type(uint96).max));
        _fund(customer, uint256(amount) + deposited);
        if (deposited != 0) {
            vm.prank(customer);
            market.deposit(address(usd), deposited);
        }
        uint256 wallet = usd.balanceOf(customer);
        _post(amount, 0, MIN_COLLATERAL);
        uint256 pulled = deposited >= amount ? 0 : amount - deposited;
        vm.assertEq(wallet - usd.balanceOf(customer), pulled, "only the shortfall is pulled");
        vm.assertEq(_credit(customer), deposited >= amount ? deposited - amount : 0, "deposit drawn first");
        vm.assertEq(usd.balanceOf(address(market)), deposited + pulled, "market holds deposit + pull");
    }

    function testFuzz_withdraw_paysExactlyTheCredit(uint256 deposited, address to) public {
        vm.assume(to != address(0) && to != address(market));
        deposited = bound(deposited, 1, 1_000_000e6);
        vm.prank(customer);
        market.deposit(address(usd), deposited);
        uint256 before = usd.balanceOf(to);
        vm.prank(customer);
        vm.assertEq(market.withdraw(address(usd), to), deposited, "returned");
        vm.assertEq(usd.balanceOf(to) - before, deposited, "paid");
        vm.assertEq(_credit(customer), 0, "zeroed");
    }

    // ================================================================================== deadlines

    function testFuzz_post_claimDeadlineBounds(uint40 claimBy, uint32 start) public {
        vm.warp(bound(start, 1, type(uint32).max));
        bool valid = claimBy > block.timestamp && claimBy <= block.timestamp + 365 days;
        bytes32 before = _funds();
        vm.prank(customer);
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(IJobMarket.JobMarket__InvalidClaimDeadline.selector, claimBy, block.timestamp)
            );
        }
        market.post(address(usd), AMOUNT, SPEC_CID, 0, claimBy, 7 days, MIN_COLLATERAL);
        if (!valid) _assertNoFundsMoved(before);
        else vm.assertEq(market.jobCount(), 1, "posted");
    }

    function testFuzz_post_deliveryWindowBounds(uint32 window, uint32 minWindow) public {
        minWindow = uint32(bound(minWindow, 10 minutes, 365 days));
        IJobMarket.Params memory p = defaultParams();
        p.minDeliveryWindow = minWindow;
        vm.prank(owner);
        market.setParams(p);
        bool valid = window >= minWindow && window <= 365 days;
        vm.prank(customer);
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(IJobMarket.JobMarket__InvalidDeliveryWindow.selector, window, minWindow, 365 days)
            );
        }
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1), window, MIN_COLLATERAL);
    }

    function testFuzz_post_collateralAtLeastMinimum(uint96 collateral, uint96 minimum) public {
        minimum = uint96(bound(minimum, 0, 1_000_000e18));
        IJobMarket.Params memory p = defaultParams();
        p.minCollateral = minimum;
        vm.prank(owner);
        market.setParams(p);
        vm.prank(customer);
        if (collateral < minimum) {
            vm.expectRevert(
                abi.encodeWithSelector(IJobMarket.JobMarket__CollateralTooLow.selector, collateral, minimum)
            );
        }
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1), 7 days, collateral);
    }

    function testFuzz_claim_onlyUntilClaimDeadline(uint256 wait) public {
        (uint256 id, Job memory job) = _open();
        wait = bound(wait, 0, 3 days);
        vm.warp(block.timestamp + wait);
        bytes32 before = _funds();
        vm.prank(shop);
        if (block.timestamp > job.deadline) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IJobMarket.JobMarket__DeadlinePassed.selector, id, job.deadline, block.timestamp
                )
            );
            market.claim(id, job, nodeId);
            _assertNoFundsMoved(before);
        } else {
            market.claim(id, job, nodeId);
            vm.assertEq(_status(id), uint256(JobStatus.Claimed), "claimed");
            vm.assertEq(registry.stakeOf(shop).locked, MIN_COLLATERAL, "locked");
        }
    }

    function testFuzz_deliverOrReclaim_exactlyOneAtAnyTime(uint32 window, uint256 wait) public {
        window = uint32(bound(window, 1 hours, 365 days));
        wait = bound(wait, 0, uint256(window) * 2);
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        uint256 id = market.post(address(usd), AMOUNT, SPEC_CID, 0, claimBy, window, MIN_COLLATERAL);
        Job memory job = claimJob(id, openJob(AMOUNT, 0, claimBy, window, MIN_COLLATERAL));
        vm.assertEq(job.deadline, block.timestamp + window, "deliver-by");
        vm.warp(block.timestamp + wait);
        bool late = block.timestamp > job.deadline;

        uint256 snap = vm.snapshotState();
        vm.prank(shop);
        (bool delivered,) = address(market).call(abi.encodeCall(market.deliver, (id, job, PROOF_CID)));
        vm.revertToState(snap);
        vm.prank(customer);
        (bool reclaimed,) = address(market).call(abi.encodeCall(market.reclaim, (id, job)));
        vm.assertEq(delivered, !late, "deliver iff not late");
        vm.assertEq(reclaimed, late, "reclaim iff late");
    }

    function testFuzz_disputeOrSettle_exactlyOneAtAnyTime(uint32 reviewWindow, uint256 wait) public {
        reviewWindow = uint32(bound(reviewWindow, 1 hours, 30 days));
        IJobMarket.Params memory p = defaultParams();
        p.reviewWindow = reviewWindow;
        vm.prank(owner);
        market.setParams(p);
        (uint256 id, Job memory job) = _post(AMOUNT, 0, MIN_COLLATERAL);
        job = claimJob(id, job);
        vm.prank(shop);
        market.deliver(id, job, PROOF_CID);
        job.deadline = uint40(block.timestamp + reviewWindow);
        wait = bound(wait, 0, uint256(reviewWindow) * 2);
        vm.warp(block.timestamp + wait);
        bool over = block.timestamp > job.deadline;

        uint256 snap = vm.snapshotState();
        vm.prank(customer);
        (bool disputed,) = address(market).call(abi.encodeCall(market.dispute, (id, job, PROOF_CID)));
        vm.revertToState(snap);
        (bool settled,) = address(market).call(abi.encodeCall(market.settle, (id, job)));
        vm.assertEq(disputed, !over, "dispute iff review window running");
        vm.assertEq(settled, over, "settle iff review window over");
    }

    // ================================================================================ commitments

    function testFuzz_hashJob_matchesAbiEncoding(Job memory job, uint8 status) public view {
        status = uint8(bound(status, 0, uint256(JobStatus.Expired)));
        bytes32 expected = (keccak256(abi.encode(job)) & ~bytes32(uint256(0xff))) | bytes32(uint256(status));
        vm.assertEq(market.hashJob(job, JobStatus(status)), expected, "hash");
    }

    /// @dev Any field of a delivered job set to any other value is refused by every entry point.
    function testFuzz_anyTamperedFieldIsRefused(uint8 field, uint256 value) public {
        (uint256 id, Job memory job) = _delivered(designId);
        field = uint8(bound(field, 0, 11));
        uint256[12] memory words = abi.decode(abi.encode(job), (uint256[12]));
        uint256 width = field < 4 ? 160 : field < 8 ? 96 : field == 8 ? 16 : field < 11 ? 32 : 40;
        value = value & ((uint256(1) << width) - 1);
        vm.assume(value != words[field]);
        words[field] = value;
        Job memory t = abi.decode(abi.encode(words), (Job));
        bytes memory mismatch = abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(mismatch);
        market.accept(id, t);
        vm.prank(customer);
        vm.expectRevert(mismatch);
        market.dispute(id, t, PROOF_CID);
        vm.warp(job.deadline + 1);
        vm.expectRevert(mismatch);
        market.settle(id, t);
        _assertNoFundsMoved(before);
    }
}
