// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {Vm} from "./utils/Vm.sol";
import {MarketMath} from "./handlers/MarketMath.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {IJobMarketTypes} from "../src/interfaces/IJobMarketTypes.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {JobLib} from "../src/libraries/JobLib.sol";

/// @notice Property tests of the market's arithmetic and commitments: every payout path splits the escrow
/// (and bonds) to the unit, every slash splits into compensation and treasury share, collateral bounds are
/// monotone and enforced, and a job struct with any field changed is refused with the exact error.
contract JobMarketFuzzTest is MarketFixture {
    // ------------------------------------------------------------------------------------ helpers

    function _setParams(IJobMarketTypes.Params memory p) internal {
        vm.prank(owner);
        module.setParams(p);
    }

    /// @dev Posts `amount` USD at the lowest collateral the terms allow and rebuilds the job from JobPosted,
    /// as the SDK does.
    function _post(uint256 amount, uint256 design) internal returns (uint256 id, Job memory job) {
        (uint256 minC,) = market.collateralBounds(address(usd), amount);
        vm.prank(owner);
        usd.mint(customer, amount);
        vm.recordLogs();
        vm.prank(customer);
        id = market.post(
            address(usd), uint96(amount), SPEC_CID, design, uint40(block.timestamp + 1 days), 7 days, uint96(minC), 0, 0
        );
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(market) && logs[i].topics[0] == IJobMarketTypes.JobPosted.selector) {
                (bytes memory packed,,) = abi.decode(logs[i].data, (bytes, bytes, uint256));
                job = JobLib.unpack(packed);
            }
        }
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "the struct rebuilt from JobPosted is the job");
    }

    function _credit(address token, address a) internal view returns (uint256) {
        return market.balanceOf(token, a);
    }

    /// @dev Pays every credit and fee out; the market must end empty in USD and FAB.
    function _drain() internal {
        address[5] memory payees = [customer, shop, designer, stranger, arbiter];
        address[2] memory tokens = [address(usd), address(fab)];
        for (uint256 t; t < 2; ++t) {
            for (uint256 i; i < payees.length; ++i) {
                if (_credit(tokens[t], payees[i]) == 0) continue;
                vm.prank(payees[i]);
                market.withdraw(tokens[t], payees[i]);
            }
            if (market.feesOf(tokens[t]) != 0) market.withdrawFees(tokens[t]);
        }
        vm.assertEq(usd.balanceOf(address(market)), 0, "market drained of USD");
        vm.assertEq(fab.balanceOf(address(market)), 0, "market drained of FAB");
    }

    /// @dev A split in basis points, one time in two on an edge: 0, just under half, half, just over, all.
    function _edgy(uint256 seed) internal pure returns (uint16) {
        uint16[5] memory edges = [uint16(0), 4_999, 5_000, 5_001, 10_000];
        if (seed % 2 == 0) return edges[(seed / 2) % 5];
        return uint16(bound(seed, 0, BPS));
    }

    // ============================================================================ settlement

    /// @notice Accepted or settled: fee + royalty + node payout == amount, each exact, collateral freed.
    function testFuzz_settlement_splitsTheEscrowExactly(
        uint256 amount,
        uint16 feeBps,
        uint16 maxRoyaltyBps,
        uint16 royaltyBps,
        bool accepted
    ) public {
        amount = bound(amount, 1, 500_000e6);
        IJobMarketTypes.Params memory p = defaultParams();
        p.feeBps = uint16(bound(feeBps, 0, 1_000));
        p.maxRoyaltyBps = uint16(bound(maxRoyaltyBps, 0, 2_500));
        _setParams(p);
        uint256 design = mintDesign(designer, bound(royaltyBps, 0, 2_500));
        (uint256 id, Job memory job) = _post(amount, design);
        uint256 royalty = MarketMath.cappedRoyalty(amount, bound(royaltyBps, 0, 2_500), p.maxRoyaltyBps);
        vm.assertEq(job.royalty, royalty, "royalty capped at post");
        vm.assertEq(job.feeBps, p.feeBps, "fee snapshotted at post");

        job = deliverJob(id, claimJob(id, job));
        if (accepted) {
            vm.prank(customer);
            market.accept(id, job);
        } else {
            vm.warp(job.deadline + 1);
            vm.prank(stranger);
            market.settle(id, job);
        }
        MarketMath.Settlement memory s = MarketMath.settlement(amount, p.feeBps, royalty);
        vm.assertEq(market.feesOf(address(usd)), s.fee, "fee");
        vm.assertEq(_credit(address(usd), designer), royalty, "royalty");
        vm.assertEq(_credit(address(usd), shop), s.node, "node payout");
        vm.assertEq(s.node + s.fee + royalty, amount, "node payout + fee + royalty == amount");
        vm.assertEq(_credit(address(usd), customer), 0, "nothing back to the customer");
        vm.assertEq(usd.balanceOf(address(market)), amount, "the market holds exactly the payment");
        vm.assertEq(market.lockedOf(shop), 0, "collateral freed");
        vm.assertEq(registry.stakeOf(shop).staked, 10_000e18, "nothing slashed");
        _drain();
    }

    // ============================================================================ resolution

    struct Case {
        uint256 amount;
        uint16 feeBps;
        uint16 royaltyBps;
        uint16 bondBps;
        uint16 compensationBps;
        uint16 refundBps;
        uint16 slashBps;
    }

    /// @notice A ruling applied: refund + node payout + fee + royalty == amount + bond; the bond follows who
    /// got at least half; slashed == compensation + treasury share, taken from the node's stake.
    function testFuzz_resolution_splitsEscrowBondAndSlash(
        uint256 amount,
        uint16 feeBps,
        uint16 royaltyBps,
        uint16 bondBps,
        uint16 compensationBps,
        uint256 refundSeed,
        uint256 slashSeed
    ) public {
        Case memory c = Case({
            amount: bound(amount, 1, 500_000e6),
            feeBps: uint16(bound(feeBps, 0, 1_000)),
            royaltyBps: uint16(bound(royaltyBps, 0, 2_500)),
            bondBps: uint16(bound(bondBps, 0, 5_000)),
            compensationBps: uint16(bound(compensationBps, 0, 5_000)),
            refundBps: _edgy(refundSeed),
            slashBps: _edgy(slashSeed)
        });
        IJobMarketTypes.Params memory p = defaultParams();
        p.feeBps = c.feeBps;
        p.maxRoyaltyBps = 2_500;
        p.disputeBondBps = c.bondBps;
        p.compensationBps = c.compensationBps;
        _setParams(p);
        uint256 design = mintDesign(designer, c.royaltyBps);
        (uint256 id, Job memory job) = _post(c.amount, design);
        job = deliverJob(id, claimJob(id, job));
        vm.assertEq(job.bond, c.amount * c.bondBps / BPS, "bond fixed at post");
        vm.prank(owner);
        usd.mint(customer, job.bond);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.prank(arbiter);
        module.rule(id, job, c.refundBps, c.slashBps);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        vm.prank(stranger);
        module.finalize(id, job);

        MarketMath.Resolution memory r = MarketMath.resolution(c.amount, job.royalty, c.feeBps, job.bond, c.refundBps);
        vm.assertEq(_credit(address(usd), customer), r.customer, "customer: refund (+ bond if it got half)");
        vm.assertEq(_credit(address(usd), shop), r.node, "node: payout (+ bond if the customer got less than half)");
        vm.assertEq(_credit(address(usd), designer), r.royalty, "royalty pro rata");
        vm.assertEq(market.feesOf(address(usd)), r.fee, "fee on the node's part");
        vm.assertEq(r.customer + r.node + r.royalty + r.fee, c.amount + job.bond, "the escrow and the bond, to the unit");
        vm.assertLe(r.royalty, job.royalty, "the royalty never grows");
        _checkSlash(uint256(job.collateral) * c.slashBps / BPS, c.compensationBps);
        vm.assertEq(uint256(module.disputeOf(id).stage), 0, "dispute cleared");
        _drain();
    }

    /// @dev The node lost `slashed` of its stake; the customer got the compensation share, the treasury the rest.
    function _checkSlash(uint256 slashed, uint256 compensationBps) internal view {
        MarketMath.Slash memory s = MarketMath.slash(slashed, compensationBps);
        vm.assertEq(registry.stakeOf(shop).staked, 10_000e18 - slashed, "the slash left the node's stake");
        vm.assertEq(market.lockedOf(shop), 0, "collateral unlocked");
        vm.assertEq(_credit(address(fab), customer), s.compensation, "compensation credited in FAB");
        vm.assertEq(market.feesOf(address(fab)), s.treasury, "treasury share");
        vm.assertEq(s.compensation + s.treasury, slashed, "compensation + treasury share == slashed");
        vm.assertLe(2 * s.compensation, slashed, "compensation never exceeds half of the slash");
        vm.assertEq(fab.balanceOf(address(market)), slashed, "the market holds exactly the slashed FAB");
    }

    struct Appeal {
        uint256 id;
        uint16 refund1;
        uint16 slash1;
        uint16 refund2;
        uint16 slash2;
        address appellant;
        bool won;
    }

    /// @notice Appeal: every bond and the payment are paid out exactly once; the appellant's bond goes back
    /// when the court moved the ruling its way (or stayed silent), else it pays the arbiter's fee and the rest
    /// goes to the treasury: never to the other side.
    function testFuzz_appeal_bondsConserved(
        uint256 amount,
        uint256 ruling,
        uint256 finalRuling,
        bool customerAppeals,
        bool courtSilent,
        uint16 arbiterFeeBps
    ) public {
        amount = bound(amount, 1, 500_000e6);
        IJobMarketTypes.Params memory p = defaultParams();
        p.arbiterFeeBps = uint16(bound(arbiterFeeBps, 0, 5_000));
        _setParams(p);
        Appeal memory a;
        Job memory job;
        (a.id, job) = _post(amount, designId);
        job = deliverJob(a.id, claimJob(a.id, job));
        vm.prank(owner);
        usd.mint(customer, 2 * uint256(job.bond));
        vm.prank(customer);
        module.dispute(a.id, job, PROOF_CID);
        (a.refund1, a.slash1) = (_edgy(ruling), _edgy(ruling >> 128));
        vm.prank(arbiter);
        module.rule(a.id, job, a.refund1, a.slash1);
        a.appellant = customerAppeals ? customer : shop;
        if (!customerAppeals) {
            // The node pays its appeal bond like anyone: from its market balance, pulling the shortfall.
            vm.prank(owner);
            usd.mint(shop, job.bond);
            vm.prank(shop);
            usd.approve(address(market), job.bond);
        }
        vm.prank(a.appellant);
        module.appeal(a.id, job);
        vm.assertEq(module.disputeOf(a.id).appellant, a.appellant, "appellant recorded");
        vm.assertEq(module.disputeOf(a.id).deadline, block.timestamp + COURT_WINDOW, "the court's window");
        if (courtSilent) {
            vm.warp(block.timestamp + COURT_WINDOW + 1);
            module.finalize(a.id, job);
            (a.refund2, a.slash2, a.won) = (a.refund1, a.slash1, true);
        } else {
            (a.refund2, a.slash2) = (_edgy(finalRuling), _edgy(finalRuling >> 128));
            vm.prank(court);
            module.rule(a.id, job, a.refund2, a.slash2);
            a.won = MarketMath.appealWon(customerAppeals, a.refund1, a.slash1, a.refund2, a.slash2);
        }
        _checkAppealPayout(a, job, customerAppeals, p.arbiterFeeBps);
        _drain();
    }

    function _checkAppealPayout(Appeal memory a, Job memory job, bool customerAppeals, uint256 arbiterFeeBps)
        internal
        view
    {
        MarketMath.Resolution memory r = MarketMath.resolution(job.amount, job.royalty, job.feeBps, job.bond, a.refund2);
        // The appeal bond: back to a winning appellant; a lost one to the arbiter's fee and the treasury.
        (uint256 arbiterFee, uint256 toTreasury) = MarketMath.lostAppealBond(job.bond, arbiterFeeBps, true);
        if (a.won) (arbiterFee, toTreasury) = (0, 0);
        uint256 toCustomer = r.customer + (a.won && customerAppeals ? job.bond : 0);
        uint256 toNode = r.node + (a.won && !customerAppeals ? job.bond : 0);
        vm.assertEq(_credit(address(usd), customer), toCustomer, "customer's credit");
        vm.assertEq(_credit(address(usd), shop), toNode, "node's credit");
        vm.assertEq(_credit(address(usd), arbiter), arbiterFee, "arbiter's fee");
        vm.assertEq(market.feesOf(address(usd)), r.fee + toTreasury, "treasury: fee + the rest of a lost bond");
        uint256 held = uint256(job.amount) + 2 * uint256(job.bond);
        vm.assertEq(toCustomer + toNode + arbiterFee + toTreasury + r.royalty + r.fee, held, "payment + both bonds, to the unit");
        vm.assertEq(usd.balanceOf(address(market)), held, "all held until withdrawn");
        vm.assertEq(registry.stakeOf(shop).staked, 10_000e18 - uint256(job.collateral) * a.slash2 / BPS, "slash");
    }

    /// @notice A silent arbiter: the default ruling (half back, no slash, bond to the customer) applies as an
    /// appealable ruling with no arbiter, then becomes final once nobody appealed.
    function testFuzz_silentArbiter_defaultRuling(uint256 amount, uint16 bondBps) public {
        amount = bound(amount, 1, 500_000e6);
        IJobMarketTypes.Params memory p = defaultParams();
        p.disputeBondBps = uint16(bound(bondBps, 0, 5_000));
        _setParams(p);
        (uint256 id, Job memory job) = _post(amount, 0);
        job = deliverJob(id, claimJob(id, job));
        vm.prank(owner);
        usd.mint(customer, job.bond);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        module.finalize(id, job); // the default ruling
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(uint256(d.stage), uint256(IJobMarketTypes.DisputeStage.Ruled), "ruled by default");
        vm.assertEq(d.arbiter, address(0), "no arbiter ruled");
        vm.assertEq(d.refundBps, 5_000, "half back");
        vm.assertEq(d.slashBps, 0, "no slash");
        vm.assertEq(d.deadline, block.timestamp + APPEAL_WINDOW, "appealable");
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id, job);
        MarketMath.Resolution memory r = MarketMath.resolution(amount, 0, job.feeBps, job.bond, 5_000);
        vm.assertEq(_credit(address(usd), customer), r.customer, "half back plus the bond");
        vm.assertEq(_credit(address(usd), shop), r.node, "the other half after the fee");
        vm.assertEq(_credit(address(usd), arbiter), 0, "the silent arbiter earns nothing");
        vm.assertEq(registry.stakeOf(shop).staked, 10_000e18, "no slash");
        _drain();
    }

    // ================================================================================ slashes

    /// @notice A hand-back is free within the hand-back window, then costs handBackPenaltyBps of the
    /// collateral: compensation + treasury share == penalty, all of it out of the node's stake.
    function testFuzz_handBack_penaltySplits(uint256 amount, uint256 wait, uint16 penaltyBps, uint16 compensationBps)
        public
    {
        amount = bound(amount, 1, 500_000e6);
        IJobMarketTypes.Params memory p = defaultParams();
        p.handBackPenaltyBps = uint16(bound(penaltyBps, 0, 2_500));
        p.compensationBps = uint16(bound(compensationBps, 0, 5_000));
        _setParams(p);
        (uint256 id, Job memory job) = _post(amount, 0);
        job = claimJob(id, job);
        wait = bound(wait, 0, 7 days);
        if (wait % 3 == 0) wait = HAND_BACK_WINDOW + wait % 2; // the window's last free second and the next
        vm.warp(block.timestamp + wait);
        vm.prank(shop);
        market.handBack(id, job);
        uint256 penalty = wait > HAND_BACK_WINDOW ? uint256(job.collateral) * p.handBackPenaltyBps / BPS : 0;
        _checkSlash(penalty, p.compensationBps);
        vm.assertEq(_status(id, _handedBack(job)), uint256(JobStatus.Open), "open again");
    }

    /// @notice A missed delivery: full refund, expirySlashBps of the collateral slashed and split.
    function testFuzz_expire_refundsAndSlashes(uint256 amount, uint256 late, uint16 slashBps, uint16 compensationBps)
        public
    {
        amount = bound(amount, 1, 500_000e6);
        IJobMarketTypes.Params memory p = defaultParams();
        p.expirySlashBps = uint16(bound(slashBps, 1_000, 10_000));
        p.compensationBps = uint16(bound(compensationBps, 0, 5_000));
        _setParams(p);
        (uint256 id, Job memory job) = _post(amount, 0);
        job = claimJob(id, job);
        vm.warp(uint256(job.deadline) + bound(late, 1, 400 days));
        vm.prank(stranger);
        market.expire(id, job);
        vm.assertEq(_credit(address(usd), customer), amount, "full refund");
        vm.assertEq(_credit(address(usd), shop), 0, "node unpaid");
        _checkSlash(uint256(job.collateral) * p.expirySlashBps / BPS, p.compensationBps);
        _drain();
    }

    // ============================================================================= collateral

    /// @notice Bounds are [max(floor, amount*minRate), max(that, amount*maxRate)], monotone in the amount,
    /// and a post is accepted exactly inside them.
    function testFuzz_collateralBounds_monotoneAndEnforced(
        uint112 minRate,
        uint112 maxRate,
        uint96 floor,
        uint96 a1,
        uint96 a2,
        uint96 collateral
    ) public {
        minRate = uint112(bound(minRate, 1, 1e33));
        maxRate = uint112(bound(maxRate, minRate, 1e33));
        floor = uint96(bound(floor, 1e15, 1_000_000e18));
        a1 = uint96(bound(a1, 1, 1e15));
        a2 = uint96(bound(a2, a1, 1e15));
        vm.startPrank(owner);
        module.setTokenTerms(address(usd), IJobMarketTypes.TokenTerms(true, minRate, maxRate));
        IJobMarketTypes.Params memory p = defaultParams();
        p.minCollateral = floor;
        module.setParams(p);
        vm.stopPrank();
        (uint256 lo, uint256 hi) = _checkBounds(a1, a2, minRate, maxRate, floor);
        if (collateral % 3 == 0) collateral = uint96(lo - (collateral % 2)); // just below, or at, the minimum
        else if (collateral % 3 == 1 && hi < type(uint96).max) collateral = uint96(hi + (collateral % 2));
        _postExpecting(a1, collateral, lo, hi);
    }

    function _checkBounds(uint256 a1, uint256 a2, uint256 minRate, uint256 maxRate, uint256 floor)
        internal
        view
        returns (uint256 lo1, uint256 hi1)
    {
        (lo1, hi1) = market.collateralBounds(address(usd), a1);
        (uint256 lo2, uint256 hi2) = market.collateralBounds(address(usd), a2);
        (uint256 mlo, uint256 mhi) = MarketMath.collateralBounds(a1, minRate, maxRate, floor);
        vm.assertEq(lo1, mlo, "min bound");
        vm.assertEq(hi1, mhi, "max bound");
        vm.assertGe(lo1, floor, "never below the floor");
        vm.assertLe(lo1, hi1, "min <= max");
        vm.assertLe(lo1, lo2, "min bound monotone in the amount");
        vm.assertLe(hi1, hi2, "max bound monotone in the amount");
    }

    /// @dev Posts `amount` with `collateral`: accepted exactly when it lies in [lo, hi].
    function _postExpecting(uint96 amount, uint96 collateral, uint256 lo, uint256 hi) internal {
        vm.prank(owner);
        usd.mint(customer, amount);
        vm.prank(customer);
        if (collateral < lo || collateral > hi) {
            vm.expectRevert(
                abi.encodeWithSelector(IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector, collateral, lo, hi)
            );
        }
        market.post(address(usd), amount, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, collateral, 0, 0);
    }

    // ================================================================================ deposits

    /// @notice A deposit credits what arrives; a fee-on-transfer escrow pulled short is refused.
    function testFuzz_feeOnTransfer_creditsWhatArrives(uint16 feeBps, uint256 deposited, uint256 amount) public {
        FeeOnTransferToken fot = new FeeOnTransferToken(bound(feeBps, 0, 10_000));
        vm.prank(owner);
        module.setTokenTerms(address(fot), usdTerms());
        deposited = bound(deposited, 1, 1e30);
        amount = bound(amount, 1, 1e12);
        fot.mint(customer, deposited + amount);
        vm.startPrank(customer);
        fot.approve(address(market), type(uint256).max);
        uint256 arrives = deposited - deposited * fot.feeBps() / BPS;
        if (arrives == 0) {
            vm.expectRevert(
                abi.encodeWithSelector(IJobMarketTypes.JobMarket__ShortDeposit.selector, address(fot), deposited, 0)
            );
            market.deposit(address(fot), deposited);
            vm.stopPrank();
            return;
        }
        market.deposit(address(fot), deposited);
        vm.assertEq(market.balanceOf(address(fot), customer), arrives, "credited what arrived");
        vm.assertEq(fot.balanceOf(address(market)), arrives, "held what arrived");

        (uint256 minC,) = market.collateralBounds(address(fot), amount);
        uint256 shortfall = amount > arrives ? amount - arrives : 0;
        uint256 pulled = shortfall - shortfall * fot.feeBps() / BPS;
        if (pulled < shortfall) {
            vm.expectRevert(
                abi.encodeWithSelector(IJobMarketTypes.JobMarket__ShortDeposit.selector, address(fot), shortfall, pulled)
            );
        }
        market.post(address(fot), uint96(amount), SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, uint96(minC), 0, 0);
        vm.stopPrank();
        if (pulled == shortfall) {
            vm.assertEq(fot.balanceOf(address(market)), arrives + shortfall, "escrow fully arrived");
            vm.assertEq(market.balanceOf(address(fot), customer), arrives - (amount - shortfall), "deposit drawn first");
        }
    }

    // ============================================================================= commitments

    /// @notice The commitment is keccak256(abi.encode(jobId, job)) with the status in the low byte.
    function testFuzz_hashJob_isTheAbiEncoding(uint256 id, Job memory job, uint8 status) public view {
        status = uint8(bound(status, 0, uint256(JobStatus.Expired)));
        bytes32 expected = (keccak256(abi.encode(id, job)) & ~bytes32(uint256(0xff))) | bytes32(uint256(status));
        vm.assertEq(market.hashJob(id, job, JobStatus(status)), expected, "hash");
    }

    /// @notice Any field of a live job set to any other value, or another job id, is refused by the step the
    /// job is waiting for: UnknownJob when it names an empty slot or an id never issued, else JobDataMismatch.
    function testFuzz_anyTamperedFieldIsRefused(uint8 stage, uint8 field, uint256 value, uint256 otherId) public {
        (uint256 id, Job memory job) = _post(AMOUNT, designId);
        stage = uint8(bound(stage, 0, 3));
        if (stage >= 1) job = claimJob(id, job);
        if (stage >= 2) job = deliverJob(id, job);
        if (stage == 3) {
            vm.prank(customer);
            module.dispute(id, job, PROOF_CID);
        }
        field = uint8(bound(field, 0, 14));
        Job memory t = _copy(job);
        uint256 callId = id;
        if (field == 14) {
            callId = otherId;
            vm.assume(callId != id);
        } else {
            uint256[14] memory words = abi.decode(abi.encode(job), (uint256[14]));
            uint256 width = field < 4 ? 160 : field < 8 ? 96 : field == 8 ? 16 : field < 11 ? 32 : field == 11 ? 40 : 64;
            value = value & ((uint256(1) << width) - 1);
            vm.assume(value != words[field]);
            words[field] = value;
            t = abi.decode(abi.encode(words), (Job));
        }
        bool emptySlot = market.commitmentAt(t.key) == 0;
        bytes memory err = emptySlot || callId == 0 || callId > market.jobCount()
            ? abi.encodeWithSelector(IJobMarketTypes.JobMarket__UnknownJob.selector, callId)
            : abi.encodeWithSelector(IJobMarketTypes.JobMarket__JobDataMismatch.selector, callId);
        bytes32 before = _funds();
        vm.warp(uint256(job.deadline) + (stage == 3 ? 0 : 1)); // past the deadline for the permissionless steps
        vm.expectRevert(err);
        _stepFor(stage, callId, t, job);
        _assertNoFundsMoved(before);
        vm.assertEq(_status(id, job), stage + 1, "the job is untouched"); // Open, Claimed, Delivered, Disputed
    }

    /// @dev The call a job in `stage` waits for, made by the party entitled to it.
    function _stepFor(uint8 stage, uint256 id, Job memory t, Job memory job) internal {
        if (stage == 0) {
            vm.prank(job.customer);
            market.cancel(id, t);
        } else if (stage == 1) {
            vm.prank(stranger);
            market.expire(id, t);
        } else if (stage == 2) {
            vm.prank(stranger);
            market.settle(id, t);
        } else {
            vm.prank(arbiter);
            module.rule(id, t, 5_000, 5_000);
        }
    }

    // ================================================================================== orders

    /// @notice The market's order digest is the EIP-712 digest computed from the published type string.
    function testFuzz_orderDigest_isEip712(IJobMarketTypes.Order memory o) public view {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Fabrica JobMarket"),
                keccak256("1"),
                block.chainid,
                address(market)
            )
        );
        bytes memory head = abi.encode(
            keccak256(
                "Order(address customer,address token,uint96 amount,uint96 collateral,uint256 designId,uint32 deliveryWindow,"
                "uint64 targetNode,uint40 expiry,uint64 nonce,uint64 counter,bytes specCid)"
            ),
            o.customer,
            o.token,
            o.amount,
            o.collateral,
            o.designId
        );
        bytes memory tail = abi.encode(o.deliveryWindow, o.targetNode, o.expiry, o.nonce, o.counter, keccak256(o.specCid));
        bytes32 expected = keccak256(abi.encodePacked("\x19\x01", domain, keccak256(bytes.concat(head, tail))));
        vm.assertEq(market.orderDigest(o), expected, "EIP-712 digest");
    }
}
