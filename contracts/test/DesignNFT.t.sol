// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./utils/Vm.sol";
import {DesignNFT} from "../src/DesignNFT.sol";
import {IDesignNFT} from "../src/interfaces/IDesignNFT.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";

contract DesignReceiver {
    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return DesignReceiver.onERC721Received.selector;
    }
}

contract NotADesignReceiver {}

/// @notice Unit tests: minting with CID and royalty checks, royalties following the token, ERC-721/2981 views.
contract DesignNFTTest is TestBase {
    bytes internal constant CID_V0 = hex"12201111111111111111111111111111111111111111111111111111111111111111";
    bytes internal constant CID_RAW = hex"01551220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant CID_PB = hex"01701220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant CID_CBOR = hex"01711220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant CID_JSON =
        hex"01a9021220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    address internal designer = address(0xD351);
    address internal minter = address(0x3137);
    address internal buyer = address(0xB1E4);
    DesignNFT internal nft;

    function setUp() public {
        nft = new DesignNFT();
    }

    function test_constructor_metadata() public view {
        vm.assertEq(nft.name(), "Fabrica Design", "name");
        vm.assertEq(nft.symbol(), "FDSN", "symbol");
        vm.assertEq(nft.MAX_ROYALTY_BPS(), 2_500, "max royalty");
        vm.assertEq(nft.designCount(), 0, "count");
    }

    // ======================================================================================= mint

    function test_mint_storesCidRoyaltyAndOwner() public {
        vm.expectEmit(address(nft));
        emit IDesignNFT.DesignMinted(1, designer, minter, CID_V0, 750);
        vm.expectEmit(address(nft));
        emit IERC721.Transfer(address(0), designer, 1);
        vm.prank(minter);
        uint256 id = nft.mint(designer, CID_V0, 750);
        vm.assertEq(id, 1, "id");
        vm.assertEq(nft.designCount(), 1, "count");
        vm.assertEq(nft.ownerOf(id), designer, "owner");
        vm.assertEq(nft.balanceOf(designer), 1, "balance");
        vm.assertEq(nft.cidOf(id), CID_V0, "cid");
        (address receiver, uint256 royalty) = nft.royaltyInfo(id, 1_000_000);
        vm.assertEq(receiver, designer, "receiver");
        vm.assertEq(royalty, 75_000, "7.5 %");
        vm.assertEq(nft.tokenURI(id), "", "no base uri");
    }

    function test_mint_acceptsEveryCidKind() public {
        bytes[5] memory cids = [CID_V0, CID_RAW, CID_PB, CID_CBOR, CID_JSON];
        for (uint256 i; i < cids.length; ++i) {
            uint256 id = nft.mint(designer, cids[i], 0);
            vm.assertEq(id, i + 1, "sequential ids");
            vm.assertEq(nft.cidOf(id), cids[i], "cid stored");
        }
        vm.assertEq(nft.designCount(), 5, "count");
    }

    function test_mint_royaltyBounds() public {
        uint256 zero = nft.mint(designer, CID_V0, 0);
        uint256 max = nft.mint(designer, CID_V0, 2_500);
        (address r0, uint256 a0) = nft.royaltyInfo(zero, 1e18);
        (address r1, uint256 a1) = nft.royaltyInfo(max, 1e18);
        vm.assertEq(r0, designer, "zero-royalty receiver");
        vm.assertEq(a0, 0, "zero royalty");
        vm.assertEq(r1, designer, "max receiver");
        vm.assertEq(a1, 0.25e18, "25 %");
    }

    function test_mint_toReceiverContract() public {
        DesignReceiver r = new DesignReceiver();
        uint256 id = nft.mint(address(r), CID_RAW, 100);
        vm.assertEq(nft.ownerOf(id), address(r), "owner");
    }

    function test_mint_revertsWhenCidInvalid() public {
        bytes memory bad = hex"0172122011";
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, bad));
        nft.mint(designer, bad, 0);
        vm.assertEq(nft.designCount(), 0, "nothing minted");
    }

    function test_mint_revertsWhenRoyaltyTooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__RoyaltyTooHigh.selector, 2_501, 2_500));
        nft.mint(designer, CID_V0, 2_501);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignNFT.DesignNFT__RoyaltyTooHigh.selector, type(uint96).max, 2_500)
        );
        nft.mint(designer, CID_V0, type(uint96).max);
        vm.assertEq(nft.designCount(), 0, "nothing minted");
    }

    function test_mint_revertsWhenToZero() public {
        vm.expectRevert(abi.encodeWithSelector(ERC2981.ERC2981InvalidTokenRoyaltyReceiver.selector, 1, address(0)));
        nft.mint(address(0), CID_V0, 100);
        vm.assertEq(nft.designCount(), 0, "nothing minted");
    }

    function test_mint_revertsWhenReceiverRejects() public {
        NotADesignReceiver r = new NotADesignReceiver();
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(r)));
        nft.mint(address(r), CID_V0, 100);
        vm.assertEq(nft.designCount(), 0, "nothing minted");
    }

    // ====================================================================================== views

    function test_cidOf_revertsWhenUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 1));
        nft.cidOf(1);
    }

    function test_royaltyInfo_revertsWhenUnknown() public {
        nft.mint(designer, CID_V0, 100);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 2));
        nft.royaltyInfo(2, 100);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 0));
        nft.royaltyInfo(0, 100);
    }

    function test_royaltyInfo_roundsDown() public {
        uint256 id = nft.mint(designer, CID_V0, 500);
        (, uint256 a) = nft.royaltyInfo(id, 19);
        vm.assertEq(a, 0, "19 * 5 % rounds to 0");
        (, a) = nft.royaltyInfo(id, 20);
        vm.assertEq(a, 1, "20 * 5 %");
    }

    function test_supportsInterface() public view {
        vm.assertTrue(nft.supportsInterface(0x01ffc9a7), "ERC-165");
        vm.assertTrue(nft.supportsInterface(0x80ac58cd), "ERC-721");
        vm.assertTrue(nft.supportsInterface(0x5b5e139f), "ERC-721 metadata");
        vm.assertTrue(nft.supportsInterface(0x2a55205a), "ERC-2981");
        vm.assertFalse(nft.supportsInterface(0xffffffff), "invalid id");
        vm.assertFalse(nft.supportsInterface(0x780e9d63), "not enumerable");
    }

    // ================================================================================== transfers

    function test_transfer_moveRoyaltyToNewHolder() public {
        uint256 id = nft.mint(designer, CID_V0, 1_000);
        vm.prank(designer);
        nft.transferFrom(designer, buyer, id);
        (address receiver, uint256 royalty) = nft.royaltyInfo(id, 10_000);
        vm.assertEq(receiver, buyer, "receiver follows token");
        vm.assertEq(royalty, 1_000, "rate unchanged");
        vm.assertEq(nft.cidOf(id), CID_V0, "cid unchanged");
    }

    function test_transfer_approvedOperatorAndSafeTransfer() public {
        uint256 id = nft.mint(designer, CID_V0, 300);
        DesignReceiver r = new DesignReceiver();
        vm.prank(designer);
        nft.setApprovalForAll(minter, true);
        vm.prank(minter);
        nft.safeTransferFrom(designer, address(r), id);
        (address receiver, uint256 royalty) = nft.royaltyInfo(id, 10_000);
        vm.assertEq(receiver, address(r), "receiver");
        vm.assertEq(royalty, 300, "rate");
        vm.assertEq(nft.ownerOf(id), address(r), "owner");
    }

    function test_transfer_zeroRoyaltyStaysZero() public {
        uint256 id = nft.mint(designer, CID_V0, 0);
        vm.prank(designer);
        nft.transferFrom(designer, buyer, id);
        (address receiver, uint256 royalty) = nft.royaltyInfo(id, 10_000);
        vm.assertEq(receiver, buyer, "receiver");
        vm.assertEq(royalty, 0, "still zero");
    }

    function test_transfer_revertsWhenNotApproved() public {
        uint256 id = nft.mint(designer, CID_V0, 300);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, buyer, id));
        nft.transferFrom(designer, buyer, id);
        (address receiver,) = nft.royaltyInfo(id, 10_000);
        vm.assertEq(receiver, designer, "royalty unchanged");
    }

    function test_transfer_revertsWhenToZero() public {
        uint256 id = nft.mint(designer, CID_V0, 300);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(0)));
        nft.transferFrom(designer, address(0), id);
    }

    function test_approve_singleTokenApproval() public {
        uint256 id = nft.mint(designer, CID_V0, 300);
        vm.expectEmit(address(nft));
        emit IERC721.Approval(designer, minter, id);
        vm.prank(designer);
        nft.approve(minter, id);
        vm.assertEq(nft.getApproved(id), minter, "approved");
        vm.assertFalse(nft.isApprovedForAll(designer, minter), "not an operator");
        vm.prank(minter);
        nft.safeTransferFrom(designer, buyer, id, "");
        vm.assertEq(nft.getApproved(id), address(0), "approval cleared by transfer");
        (address receiver,) = nft.royaltyInfo(id, 1);
        vm.assertEq(receiver, buyer, "receiver follows token");
    }

    function test_approve_revertsWhenNotOwnerOrOperator() public {
        uint256 id = nft.mint(designer, CID_V0, 300);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidApprover.selector, buyer));
        nft.approve(buyer, id);
    }

    function test_tokenURI_revertsWhenUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 3));
        nft.tokenURI(3);
    }

    function test_transfer_revertsWhenWrongFrom() public {
        uint256 id = nft.mint(designer, CID_V0, 300);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721IncorrectOwner.selector, buyer, id, designer));
        nft.transferFrom(buyer, minter, id);
    }
}
