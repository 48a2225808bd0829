// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GovernanceFixture} from "./GovernanceFixture.sol";
import {IJobMarketTypes} from "../../src/interfaces/IJobMarketTypes.sol";
import {IJobMarketModule} from "../../src/interfaces/IJobMarketModule.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";

/// @notice The DAO as the market's appeal court: a party brings its appealed dispute to a vote without the
/// proposal threshold, token holders decide, the timelock's ruling is what the market executes. Also: pausing
/// never freezes what already belongs to someone.
contract GovernanceAppealTest is GovernanceFixture {
    uint96 internal constant AMOUNT = 100e6;

    /// @dev A delivered job the customer disputed, ruled by its panel arbiter for the shop (no refund), then
    /// appealed by the customer: the timelock is now its judge.
    function _appealed() internal returns (uint256 id, Job memory job) {
        (id, job) = _ruled(0, 0);
        vm.prank(customer);
        module.appeal(id, job);
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(uint256(d.stage), uint256(IJobMarketTypes.DisputeStage.Appealed), "appealed");
        vm.assertEq(d.judge, address(timelock), "the DAO judges");
    }

    /// @dev A disputed job its assigned arbiter ruled on (`refundBps`, `slashBps`).
    function _ruled(uint16 refundBps, uint16 slashBps) internal returns (uint256 id, Job memory job) {
        (id, job) = _disputed();
        address judge = module.disputeOf(id).judge;
        vm.prank(judge);
        module.rule(id, job, refundBps, slashBps);
    }

    function _disputed() internal returns (uint256 id, Job memory job) {
        (id, job) = postJob(AMOUNT, 0);
        job = deliverJob(id, claimJob(id, job));
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.assertEq(module.disputeOf(id).judge, arbiter, "the panel assigned its first member");
    }

    function _ruling(uint256 id, Job memory job, uint16 refundBps, uint16 slashBps) internal pure returns (bytes memory) {
        return abi.encodeCall(IJobMarketModule.rule, (id, job, refundBps, slashBps));
    }

    /// @notice appeal -> the customer (no FAB at all) proposes a full refund -> holders vote -> timelock ->
    /// the market pays out the DAO's ruling and returns the appellant's bond.
    function test_appeal_partyProposesRuling_daoDecides_marketExecutes() public {
        (uint256 id, Job memory job) = _appealed();
        vm.assertEq(governor.getVotes(customer, block.timestamp - 1), 0, "customer has no votes");
        bytes memory data = _ruling(id, job, 10_000, 5_000);
        uint256 pid = _propose(customer, address(market), data, "Appeal: full refund, half the collateral slashed");
        vm.assertEq(governor.proposalProposer(pid), customer, "the customer proposed");

        uint256 customerBefore = market.balanceOf(address(usd), customer);
        uint256 customerFabBefore = market.balanceOf(address(fab), customer);
        _passProposal(pid, address(market), data, "Appeal: full refund, half the collateral slashed");

        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Resolved), "resolved by the DAO");
        // Full refund, the dispute bond (customer won) and the appeal bond (appellant won) come back.
        vm.assertEq(
            market.balanceOf(address(usd), customer) - customerBefore, AMOUNT + 2 * uint256(job.bond), "refund + bonds"
        );
        uint256 slashed = uint256(job.collateral) / 2;
        vm.assertEq(
            market.balanceOf(address(fab), customer) - customerFabBefore,
            slashed * COMPENSATION_BPS / 10_000,
            "compensation from the slash"
        );
    }

    /// @notice The node may propose too (it is a party), and a lost appeal's bond pays the arbiter whose ruling
    /// stood, the rest to the treasury.
    function test_appeal_nodeProposesConfirmation_bondToArbiterAndTreasury() public {
        (uint256 id, Job memory job) = _appealed();
        bytes memory data = _ruling(id, job, 0, 0); // confirm the arbiter's ruling
        uint256 pid = _propose(shop, address(market), data, "Appeal: the ruling stands");
        _passProposal(pid, address(market), data, "Appeal: the ruling stands");
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Resolved), "resolved");
        uint256 fee = uint256(job.bond) * ARBITER_FEE_BPS / 10_000;
        vm.assertEq(market.balanceOf(address(usd), arbiter), fee, "arbiter's fee from the lost bond");
        // Treasury's share of the bond beside the job's fee on the shop's payout.
        uint256 jobFee = uint256(AMOUNT) * job.feeBps / 10_000;
        vm.assertEq(market.feesOf(address(usd)), jobFee + job.bond - fee, "treasury");
    }

    /// @notice Someone who is not a party needs the threshold for an appeal ruling like for anything else.
    function test_appeal_nonPartyNeedsThreshold() public {
        (uint256 id, Job memory job) = _appealed();
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(address(market), _ruling(id, job, 0, 0));
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, stranger, 0, PROPOSAL_THRESHOLD)
        );
        governor.propose(t, v, c, "x");
        // A holder above the threshold may.
        vm.prank(alice);
        governor.propose(t, v, c, "x");
    }

    /// @notice A party's ruling proposal for a dispute that is not (yet) appealed needs the threshold.
    function test_notAppealed_partyNeedsThreshold() public {
        (uint256 id, Job memory job) = _ruled(0, 0);
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(address(market), _ruling(id, job, 10_000, 0));
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, customer, 0, PROPOSAL_THRESHOLD)
        );
        governor.propose(t, v, c, "x");
    }

    /// @notice The exemption covers exactly one `rule` call on the market: anything more needs the threshold.
    function test_appeal_exemptionIsNarrow() public {
        (uint256 id, Job memory job) = _appealed();
        bytes memory data = _ruling(id, job, 10_000, 0);
        // A second action riding along.
        address[] memory t = new address[](2);
        uint256[] memory v = new uint256[](2);
        bytes[] memory c = new bytes[](2);
        t[0] = address(market);
        c[0] = data;
        t[1] = address(usd);
        c[1] = abi.encodeCall(usd.transfer, (customer, 1));
        vm.startPrank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, customer, 0, PROPOSAL_THRESHOLD)
        );
        governor.propose(t, v, c, "x");
        // Value attached, or another target, or a stale job struct: no exemption.
        (address[] memory t1, uint256[] memory v1, bytes[] memory c1) = _one(address(market), data);
        v1[0] = 1;
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, customer, 0, PROPOSAL_THRESHOLD)
        );
        governor.propose(t1, v1, c1, "x");
        (t1, v1, c1) = _one(address(usd), data);
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, customer, 0, PROPOSAL_THRESHOLD)
        );
        governor.propose(t1, v1, c1, "x");
        Job memory stale = abi.decode(abi.encode(job), (Job));
        stale.amount += 1;
        (t1, v1, c1) = _one(address(market), _ruling(id, stale, 10_000, 0));
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, customer, 0, PROPOSAL_THRESHOLD)
        );
        governor.propose(t1, v1, c1, "x");
        vm.stopPrank();
        // Another party's job: the customer of one dispute cannot use it for another's ruling.
        vm.prank(designer);
        vm.expectRevert(
            abi.encodeWithSelector(IGovernor.GovernorInsufficientProposerVotes.selector, designer, 0, PROPOSAL_THRESHOLD)
        );
        governor.propose(t, v, c, "y");
    }

    /// @notice The DAO rejects the appellant's proposal: nothing happens; the court window ends, anyone
    /// finalizes, the arbiter's ruling stands and the unanswered appellant gets its bond back.
    function test_appeal_rejected_thenFinalized() public {
        (uint256 id, Job memory job) = _appealed();
        bytes memory data = _ruling(id, job, 10_000, 0);
        uint256 pid = _propose(customer, address(market), data, "Refund me");
        _toVoting(pid);
        _vote(alice, pid, 0);
        _vote(bob, pid, 1);
        _toEnd(pid);
        vm.assertEq(uint256(governor.state(pid)), uint256(IGovernor.ProposalState.Defeated), "defeated");
        vm.warp(module.disputeOf(id).deadline + 1);
        uint256 before = market.balanceOf(address(usd), customer);
        vm.prank(stranger);
        module.finalize(id, job);
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Resolved), "resolved");
        vm.assertEq(market.balanceOf(address(usd), customer) - before, job.bond, "only the appeal bond back");
    }

    /// @notice A ruling passed too late for the market's court window cannot execute (the market refuses it):
    /// the arbiter's ruling stands. With the production settings a proposal needs at least
    /// delay + period + timelock (8 days, 10 with a late-quorum extension) of the 14-day window.
    function test_appeal_rulingAfterCourtWindow_expires() public {
        (uint256 id, Job memory job) = _appealed();
        uint256 ruleBy = module.disputeOf(id).deadline;
        vm.warp(block.timestamp + 7 days); // the appellant waits a week before proposing
        bytes memory data = _ruling(id, job, 10_000, 0);
        uint256 pid = _propose(customer, address(market), data, "Late");
        _toVoting(pid);
        _vote(alice, pid, 1);
        _vote(bob, pid, 1);
        _toEnd(pid);
        _queue(address(market), data, "Late");
        vm.warp(block.timestamp + TIMELOCK_DELAY);
        vm.assertGt(block.timestamp, ruleBy, "past the court window");
        (address[] memory t, uint256[] memory v, bytes[] memory c) = _one(address(market), data);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, ruleBy, block.timestamp)
        );
        governor.execute(t, v, c, keccak256("Late"));
        vm.assertEq(uint256(governor.state(pid)), uint256(IGovernor.ProposalState.Queued), "stays queued, unexecutable");
        module.finalize(id, job);
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Resolved), "the arbiter's ruling stands");
    }

    /// @dev Governance removes `arbiter` from the panel while one of its disputes runs: the dispute opens (and
    /// is assigned to `arbiter`, first in turn) once the vote has closed, so the removal, a timelock delay
    /// later, lands well within the dispute's deadline. (A removal takes at least delay + period + timelock,
    /// 8 days here, longer than the 7-day dispute window: a dispute already open when the proposal went up
    /// reaches its deadline first.)
    function _removedMidDispute() internal returns (uint256 id, Job memory job) {
        bytes memory data = abi.encodeCall(panel.remove, (arbiter));
        uint256 pid = _propose(alice, address(panel), data, "Remove arbiter 1");
        _toVoting(pid);
        _vote(alice, pid, 1);
        _vote(bob, pid, 1);
        _toEnd(pid);
        (id, job) = _disputed();
        _queue(address(panel), data, "Remove arbiter 1");
        vm.warp(block.timestamp + TIMELOCK_DELAY);
        _execute(address(panel), data, "Remove arbiter 1");
        vm.assertFalse(panel.isArbiter(arbiter), "removed");
        vm.assertLt(block.timestamp, module.disputeOf(id).deadline, "within the dispute's deadline");
    }

    function _offPanel(uint256 id, address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, caller, address(0));
    }

    /// @notice Governance removes an arbiter mid-dispute: the case is not stranded. The removed arbiter may no
    /// longer rule; anyone reassigns the case to a current member with a fresh deadline, who rules; the
    /// appeal still goes to the DAO, whose ruling the market executes.
    function test_arbiterRemovedMidDispute_reassigned() public {
        (uint256 id, Job memory job) = _removedMidDispute();
        vm.prank(arbiter);
        vm.expectRevert(_offPanel(id, arbiter));
        module.rule(id, job, 0, 0);
        vm.prank(stranger);
        module.reassign(id, job);
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(d.judge, arbiter2, "the remaining member");
        vm.assertEq(uint256(d.deadline), block.timestamp + DISPUTE_WINDOW, "fresh deadline");
        vm.prank(arbiter2);
        module.rule(id, job, 0, 0);
        vm.assertEq(uint256(module.disputeOf(id).stage), uint256(IJobMarketTypes.DisputeStage.Ruled), "ruled");
        // The customer appeals; the DAO (no panel member) rules, and the market executes it.
        vm.prank(customer);
        module.appeal(id, job);
        bytes memory data = _ruling(id, job, 10_000, 0);
        uint256 pid = _propose(customer, address(market), data, "Appeal after reassignment");
        _passProposal(pid, address(market), data, "Appeal after reassignment");
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Resolved), "resolved by the DAO");
        vm.assertEq(market.balanceOf(address(usd), arbiter), 0, "the removed arbiter earns nothing");
        vm.assertEq(market.balanceOf(address(usd), arbiter2), 0, "a reversed ruling earns nothing");
    }

    /// @notice A removal that lands after the dispute's deadline: the case is not stranded either. Nobody may
    /// reassign it any more (the clock never restarts past the deadline); anyone finalizes the default ruling,
    /// which either side appeals to the DAO as usual.
    function test_arbiterRemovedAfterItsDeadline_defaultRulingThenDaoAppeal() public {
        (uint256 id, Job memory job) = _disputed();
        uint256 ruleBy = module.disputeOf(id).deadline;
        _pass(address(panel), abi.encodeCall(panel.remove, (arbiter)), "Remove arbiter 1");
        vm.assertGt(block.timestamp, ruleBy, "governance took longer than the dispute window");
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, ruleBy, block.timestamp)
        );
        module.reassign(id, job);
        vm.prank(stranger);
        module.finalize(id, job);
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(uint256(d.stage), uint256(IJobMarketTypes.DisputeStage.Ruled), "default ruling");
        vm.assertEq(uint256(d.refundBps), 5_000, "half the payment back");
        vm.assertEq(d.arbiter, address(0), "the silent arbiter is owed nothing");
        vm.prank(customer);
        module.appeal(id, job);
        bytes memory data = _ruling(id, job, 10_000, 0);
        uint256 pid = _propose(customer, address(market), data, "Appeal the default ruling");
        _passProposal(pid, address(market), data, "Appeal the default ruling");
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Resolved), "resolved by the DAO");
    }

    /// @notice Attack: governance removes a corrupt arbiter that sits on a dispute. The moment the removal
    /// executes (same block) and at any time after it, the arbiter's ruling is refused, whatever it rules, so
    /// it cannot race whoever reassigns the case; calling `reassign` itself only hands the case to another
    /// member. (Until the removal executes it is still a member: its ruling then stands, open to appeal.)
    function test_attack_removedCorruptArbiterCannotRaceTheReassignment() public {
        (uint256 id, Job memory job) = _removedMidDispute();
        bytes32 before = keccak256(abi.encode(module.disputeOf(id)));
        uint16[3] memory refunds = [uint16(0), 0, 10_000];
        uint16[3] memory slashes = [uint16(0), 10_000, 0];
        for (uint256 i; i < 3; ++i) {
            vm.prank(arbiter);
            vm.expectRevert(_offPanel(id, arbiter));
            module.rule(id, job, refunds[i], slashes[i]);
        }
        vm.warp(block.timestamp + 1 hours); // nobody has reassigned yet: still refused
        vm.prank(arbiter);
        vm.expectRevert(_offPanel(id, arbiter));
        module.rule(id, job, 0, 10_000);
        vm.assertEq(keccak256(abi.encode(module.disputeOf(id))), before, "the dispute did not move");
        // Reassigning the case itself gains the arbiter nothing: it goes to the remaining member.
        vm.prank(arbiter);
        module.reassign(id, job);
        vm.assertEq(module.disputeOf(id).judge, arbiter2, "the remaining member");
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, arbiter, arbiter2)
        );
        module.rule(id, job, 0, 10_000);
        vm.prank(arbiter2);
        module.rule(id, job, 10_000, 0);
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(d.arbiter, arbiter2, "the ruling is the honest member's");
        vm.assertEq(uint256(d.refundBps), 10_000, "its split");
    }

    /// @notice Only the timelock rules on an appealed dispute: not the arbiter, not a party.
    function test_appeal_onlyTheDaoRules() public {
        (uint256 id, Job memory job) = _appealed();
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, arbiter, address(timelock))
        );
        module.rule(id, job, 0, 0);
    }

    // --------------------------------------------------------------------------------------- pause

    /// @notice A paused market refuses new jobs only: running jobs finish, disputes go on, balances, fees and
    /// stakes come out.
    function test_pause_cannotBlockWithdrawals() public {
        // Before the pause: a settled job (credited balances), a delivered job, a disputed job, an unbond.
        (uint256 id1, Job memory j1) = postJob(AMOUNT, 0);
        j1 = deliverJob(id1, claimJob(id1, j1));
        vm.prank(customer);
        market.accept(id1, j1);
        (uint256 id2, Job memory j2) = postJob(AMOUNT, 0);
        j2 = deliverJob(id2, claimJob(id2, j2));
        (uint256 id3, Job memory j3) = _disputed();
        vm.prank(arbiter);
        module.rule(id3, j3, 5_000, 0);
        vm.prank(shop);
        registry.requestUnbond(1_000e18);

        _pass(address(market), abi.encodeCall(IJobMarketModule.setPaused, (true)), "Emergency pause");
        vm.assertTrue(module.paused(), "paused");

        vm.prank(customer);
        vm.expectRevert(IJobMarketTypes.JobMarket__Paused.selector);
        market.post(address(usd), AMOUNT, SPEC_CID, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0);

        // Running jobs reach their end (the vote took longer than the review and appeal windows): the ruled
        // dispute finalizes, the delivered job settles.
        module.finalize(id3, j3);
        vm.assertEq(uint256(market.statusOf(id3, j3)), uint256(JobStatus.Resolved), "dispute resolved");
        market.settle(id2, j2);
        vm.assertEq(uint256(market.statusOf(id2, j2)), uint256(JobStatus.Settled), "settled while paused");

        // Everybody's money comes out.
        uint256 shopCredit = market.balanceOf(address(usd), shop);
        vm.assertGt(shopCredit, 0, "shop earned");
        vm.prank(shop);
        market.withdraw(address(usd), shop);
        vm.assertEq(usd.balanceOf(shop), shopCredit, "shop withdrew");
        uint256 custCredit = market.balanceOf(address(usd), customer);
        vm.assertGt(custCredit, 0, "customer refunded");
        uint256 custBefore = usd.balanceOf(customer);
        vm.prank(customer);
        market.withdraw(address(usd), customer);
        vm.assertEq(usd.balanceOf(customer) - custBefore, custCredit, "customer withdrew");
        uint256 fees = market.feesOf(address(usd));
        market.withdrawFees(address(usd));
        vm.assertEq(usd.balanceOf(address(timelock)), fees, "fees to the treasury");
        vm.warp(block.timestamp + UNBOND_DELAY);
        uint256 fabBefore = fab.balanceOf(shop);
        vm.prank(shop);
        registry.withdraw();
        vm.assertEq(fab.balanceOf(shop) - fabBefore, 1_000e18, "stake unbonded");
    }
}
