// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {JobMarketHandler} from "./handlers/JobMarketHandler.sol";
import {TestStablecoin} from "../src/devnet/TestStablecoin.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../src/types/Job.sol";

/// @notice Invariants of the market and registry under random lifecycles driven by JobMarketHandler.
/// Each invariant is checked after every handler call.
contract JobMarketInvariantTest is Fixture {
    uint256 internal constant IDLE_STAKE = 10_000e18; // the fixture's shop stakes and never acts

    JobMarketHandler internal handler;
    TestStablecoin internal eur;
    // Copies of the handler's actor lists, so the per-call checks do not fetch them.
    address[] internal tokens;
    address[] internal holders;
    address[] internal shops;
    address[] internal customers;

    function setUp() public override {
        super.setUp();
        eur = new TestStablecoin(owner);
        vm.startPrank(owner);
        market.setTokenAllowed(address(eur), true);
        registry.setUnbondDelay(1 days); // the shortest delay, so unbonded stake matures within a run
        vm.stopPrank();
        tokens.push(address(usd));
        tokens.push(address(eur));
        handler = new JobMarketHandler(market, registry, fab, designs, tokens, owner, arbiter, treasury);
        for (uint256 i; i < handler.holderCount(); ++i) holders.push(handler.holders(i));
        for (uint256 i; i < handler.shopCount(); ++i) shops.push(handler.shops(i));
        for (uint256 i; i < 3; ++i) customers.push(handler.customers(i));

        bytes4[] memory selectors = new bytes4[](20);
        selectors[0] = JobMarketHandler.post.selector;
        selectors[1] = JobMarketHandler.post.selector; // posts twice as likely: they feed everything else
        selectors[2] = JobMarketHandler.deposit.selector;
        selectors[3] = JobMarketHandler.cancel.selector;
        selectors[4] = JobMarketHandler.claim.selector;
        selectors[5] = JobMarketHandler.deliver.selector;
        selectors[6] = JobMarketHandler.accept.selector;
        selectors[7] = JobMarketHandler.settle.selector;
        selectors[8] = JobMarketHandler.reclaim.selector;
        selectors[9] = JobMarketHandler.dispute.selector;
        selectors[10] = JobMarketHandler.resolve.selector;
        selectors[11] = JobMarketHandler.withdraw.selector;
        selectors[12] = JobMarketHandler.withdrawFees.selector;
        selectors[13] = JobMarketHandler.stake.selector;
        selectors[14] = JobMarketHandler.requestUnbond.selector;
        selectors[15] = JobMarketHandler.withdrawStake.selector;
        selectors[16] = JobMarketHandler.warp.selector;
        selectors[17] = JobMarketHandler.replay.selector;
        selectors[18] = JobMarketHandler.setParams.selector;
        selectors[19] = JobMarketHandler.transferDesign.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    function _live(JobStatus s) internal pure returns (bool) {
        return s == JobStatus.Open || s == JobStatus.Claimed || s == JobStatus.Delivered || s == JobStatus.Disputed;
    }

    function _collateralLive(JobStatus s) internal pure returns (bool) {
        return s == JobStatus.Claimed || s == JobStatus.Delivered || s == JobStatus.Disputed;
    }

    /// @dev After every call the invariants compare the chain with the model's running totals, and check
    /// one job in turn (round-robin) in full; the handler has already checked every account and job the
    /// call touched. At the end of every run `afterInvariant` sweeps every job and account.
    function _sample() internal view returns (uint256) {
        uint256 n = handler.jobCount();
        return n == 0 ? 0 : handler.calls() % n + 1;
    }

    function _noSurprise(uint256 count) internal view {
        if (count != 0) vm.assertEq(count, 0, handler.lastSurprise());
    }

    function afterInvariant() public view {
        _checkEscrows(true);
        uint256 n = handler.jobCount();
        for (uint256 id = 1; id <= n; ++id) {
            _checkHistory(id);
            _checkJobCollateral(id);
            _checkCommitment(id);
        }
        _checkCollateralPerOperator(true);
        _checkModel(true);
    }

    // ============================================================================================ (a)

    /// @notice Per payment token, the market holds exactly the live escrows (bonds included), every
    /// credited balance and the fees; the registry holds exactly the stakes plus what is unbonding.
    function invariant_a_tokensHeldEqualEscrowsCreditsAndFees() public view {
        _checkEscrows(false);
    }

    /// @param full recompute from every job and account on chain instead of the model's running totals.
    function _checkEscrows(bool full) internal view {
        for (uint256 t; t < tokens.length; ++t) {
            address token = tokens[t];
            uint256 held = TestStablecoin(token).balanceOf(address(market));
            if (!full) {
                vm.assertEq(held, handler.expectedHoldings(token), "market balance != live escrows + credits + fees");
                continue;
            }
            uint256 escrow;
            uint256 n = handler.jobCount();
            for (uint256 id = 1; id <= n; ++id) {
                Job memory job = handler.ghostJob(id);
                if (job.token == token && _live(market.statusOf(id))) escrow += uint256(job.amount) + job.bond;
            }
            vm.assertEq(escrow, handler.ghostLiveEscrow(token), "live escrows differ from the model's running sum");
            uint256 credits;
            for (uint256 i; i < holders.length; ++i) credits += market.balanceOf(token, holders[i]);
            vm.assertEq(held, escrow + credits + market.feesOf(token), "market balance != escrows + credits + fees");
        }
        uint256 stakes;
        if (full) {
            stakes = _stakeAndUnbonding(shop); // the fixture's idle shop
            for (uint256 i; i < shops.length; ++i) stakes += _stakeAndUnbonding(shops[i]);
        } else {
            stakes = handler.expectedRegistryFab(shop, IDLE_STAKE);
        }
        vm.assertEq(fab.balanceOf(address(registry)), stakes, "registry FAB != stakes + unbonding");
    }

    function _stakeAndUnbonding(address operator) internal view returns (uint256) {
        INodeRegistry.Stake memory s = registry.stakeOf(operator);
        return uint256(s.staked) + s.unbonding;
    }

    // ============================================================================================ (b)

    /// @notice Every status the handler observed for a job moved forward along a legal transition, and
    /// the chain still shows the last observed status (nothing changed unobserved).
    function invariant_b_statusesOnlyMoveForward() public view {
        _noSurprise(handler.illegalTransitions());
        uint256 id = _sample();
        if (id != 0) {
            vm.assertEq(uint256(market.statusOf(id)), handler.lastObserved(id), "status changed unobserved");
        }
    }

    function _checkHistory(uint256 id) internal view {
        uint8[] memory h = handler.historyOf(id);
        vm.assertGt(h.length, 0, "job never observed");
        vm.assertEq(h[0], uint256(JobStatus.Open), "a job starts Open");
        for (uint256 i = 1; i < h.length; ++i) {
            vm.assertGt(h[i], h[i - 1], "status moved backwards");
            vm.assertTrue(handler.legalTransition(JobStatus(h[i - 1]), JobStatus(h[i])), "illegal transition");
        }
        vm.assertEq(uint256(market.statusOf(id)), h[h.length - 1], "status changed unobserved");
    }

    // ============================================================================================ (c)

    /// @notice Collateral is locked once per claimed job and released or slashed exactly once when it
    /// ends; per operator, the registry's locked amount is the collateral of its live claimed jobs.
    function invariant_c_collateralLockedAndReleasedExactlyOnce() public view {
        _noSurprise(handler.collateralAnomalies());
        _checkCollateralPerOperator(false);
        uint256 id = _sample();
        if (id != 0) _checkJobCollateral(id);
    }

    function _checkJobCollateral(uint256 id) internal view {
        (,, uint256 locks, uint256 releases) = handler.collateralOf(id);
        JobStatus s = market.statusOf(id);
        if (s == JobStatus.Open || s == JobStatus.Cancelled) {
            vm.assertEq(locks, 0, "unclaimed job locked collateral");
            vm.assertEq(releases, 0, "unclaimed job released collateral");
        } else {
            vm.assertEq(locks, 1, "claimed job must lock exactly once");
            vm.assertEq(releases, _collateralLive(s) ? 0 : 1, "collateral released or slashed != once");
        }
    }

    /// @param full sum the live collateral job by job instead of using the model's running sums.
    function _checkCollateralPerOperator(bool full) internal view {
        uint256[] memory live;
        if (full) {
            live = new uint256[](shops.length);
            uint256 n = handler.jobCount();
            for (uint256 id = 1; id <= n; ++id) {
                (address node, uint256 collateral,,) = handler.collateralOf(id);
                if (!_collateralLive(market.statusOf(id))) continue;
                for (uint256 i; i < shops.length; ++i) {
                    if (shops[i] == node) live[i] += collateral;
                }
            }
            vm.assertEq(registry.stakeOf(shop).locked, 0, "idle shop has nothing locked");
        } else {
            live = handler.ghostLocked();
        }
        for (uint256 i; i < shops.length; ++i) {
            INodeRegistry.Stake memory st = registry.stakeOf(shops[i]);
            vm.assertEq(st.locked, live[i], "registry locked != collateral of live claimed jobs");
            vm.assertLe(st.locked, st.staked, "locked exceeds stake");
        }
    }

    // ============================================================================================ (d)

    /// @notice The market agrees with the reference model: credited balances and fees (the handler
    /// checks each account a call touches right after it), stakes, job commitments; and no call
    /// surprised the model (unexpected success or revert, wrong revert reason).
    function invariant_d_marketMatchesReferenceModel() public view {
        _checkModel(false);
        uint256 id = _sample();
        if (id != 0) _checkCommitment(id);
    }

    function _checkCommitment(uint256 id) internal view {
        bytes32 expected = handler.ghostCommitment(id);
        vm.assertEq(market.commitmentOf(id), expected, "commitment differs from the model");
        if (id == 1 && handler.ghostStatus(id) != JobStatus.Settled) {
            vm.assertEq(market.hashJob(handler.ghostJob(id), handler.ghostStatus(id)), expected, "hashJob");
        }
    }

    /// @param full compare every account one by one, and the wallets, instead of fees and stakes only.
    function _checkModel(bool full) internal view {
        _noSurprise(handler.surprises());
        for (uint256 t; t < tokens.length; ++t) {
            address token = tokens[t];
            vm.assertEq(market.feesOf(token), handler.ghostFees(token), "fees");
            if (!full) continue;
            uint256 credits;
            for (uint256 i; i < holders.length; ++i) {
                address a = holders[i];
                credits += market.balanceOf(token, a);
                vm.assertEq(market.balanceOf(token, a), handler.ghostCredit(token, a), "credited balance");
                vm.assertEq(TestStablecoin(token).balanceOf(a), handler.ghostWallet(token, a), "wallet");
            }
            vm.assertEq(credits, handler.ghostCreditTotal(token), "credited balances (total)");
            vm.assertEq(TestStablecoin(token).balanceOf(treasury), handler.ghostWallet(token, treasury), "treasury");
        }
        if (!full) return;
        vm.assertEq(market.jobCount(), handler.jobCount(), "job count");
        for (uint256 i; i < shops.length; ++i) {
            address s = shops[i];
            vm.assertEq(keccak256(abi.encode(registry.stakeOf(s))), keccak256(abi.encode(handler.ghostStake(s))), "stake");
            vm.assertEq(fab.balanceOf(s), handler.ghostFab(s), "shop FAB wallet");
        }
        for (uint256 i; i < customers.length; ++i) {
            vm.assertEq(fab.balanceOf(customers[i]), handler.ghostFab(customers[i]), "customer FAB (slashes)");
        }
    }
}
