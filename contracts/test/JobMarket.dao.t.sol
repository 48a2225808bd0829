// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {ArbiterPanel} from "../src/governance/ArbiterPanel.sol";
import {IJobMarketTypes} from "../src/interfaces/IJobMarketTypes.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice The market under DAO governance (issue 13): disputes judged by a governance-appointed panel's
/// members (assignment, reassignment when a member leaves, the default ruling when nobody rules), the
/// appeal bond's split, and the pause that stops new jobs and nothing else.
contract JobMarketPanelTest is MarketFixture {
    address internal constant M1 = address(0xA4B5);
    address internal constant M2 = address(0xA4B6);
    address internal constant M3 = address(0xA4B7);
    ArbiterPanel internal panel;

    event DisputeAssigned(uint256 indexed jobId, address indexed arbiter);

    function setUp() public override {
        super.setUp();
        address[] memory members = new address[](3);
        (members[0], members[1], members[2]) = (M1, M2, M3);
        panel = new ArbiterPanel(owner, address(market), members);
        vm.prank(owner);
        module.proposeArbiter(address(panel));
        vm.warp(block.timestamp + market.JUDGE_CHANGE_DELAY());
        module.activateArbiter();
        watched.push(M1);
        watched.push(M2);
        watched.push(M3);
    }

    function _notReassignable(uint256 id, address judge) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotReassignable.selector, id, judge);
    }

    function _notJudge(uint256 id, address caller, address judge) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, caller, judge);
    }

    // ================================================================================ assignment

    function test_dispute_panelAssignsAMemberWhoRulesDirectly() public {
        (uint256 id, Job memory job) = _delivered(0);
        uint256 ruleBy = block.timestamp + DISPUTE_WINDOW;
        vm.expectEmit(address(panel));
        emit DisputeAssigned(id, M1);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobDisputed(id, customer, job.bond, PROOF_CID, M1, ruleBy);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(d.judge, M1, "judge: the member");
        vm.assertEq(d.arbiter, M1, "arbiter: the member");
        vm.assertEq(d.deadline, ruleBy, "deadline");
        // Neither the panel contract nor another member rules this case.
        vm.prank(address(panel));
        vm.expectRevert(_notJudge(id, address(panel), M1));
        module.rule(id, job, 0, 0);
        vm.prank(M2);
        vm.expectRevert(_notJudge(id, M2, M1));
        module.rule(id, job, 0, 0);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeRuled(id, M1, 10_000, 0, block.timestamp + APPEAL_WINDOW);
        vm.prank(M1);
        module.rule(id, job, 10_000, 0);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "resolved");
        vm.assertEq(market.balanceOf(address(usd), customer), AMOUNT + job.bond, "refund + bond");
        vm.assertEq(market.balanceOf(address(usd), M1), 0, "an unappealed ruling pays no fee");
    }

    function test_dispute_roundRobinAndNeverAParty() public {
        (uint256 id1,) = _disputed(0);
        (uint256 id2,) = _disputed(0);
        vm.assertEq(module.disputeOf(id1).judge, M1, "first");
        vm.assertEq(module.disputeOf(id2).judge, M2, "second");
        // The customer joins the panel, right after M3 in turn... and is skipped for its own dispute.
        vm.prank(owner);
        panel.appoint(customer);
        (uint256 id3,) = _disputed(0);
        (uint256 id4,) = _disputed(0);
        vm.assertEq(module.disputeOf(id3).judge, M3, "third");
        vm.assertEq(module.disputeOf(id4).judge, M1, "the customer's turn skipped");
    }

    function test_dispute_accountArbiterStillWorks() public {
        // Governance may go back to a single account: it rules itself, nothing is assigned.
        vm.prank(owner);
        module.proposeArbiter(arbiter);
        vm.warp(block.timestamp + market.JUDGE_CHANGE_DELAY());
        module.activateArbiter();
        (uint256 id, Job memory job) = _disputed(0);
        vm.assertEq(module.disputeOf(id).judge, arbiter, "the account");
        vm.expectRevert(_notReassignable(id, arbiter));
        module.reassign(id, job);
        vm.prank(arbiter);
        module.rule(id, job, 0, 0);
    }

    // ============================================================================== reassignment

    function test_reassign_refusedWhileTheMemberSits() public {
        (uint256 id, Job memory job) = _disputed(0);
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(_notReassignable(id, M1));
        module.reassign(id, job);
        vm.prank(customer); // not even a party may shop for another arbiter
        vm.expectRevert(_notReassignable(id, M1));
        module.reassign(id, job);
        _assertNoFundsMoved(before);
        vm.assertEq(module.disputeOf(id).judge, M1, "unchanged");
    }

    function test_reassign_removedMembersDisputeGoesToTheNextWithAFreshClock() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.warp(block.timestamp + DISPUTE_WINDOW - 1 hours); // nearly out of time when the member leaves
        vm.prank(owner);
        panel.remove(M1);
        uint256 ruleBy = block.timestamp + DISPUTE_WINDOW;
        bytes32 before = _funds();
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeReassigned(id, M1, M2, ruleBy);
        vm.prank(stranger); // anyone
        module.reassign(id, job);
        _assertNoFundsMoved(before);
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        vm.assertEq(d.judge, M2, "new judge");
        vm.assertEq(d.arbiter, M2, "new arbiter");
        vm.assertEq(d.deadline, ruleBy, "fresh deadline");
        vm.assertEq(uint256(d.stage), uint256(IJobMarketTypes.DisputeStage.AwaitingArbiter), "stage");
        // The removed member is out; the new one sits, so no second reassignment.
        vm.prank(M1);
        vm.expectRevert(_notJudge(id, M1, M2));
        module.rule(id, job, 0, 0);
        vm.expectRevert(_notReassignable(id, M2));
        module.reassign(id, job);
        vm.warp(block.timestamp + DISPUTE_WINDOW - 1);
        vm.prank(M2);
        module.rule(id, job, 3_000, 0);
        vm.assertEq(module.disputeOf(id).refundBps, 3_000, "ruled by the new member");
    }

    function test_reassign_refusedOnceRuled() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(M1);
        module.rule(id, job, 0, 0);
        vm.prank(owner);
        panel.remove(M1);
        vm.expectRevert(_notReassignable(id, M1));
        module.reassign(id, job);
    }

    function test_removedMemberCannotStrandTheCase_defaultRulingAfterDeadline() public {
        // The only member leaves mid-dispute and nobody is left to take the case: reassignment is refused
        // (its clock does not restart), and the default ruling still ends the case after the deadline.
        vm.startPrank(owner);
        panel.remove(M2);
        panel.remove(M3);
        vm.stopPrank();
        (uint256 id, Job memory job) = _disputed(0);
        uint256 ruleBy = module.disputeOf(id).deadline;
        vm.prank(owner);
        panel.remove(M1);
        vm.expectRevert(_notReassignable(id, M1));
        module.reassign(id, job);
        vm.warp(ruleBy + 1);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeRuled(id, address(0), 5_000, 0, block.timestamp + APPEAL_WINDOW);
        module.finalize(id, job);
        vm.expectRevert(_notReassignable(id, M1)); // ruled: too late to reassign
        module.reassign(id, job);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobResolved(id, address(0), 5_000, 0, 50e6, 48_750_000, 1_250_000, 0, 0, 0);
        module.finalize(id, job);
        vm.assertEq(market.lockedOf(shop), 0, "collateral released");
        vm.assertEq(market.balanceOf(address(usd), M1), 0, "the removed member earns nothing");
    }

    function test_noEligibleMember_disputeWaitsUnjudgedThenReassignedOrDefaulted() public {
        // Only the customer sits on the panel: its own dispute gets no judge.
        vm.startPrank(owner);
        panel.remove(M1);
        panel.remove(M2);
        panel.remove(M3);
        panel.appoint(customer);
        vm.stopPrank();
        (uint256 id, Job memory job) = _delivered(0);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.JobDisputed(id, customer, job.bond, PROOF_CID, address(0), block.timestamp + DISPUTE_WINDOW);
        vm.prank(customer);
        module.dispute(id, job, PROOF_CID);
        vm.assertEq(module.disputeOf(id).judge, address(0), "no judge");
        vm.prank(customer);
        vm.expectRevert(_notJudge(id, customer, address(0)));
        module.rule(id, job, 10_000, 0);
        // Still nobody: reassignment refused (no endless postponing).
        vm.expectRevert(_notReassignable(id, address(0)));
        module.reassign(id, job);
        // Governance appoints someone: the case moves to them, with a fresh clock.
        vm.prank(owner);
        panel.appoint(M3);
        vm.warp(block.timestamp + 1 days);
        module.reassign(id, job);
        vm.assertEq(module.disputeOf(id).judge, M3, "M3");
        vm.assertEq(module.disputeOf(id).deadline, block.timestamp + DISPUTE_WINDOW, "fresh clock");
    }

    // ==================================================== removed members and the reassignment deadline

    function _offPanel(uint256 id, address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotJudge.selector, id, caller, address(0));
    }

    function _deadlinePassed(uint256 id, uint256 deadline) internal view returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__DeadlinePassed.selector, id, deadline, block.timestamp);
    }

    /// @notice A member removed mid-dispute rules no more, whatever it rules, up to the last second of its
    /// window: the case waits untouched for `reassign` (still allowed at the deadline); the new member rules.
    function test_removedMember_cannotRule_newMemberRulesAfterReassign() public {
        (uint256 id, Job memory job) = _disputed(0);
        uint256 ruleBy = module.disputeOf(id).deadline;
        vm.prank(owner);
        panel.remove(M1);
        bytes32 before = _funds();
        bytes32 waiting = keccak256(abi.encode(module.disputeOf(id)));
        vm.prank(M1);
        vm.expectRevert(_offPanel(id, M1));
        module.rule(id, job, 10_000, 0);
        vm.warp(ruleBy);
        vm.prank(M1);
        vm.expectRevert(_offPanel(id, M1));
        module.rule(id, job, 0, 10_000);
        _assertNoFundsMoved(before);
        vm.assertEq(keccak256(abi.encode(module.disputeOf(id))), waiting, "the dispute waits untouched");
        vm.prank(stranger);
        module.reassign(id, job);
        vm.assertEq(module.disputeOf(id).judge, M2, "reassigned at the deadline");
        vm.prank(M1);
        vm.expectRevert(_notJudge(id, M1, M2));
        module.rule(id, job, 10_000, 0);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeRuled(id, M2, 2_000, 500, block.timestamp + APPEAL_WINDOW);
        vm.prank(M2);
        module.rule(id, job, 2_000, 500);
        vm.assertEq(module.disputeOf(id).arbiter, M2, "the new member's ruling");
    }

    /// @notice A member removed and appointed again before anyone reassigns its case rules it again (while it
    /// sits, the case is not reassignable).
    function test_reappointedMember_rulesAgain() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(owner);
        panel.remove(M1);
        vm.prank(M1);
        vm.expectRevert(_offPanel(id, M1));
        module.rule(id, job, 3_000, 0);
        vm.prank(owner);
        panel.appoint(M1);
        vm.expectRevert(_notReassignable(id, M1));
        module.reassign(id, job);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeRuled(id, M1, 3_000, 0, block.timestamp + APPEAL_WINDOW);
        vm.prank(M1);
        module.rule(id, job, 3_000, 0);
        vm.assertEq(uint256(module.disputeOf(id).stage), uint256(IJobMarketTypes.DisputeStage.Ruled), "ruled");
    }

    /// @notice One second after the deadline a removed member's case is no longer reassignable (its clock never
    /// restarts) and the member may not rule either; `finalize` applies the default ruling, which ends the
    /// case with nothing for the removed member.
    function test_reassign_oneSecondAfterTheDeadline_refused_finalizeAppliesTheDefault() public {
        (uint256 id, Job memory job) = _disputed(0);
        uint256 ruleBy = module.disputeOf(id).deadline;
        vm.prank(owner);
        panel.remove(M1);
        vm.warp(ruleBy + 1);
        bytes32 before = _funds();
        vm.prank(stranger);
        vm.expectRevert(_deadlinePassed(id, ruleBy));
        module.reassign(id, job);
        vm.prank(M1);
        vm.expectRevert(_deadlinePassed(id, ruleBy));
        module.rule(id, job, 0, 0);
        _assertNoFundsMoved(before);
        vm.assertEq(module.disputeOf(id).judge, M1, "not moved");
        vm.expectEmit(address(market));
        emit IJobMarketTypes.DisputeRuled(id, address(0), 5_000, 0, block.timestamp + APPEAL_WINDOW);
        vm.prank(stranger);
        module.finalize(id, job);
        vm.expectRevert(_notReassignable(id, M1)); // ruled, within the appeal window
        module.reassign(id, job);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(id, job);
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "resolved by the default ruling");
        vm.assertEq(market.balanceOf(address(usd), M1), 0, "the removed member earns nothing");
        vm.assertEq(market.balanceOf(address(usd), customer), 50e6 + job.bond, "half back + the dispute bond");
    }

    /// @notice The deadline is checked before everything else: past it, a case whose member sits, and a ruled
    /// case past its appeal window, answer DeadlinePassed rather than NotReassignable.
    function test_reassign_pastTheDeadline_checkedFirst() public {
        (uint256 id, Job memory job) = _disputed(0);
        uint256 ruleBy = module.disputeOf(id).deadline;
        vm.warp(ruleBy + 1);
        vm.expectRevert(_deadlinePassed(id, ruleBy));
        module.reassign(id, job);
        (uint256 id2, Job memory job2) = _disputed(0);
        vm.prank(M2);
        module.rule(id2, job2, 0, 0);
        uint256 appealBy = module.disputeOf(id2).deadline;
        vm.warp(appealBy + 1);
        vm.expectRevert(_deadlinePassed(id2, appealBy));
        module.reassign(id2, job2);
    }

    /// @notice The appeal court is no panel member and never needs to be: it rules an appealed case even when
    /// every member, the one whose ruling stood included, has left the panel; that member still gets its fee.
    function test_courtRulesAppeal_whateverThePanel() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.prank(M1);
        module.rule(id, job, 0, 0);
        vm.prank(customer);
        module.appeal(id, job);
        vm.startPrank(owner);
        panel.remove(M1);
        panel.remove(M2);
        panel.remove(M3);
        vm.stopPrank();
        vm.prank(court);
        module.rule(id, job, 0, 0); // the member's ruling stands: a lost appeal
        vm.assertEq(_status(id, job), uint256(JobStatus.Resolved), "resolved by the court");
        vm.assertEq(market.balanceOf(address(usd), M1), uint256(job.bond) * ARBITER_FEE_BPS / BPS, "the member's fee");
    }

    // ================================================================================ appeal bonds

    function _ruledAndAppealed(uint16 refundBps, address appellant) internal returns (uint256 id, Job memory job) {
        (id, job) = _disputed(0);
        vm.prank(M1);
        module.rule(id, job, refundBps, 0);
        if (appellant == shop) {
            vm.prank(owner);
            usd.mint(shop, job.bond);
            vm.prank(shop);
            usd.approve(address(market), job.bond);
        }
        vm.prank(appellant);
        module.appeal(id, job);
        vm.assertEq(module.disputeOf(id).deadline, block.timestamp + COURT_WINDOW, "the court's window");
    }

    function test_lostAppealBond_paysTheMembersFeeAndTheTreasury() public {
        (uint256 id, Job memory job) = _ruledAndAppealed(0, customer);
        vm.prank(court);
        module.rule(id, job, 0, 0); // the member's ruling stands
        uint256 fee = uint256(job.bond) * ARBITER_FEE_BPS / BPS;
        vm.assertEq(market.balanceOf(address(usd), M1), fee, "the member whose ruling stood");
        vm.assertEq(market.feesOf(address(usd)), job.amount * FEE_BPS / BPS + job.bond - fee, "job fee + the rest");
        vm.assertEq(market.balanceOf(address(usd), shop), job.amount - job.amount * FEE_BPS / BPS + job.bond, "pay + dispute bond only");
        vm.assertEq(market.balanceOf(address(usd), customer), 0, "customer");
        // The fee is the member's to take out (even once it left the panel).
        vm.prank(owner);
        panel.remove(M1);
        vm.prank(M1);
        market.withdraw(address(usd), M1);
        vm.assertEq(usd.balanceOf(M1), fee, "withdrawn");
    }

    function test_wonAppeal_refundsTheBondAndPaysNoFee() public {
        (uint256 id, Job memory job) = _ruledAndAppealed(10_000, shop);
        vm.prank(court);
        module.rule(id, job, 0, 0); // reversed for the shop
        vm.assertEq(market.balanceOf(address(usd), M1), 0, "a reversed member earns nothing");
        uint256 fee = job.amount * FEE_BPS / BPS;
        vm.assertEq(market.balanceOf(address(usd), shop), job.bond + job.amount - fee + job.bond, "bond back, pay, dispute bond");
        vm.assertEq(market.feesOf(address(usd)), fee, "only the job's fee");
    }

    function test_arbiterFeeFollowsTheCurrentParameter() public {
        IJobMarketTypes.Params memory p = defaultParams();
        p.arbiterFeeBps = 0;
        vm.prank(owner);
        module.setParams(p);
        (uint256 id, Job memory job) = _ruledAndAppealed(10_000, shop);
        vm.prank(court);
        module.rule(id, job, 10_000, 0);
        vm.assertEq(market.balanceOf(address(usd), M1), 0, "no fee at 0 bps");
        vm.assertEq(market.feesOf(address(usd)), job.bond, "the whole lost bond to the treasury");
    }

    function test_defaultRulingThenAppealThenCourt() public {
        (uint256 id, Job memory job) = _disputed(0);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        module.finalize(id, job); // M1 stayed silent
        vm.assertEq(module.disputeOf(id).arbiter, address(0), "no arbiter");
        vm.prank(owner);
        usd.mint(shop, job.bond);
        vm.startPrank(shop);
        usd.approve(address(market), job.bond);
        module.appeal(id, job);
        vm.stopPrank();
        vm.prank(court);
        module.rule(id, job, 6_000, 0); // worse for the shop: a lost appeal
        vm.assertEq(market.balanceOf(address(usd), M1), 0, "the silent member is owed nothing");
        uint256 fee = uint256(40e6) * FEE_BPS / BPS;
        vm.assertEq(market.feesOf(address(usd)), fee + job.bond, "fee + the whole appeal bond");
        vm.assertEq(market.balanceOf(address(usd), customer), 60e6 + job.bond, "refund + dispute bond, not the appeal bond");
        vm.assertEq(market.balanceOf(address(usd), shop), 40e6 - fee, "the shop's share");
    }
}

