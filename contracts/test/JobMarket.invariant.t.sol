// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Fixture} from "./utils/Fixture.sol";
import {JobMarketHandler} from "./handlers/JobMarketHandler.sol";
import {MarketEnv, Expectations} from "./handlers/MarketModel.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {TestStablecoin} from "../src/devnet/TestStablecoin.sol";
import {ArbiterPanel} from "../src/governance/ArbiterPanel.sol";
import {IJobMarketTypes} from "../src/interfaces/IJobMarketTypes.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../src/types/Job.sol";

/// @notice Invariants of the job market and the node registry under random lifecycles driven by
/// JobMarketHandler (its reference model predicts every call). After every call the cheap checks run
/// (running totals, one job and one account in turn, the handler's surprise counters); at the end of every
/// run `afterInvariant` compares every job and account with the model, then, on a snapshot, drives every
/// unfinished job to a terminal state with permissionless calls only and pays every balance out.
/// One invariant function on purpose: forge runs a separate campaign (runs x depth calls) per function.
contract JobMarketInvariantTest is Fixture {
    JobMarketHandler internal handler;
    TestStablecoin internal eur;
    FeeOnTransferToken internal fot;
    ArbiterPanel internal panel;
    address internal constant STRANGER = address(0x5757);
    address internal constant GUARDIAN = address(0x6A4D);

    // Copies of the handler's lists, so the per-call checks do not fetch them.
    address[] internal tokens;
    address[] internal holders;
    address[] internal operators;
    bytes4[] internal _selectors;

    function setUp() public override {
        super.setUp();
        eur = new TestStablecoin(owner);
        fot = new FeeOnTransferToken(100); // burns 1 % of every transfer
        vm.startPrank(owner);
        module.setTokenTerms(address(eur), IJobMarketTypes.TokenTerms(true, 1e27, 1e30));
        module.setTokenTerms(address(fot), usdTerms());
        registry.setUnbondDelay(1 days); // the shortest delay: unbonded stake matures within a run
        module.setGuardian(GUARDIAN);
        vm.stopPrank();
        // The market's arbiter is a panel of three (the handler appoints a customer too, and may switch the
        // market back to the fixture's arbiter account and forth).
        address[] memory members = new address[](3);
        (members[0], members[1], members[2]) = (address(0xA4B5), address(0xA4B6), address(0xA4B7));
        panel = new ArbiterPanel(owner, address(market), members);
        vm.prank(owner);
        module.proposeArbiter(address(panel));
        vm.warp(block.timestamp + market.JUDGE_CHANGE_DELAY());
        module.activateArbiter();
        handler = new JobMarketHandler(
            MarketEnv({
                market: market,
                registry: registry,
                fab: fab,
                designs: designs,
                usd: usd,
                eur: eur,
                fot: fot,
                owner: owner,
                treasury: treasury,
                arbiter: arbiter,
                panel: panel,
                guardian: GUARDIAN,
                court: court,
                idleShop: shop,
                idleNode: nodeId
            })
        );
        for (uint256 i; i < handler.tokenCount(); ++i) tokens.push(handler.tokens(i));
        for (uint256 i; i < handler.holderCount(); ++i) holders.push(handler.holders(i));
        for (uint256 i; i < handler.operatorCount(); ++i) operators.push(handler.operators(i));

        bytes4[] memory s = new bytes4[](41);
        s[0] = JobMarketHandler.post.selector;
        s[1] = JobMarketHandler.post.selector; // posts and takes feed everything else: twice as likely
        s[2] = JobMarketHandler.take.selector;
        s[3] = JobMarketHandler.take.selector;
        s[4] = JobMarketHandler.claim.selector;
        s[5] = JobMarketHandler.claim.selector;
        s[6] = JobMarketHandler.deliver.selector;
        s[7] = JobMarketHandler.deliver.selector;
        s[8] = JobMarketHandler.deposit.selector;
        s[9] = JobMarketHandler.cancel.selector;
        s[10] = JobMarketHandler.accept.selector;
        s[11] = JobMarketHandler.settle.selector;
        s[12] = JobMarketHandler.expire.selector;
        s[13] = JobMarketHandler.handBack.selector;
        s[14] = JobMarketHandler.dispute.selector;
        s[15] = JobMarketHandler.dispute.selector;
        s[16] = JobMarketHandler.rule.selector;
        s[17] = JobMarketHandler.rule.selector;
        s[18] = JobMarketHandler.appeal.selector;
        s[19] = JobMarketHandler.finalize.selector;
        s[20] = JobMarketHandler.cancelOrder.selector;
        s[21] = JobMarketHandler.incrementCounter.selector;
        s[22] = JobMarketHandler.withdraw.selector;
        s[23] = JobMarketHandler.withdrawFees.selector;
        s[24] = JobMarketHandler.stake.selector;
        s[25] = JobMarketHandler.requestUnbond.selector;
        s[26] = JobMarketHandler.withdrawStake.selector;
        s[27] = JobMarketHandler.refreshEligibility.selector;
        s[28] = JobMarketHandler.setNodeActive.selector;
        s[29] = JobMarketHandler.setMinStake.selector;
        s[30] = JobMarketHandler.setParams.selector;
        s[31] = JobMarketHandler.setTokenTerms.selector;
        s[32] = JobMarketHandler.proposeJudge.selector;
        s[33] = JobMarketHandler.activateJudge.selector;
        s[34] = JobMarketHandler.transferDesign.selector;
        s[35] = JobMarketHandler.tamper.selector;
        s[36] = JobMarketHandler.reassign.selector;
        s[37] = JobMarketHandler.panelMembers.selector;
        s[38] = JobMarketHandler.setPaused.selector;
        // Only disputes whose member left the panel move: removals and reassignments twice as likely.
        s[39] = JobMarketHandler.reassign.selector;
        s[40] = JobMarketHandler.panelMembers.selector;
        for (uint256 i; i < 41; ++i) _selectors.push(s[i]);
        _selectors.push(JobMarketHandler.warp.selector);
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), _selectors));
    }

    // ================================================================================== coverage

    event log_named_uint(string key, uint256 val);

    /// @notice The handler is not vacuous: driven by a fixed pseudo-random sequence, every action succeeds
    /// and the refusals the model predicts happen (each with its exact error), without a single surprise.
    function test_handlerReachesEveryOutcome() public {
        for (uint256 i; i < 4_000; ++i) {
            _step(i);
            _checkSurprises();
        }
        afterInvariant();
        string[38] memory names = [
            "post", "take", "takeWithPermit", "deposit", "cancel", "accept", "cancelOrder", "incrementCounter",
            "claim", "handBack", "deliver", "settle", "expire", "dispute", "rule", "appeal", "finalize", "withdraw",
            "withdrawFees", "stake", "requestUnbond", "withdrawStake", "refreshEligibility", "setNodeActive",
            "setMinStake", "setParams", "setTokenTerms", "proposeArbiter", "proposeAppealCourt", "activateArbiter",
            "activateAppealCourt", "transferDesign", "tamper", "reassign", "appointArbiter", "removeArbiter",
            "setPaused", "setGuardian"
        ];
        for (uint256 i; i < 38; ++i) {
            bytes32 key = bytes32(bytes(names[i]));
            emit log_named_uint(string.concat(names[i], " ok"), handler.succeeded(key));
            emit log_named_uint(string.concat(names[i], " refused"), handler.refused(key));
        }
        for (uint256 i; i < 38; ++i) {
            bytes32 key = bytes32(bytes(names[i]));
            // A tampered call must always fail; every other action must also succeed.
            if (key == "tamper") vm.assertGt(handler.refused(key), 0, "tamper never ran");
            else vm.assertGt(handler.succeeded(key), 0, string.concat("never succeeded: ", names[i]));
        }
        // The dispute rules the model predicts exactly: a judge removed from the panel is refused (and, appointed
        // again, rules), and past the deadline `reassign` is refused (only `finalize` moves the case).
        emit log_named_uint("rule refused: judge off the panel", handler.removedJudgeRefusals());
        emit log_named_uint("rule by a re-appointed judge", handler.reappointedJudgeRulings());
        uint256 lateReassigns = handler.refusedWith("reassign", IJobMarketTypes.JobMarket__DeadlinePassed.selector);
        emit log_named_uint("reassign refused past the deadline", lateReassigns);
        vm.assertGt(handler.removedJudgeRefusals(), 0, "no removed judge ever tried to rule");
        vm.assertGt(handler.reappointedJudgeRulings(), 0, "no re-appointed judge ever ruled");
        vm.assertGt(lateReassigns, 0, "reassign never ran past a deadline");
        emit log_named_uint("post refused while paused", handler.refusedWith("post", IJobMarketTypes.JobMarket__Paused.selector));
        emit log_named_uint("take refused while paused", handler.refusedWith("take", IJobMarketTypes.JobMarket__Paused.selector));
        for (uint256 s = uint256(JobStatus.Settled); s <= uint256(JobStatus.Expired); ++s) {
            emit log_named_uint(string.concat("ended in status ", vm.toString(s)), _endedIn(JobStatus(s)));
            vm.assertGt(_endedIn(JobStatus(s)), 0, "no job reached one of the terminal states");
        }
    }

    /// @dev Step `i` of the fixed pseudo-random sequence: one handler call with derived arguments.
    function _step(uint256 i) internal {
        uint256 r = uint256(keccak256(abi.encode("step", i)));
        bytes4 sel = _selectors[r % _selectors.length];
        uint256[4] memory a;
        for (uint256 k; k < 4; ++k) a[k] = uint256(keccak256(abi.encode(r, k)));
        if (sel == JobMarketHandler.setNodeActive.selector) a[1] %= 2;
        (bool ok,) = address(handler).call(abi.encodeWithSelector(sel, a[0], a[1], a[2], a[3]));
        vm.assertTrue(ok, "the handler reverted");
    }

    function _endedIn(JobStatus s) internal view returns (uint256 count) {
        uint256 n = handler.jobCount();
        for (uint256 id = 1; id <= n; ++id) if (handler.ghostStatus(id) == s) ++count;
    }

    // =================================================================================== per call

    /// @notice Checked after every handler call:
    /// - solvency: per token, the market holds exactly the live escrows and posted bonds, the credited
    ///   balances and the fees (in FAB: the compensation credits and treasury shares of slashes);
    /// - the registry holds exactly every operator's bonded plus unbonding stake;
    /// - per operator, the market's locked collateral is that of its claimed, delivered and disputed jobs,
    ///   and never exceeds its bonded plus unbonding stake;
    /// - no call surprised the model: no unexpected success or revert, no wrong revert reason, no status
    ///   change outside the legal transitions, no account debited but by its own call, the order it signed
    ///   or a slash of its collateral, no state that differs from the model;
    /// - one job (status, commitment, dispute) and one credited balance in turn equal the model.
    function invariant_marketFollowsItsRules() public view {
        // One read of the model, the chain read directly; comparisons reach the cheatcode only on failure.
        // (The handler compares fees and stakes with the chain whenever a call changes them.)
        Expectations memory e = handler.expectations();
        if (e.surprises != 0) vm.assertEq(e.surprises, 0, handler.lastSurprise());
        for (uint256 t; t < 4; ++t) {
            _eq(
                IERC20(tokens[t]).balanceOf(address(market)),
                e.holdings[t],
                "solvency: market balance != escrows + bonds + credits + fees"
            );
        }
        _eq(fab.balanceOf(address(registry)), e.registryFab, "registry FAB != bonded + unbonding stakes");
        for (uint256 i; i < 4; ++i) {
            _eq(market.lockedOf(operators[i]), e.locked[i], "locked collateral != that of the operator's open claims");
            if (e.locked[i] > e.stake[i]) vm.assertLe(e.locked[i], e.stake[i], "locked collateral exceeds the stake");
        }
        if (e.jobId != 0) {
            // statusOf answers the status only when the slot's commitment is this struct's: it checks both.
            _eq(uint256(market.statusOf(e.jobId, e.job)), e.evicted ? 0 : e.status, "job differs from the model (sample)");
            if (e.status == uint8(JobStatus.Disputed)) {
                if (keccak256(abi.encode(module.disputeOf(e.jobId))) != keccak256(abi.encode(e.dispute))) {
                    vm.assertTrue(false, "dispute differs from the model (sample)");
                }
            }
        }
        _eq(market.balanceOf(e.token, e.holder), e.credit, "credited balance (sample)");
    }

    function _checkSurprises() internal view {
        if (handler.surprises() != 0) vm.assertEq(handler.surprises(), 0, handler.lastSurprise());
    }

    function _eq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) vm.assertEq(a, b, what);
    }

    // ============================================================================== end of a run

    /// @notice Every job and account against the model; then every unfinished job must reach a terminal
    /// state with permissionless calls only once its deadlines pass, and every balance must pay out.
    function afterInvariant() public {
        _checkSurprises();
        uint256 n = handler.jobCount();
        for (uint256 id = 1; id <= n; ++id) _checkJob(id);
        _checkEscrowsFromJobs();
        _checkAccounts();
        _checkOperators();
        _checkGovernance();

        uint256 snapshot = vm.snapshotState();
        _driveToTerminal();
        _payEverythingOut();
        vm.revertToState(snapshot);
    }

    function _checkJob(uint256 id) internal view {
        Job memory job = handler.ghostJob(id);
        if (handler.isEvicted(id)) {
            vm.assertEq(uint256(market.statusOf(id, job)), 0, "a recycled slot still answers for its old job");
            return;
        }
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(handler.ghostStatus(id)), "status differs from the model");
        vm.assertEq(market.commitmentAt(job.key), handler.ghostCommitment(id), "commitment differs from the model");
        vm.assertEq(
            keccak256(abi.encode(module.disputeOf(id))),
            keccak256(abi.encode(handler.ghostDispute(id))),
            "dispute differs from the model"
        );
    }

    /// @dev Solvency recomputed from the chain alone: escrows and bonds of live jobs, every credit, fees.
    function _checkEscrowsFromJobs() internal view {
        uint256 n = handler.jobCount();
        uint256[] memory escrows = new uint256[](tokens.length);
        uint256[] memory lockedBy = new uint256[](operators.length);
        for (uint256 id = 1; id <= n; ++id) {
            if (handler.isEvicted(id)) continue;
            Job memory job = handler.ghostJob(id);
            JobStatus s = market.statusOf(id, job);
            if (s == JobStatus.None || s > JobStatus.Disputed) continue;
            uint256 held = job.amount;
            if (s == JobStatus.Disputed) {
                held += job.bond;
                if (module.disputeOf(id).appellant != address(0)) held += job.bond;
            }
            escrows[_tokenIndex(job.token)] += held;
            if (s >= JobStatus.Claimed) lockedBy[_operatorIndex(job.node)] += job.collateral;
        }
        for (uint256 t; t < tokens.length; ++t) {
            address token = tokens[t];
            vm.assertEq(escrows[t], handler.escrow(token), "escrows differ from the model's running sum");
            uint256 credits;
            for (uint256 i; i < holders.length; ++i) credits += market.balanceOf(token, holders[i]);
            vm.assertEq(credits, handler.creditTotal(token), "credited balances differ from the model");
            vm.assertEq(
                IERC20(token).balanceOf(address(market)),
                escrows[t] + credits + market.feesOf(token),
                "solvency (from the chain): market balance != escrows + bonds + credits + fees"
            );
        }
        for (uint256 i; i < operators.length; ++i) {
            vm.assertEq(market.lockedOf(operators[i]), lockedBy[i], "locked != collateral of the operator's claims");
        }
    }

    function _checkAccounts() internal view {
        for (uint256 t; t < tokens.length; ++t) {
            address token = tokens[t];
            for (uint256 i; i < holders.length; ++i) {
                address a = holders[i];
                vm.assertEq(market.balanceOf(token, a), handler.credit(token, a), "credited balance");
                vm.assertEq(IERC20(token).balanceOf(a), handler.wallet(token, a), "wallet");
            }
            vm.assertEq(IERC20(token).balanceOf(treasury), handler.wallet(token, treasury), "treasury wallet");
            vm.assertEq(IERC20(token).balanceOf(handler.SINK()), handler.wallet(token, handler.SINK()), "sink wallet");
        }
    }

    function _checkOperators() internal view {
        for (uint256 i; i < operators.length; ++i) {
            address op = operators[i];
            INodeRegistry.Stake memory s = registry.stakeOf(op);
            JobMarketHandler.Account memory a = handler.ghostAccount(op);
            vm.assertEq(s.staked, a.staked, "bonded stake");
            vm.assertEq(s.unbonding, a.unbonding, "unbonding stake");
            INodeRegistry.UnbondRequest[] memory reqs = registry.unbondRequests(op);
            vm.assertEq(keccak256(abi.encode(reqs)), keccak256(abi.encode(handler.ghostRequests(op))), "unbond requests");
            uint256 sum;
            for (uint256 k; k < reqs.length; ++k) sum += reqs[k].amount;
            vm.assertEq(sum, s.unbonding, "unbonding != sum of the pending requests");
            vm.assertEq(registry.getVotes(op), uint256(s.staked) + s.unbonding, "votes != FAB held for the operator");
        }
    }

    function _checkGovernance() internal view {
        vm.assertEq(keccak256(abi.encode(module.params())), keccak256(abi.encode(handler.ghostParams())), "params");
        for (uint256 t; t < 3; ++t) {
            vm.assertEq(
                keccak256(abi.encode(module.tokenTerms(tokens[t]))),
                keccak256(abi.encode(handler.ghostTerms(tokens[t]))),
                "token terms"
            );
        }
        vm.assertEq(module.arbiter(), handler.arbiter(), "arbiter");
        vm.assertEq(module.appealCourt(), handler.court(), "appeal court");
        vm.assertEq(module.paused(), handler.paused(), "paused");
        vm.assertEq(module.guardian(), handler.guardian(), "guardian");
        vm.assertEq(keccak256(abi.encode(panel.arbiters())), keccak256(abi.encode(handler.ghostMembers())), "panel");
        vm.assertEq(registry.minStake(), handler.minStake(), "minimum stake");
    }

    /// @dev Past every deadline, expire / settle / finalize (at most three times) must end every job.
    function _driveToTerminal() internal {
        uint256 n = handler.jobCount();
        vm.warp(handler.ghostNow() + 400 days);
        for (uint256 round; round < 3; ++round) {
            bool pending;
            for (uint256 id = 1; id <= n; ++id) {
                if (handler.isEvicted(id)) continue;
                Job memory job = handler.ghostJob(id);
                JobStatus s = market.statusOf(id, job);
                bytes memory call;
                if (s == JobStatus.Open || s == JobStatus.Claimed) call = abi.encodeCall(market.expire, (id, job));
                else if (s == JobStatus.Delivered) call = abi.encodeCall(market.settle, (id, job));
                else if (s == JobStatus.Disputed) call = abi.encodeCall(module.finalize, (id, job));
                else continue;
                vm.prank(STRANGER);
                (bool ok, bytes memory ret) = address(market).call(call);
                if (!ok) vm.assertTrue(false, string.concat("a permissionless move failed: ", vm.toString(id), " ", _hex(ret)));
                if (market.statusOf(id, job) == JobStatus.Disputed) pending = true;
            }
            if (!pending) break;
            vm.warp(block.timestamp + 31 days);
        }
        for (uint256 id = 1; id <= n; ++id) {
            if (handler.isEvicted(id)) continue;
            JobStatus s = market.statusOf(id, handler.ghostJob(id));
            vm.assertTrue(s >= JobStatus.Settled, "a job did not reach a terminal state");
        }
        for (uint256 i; i < operators.length; ++i) {
            vm.assertEq(market.lockedOf(operators[i]), 0, "collateral still locked after every job ended");
        }
    }

    /// @dev With every job ended, every credit and fee pays out and every stake unbonds: nothing stays behind.
    function _payEverythingOut() internal {
        for (uint256 t; t < tokens.length; ++t) {
            address token = tokens[t];
            for (uint256 i; i < holders.length; ++i) {
                if (market.balanceOf(token, holders[i]) == 0) continue;
                vm.prank(holders[i]);
                market.withdraw(token, holders[i]);
            }
            if (market.feesOf(token) != 0) market.withdrawFees(token);
            vm.assertEq(IERC20(token).balanceOf(address(market)), 0, "the market kept funds after paying everything out");
        }
        for (uint256 i; i < operators.length; ++i) {
            address op = operators[i];
            vm.startPrank(op);
            if (registry.stakeOf(op).unbonding != 0) registry.withdraw();
            uint256 staked = registry.stakeOf(op).staked;
            if (staked != 0) registry.requestUnbond(staked);
            vm.stopPrank();
        }
        vm.warp(block.timestamp + registry.unbondDelay());
        for (uint256 i; i < operators.length; ++i) {
            address op = operators[i];
            if (registry.stakeOf(op).unbonding == 0) continue;
            vm.prank(op);
            registry.withdraw();
            vm.assertEq(registry.getVotes(op), 0, "votes left after unbonding everything");
        }
        vm.assertEq(fab.balanceOf(address(registry)), 0, "the registry kept FAB after every stake unbonded");
    }

    function _tokenIndex(address token) internal view returns (uint256) {
        for (uint256 t; t < tokens.length; ++t) if (tokens[t] == token) return t;
        revert("unknown token");
    }

    function _operatorIndex(address op) internal view returns (uint256) {
        for (uint256 i; i < operators.length; ++i) if (operators[i] == op) return i;
        revert("unknown operator");
    }

    function _hex(bytes memory data) internal pure returns (string memory s) {
        bytes memory digits = "0123456789abcdef";
        bytes memory out = new bytes(2 * data.length);
        for (uint256 i; i < data.length; ++i) {
            out[2 * i] = digits[uint8(data[i]) >> 4];
            out[2 * i + 1] = digits[uint8(data[i]) & 15];
        }
        s = string(out);
    }
}
