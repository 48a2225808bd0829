// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BountyFixture} from "./BountyFixture.sol";
import {IBountyBoard} from "../../src/interfaces/IBountyBoard.sol";
import {RoyaltySplit} from "../../src/design/RoyaltySplit.sol";

/// @notice A minted winner's royalty split: the designer's part, the sponsors' parts pro rata (final at the
/// bounty's deadline), shares that add up exactly, and releases that never exceed what arrived.
contract RoyaltySplitTest is BountyFixture {
    uint256 internal id;
    RoyaltySplit internal split;

    /// @dev poster 500, A 300, B 200 (C = 1 000); sponsor share 20 %; the designer won 100.
    function _mintSplit(uint16 sponsorBps, uint256 cPoster, uint256 cA, uint256 cB) internal {
        IBountyBoard.BountyTerms memory t = _terms(1, 1);
        t.sponsorRoyaltyBps = sponsorBps;
        id = _post(t, cPoster);
        if (cA != 0) _fund(id, sponsorA, cA);
        if (cB != 0) _fund(id, sponsorB, cB);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        _award(id, sub, 1, 1);
        vm.prank(designer);
        (, address receiver) = board.mintWinner(id, sub, META_CID);
        split = RoyaltySplit(payable(receiver));
    }

    function _royalty(uint256 amount) internal {
        vm.prank(owner);
        usd.mint(address(split), amount);
    }

    function test_split_designerAnytimeSponsorsAfterDeadline() public {
        _mintSplit(2_000, 500e6, 300e6, 200e6);
        _royalty(1_000e6);
        vm.assertEq(split.releasable(address(usd), designer), 800e6, "80 %");
        vm.expectEmit(address(split));
        emit RoyaltySplit.Released(address(usd), designer, 800e6);
        vm.prank(stranger); // anyone may trigger it; the designer is paid
        vm.assertEq(split.release(address(usd), designer), 800e6, "designer");
        vm.assertEq(usd.balanceOf(designer), 800e6, "paid");

        uint64 deadline = board.bountyOf(id).deadline;
        vm.assertEq(split.releasable(address(usd), sponsorA), 0, "not final yet");
        vm.expectRevert(abi.encodeWithSelector(RoyaltySplit.RoyaltySplit__SharesNotFinal.selector, id, deadline));
        split.release(address(usd), sponsorA);

        // A late sponsor joins before the deadline: its weight counts, the designer's fraction does not change.
        _fund(id, sponsorC, 1_000e6);
        _royalty(1_000e6);
        vm.assertEq(split.release(address(usd), designer), 800e6, "designer again");
        vm.warp(uint256(deadline) + 1);
        // Sponsors: 20 % of 2 000 = 400, over C = 2 000: poster 100, A 60, B 40, C 200.
        vm.assertEq(split.release(address(usd), poster), 100e6, "poster");
        vm.assertEq(split.release(address(usd), sponsorA), 60e6, "A");
        vm.assertEq(split.release(address(usd), sponsorB), 40e6, "B");
        vm.assertEq(split.release(address(usd), sponsorC), 200e6, "C");
        vm.assertEq(usd.balanceOf(address(split)), 0, "all out, no dust here");
        vm.assertEq(split.totalReleased(address(usd)), 2_000e6, "total");
        vm.assertEq(split.released(address(usd), sponsorA), 60e6, "A's");
        vm.expectRevert(abi.encodeWithSelector(RoyaltySplit.RoyaltySplit__NothingDue.selector, address(usd), sponsorA));
        split.release(address(usd), sponsorA);
        vm.expectRevert(abi.encodeWithSelector(RoyaltySplit.RoyaltySplit__NothingDue.selector, address(usd), stranger));
        split.release(address(usd), stranger);
    }

    function test_split_designerSponsorWaitsForDeadline() public {
        IBountyBoard.BountyTerms memory t = _terms(1, 1);
        t.sponsorRoyaltyBps = 5_000;
        id = _post(t, 300e6);
        vm.prank(owner);
        usd.mint(designer, 100e6);
        vm.prank(designer);
        usd.approve(address(board), type(uint256).max);
        _fund(id, designer, 100e6);
        uint256 sub = _submit(id, designer, DESIGN_CID);
        _award(id, sub, 1, 1);
        vm.prank(designer);
        (, address receiver) = board.mintWinner(id, sub, META_CID);
        split = RoyaltySplit(payable(receiver));
        _royalty(800e6);
        vm.expectRevert(
            abi.encodeWithSelector(RoyaltySplit.RoyaltySplit__SharesNotFinal.selector, id, board.bountyOf(id).deadline)
        );
        split.release(address(usd), designer);
        _pastGrace(id);
        // Designer: 50 % + 50 % * 100/400 = 62.5 %; poster 50 % * 300/400 = 37.5 %.
        (uint256 w, uint256 total, bool final_) = split.shareOf(designer);
        vm.assertTrue(final_, "final");
        vm.assertEq(w * 1_000 / total, 625, "62.5 %");
        vm.assertEq(split.release(address(usd), designer), 500e6, "designer");
        vm.assertEq(split.release(address(usd), poster), 300e6, "poster");
    }

    function test_split_eth() public {
        _mintSplit(2_000, 500e6, 500e6, 0);
        vm.deal(address(this), 10 ether);
        (bool ok,) = payable(address(split)).call{value: 1 ether}("");
        vm.assertTrue(ok, "accepts ETH");
        vm.assertEq(split.release(address(0), designer), 0.8 ether, "designer");
        vm.assertEq(designer.balance, 0.8 ether, "paid");
        _pastGrace(id);
        vm.assertEq(split.release(address(0), sponsorA), 0.1 ether, "A");
        vm.assertEq(split.release(address(0), poster), 0.1 ether, "poster");
        vm.assertEq(address(split).balance, 0, "all out");
    }

    function test_split_implementationIsNotASplit() public {
        RoyaltySplit impl = RoyaltySplit(payable(board.splitImplementation()));
        vm.assertEq(address(impl.board()), address(board), "bound to the board");
        vm.expectRevert(RoyaltySplit.RoyaltySplit__NotAClone.selector);
        impl.terms();
        vm.expectRevert(RoyaltySplit.RoyaltySplit__NotAClone.selector);
        impl.release(address(usd), designer);
    }

    function test_split_perWinner() public {
        IBountyBoard.BountyTerms memory t = _terms(1, 1);
        id = _post(t, 100e6);
        uint256 s1 = _submit(id, designer, DESIGN_CID);
        uint256 s2 = _submit(id, designer2, DESIGN_CID2);
        _award(id, s1, 10e6, 1);
        _award(id, s2, 10e6, 1);
        vm.prank(designer);
        (, address r1) = board.mintWinner(id, s1, META_CID);
        vm.prank(designer2);
        (, address r2) = board.mintWinner(id, s2, META_CID);
        vm.assertNotEq(r1, r2, "one split each");
        (, address d2,) = RoyaltySplit(payable(r2)).terms();
        vm.assertEq(d2, designer2, "its own designer");
    }

    /// @notice Shares add up exactly to the total, and however royalties arrive and releases interleave, what is
    /// released never exceeds what arrived; once everyone has released, each got exactly its floor share and at
    /// most one unit per account is left as dust.
    function testFuzz_split_sharesSumExactlyNeverOverRelease(
        uint256 cPoster,
        uint256 cA,
        uint256 cB,
        uint256 sponsorBps,
        uint256[4] memory inflows,
        uint256 seed
    ) public {
        cPoster = bound(cPoster, 1, 1e15);
        cA = bound(cA, 0, 1e15);
        cB = bound(cB, 0, 1e15);
        sponsorBps = bound(sponsorBps, 1, 10_000);
        vm.startPrank(owner);
        usd.mint(poster, 1e15);
        usd.mint(sponsorA, 1e15);
        usd.mint(sponsorB, 1e15);
        vm.stopPrank();
        _mintSplit(uint16(sponsorBps), cPoster, cA, cB);
        address[5] memory accounts = [designer, poster, sponsorA, sponsorB, stranger];

        uint256 received;
        // Before the deadline only the designer may release.
        uint256 first = bound(inflows[0], 0, 1e30);
        _royalty(first);
        received += first;
        _tryRelease(designer);
        _pastGrace(id);

        uint256 weights;
        uint256 total;
        for (uint256 i; i < accounts.length; ++i) {
            (uint256 w, uint256 t, bool final_) = split.shareOf(accounts[i]);
            vm.assertTrue(final_, "final after the deadline");
            weights += w;
            total = t;
        }
        vm.assertEq(weights, total, "shares sum exactly");

        for (uint256 k = 1; k < 4; ++k) {
            uint256 inflow = bound(inflows[k], 0, 1e30);
            _royalty(inflow);
            received += inflow;
            for (uint256 i; i < accounts.length; ++i) {
                if ((seed >> (k * 5 + i)) & 1 == 1) _tryRelease(accounts[i]);
            }
            uint256 released = split.totalReleased(address(usd));
            vm.assertLe(released, received, "never over-released");
            vm.assertEq(usd.balanceOf(address(split)), received - released, "balance = received - released");
        }
        for (uint256 i; i < accounts.length; ++i) {
            _tryRelease(accounts[i]);
        }
        uint256 sum;
        for (uint256 i; i < accounts.length; ++i) {
            (uint256 w, uint256 t,) = split.shareOf(accounts[i]);
            uint256 got = split.released(address(usd), accounts[i]);
            vm.assertEq(got, received * w / t, "exactly the floor share");
            sum += got;
        }
        vm.assertEq(sum, split.totalReleased(address(usd)), "sum of releases");
        vm.assertLe(received - sum, 3, "dust below one unit per paid account");
    }

    function _tryRelease(address account) internal {
        try split.release(address(usd), account) {}
        catch (bytes memory err) {
            vm.assertEq(bytes4(err), RoyaltySplit.RoyaltySplit__NothingDue.selector, "only NothingDue");
        }
    }
}
