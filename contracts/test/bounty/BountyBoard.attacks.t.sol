// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BountyFixture} from "./BountyFixture.sol";
import {MockEvaluator, BlocklistToken} from "./BountyMocks.sol";
import {IBountyBoard} from "../../src/interfaces/IBountyBoard.sol";

/// @notice StandardBounties' known flaws and other abuses, each as an attack that must fail: the attacker
/// ends no richer (its wallet plus what the board owes it), and the honest sponsors get back all that was not
/// paid out.
contract BountyBoardAttackTest is BountyFixture {
    /// @dev What `who` can ever get: its wallet and its board balance.
    function _worth(address who) internal view returns (uint256) {
        return usd.balanceOf(who) + board.balanceOf(address(usd), who);
    }

    /// @notice The poster (also an approver, and submitting a design of its own) tries to take the pot back
    /// once a submission exists: no refund before the deadline plus grace, no deadline games, its lone
    /// approval executes nothing; in the end it gets exactly its own contribution back.
    function test_attack_posterDrainAfterSubmission() public {
        IBountyBoard.BountyTerms memory t = _terms(2, 2);
        t.approvers[0] = poster;
        uint256 id = _post(t, 600e6);
        _fund(id, sponsorA, 400e6);
        uint256 posterWorth = _worth(poster) + 600e6;
        uint256 sub = _submit(id, designer, DESIGN_CID);
        uint256 own = _submit(id, poster, DESIGN_CID2);

        uint256 unlocksAt = uint256(t.deadline) + board.GRACE_PERIOD() + 1;
        vm.startPrank(poster);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__RefundLocked.selector, id, unlocksAt));
        board.refund(id);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__OtherContributors.selector, id));
        board.extendDeadline(id, t, t.deadline + 1 days);
        vm.assertFalse(board.award(id, own, 1_000e6), "a lone approval pays nothing");
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__AlreadyApproved.selector, id, own, 1_000e6, poster)
        );
        board.award(id, own, 1_000e6);
        vm.stopPrank();
        vm.assertEq(board.bountyOf(id).paid, 0, "nothing paid");

        // The honest approvers pay the honest designer; afterwards each sponsor takes back its share of the rest.
        vm.prank(poster);
        board.revokeApproval(id, own, 1_000e6);
        vm.prank(approver2);
        board.award(id, sub, 100e6);
        vm.prank(poster);
        board.award(id, sub, 100e6);
        vm.warp(unlocksAt);
        vm.prank(poster);
        vm.assertEq(board.refund(id), 540e6, "60 % of the unpaid 900");
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), 360e6, "40 % of the unpaid 900");
        vm.prank(poster);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NothingToRefund.selector, id, poster));
        board.refund(id);
        vm.assertEq(_worth(poster), posterWorth - 60e6, "the poster paid its 60 % of the award, nothing more");
        vm.assertEq(usd.balanceOf(sponsorA), WALLET - 40e6, "A paid its 40 % of the award");
    }

    /// @notice One approver of a quorum-2 bounty funded by two sponsors tries to pay the whole pot to its
    /// accomplice: repeated, revoked-and-repeated approvals count once; an approver of another bounty is nobody
    /// here. The pot stays whole and is refunded in full.
    function test_attack_singleApproverCannotEmptyMultiSponsorBounty() public {
        (uint256 id,) = _twoSponsorBounty();
        address accomplice = designer2;
        uint256 sub = _submit(id, accomplice, DESIGN_CID2);
        vm.startPrank(approver1);
        board.award(id, sub, 1_000e6);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__AlreadyApproved.selector, id, sub, 1_000e6, approver1)
        );
        board.award(id, sub, 1_000e6);
        board.revokeApproval(id, sub, 1_000e6);
        vm.assertFalse(board.award(id, sub, 1_000e6), "still one approval");
        vm.stopPrank();
        // An approver of another bounty (quorum 1) is not an approver here.
        IBountyBoard.BountyTerms memory other = _terms(3, 1);
        other.approvers[0] = approver3;
        other.approvers[2] = address(0xA400);
        _post(other, 0);
        vm.prank(approver3);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NotApprover.selector, id, approver3));
        board.award(id, sub, 1_000e6);

        vm.assertEq(_worth(accomplice), 0, "the accomplice got nothing");
        vm.assertEq(_worth(approver1), WALLET, "the approver got nothing");
        _pastGrace(id);
        vm.prank(poster);
        board.refund(id);
        vm.prank(sponsorA);
        board.refund(id);
        vm.assertEq(usd.balanceOf(poster), WALLET, "poster whole");
        vm.assertEq(usd.balanceOf(sponsorA), WALLET, "A whole");
        vm.assertEq(usd.balanceOf(address(board)), 0, "nothing left");
    }

    /// @notice Quorum 1 binds only sponsors that funded quorum-1 terms: a sponsor that saw quorum-2 terms cannot
    /// have its money put under a quorum-1 bounty with a similar brief.
    function test_attack_quorumOneOnlyWhereFunded() public {
        uint256 strict = _post(_terms(2, 2), 0);
        uint256 loose = _post(_terms(2, 1), 0);
        bytes32 strictHash = board.bountyOf(strict).termsHash;
        vm.prank(sponsorA);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBountyBoard.BountyBoard__TermsMismatch.selector, loose, board.bountyOf(loose).termsHash, strictHash
            )
        );
        board.fund(loose, 100e6, strictHash);
        vm.assertEq(usd.balanceOf(sponsorA), WALLET, "untouched");
    }

    /// @notice The poster tries to move the deadline against the contributors: earlier, later once someone
    /// else funded, after it passed (to keep refunds locked), or under a sponsor's pending funding.
    function test_attack_deadlineMovedAgainstContributors() public {
        IBountyBoard.BountyTerms memory t = _terms(2, 2);
        uint256 id = _post(t, 600e6);
        // Shortening is never possible.
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidDeadline.selector, t.deadline - 1, block.timestamp)
        );
        board.extendDeadline(id, t, t.deadline - 1);
        // A sponsor signs up for these terms; the poster front-runs it with an extension: the funding reverts.
        bytes32 seen = board.bountyOf(id).termsHash;
        vm.prank(poster);
        bytes32 moved = board.extendDeadline(id, t, t.deadline + 10 days);
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__TermsMismatch.selector, id, moved, seen));
        board.fund(id, 400e6, seen);
        vm.assertEq(usd.balanceOf(sponsorA), WALLET, "A's money stays with A");
        // A funds the terms it now sees; from then on the deadline is fixed.
        vm.prank(sponsorA);
        board.fund(id, 400e6, moved);
        IBountyBoard.BountyTerms memory t2 = _terms(2, 2);
        t2.deadline = t.deadline + 10 days;
        vm.prank(poster);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__OtherContributors.selector, id));
        board.extendDeadline(id, t2, t2.deadline + 1);
        // Even if A leaves again (before any submission) the poster cannot revive a passed deadline.
        vm.prank(sponsorA);
        board.refund(id);
        _submit(id, designer, DESIGN_CID);
        vm.warp(uint256(t2.deadline) + 1);
        vm.prank(poster);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__DeadlinePassed.selector, id, t2.deadline));
        board.extendDeadline(id, t2, t2.deadline + 30 days);
        vm.assertEq(usd.balanceOf(sponsorA), WALLET, "A whole");
    }

    /// @notice A winner whose transfers revert (a blocklisted payee) cannot block anyone's refund, and a sponsor
    /// that cannot receive blocks only itself: the others still refund their shares.
    function test_attack_revertingPayeeCannotBlockRefunds() public {
        BlocklistToken bad = new BlocklistToken();
        vm.prank(owner);
        board.setToken(address(bad), true);
        address[3] memory sponsors = [poster, sponsorA, sponsorB];
        for (uint256 i; i < 3; ++i) {
            bad.mint(sponsors[i], 1_000e6);
            vm.prank(sponsors[i]);
            bad.approve(address(board), type(uint256).max);
        }
        IBountyBoard.BountyTerms memory t = _terms(2, 2);
        t.token = address(bad);
        vm.prank(poster);
        uint256 id = board.post(t, 300e6);
        bytes32 h = board.bountyOf(id).termsHash;
        vm.prank(sponsorA);
        board.fund(id, 300e6, h);
        vm.prank(sponsorB);
        board.fund(id, 300e6, h);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        _award(id, sub, 300e6, 2);
        bad.setBlocked(designer, true);
        bad.setBlocked(sponsorB, true);

        vm.prank(designer);
        vm.expectRevert(bytes("blocked"));
        board.withdraw(address(bad));
        _pastGrace(id);
        vm.prank(sponsorB);
        vm.expectRevert(bytes("blocked"));
        board.refund(id);
        vm.prank(poster);
        vm.assertEq(board.refund(id), 200e6, "poster's share despite both");
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), 200e6, "A's share despite both");
        // Unblocked later, both still get theirs.
        bad.setBlocked(designer, false);
        bad.setBlocked(sponsorB, false);
        vm.prank(sponsorB);
        vm.assertEq(board.refund(id), 200e6, "B's share, the last");
        vm.prank(designer);
        vm.assertEq(board.withdraw(address(bad)), 300e6, "award");
        vm.assertEq(bad.balanceOf(address(board)), 0, "all out");
    }

    /// @notice A sponsor tries to refund twice, early (before a submission) and late (after the grace period),
    /// and to refund, re-fund and refund again: it always ends with exactly what it put in, less its share of
    /// the payouts.
    function test_attack_sponsorRefundsTwice() public {
        uint256 id = _post(_terms(2, 2), 600e6);
        _fund(id, sponsorA, 400e6);
        vm.prank(sponsorA);
        board.refund(id);
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NothingToRefund.selector, id, sponsorA));
        board.refund(id);
        _fund(id, sponsorA, 400e6);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        _award(id, sub, 500e6, 2);
        _pastGrace(id);
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), 200e6, "40 % of the unpaid 500");
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NothingToRefund.selector, id, sponsorA));
        board.refund(id);
        vm.assertEq(board.refundableOf(id, sponsorA), 0, "nothing more");
        vm.assertEq(usd.balanceOf(sponsorA), WALLET - 200e6, "A paid 40 % of the award, once");
        vm.prank(poster);
        vm.assertEq(board.refund(id), 300e6, "the poster's 60 %");
        vm.assertEq(usd.balanceOf(address(board)), 500e6, "only the award is left, owed to the designer");
    }

    /// @notice Funding under stale terms (the hash of what the sponsor saw before the poster changed them, or of
    /// another bounty's terms) reverts and moves nothing.
    function test_attack_staleTermsHash() public {
        IBountyBoard.BountyTerms memory t = _terms(2, 2);
        uint256 id = _post(t, 100e6);
        bytes32 seen = board.hashTerms(t);
        vm.prank(poster);
        bytes32 current = board.extendDeadline(id, t, t.deadline + 1 days);
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__TermsMismatch.selector, id, current, seen));
        board.fund(id, 1_000e6, seen);
        vm.assertEq(usd.balanceOf(sponsorA), WALLET, "untouched");
        (uint256 c,) = board.contributionOf(id, sponsorA);
        vm.assertEq(c, 0, "no contribution");
    }

    /// @notice Awarding more than the pot, at once or in parts, by approvers or by the evaluator, reverts: the
    /// submitter never gets more than what the sponsors put in.
    function test_attack_awardMoreThanPot() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        vm.prank(approver1);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__ExceedsPot.selector, id, 1_000e6 + 1, 1_000e6));
        board.award(id, sub, 1_000e6 + 1);
        // Two pending awards that together exceed the pot: the second cannot complete.
        vm.prank(approver1);
        board.award(id, sub, 700e6);
        vm.prank(approver1);
        board.award(id, sub, 600e6);
        vm.prank(approver2);
        board.award(id, sub, 700e6);
        vm.prank(approver2);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__ExceedsPot.selector, id, 600e6, 300e6));
        board.award(id, sub, 600e6);
        vm.assertEq(board.balanceOf(address(usd), designer), 700e6, "only the first");

        MockEvaluator ev = new MockEvaluator();
        uint256 eid = _post(_evaluatorTerms(address(ev)), 100e6);
        uint256 esub = _submit(eid, designer, DESIGN_CID);
        ev.setAnswer(100e6 + 1);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__ExceedsPot.selector, eid, 100e6 + 1, 100e6));
        board.awardByEvaluator(eid, esub, "");
        ev.setAnswer(type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__ExceedsPot.selector, eid, type(uint256).max, 100e6)
        );
        board.awardByEvaluator(eid, esub, "");
        vm.assertEq(board.balanceOf(address(usd), designer), 700e6, "nothing from the evaluator bounty");
    }

    /// @notice A malicious evaluator re-enters the board while it decides (refund, a second award): the guard
    /// refuses, so it gains nothing beyond the one award it returns.
    function test_attack_reentrantEvaluator() public {
        MockEvaluator ev = new MockEvaluator();
        uint256 id = _post(_evaluatorTerms(address(ev)), 100e6);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        ev.setAnswer(10e6);
        ev.arm(address(board), abi.encodeCall(board.awardByEvaluator, (id, sub, "")));
        board.awardByEvaluator(id, sub, "");
        vm.assertFalse(ev.reentered(), "re-entry refused");
        vm.assertEq(board.balanceOf(address(usd), designer), 10e6, "one award");
        ev.arm(address(board), abi.encodeCall(board.refund, (id)));
        board.awardByEvaluator(id, sub, "");
        vm.assertFalse(ev.reentered(), "re-entry refused");
        vm.assertEq(board.bountyOf(id).refunded, 0, "no refund");
        vm.assertEq(usd.balanceOf(address(board)), 100e6, "all held or owed");
        // The same re-entry from outside a decision is an ordinary (refused) call.
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NothingToRefund.selector, id, address(this)));
        board.refund(id);
    }

    /// @notice An evaluator that always refuses, or approvers that never approve, cannot keep the sponsors'
    /// money: after the grace period everything goes back.
    function test_attack_silentDecidersCannotLockFunds() public {
        MockEvaluator ev = new MockEvaluator();
        ev.setRefuse(true);
        uint256 eid = _post(_evaluatorTerms(address(ev)), 100e6);
        _fund(eid, sponsorA, 50e6);
        _submit(eid, designer, DESIGN_CID);
        (uint256 id,) = _twoSponsorBounty();
        _pastGrace(id);
        vm.prank(poster);
        board.refund(eid);
        vm.prank(sponsorA);
        board.refund(eid);
        vm.prank(poster);
        board.refund(id);
        vm.prank(sponsorA);
        board.refund(id);
        vm.assertEq(usd.balanceOf(poster), WALLET, "poster whole");
        vm.assertEq(usd.balanceOf(sponsorA), WALLET, "A whole");
        vm.assertEq(usd.balanceOf(address(board)), 0, "empty");
    }
}
