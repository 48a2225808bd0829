// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BountyFixture} from "./BountyFixture.sol";
import {IBountyBoard} from "../../src/interfaces/IBountyBoard.sol";

/// @notice Fuzzed conservation and refund arithmetic of the bounty board.
contract BountyBoardFuzzTest is BountyFixture {
    struct Run {
        uint256 id;
        uint256 contributed;
        uint256 paid;
        uint256 unpaid;
        uint256 sponsorCount;
        uint256 refunded;
        uint256 done;
    }

    /// @notice Any contributions, any awards within the pot, any refund order: each refund but the last is the
    /// floor of the sponsor's pro-rata share of what was not paid out, the last takes the remainder, and
    /// paid + refunded == contributed exactly, with the board holding just what the winners are owed.
    function testFuzz_refundsConserve(uint256[4] memory contributions, uint256[3] memory awards, uint256 order) public {
        address[4] memory sponsors = [poster, sponsorA, sponsorB, sponsorC];
        Run memory r;
        r.id = _post(_terms(1, 1), bound(contributions[0], 1, 1e12));
        r.contributed = board.bountyOf(r.id).contributed;
        for (uint256 i = 1; i < 4; ++i) {
            uint256 c = bound(contributions[i], 0, 1e12);
            if (c != 0) _fund(r.id, sponsors[i], c);
            r.contributed += c;
        }
        uint256 sub = _submit(r.id, designer, DESIGN_CID);
        for (uint256 k; k < 3; ++k) {
            uint256 pot = r.contributed - r.paid;
            if (pot == 0) break;
            uint256 amount = bound(awards[k], 1, pot);
            _award(r.id, sub, amount, 1);
            r.paid += amount;
        }
        vm.assertEq(board.bountyOf(r.id).paid, r.paid, "paid");
        _pastGrace(r.id);
        r.unpaid = r.contributed - r.paid;
        r.sponsorCount = board.bountyOf(r.id).sponsors;
        // A permutation of the four sponsors from `order`.
        uint256[4] memory perm = [uint256(0), 1, 2, 3];
        for (uint256 i = 3; i > 0; --i) {
            uint256 j = (order >> (i * 8)) % (i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        for (uint256 k; k < 4; ++k) {
            _refundOne(r, sponsors[perm[k]]);
        }
        IBountyBoard.BountyView memory v = board.bountyOf(r.id);
        vm.assertEq(v.refunded, r.refunded, "refunded");
        vm.assertEq(v.paid + v.refunded, v.contributed, "paid + refunded == contributed");
        vm.assertEq(board.potOf(r.id), 0, "nothing held");
        vm.assertEq(usd.balanceOf(address(board)), board.balanceOf(address(usd), designer), "only what is owed");
        vm.assertEq(board.balanceOf(address(usd), designer), r.paid, "the winner's");
    }

    function _refundOne(Run memory r, address s) internal {
        (uint256 c,) = board.contributionOf(r.id, s);
        if (c == 0) return;
        uint256 expected = r.unpaid * c / r.contributed;
        bool last = r.done + 1 == r.sponsorCount;
        uint256 before = usd.balanceOf(s);
        vm.assertEq(board.refundableOf(r.id, s), last ? r.unpaid - r.refunded : expected, "view");
        vm.prank(s);
        uint256 got = board.refund(r.id);
        ++r.done;
        if (last) {
            vm.assertEq(got, r.unpaid - r.refunded, "the last takes the remainder");
            vm.assertGe(got, expected, "never less than its share");
        } else {
            vm.assertEq(got, expected, "floor share");
        }
        vm.assertEq(usd.balanceOf(s) - before, got, "paid out");
        r.refunded += got;
    }

    /// @notice An award executes exactly when it is non-zero and within the pot.
    function testFuzz_awardWithinPot(uint256 first, uint256 amount) public {
        (uint256 id, uint256 sub) = _twoSponsorBounty();
        first = bound(first, 1, 1_000e6);
        _award(id, sub, first, 2);
        uint256 pot = 1_000e6 - first;
        amount = bound(amount, 0, 2_000e6);
        vm.prank(approver1);
        if (amount == 0) {
            vm.expectRevert(IBountyBoard.BountyBoard__ZeroAmount.selector);
        } else if (amount > pot) {
            vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__ExceedsPot.selector, id, amount, pot));
        }
        board.award(id, sub, amount);
        vm.assertLe(board.bountyOf(id).paid, 1_000e6, "never more than the pot");
    }

    /// @notice Funding succeeds only with the exact current terms hash.
    function testFuzz_fundNeedsExactTermsHash(bytes32 given) public {
        uint256 id = _post(_terms(2, 2), 100e6);
        bytes32 h = board.bountyOf(id).termsHash;
        vm.assume(given != h);
        vm.prank(sponsorA);
        vm.expectRevert(abi.encodeWithSelector(IBountyBoard.BountyBoard__TermsMismatch.selector, id, h, given));
        board.fund(id, 1e6, given);
    }

    /// @notice The stored hash is `keccak256(abi.encode(terms))` for any terms, so a sponsor can compute it.
    function testFuzz_termsHash(uint8 approvers, uint8 quorum, uint64 duration, uint16 sponsorBps, uint16 designBps)
        public
    {
        IBountyBoard.BountyTerms memory t = _terms(0, 0);
        uint256 n = bound(approvers, 1, 16);
        t.approvers = new address[](n);
        for (uint256 i; i < n; ++i) {
            t.approvers[i] = address(uint160(0xAA00 + i));
        }
        t.quorum = uint8(bound(quorum, 1, n));
        t.deadline = uint64(block.timestamp + bound(duration, 1, 365 days));
        t.sponsorRoyaltyBps = uint16(bound(sponsorBps, 0, 10_000));
        t.designRoyaltyBps = uint16(bound(designBps, 0, 2_500));
        uint256 id = _post(t, 0);
        vm.assertEq(board.bountyOf(id).termsHash, keccak256(abi.encode(t)), "stored");
        vm.assertEq(board.hashTerms(t), keccak256(abi.encode(t)), "view");
        for (uint256 i; i < n; ++i) {
            vm.assertTrue(board.isApprover(id, t.approvers[i]), "approver");
        }
    }

    /// @notice Before any submission a sponsor always gets back exactly what it put in, however often it funds.
    function testFuzz_earlyRefundExact(uint256 a, uint256 b, uint256 c) public {
        uint256 id = _post(_terms(1, 1), 1e6);
        a = bound(a, 1, WALLET / 3);
        b = bound(b, 0, WALLET / 3);
        c = bound(c, 1, WALLET / 3);
        _fund(id, sponsorA, a);
        if (b != 0) _fund(id, sponsorA, b);
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), a + b, "all of it");
        _fund(id, sponsorA, c);
        vm.prank(sponsorA);
        vm.assertEq(board.refund(id), c, "again");
        vm.assertEq(usd.balanceOf(sponsorA), WALLET, "whole");
        vm.assertEq(board.bountyOf(id).contributed, 1e6, "the poster's");
        vm.assertEq(uint256(board.bountyOf(id).sponsors), 1, "one sponsor");
    }

    /// @notice A submission keeps the digest and form of its CID: the exact bytes come back in every form.
    function testFuzz_submit_cidRoundTrip(bytes32 digest, uint8 form) public {
        bytes[5] memory prefixes = [bytes(hex"1220"), hex"01551220", hex"01701220", hex"01711220", hex"01a9021220"];
        bytes memory cid = abi.encodePacked(prefixes[form % 5], digest);
        uint256 id = _post(_terms(1, 1), 1e6);
        uint256 sub = _submit(id, designer, cid);
        (,,, bytes memory stored) = board.submissionOf(id, sub);
        vm.assertEq(keccak256(stored), keccak256(cid), "exact bytes");
    }
}