/// @notice Pausing new jobs (issue 13): the owner pauses and resumes, the guardian only pauses, and nothing
/// but posts and takes stops: every transition of running jobs and every withdrawal goes on.
contract JobMarketPauseTest is MarketFixture {
    address internal constant GUARDIAN = address(0x6A4D);

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        module.setGuardian(GUARDIAN);
    }

    function _notGuardian(address who) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotGuardian.selector, who);
    }

    function test_setGuardian_onlyOwnerAndEmits() public {
        vm.prank(GUARDIAN);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, GUARDIAN));
        module.setGuardian(stranger);
        vm.expectEmit(address(market));
        emit IJobMarketTypes.GuardianSet(address(0));
        vm.prank(owner);
        module.setGuardian(address(0));
        vm.assertEq(module.guardian(), address(0), "cleared");
    }

    function test_guardianPausesButCannotResume() public {
        vm.expectEmit(address(market));
        emit IJobMarketTypes.PausedSet(GUARDIAN, true);
        vm.prank(GUARDIAN);
        module.setPaused(true);
        vm.assertTrue(module.paused(), "paused");
        vm.prank(GUARDIAN);
        vm.expectRevert(_notGuardian(GUARDIAN));
        module.setPaused(false);
        vm.assertTrue(module.paused(), "still paused");
        vm.expectEmit(address(market));
        emit IJobMarketTypes.PausedSet(owner, false);
        vm.prank(owner);
        module.setPaused(false);
        vm.assertFalse(module.paused(), "resumed by the owner");
    }

    function test_strangerCannotPauseOrResume() public {
        vm.prank(stranger);
        vm.expectRevert(_notGuardian(stranger));
        module.setPaused(true);
        vm.prank(owner);
        module.setPaused(true);
        vm.prank(stranger);
        vm.expectRevert(_notGuardian(stranger));
        module.setPaused(false);
        // A former guardian loses the power with its role.
        vm.prank(owner);
        module.setGuardian(address(0));
        vm.prank(owner);
        module.setPaused(false);
        vm.prank(GUARDIAN);
        vm.expectRevert(_notGuardian(GUARDIAN));
        module.setPaused(true);
    }

    function test_pause_blocksPostsOnly() public {
        vm.prank(owner);
        module.setPaused(true);
        bytes32 before = _funds();
        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        vm.expectRevert(IJobMarketTypes.JobMarket__Paused.selector);
        market.post(address(usd), AMOUNT, SPEC_CID, 0, claimBy, 7 days, MIN_COLLATERAL, 0, 0);
        _assertNoFundsMoved(before);
        vm.assertEq(market.jobCount(), 0, "no job");
        vm.prank(owner);
        module.setPaused(false);
        (uint256 id, Job memory job) = _open();
        vm.assertEq(_status(id, job), uint256(JobStatus.Open), "posts again once resumed");
    }

    // Jobs of the big pause test, by role (storage: too many for the stack).
    uint256 internal constant OPEN = 0; // cancelled while paused
    uint256 internal constant OPEN2 = 1; // claimed while paused, then expires
    uint256 internal constant CLAIMED = 2; // delivered while paused
    uint256 internal constant HAND = 3; // handed back while paused
    uint256 internal constant DELIVERED = 4; // accepted while paused
    uint256 internal constant SETTLE = 5; // settled while paused
    uint256 internal constant DISPUTE = 6; // disputed while paused
    uint256 internal constant RULED = 7; // ruled, appealed and decided while paused
    uint256 internal constant SILENT = 8; // default ruling and finalized while paused
    uint256 internal constant LATE = 9; // never claimed: expires while paused
    uint256[10] internal ids;
    Job[10] internal jobs;

    function _keep(uint256 role, uint256 id, Job memory job) internal {
        ids[role] = id;
        jobs[role] = job;
    }

    /// @notice Every transition of jobs that already exist, and every payout, works while paused.
    function test_pause_everyOtherTransitionAndWithdrawalWorks() public {
        // Before the pause: one job in each live state, a deposit.
        {
            (uint256 id, Job memory job) = _open();
            _keep(OPEN, id, job);
            (id, job) = _open();
            _keep(OPEN2, id, job);
            (id, job) = _claimed(0);
            _keep(CLAIMED, id, job);
            (id, job) = _claimed(0);
            _keep(HAND, id, job);
            (id, job) = _delivered(0);
            _keep(DELIVERED, id, job);
            (id, job) = _delivered(0);
            _keep(SETTLE, id, job);
            (id, job) = _delivered(0);
            _keep(DISPUTE, id, job);
            (id, job) = _disputed(0);
            _keep(RULED, id, job);
            (id, job) = _disputed(0);
            _keep(SILENT, id, job);
            (id, job) = _open();
            _keep(LATE, id, job);
        }
        vm.prank(customer);
        market.deposit(address(usd), 5e6);

        vm.prank(GUARDIAN);
        module.setPaused(true);

        vm.prank(customer);
        market.deposit(address(usd), 1e6); // a deposit is no new job
        vm.prank(customer);
        market.cancel(ids[OPEN], jobs[OPEN]);
        vm.prank(shop2);
        market.claim(ids[OPEN2], jobs[OPEN2], nodeId2);
        jobs[OPEN2].node = shop2;
        jobs[OPEN2].deadline = uint40(block.timestamp + jobs[OPEN2].deliveryWindow);
        vm.prank(shop);
        market.handBack(ids[HAND], jobs[HAND]);
        vm.prank(shop);
        market.deliver(ids[CLAIMED], jobs[CLAIMED], PROOF_CID);
        jobs[CLAIMED].deadline = uint40(block.timestamp + jobs[CLAIMED].reviewWindow);
        vm.prank(customer);
        market.accept(ids[DELIVERED], jobs[DELIVERED]);
        vm.prank(customer);
        module.dispute(ids[DISPUTE], jobs[DISPUTE], PROOF_CID);
        vm.prank(arbiter);
        module.rule(ids[RULED], jobs[RULED], 10_000, 1_000);
        vm.prank(shop);
        usd.approve(address(market), type(uint256).max);
        vm.prank(owner);
        usd.mint(shop, jobs[RULED].bond);
        vm.prank(shop);
        module.appeal(ids[RULED], jobs[RULED]);
        vm.prank(court);
        module.rule(ids[RULED], jobs[RULED], 10_000, 1_000); // lost appeal: fee to the arbiter, rest to the treasury

        // Deadlines pass: settle, expire (open and claimed), finalize (default ruling, then final).
        vm.warp(block.timestamp + 8 days);
        market.settle(ids[SETTLE], jobs[SETTLE]);
        market.settle(ids[CLAIMED], jobs[CLAIMED]);
        market.expire(ids[LATE], jobs[LATE]);
        market.expire(ids[OPEN2], jobs[OPEN2]);
        module.finalize(ids[SILENT], jobs[SILENT]);
        vm.warp(block.timestamp + APPEAL_WINDOW + 1);
        module.finalize(ids[SILENT], jobs[SILENT]);
        vm.assertTrue(module.paused(), "paused throughout");

        _assertStatus(OPEN, JobStatus.Cancelled, "cancel");
        _assertStatus(OPEN2, JobStatus.Expired, "claim, then expire");
        _assertStatus(CLAIMED, JobStatus.Settled, "deliver, then settle");
        _assertStatus(DELIVERED, JobStatus.Settled, "accept");
        _assertStatus(SETTLE, JobStatus.Settled, "settle");
        _assertStatus(LATE, JobStatus.Cancelled, "expire unclaimed");
        _assertStatus(RULED, JobStatus.Resolved, "rule, appeal, court");
        _assertStatus(SILENT, JobStatus.Resolved, "default ruling, finalize");
        _assertStatus(DISPUTE, JobStatus.Disputed, "dispute opened");
        vm.assertGt(market.balanceOf(address(usd), arbiter), 0, "the arbiter's fee");

        // Every balance and the fees pay out while paused.
        address[4] memory payees = [customer, shop, shop2, arbiter];
        for (uint256 i; i < payees.length; ++i) {
            if (market.balanceOf(address(usd), payees[i]) != 0) {
                vm.prank(payees[i]);
                market.withdraw(address(usd), payees[i]);
            }
            if (market.balanceOf(address(fab), payees[i]) != 0) {
                vm.prank(payees[i]);
                market.withdraw(address(fab), payees[i]);
            }
        }
        market.withdrawFees(address(usd));
        market.withdrawFees(address(fab));
        // Left in the market: exactly the two jobs still running (the hand-back, reopened; the dispute).
        vm.assertEq(
            usd.balanceOf(address(market)),
            uint256(jobs[HAND].amount) + jobs[DISPUTE].amount + jobs[DISPUTE].bond,
            "only running escrows remain"
        );
        vm.assertEq(fab.balanceOf(address(market)), 0, "no FAB left");
        // Stake unbonds while paused too.
        vm.prank(shop2);
        registry.requestUnbond(1e18);
        vm.warp(block.timestamp + UNBOND_DELAY);
        vm.prank(shop2);
        vm.assertEq(registry.withdraw(), 1e18, "unbonded");
    }

    function _assertStatus(uint256 role, JobStatus s, string memory what) internal view {
        vm.assertEq(_status(ids[role], jobs[role]), uint256(s), what);
    }
}
