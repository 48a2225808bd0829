// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BountyFixture} from "./BountyFixture.sol";
import {MockEvaluator} from "./BountyMocks.sol";
import {FeeOnTransferToken} from "../mocks/FeeOnTransferToken.sol";
import {IBountyBoard} from "../../src/interfaces/IBountyBoard.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {BountyBoard} from "../../src/design/BountyBoard.sol";
import {RoyaltySplit} from "../../src/design/RoyaltySplit.sol";

/// @notice Unit tests of the bounty board: posting, funding, submitting, approvals and evaluator awards,
/// refunds, deadline extension, withdrawals, winner minting and the views.
contract BountyBoardTest is BountyFixture {
    // ------------------------------------------------------------------------------------ posting

    function test_post_storesTermsAndFundsPoster() public {
        IBountyBoard.BountyTerms memory t = _terms(2, 2);
        bytes32 h = keccak256(abi.encode(t));
        vm.expectEmit(address(board));
        emit IBountyBoard.BountyPosted(1, poster, h, t);
        vm.expectEmit(address(board));
        emit IBountyBoard.BountyFunded(1, poster, 500e6, 500e6);
        uint256 id = _post(t, 500e6);
        vm.assertEq(id, 1, "first id");
        vm.assertEq(board.bountyCount(), 1, "count");
        IBountyBoard.BountyView memory v = board.bountyOf(id);
        vm.assertEq(v.poster, poster, "poster");
        vm.assertEq(v.token, address(usd), "token");
        vm.assertEq(uint256(v.deadline), uint256(t.deadline), "deadline");
        vm.assertEq(uint256(v.quorum), 2, "quorum");
        vm.assertEq(v.evaluator, address(0), "evaluator");
        vm.assertEq(uint256(v.sponsorRoyaltyBps), SPONSOR_ROYALTY_BPS, "sponsor bps");
        vm.assertEq(uint256(v.designRoyaltyBps), DESIGN_ROYALTY_BPS, "design bps");
        vm.assertEq(v.contributed, 500e6, "contributed");
        vm.assertEq(uint256(v.sponsors), 1, "one sponsor");
        vm.assertEq(v.termsHash, h, "hash");
        vm.assertEq(board.hashTerms(t), h, "hashTerms");
        vm.assertEq(board.potOf(id), 500e6, "pot");
        (uint256 c, bool refunded) = board.contributionOf(id, poster);
        vm.assertEq(c, 500e6, "contribution");
        vm.assertFalse(refunded, "not refunded");
        vm.assertTrue(board.isApprover(id, approver1) && board.isApprover(id, approver2), "approvers");
        vm.assertFalse(board.isApprover(id, approver3), "not an approver");
        vm.assertEq(usd.balanceOf(address(board)), 500e6, "held");
    }

    function test_post_withoutFunds() public {
        uint256 id = _post(_terms(1, 1), 0);
        IBountyBoard.BountyView memory v = board.bountyOf(id);
        vm.assertEq(v.contributed, 0, "nothing");
        vm.assertEq(uint256(v.sponsors), 0, "no sponsor");
    }

    function test_post_evaluatorBounty() public {
        MockEvaluator ev = new MockEvaluator();
        uint256 id = _post(_evaluatorTerms(address(ev)), 100e6);
        vm.assertEq(board.bountyOf(id).evaluator, address(ev), "evaluator");
        vm.assertEq(uint256(board.bountyOf(id).quorum), 0, "no quorum");
    }

    function test_post_rejectsBadTerms() public {
        IBountyBoard.BountyTerms memory t = _terms(2, 2);
        t.token = address(0xBAD);
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__TokenNotAllowed.selector, address(0xBAD)));

        t = _terms(2, 2);
        t.briefCid = hex"1220";
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidCid.selector, t.briefCid));

        t = _terms(2, 2);
        t.deadline = uint64(block.timestamp);
        _expectPostRevert(
            t, abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidDeadline.selector, t.deadline, block.timestamp)
        );
        t.deadline = uint64(block.timestamp + board.MAX_DURATION() + 1);
        _expectPostRevert(
            t, abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidDeadline.selector, t.deadline, block.timestamp)
        );

        t = _terms(2, 2);
        t.approvers = new address[](17);
        for (uint256 i; i < 17; ++i) {
            t.approvers[i] = address(uint160(0x1000 + i));
        }
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__TooManyApprovers.selector, 17, 16));

        t = _terms(2, 0);
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidQuorum.selector, 0, 2));
        t = _terms(2, 3);
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidQuorum.selector, 3, 2));

        t = _terms(2, 2);
        t.approvers[1] = approver1;
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidApprover.selector, approver1));
        t.approvers[1] = address(0);
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidApprover.selector, address(0)));

        MockEvaluator ev = new MockEvaluator();
        t = _terms(1, 1);
        t.evaluator = address(ev);
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidQuorum.selector, 1, 1));
        t = _evaluatorTerms(address(0xE0A));
        _expectPostRevert(
            t, abi.encodeWithSelector(IBountyBoard.BountyBoard__EvaluatorNotContract.selector, address(0xE0A))
        );

        t = _terms(1, 1);
        t.sponsorRoyaltyBps = 10_001;
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__RoyaltyTooHigh.selector, 10_001, 10_000));
        t = _terms(1, 1);
        t.designRoyaltyBps = 2_501;
        _expectPostRevert(t, abi.encodeWithSelector(IBountyBoard.BountyBoard__RoyaltyTooHigh.selector, 2_501, 2_500));
        vm.assertEq(board.bountyCount(), 0, "nothing posted");
    }

    function _expectPostRevert(IBountyBoard.BountyTerms memory t, bytes memory err) internal {
        vm.prank(poster);
        vm.expectRevert(err);
        board.post(t, 1e6);
    }

    function test_setToken_ownerOnly() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        board.setToken(address(0xBEEF), true);
        vm.prank(owner);
        vm.expectRevert(IBountyBoard.BountyBoard__ZeroAddress.selector);
        board.setToken(address(0), true);
        vm.expectEmit(address(board));
        emit IBountyBoard.TokenSet(address(0xBEEF), true);
        vm.prank(owner);
        board.setToken(address(0xBEEF), true);
        vm.assertTrue(board.isTokenAllowed(address(0xBEEF)), "allowed");
    }

    function test_constructor_rejectsZeroDesigns() public {
        vm.expectRevert(IBountyBoard.BountyBoard__ZeroAddress.selector);
        new BountyBoard(owner, IDesignNFT(address(0)));
    }

    // ------------------------------------------------------------------------------------ funding

    function test_fund_tracksEachSponsor() public {
        uint256 id = _post(_terms(2, 2), 100e6);
        bytes32 h = board.bountyOf(id).termsHash;
        vm.expectEmit(address(board));
        emit IBountyBoard.BountyFunded(id, sponsorA, 50e6, 50e6);
        vm.prank(sponsorA);
        vm.assertEq(board.fund(id, 50e6, h), 50e6, "received");
        _fund(id, sponsorA, 25e6);
        _fund(id, sponsorB, 10e6);
        (uint256 a,) = board.contributionOf(id, sponsorA);
        (uint256 b,) = board.contributionOf(id, sponsorB);
        vm.assertEq(a, 75e6, "A");
        vm.assertEq(b, 10e6, "B");
        IBountyBoard.BountyView memory v = board.bountyOf(id);
        vm.assertEq(v.contributed, 185e6, "total");
        vm.assertEq(uint256(v.sponsors), 3, "three sponsors");
    }

    function test_fund_reverts() public {
        uint256 id = _post(_terms(2, 2), 100e6);
        bytes32 h = board.bountyOf(id).termsHash;
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__UnknownBounty.selector, 9));
        board.fund(9, 1e6, h);
        vm.prank(sponsorA);
        vm.expectRevert(IBountyBoard.BountyBoard__ZeroAmount.selector);
        board.fund(id, 0, h);
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__TermsMismatch.selector, id, h, bytes32(0)));
        board.fund(id, 1e6, bytes32(0));
        vm.prank(owner);
        board.setToken(address(usd), false);
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__TokenNotAllowed.selector, address(usd)));
        board.fund(id, 1e6, h);
        vm.prank(owner);
        board.setToken(address(usd), true);
        uint64 deadline = board.bountyOf(id).deadline;
        vm.warp(deadline);
        _fund(id, sponsorA, 1e6); // the deadline second itself is still open
        vm.warp(uint256(deadline) + 1);
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__DeadlinePassed.selector, id, deadline));
        board.fund(id, 1e6, h);
    }

    function test_fund_feeOnTransferCreditsWhatArrived() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100); // 1 %
        vm.prank(owner);
        board.setToken(address(fot), true);
        fot.mint(sponsorA, 1_000e18);
        vm.prank(sponsorA);
        fot.approve(address(board), type(uint256).max);
        IBountyBoard.BountyTerms memory t = _terms(1, 1);
        t.token = address(fot);
        vm.prank(sponsorA);
        uint256 id = board.post(t, 100e18);
        vm.assertEq(board.bountyOf(id).contributed, 99e18, "what arrived");
        vm.assertEq(fot.balanceOf(address(board)), 99e18, "held");
    }

    // --------------------------------------------------------------------------------- submitting

    function test_submit() public {
        uint256 id = _post(_terms(1, 1), 0);
        vm.expectEmit(address(board));
        emit IBountyBoard.SubmissionAdded(id, 1, designer, DESIGN_CID);
        vm.assertEq(_submit(id, designer, DESIGN_CID), 1, "first");
        vm.assertEq(_submit(id, designer2, DESIGN_CID2), 2, "second");
        (address who, bool awarded, bool minted, bytes memory cid) = board.submissionOf(id, 2);
        vm.assertEq(who, designer2, "submitter");
        vm.assertFalse(awarded || minted, "fresh");
        vm.assertEq(keccak256(cid), keccak256(DESIGN_CID2), "cid");
        vm.assertEq(uint256(board.bountyOf(id).submissions), 2, "count");
    }

    function test_submit_reverts() public {
        uint256 id = _post(_terms(1, 1), 0);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidCid.selector, hex"01"));
        board.submit(id, hex"01");
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__UnknownBounty.selector, 7));
        board.submit(7, DESIGN_CID);
        uint64 deadline = board.bountyOf(id).deadline;
        vm.warp(uint256(deadline) + 1);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__DeadlinePassed.selector, id, deadline));
        board.submit(id, DESIGN_CID);
    }

    // ---------------------------------------------------------------------------------- approvals

    function test_award_quorumTwo() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        vm.expectEmit(address(board));
        emit IBountyBoard.AwardApproved(id, sub, approver1, 300e6, 1);
        vm.prank(approver1);
        vm.assertFalse(board.award(id, sub, 300e6), "pending");
        vm.assertTrue(board.hasApproved(id, sub, 300e6, approver1), "recorded");
        vm.assertEq(board.approvalsOf(id, sub, 300e6), 1, "one approval");
        vm.assertEq(board.balanceOf(address(usd), designer), 0, "nothing yet");

        vm.expectEmit(address(board));
        emit IBountyBoard.BountyAwarded(id, sub, designer, 300e6, approver2);
        vm.prank(approver2);
        vm.assertTrue(board.award(id, sub, 300e6), "executed");
        vm.assertEq(board.approvalsOf(id, sub, 300e6), 0, "used up");
        vm.assertFalse(board.hasApproved(id, sub, 300e6, approver1), "cleared");
        vm.assertEq(board.balanceOf(address(usd), designer), 300e6, "credited");
        vm.assertEq(board.bountyOf(id).paid, 300e6, "paid");
        vm.assertEq(board.potOf(id), 700e6, "pot");
        (, bool awarded,,) = board.submissionOf(id, sub);
        vm.assertTrue(awarded, "awarded");

        vm.expectEmit(address(board));
        emit IBountyBoard.Withdrawn(address(usd), designer, 300e6);
        vm.prank(designer);
        vm.assertEq(board.withdraw(address(usd)), 300e6, "withdrawn");
        vm.assertEq(usd.balanceOf(designer), 300e6, "designer paid");
        vm.prank(designer);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__NothingToWithdraw.selector, address(usd), designer)
        );
        board.withdraw(address(usd));
    }

    function test_award_milestonesNeedFreshQuorum() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        _award(id, sub, 100e6, 2);
        // The same tuple again: approver1 alone does not execute it a second time.
        vm.prank(approver1);
        vm.assertFalse(board.award(id, sub, 100e6), "fresh round");
        vm.assertEq(board.bountyOf(id).paid, 100e6, "one milestone");
        vm.prank(approver2);
        vm.assertTrue(board.award(id, sub, 100e6), "second milestone");
        vm.assertEq(board.approvalsOf(id, sub, 100e6), 0, "used up again");
        vm.assertEq(board.balanceOf(address(usd), designer), 200e6, "two milestones");
    }

    function test_award_differentAmountsDoNotCombine() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        vm.prank(approver1);
        board.award(id, sub, 100e6);
        vm.prank(approver2);
        vm.assertFalse(board.award(id, sub, 101e6), "other tuple");
        uint256 sub2 = _submit(id, designer2, DESIGN_CID2);
        vm.prank(approver2);
        vm.assertFalse(board.award(id, sub2, 100e6), "other submission");
        vm.assertEq(board.bountyOf(id).paid, 0, "nothing paid");
    }

    function test_award_reverts() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        vm.prank(approver3);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NotApprover.selector, id, approver3));
        board.award(id, sub, 1e6);
        vm.prank(approver1);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__UnknownSubmission.selector, id, 5));
        board.award(id, 5, 1e6);
        vm.prank(approver1);
        vm.expectRevert(IBountyBoard.BountyBoard__ZeroAmount.selector);
        board.award(id, sub, 0);
        vm.prank(approver1);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__ExceedsPot.selector, id, 1_001e6, 1_000e6));
        board.award(id, sub, 1_001e6);
        vm.prank(approver1);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__UnknownBounty.selector, 99));
        board.award(99, sub, 1e6);
        vm.prank(approver1);
        board.award(id, sub, 1e6);
        vm.prank(approver1);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__AlreadyApproved.selector, id, sub, 1e6, approver1)
        );
        board.award(id, sub, 1e6);
    }

    function test_award_inGracePeriodThenClosed() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        vm.prank(approver1);
        board.award(id, sub, 100e6);
        uint256 closedAt = uint256(board.bountyOf(id).deadline) + board.GRACE_PERIOD();
        vm.warp(closedAt);
        vm.prank(approver2);
        vm.assertTrue(board.award(id, sub, 100e6), "pending approval completes in the grace period");
        vm.prank(approver1);
        board.award(id, sub, 50e6);
        vm.warp(closedAt + 1);
        vm.prank(approver2);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__AwardsClosed.selector, id, closedAt));
        board.award(id, sub, 50e6);
    }

    function test_award_evaluatorBountyRefusesApprovals() public {
        MockEvaluator ev = new MockEvaluator();
        uint256 id = _post(_evaluatorTerms(address(ev)), 100e6);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        vm.prank(approver1);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__EvaluatorDecides.selector, id));
        board.award(id, sub, 1e6);
    }

    function test_revokeApproval() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        vm.prank(approver1);
        board.award(id, sub, 100e6);
        vm.expectEmit(address(board));
        emit IBountyBoard.AwardApprovalRevoked(id, sub, approver1, 100e6);
        vm.prank(approver1);
        board.revokeApproval(id, sub, 100e6);
        vm.assertFalse(board.hasApproved(id, sub, 100e6, approver1), "revoked");
        vm.prank(approver2);
        vm.assertFalse(board.award(id, sub, 100e6), "one approval again");
        vm.prank(approver1);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__NotApproved.selector, id, sub, 100e6, approver1)
        );
        board.revokeApproval(id, sub, 100e6);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NotApprover.selector, id, stranger));
        board.revokeApproval(id, sub, 100e6);
    }

    // ------------------------------------------------------------------------------ evaluator path

    function test_awardByEvaluator() public {
        MockEvaluator ev = new MockEvaluator();
        uint256 id = _post(_evaluatorTerms(address(ev)), 100e6);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        ev.setAnswer(40e6);
        vm.expectEmit(address(board));
        emit IBountyBoard.BountyAwarded(id, sub, designer, 40e6, stranger);
        vm.prank(stranger);
        vm.assertEq(board.awardByEvaluator(id, sub, ""), 40e6, "amount");
        vm.assertEq(board.balanceOf(address(usd), designer), 40e6, "credited");
        vm.assertEq(board.potOf(id), 60e6, "pot");

        ev.setAnswer(0);
        vm.expectRevert(IBountyBoard.BountyBoard__ZeroAmount.selector);
        board.awardByEvaluator(id, sub, "");
        ev.setAnswer(61e6);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__ExceedsPot.selector, id, 61e6, 60e6));
        board.awardByEvaluator(id, sub, "");
        ev.setRefuse(true);
        vm.expectRevert(bytes("evaluator: refused"));
        board.awardByEvaluator(id, sub, "");
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__UnknownSubmission.selector, id, 3));
        board.awardByEvaluator(id, 3, "");
    }

    function test_awardByEvaluator_approverBountyRefuses() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__ApproversDecide.selector, id));
        board.awardByEvaluator(id, sub, "");
    }

    function test_awardByEvaluator_closesAfterGrace() public {
        MockEvaluator ev = new MockEvaluator();
        uint256 id = _post(_evaluatorTerms(address(ev)), 100e6);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        ev.setAnswer(1e6);
        uint256 closedAt = uint256(board.bountyOf(id).deadline) + board.GRACE_PERIOD();
        vm.warp(closedAt + 1);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__AwardsClosed.selector, id, closedAt));
        board.awardByEvaluator(id, sub, "");
    }

    // ------------------------------------------------------------------------------------ refunds

    function test_refund_earlyBeforeAnySubmission() public {
        uint256 id = _post(_terms(2, 2), 600e6);
        _fund(id, sponsorA, 400e6);
        vm.assertEq(board.refundableOf(id, sponsorA), 400e6, "refundable");
        vm.expectEmit(address(board));
        emit IBountyBoard.ContributionRefunded(id, sponsorA, 400e6, true);
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), 400e6, "refund");
        vm.assertEq(usd.balanceOf(sponsorA), WALLET, "whole");
        (uint256 c,) = board.contributionOf(id, sponsorA);
        vm.assertEq(c, 0, "gone");
        IBountyBoard.BountyView memory v = board.bountyOf(id);
        vm.assertEq(v.contributed, 600e6, "poster's remains");
        vm.assertEq(uint256(v.sponsors), 1, "one sponsor");
        // It may come back.
        _fund(id, sponsorA, 10e6);
        vm.assertEq(uint256(board.bountyOf(id).sponsors), 2, "back");
    }

    function test_refund_lockedAfterSubmissionUntilGraceEnds() public {
        (uint256 id,) = _twoSponsorBounty();
        uint256 unlocksAt = uint256(board.bountyOf(id).deadline) + board.GRACE_PERIOD() + 1;
        vm.assertEq(board.refundableOf(id, sponsorA), 0, "locked");
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__RefundLocked.selector, id, unlocksAt));
        board.refund(id);
        vm.warp(unlocksAt - 1);
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__RefundLocked.selector, id, unlocksAt));
        board.refund(id);
        vm.warp(unlocksAt);
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), 400e6, "nothing was paid: all of it");
    }

    function test_refund_proRataAfterAwardLastTakesRemainder() public {
        uint256 id = _post(_terms(2, 2), 1e6); // poster 1
        _fund(id, sponsorA, 1e6); // A 1
        _fund(id, sponsorB, 1e6); // B 1: contributed 3
        uint256 sub = _submit(id, designer, DESIGN_CID);
        _award(id, sub, 1, 2); // paid 1 unit: unpaid 2_999_999 over 3 sponsors
        _pastGrace(id);
        vm.assertEq(board.refundableOf(id, sponsorA), 999_999, "floor");
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), 999_999, "A floor");
        vm.prank(poster);
        vm.assertEq(board.refund(id), 999_999, "poster floor");
        vm.assertEq(board.refundableOf(id, sponsorB), 1_000_001, "last: the remainder");
        vm.expectEmit(address(board));
        emit IBountyBoard.ContributionRefunded(id, sponsorB, 1_000_001, false);
        vm.prank(sponsorB);
        vm.assertEq(board.refund(id), 1_000_001, "B remainder");
        IBountyBoard.BountyView memory v = board.bountyOf(id);
        vm.assertEq(v.paid + v.refunded, v.contributed, "all accounted");
        vm.assertEq(board.potOf(id), 0, "empty");
        vm.assertEq(usd.balanceOf(address(board)), 1, "only the award, owed to the designer");
        vm.assertEq(uint256(v.refunds), 3, "three refunds");
    }

    function test_refund_reverts() public {
        (uint256 id,) = _twoSponsorBounty();
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NothingToRefund.selector, id, stranger));
        board.refund(id);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__UnknownBounty.selector, 42));
        board.refund(42);
    }

    function test_refund_noSubmissionAfterDeadline() public {
        uint256 id = _post(_terms(2, 2), 600e6);
        _fund(id, sponsorA, 400e6);
        vm.warp(uint256(board.bountyOf(id).deadline) + 1);
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), 400e6, "all");
        vm.prank(poster);
        vm.assertEq(board.refund(id), 600e6, "all");
        vm.assertEq(usd.balanceOf(address(board)), 0, "empty");
    }

    // ---------------------------------------------------------------------------------- deadlines

    function test_extendDeadline_soleContributor() public {
        IBountyBoard.BountyTerms memory t = _terms(2, 2);
        uint256 id = _post(t, 100e6);
        uint64 later = t.deadline + 10 days;
        IBountyBoard.BountyTerms memory t2 = _terms(2, 2);
        t2.deadline = later;
        bytes32 h2 = keccak256(abi.encode(t2));
        vm.expectEmit(address(board));
        emit IBountyBoard.DeadlineExtended(id, later, h2);
        vm.prank(poster);
        vm.assertEq(board.extendDeadline(id, t, later), h2, "new hash");
        vm.assertEq(uint256(board.bountyOf(id).deadline), uint256(later), "moved");
        vm.assertEq(board.bountyOf(id).termsHash, h2, "stored");
        vm.assertEq(board.hashTerms(t2), h2, "hash of the new terms");
        // Sponsors fund the new terms.
        vm.prank(sponsorA);
        board.fund(id, 1e6, h2);
    }

    function test_extendDeadline_reverts() public {
        IBountyBoard.BountyTerms memory t = _terms(2, 2);
        uint256 id = _post(t, 100e6);
        bytes32 h = board.bountyOf(id).termsHash;
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NotPoster.selector, id, stranger));
        board.extendDeadline(id, t, t.deadline + 1);
        IBountyBoard.BountyTerms memory wrong = _terms(1, 1);
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBountyBoard.BountyBoard__TermsMismatch.selector, id, h, keccak256(abi.encode(wrong))
            )
        );
        board.extendDeadline(id, wrong, t.deadline + 1);
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidDeadline.selector, t.deadline, block.timestamp)
        );
        board.extendDeadline(id, t, t.deadline);
        uint64 tooFar = uint64(block.timestamp + board.MAX_DURATION() + 1);
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyBoard.BountyBoard__InvalidDeadline.selector, tooFar, block.timestamp)
        );
        board.extendDeadline(id, t, tooFar);
    }

    // ------------------------------------------------------------------------------------ minting

    function test_mintWinner_toSplitWithSponsors() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        _award(id, sub, 500e6, 2);
        vm.prank(designer);
        (uint256 tokenId, address receiver) = board.mintWinner(id, sub, META_CID);
        vm.assertEq(tokenId, designs.tokenIdOf(DESIGN_CID), "id from the CID");
        vm.assertEq(designs.ownerOf(tokenId), designer, "to the designer");
        vm.assertEq(designs.creatorOf(tokenId), designer, "creator");
        (address r, uint256 royalty) = designs.royaltyInfo(tokenId, 10_000);
        vm.assertEq(r, receiver, "royalty to the split");
        vm.assertEq(royalty, DESIGN_ROYALTY_BPS, "design royalty");
        vm.assertNotEq(receiver, designer, "a split");
        (uint256 bountyId, address d, uint16 sbps) = RoyaltySplit(payable(receiver)).terms();
        vm.assertEq(bountyId, id, "split bounty");
        vm.assertEq(d, designer, "split designer");
        vm.assertEq(uint256(sbps), SPONSOR_ROYALTY_BPS, "split share");
        vm.assertEq(address(RoyaltySplit(payable(receiver)).board()), address(board), "bound to the board");
        (,, bool minted,) = board.submissionOf(id, sub);
        vm.assertTrue(minted, "minted");
    }

    function test_mintWinner_exactCidOfTheSubmission() public {
        (uint256 id,) = _twoSponsorBounty();
        uint256 sub2 = _submit(id, designer2, DESIGN_CID2); // a CIDv1 (raw)
        _award(id, sub2, 1e6, 2);
        vm.prank(designer2);
        (uint256 tokenId,) = board.mintWinner(id, sub2, META_CID);
        vm.assertEq(keccak256(designs.cidOf(tokenId)), keccak256(DESIGN_CID2), "the submitted CID");
        vm.assertEq(tokenId, designs.tokenIdOf(DESIGN_CID2), "its id");
    }

    function test_mintWinner_noSponsorShareRoyaltyToDesigner() public {
        IBountyBoard.BountyTerms memory t = _terms(1, 1);
        t.sponsorRoyaltyBps = 0;
        uint256 id = _post(t, 100e6);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        _award(id, sub, 100e6, 1);
        vm.expectEmit(address(board));
        emit IBountyBoard.WinnerMinted(id, sub, designs.tokenIdOf(DESIGN_CID), designer, designer, DESIGN_ROYALTY_BPS);
        vm.prank(designer);
        (uint256 tokenId, address receiver) = board.mintWinner(id, sub, META_CID);
        vm.assertEq(receiver, designer, "designer");
        (address r,) = designs.royaltyInfo(tokenId, 1e6);
        vm.assertEq(r, designer, "royalty to the designer");
    }

    function test_mintWinner_royaltyCappedByGovernance() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        _award(id, sub, 500e6, 2);
        vm.prank(owner);
        designs.setMaxRoyaltyBps(300);
        vm.prank(designer);
        (uint256 tokenId,) = board.mintWinner(id, sub, META_CID);
        vm.assertEq(uint256(designs.royaltyBpsOf(tokenId)), 300, "capped");
    }

    function test_mintWinner_reverts() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        uint256 sub2 = _submit(id, designer2, DESIGN_CID2);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NotAwarded.selector, id, sub));
        board.mintWinner(id, sub, META_CID);
        _award(id, sub, 500e6, 2);
        vm.prank(designer2);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NotSubmitter.selector, id, sub, designer2));
        board.mintWinner(id, sub, META_CID);
        vm.prank(designer2);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__NotAwarded.selector, id, sub2));
        board.mintWinner(id, sub2, META_CID);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__UnknownSubmission.selector, id, 9));
        board.mintWinner(id, 9, META_CID);
        vm.prank(designer);
        board.mintWinner(id, sub, META_CID);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__AlreadyMinted.selector, id, sub));
        board.mintWinner(id, sub, META_CID);
    }

    function test_mintWinner_needsMinterRole() public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        _award(id, sub, 500e6, 2);
        vm.prank(owner);
        designs.setMinter(address(board), false);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__NotMinter.selector, address(board)));
        board.mintWinner(id, sub, META_CID);
        (,, bool minted,) = board.submissionOf(id, sub);
        vm.assertFalse(minted, "may retry");
    }
}
