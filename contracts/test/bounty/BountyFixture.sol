// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {BountyBoard} from "../../src/design/BountyBoard.sol";
import {IBountyBoard} from "../../src/interfaces/IBountyBoard.sol";

/// @notice The bounty board on the real DesignNFT (the board is one of its minters), a 6-decimal stablecoin
/// every party holds and has approved, and helpers for posting, funding, submitting and awarding.
abstract contract BountyFixture is TestBase {
    address internal owner = address(0xA11CE);
    address internal poster = address(0xB0B0);
    address internal sponsorA = address(0x5A00);
    address internal sponsorB = address(0x5B00);
    address internal sponsorC = address(0x5C00);
    address internal approver1 = address(0xA100);
    address internal approver2 = address(0xA200);
    address internal approver3 = address(0xA300);
    address internal designer = address(0xD351);
    address internal designer2 = address(0xD352);
    address internal stranger = address(0x5757);

    uint256 internal constant WALLET = 1_000_000e6;
    uint16 internal constant SPONSOR_ROYALTY_BPS = 2_000;
    uint16 internal constant DESIGN_ROYALTY_BPS = 500;
    uint256 internal constant DURATION = 30 days;

    bytes internal constant BRIEF_CID = hex"1220b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
    bytes internal constant DESIGN_CID = hex"1220d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1";
    bytes internal constant DESIGN_CID2 = hex"01551220d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2";
    bytes internal constant META_CID = hex"12201111111111111111111111111111111111111111111111111111111111111111";

    TestStablecoin internal usd;
    DesignNFT internal designs;
    BountyBoard internal board;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        usd = new TestStablecoin(owner);
        designs = new DesignNFT(owner);
        board = new BountyBoard(owner, IDesignNFT(address(designs)));
        vm.startPrank(owner);
        designs.setMinter(address(board), true);
        board.setToken(address(usd), true);
        vm.stopPrank();
        address[6] memory funded = [poster, sponsorA, sponsorB, sponsorC, approver1, stranger];
        for (uint256 i; i < funded.length; ++i) {
            vm.prank(owner);
            usd.mint(funded[i], WALLET);
            vm.prank(funded[i]);
            usd.approve(address(board), type(uint256).max);
        }
    }

    // ------------------------------------------------------------------------------------ helpers

    function _approvers(uint256 n) internal view returns (address[] memory a) {
        address[3] memory all = [approver1, approver2, approver3];
        a = new address[](n);
        for (uint256 i; i < n; ++i) {
            a[i] = all[i];
        }
    }

    function _terms(uint256 approvers, uint8 quorum) internal view returns (IBountyBoard.BountyTerms memory t) {
        t.token = address(usd);
        t.briefCid = BRIEF_CID;
        t.deadline = uint64(block.timestamp + DURATION);
        t.approvers = _approvers(approvers);
        t.quorum = quorum;
        t.sponsorRoyaltyBps = SPONSOR_ROYALTY_BPS;
        t.designRoyaltyBps = DESIGN_ROYALTY_BPS;
    }

    function _evaluatorTerms(address evaluator) internal view returns (IBountyBoard.BountyTerms memory t) {
        t = _terms(0, 0);
        t.evaluator = evaluator;
    }

    function _post(IBountyBoard.BountyTerms memory t, uint256 amount) internal returns (uint256 id) {
        vm.prank(poster);
        id = board.post(t, amount);
    }

    function _fund(uint256 id, address sponsor, uint256 amount) internal {
        bytes32 h = board.bountyOf(id).termsHash;
        vm.prank(sponsor);
        board.fund(id, amount, h);
    }

    function _submit(uint256 id, address who, bytes memory cid) internal returns (uint256 submissionId) {
        vm.prank(who);
        submissionId = board.submit(id, cid);
    }

    /// @dev A two-sponsor bounty (poster 600, sponsorA 400) with approvers 1 and 2, quorum 2, and one submission.
    function _twoSponsorBounty() internal returns (uint256 id, uint256 sub) {
        id = _post(_terms(2, 2), 600e6);
        _fund(id, sponsorA, 400e6);
        sub = _submit(id, designer, DESIGN_CID);
    }

    function _award(uint256 id, uint256 sub, uint256 amount, uint256 approvers) internal {
        address[] memory a = _approvers(approvers);
        for (uint256 i; i < a.length; ++i) {
            vm.prank(a[i]);
            board.award(id, sub, amount);
        }
    }

    function _pastGrace(uint256 id) internal {
        vm.warp(uint256(board.bountyOf(id).deadline) + board.GRACE_PERIOD() + 1);
    }
}
