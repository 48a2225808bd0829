// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./utils/Vm.sol";
import {DesignNFT} from "../src/DesignNFT.sol";
import {IDesignNFT} from "../src/interfaces/IDesignNFT.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract DesignReceiver {
    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return DesignReceiver.onERC721Received.selector;
    }
}

contract NotADesignReceiver {}

/// @notice Exposes DesignNFT's assembly constants to check them against the declarations.
contract DesignNFTConstants is DesignNFT {
    constructor() DesignNFT(address(1)) {}

    function constants() external pure returns (uint256, uint256, uint256) {
        return (TRANSFER_TOPIC, DESIGN_MINTED_TOPIC, ALREADY_MINTED_SELECTOR);
    }
}

/// @notice Unit tests: one token per content digest whatever the CID form, the creator and royalty fixed at
/// mint within the governed cap, the lean ERC-721 (transfers, approvals, receiver check), ERC-2981 to the
/// creator, minters, and the takedown / appeal / restore cycle.
contract DesignNFTTest is TestBase {
    bytes32 internal constant DIGEST = 0xffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100;
    bytes internal constant CID_V0 = hex"1220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant CID_RAW = hex"01551220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant CID_PB = hex"01701220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant CID_CBOR = hex"01711220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant CID_JSON = hex"01a9021220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant OTHER = hex"12201111111111111111111111111111111111111111111111111111111111111111";
    bytes internal constant META = hex"12202222222222222222222222222222222222222222222222222222222222222222";
    bytes internal constant REASON = hex"12203333333333333333333333333333333333333333333333333333333333333333";

    address internal owner = address(0xA11CE);
    address internal designer = address(0xD351);
    address internal minter = address(0x3137);
    address internal buyer = address(0xB1E4);
    address internal moderator = address(0x30D);
    address internal split = address(0x5B117);
    DesignNFT internal nft;

    function setUp() public {
        nft = new DesignNFT(owner);
        vm.startPrank(owner);
        nft.setMinter(minter, true);
        nft.setModerator(moderator);
        vm.stopPrank();
    }

    function _mint(bytes memory cid, uint16 bps) internal returns (uint256 id) {
        vm.prank(designer);
        id = nft.mint(cid, META, bps);
    }

    function test_constructor_metadataAndOwner() public view {
        vm.assertEq(nft.name(), "Fabrica Design", "name");
        vm.assertEq(nft.symbol(), "FDSN", "symbol");
        vm.assertEq(nft.owner(), owner, "owner");
        vm.assertEq(uint256(nft.maxRoyaltyBps()), 2_500, "initial cap");
        vm.assertEq(uint256(nft.MAX_ROYALTY_CAP_BPS()), 5_000, "hard cap");
        vm.assertEq(nft.APPEAL_WINDOW(), 14 days, "appeal window");
        vm.assertEq(nft.licences(), address(0), "no licences yet");
    }

    function test_constructor_revertsWhenOwnerZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new DesignNFT(address(0));
    }

    function test_assemblyConstantsMatchDeclarations() public {
        (uint256 transfer, uint256 minted, uint256 already) = new DesignNFTConstants().constants();
        vm.assertEq(bytes32(transfer), IERC721.Transfer.selector, "Transfer topic");
        vm.assertEq(bytes32(minted), IDesignNFT.DesignMinted.selector, "DesignMinted topic");
        vm.assertEq(bytes32(already << 224), bytes32(IDesignNFT.DesignNFT__AlreadyMinted.selector), "error selector");
    }

    // ======================================================================================= mint

    function test_mint_idIsTheDigestAndEverythingIsRecorded() public {
        vm.expectEmit(address(nft));
        emit IERC721.Transfer(address(0), designer, uint256(DIGEST));
        vm.expectEmit(address(nft));
        emit IDesignNFT.DesignMinted(uint256(DIGEST), designer, designer, CID_RAW, META, 750);
        uint256 id = _mint(CID_RAW, 750);
        vm.assertEq(id, uint256(DIGEST), "id = digest");
        vm.assertEq(nft.tokenIdOf(CID_RAW), id, "tokenIdOf");
        vm.assertEq(nft.ownerOf(id), designer, "owner");
        vm.assertEq(nft.balanceOf(designer), 1, "balance");
        vm.assertEq(nft.creatorOf(id), designer, "creator");
        vm.assertEq(uint256(nft.royaltyBpsOf(id)), 750, "royalty");
        vm.assertEq(uint256(nft.stateOf(id)), uint256(IDesignNFT.DesignState.Active), "active");
        vm.assertTrue(nft.exists(id), "exists");
        vm.assertEq(nft.cidOf(id), CID_RAW, "cid rebuilt exactly");
        (address o, address c, address r, uint16 bps, IDesignNFT.DesignState s) = nft.designOf(id);
        vm.assertEq(o, designer, "designOf owner");
        vm.assertEq(c, designer, "designOf creator");
        vm.assertEq(r, designer, "designOf receiver");
        vm.assertEq(uint256(bps), 750, "designOf bps");
        vm.assertEq(uint256(s), uint256(IDesignNFT.DesignState.Active), "designOf state");
        (address receiver, uint256 royalty) = nft.royaltyInfo(id, 1_000_000);
        vm.assertEq(receiver, designer, "receiver");
        vm.assertEq(royalty, 75_000, "7.5 %");
    }

    function test_mint_everyCidFormRoundTrips() public {
        bytes[5] memory forms = [CID_V0, CID_RAW, CID_PB, CID_CBOR, CID_JSON];
        for (uint256 i; i < forms.length; ++i) {
            uint256 snap = vm.snapshotState();
            uint256 id = _mint(forms[i], 100);
            vm.assertEq(id, uint256(DIGEST), "same id for every form");
            vm.assertEq(nft.cidOf(id), forms[i], "the exact form minted");
            vm.revertToState(snap);
        }
    }

    function test_mint_sameDigestUnderAnotherFormReverts() public {
        uint256 id = _mint(CID_V0, 500);
        bytes[4] memory others = [CID_RAW, CID_PB, CID_CBOR, CID_JSON];
        for (uint256 i; i < others.length; ++i) {
            // Attack: a copier re-mints the same file under another CID form to take its royalties.
            vm.prank(buyer);
            vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__AlreadyMinted.selector, id));
            nft.mint(others[i], META, 500);
        }
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__AlreadyMinted.selector, id));
        nft.mint(CID_V0, META, 500);
        vm.assertEq(nft.balanceOf(buyer), 0, "the copier holds nothing");
        vm.assertEq(nft.ownerOf(id), designer, "the original stays");
    }

    function test_mint_secondMintReusesTheProfile() public {
        uint256 a = _mint(CID_V0, 500);
        uint256 b = _mint(OTHER, 0);
        vm.assertEq(nft.balanceOf(designer), 2, "balance 2");
        vm.assertEq(nft.creatorOf(b), designer, "creator");
        (address r, uint256 royalty) = nft.royaltyInfo(b, 1e18);
        vm.assertEq(r, designer, "receiver");
        vm.assertEq(royalty, 0, "zero royalty allowed");
        vm.assertTrue(a != b, "distinct ids");
    }

    function test_mint_revertsOnInvalidCid() public {
        bytes[9] memory bad = [
            bytes(hex"1220aabb"),
            bytes(hex""),
            // v0 with a wrong multihash prefix
            bytes(hex"1320ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"),
            // v1 with an unsupported codec (0x72 libp2p-key)
            bytes(hex"01721220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"),
            // v1 with version 2
            bytes(hex"02551220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"),
            // v1 raw with a sha2-512 code
            bytes(hex"01551320ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"),
            // dag-json with a wrong second codec byte
            bytes(hex"01a9031220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"),
            // 35 bytes: a v0 with a trailing byte
            bytes(hex"1220ffeeddccbbaa99887766554433221100ffeeddccbbaa9988776655443322110000"),
            // the zero digest: token 0 means "no design" to the job market
            bytes(hex"12200000000000000000000000000000000000000000000000000000000000000000")
        ];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(designer);
            vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, bad[i]));
            nft.mint(bad[i], META, 100);
            vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, bad[i]));
            nft.tokenIdOf(bad[i]);
        }
    }

    function test_mint_revertsOnInvalidMetadataCid() public {
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, bytes(hex"1220")));
        nft.mint(CID_V0, hex"1220", 100);
    }

    function test_mint_royaltyCap() public {
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__RoyaltyTooHigh.selector, 2_501, 2_500));
        nft.mint(CID_V0, META, 2_501);
        _mint(CID_V0, 2_500);
        vm.prank(owner);
        nft.setMaxRoyaltyBps(100);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__RoyaltyTooHigh.selector, 101, 100));
        nft.mint(OTHER, META, 101);
        vm.assertEq(uint256(nft.royaltyBpsOf(uint256(DIGEST))), 2_500, "an existing design keeps its royalty");
    }

    function test_mint_isNotBlockedByTheReceiverCheck() public {
        // Mints go to the caller: a contract designer without onERC721Received may still mint.
        NotADesignReceiver c = new NotADesignReceiver();
        vm.prank(address(c));
        uint256 id = nft.mint(CID_V0, META, 100);
        vm.assertEq(nft.ownerOf(id), address(c), "minted");
    }

    function test_mint_doesNotDisturbMemoryForTheReturn() public {
        // The assembly returns the id itself: a Solidity caller decodes it.
        vm.prank(designer);
        (bool ok, bytes memory ret) = address(nft).call(abi.encodeCall(nft.mint, (CID_JSON, CID_RAW, 42)));
        vm.assertTrue(ok, "minted");
        vm.assertEq(ret.length, 32, "one word");
        vm.assertEq(abi.decode(ret, (uint256)), uint256(DIGEST), "the id");
    }

    // ===================================================================================== mintFor

    function test_mintFor_separateReceiver() public {
        vm.expectEmit(address(nft));
        emit IDesignNFT.DesignMinted(uint256(DIGEST), designer, split, CID_V0, META, 300);
        vm.prank(minter);
        uint256 id = nft.mintFor(designer, CID_V0, META, 300, split);
        vm.assertEq(nft.ownerOf(id), designer, "to the creator");
        vm.assertEq(nft.creatorOf(id), designer, "creator");
        (address r, uint256 royalty) = nft.royaltyInfo(id, 10_000);
        vm.assertEq(r, split, "royalty to the split");
        vm.assertEq(royalty, 300, "3 %");
        (,, address receiver,,) = nft.designOf(id);
        vm.assertEq(receiver, split, "designOf receiver");
        // The designer's own later mints keep it as their receiver.
        uint256 own = _mint(OTHER, 100);
        (r,) = nft.royaltyInfo(own, 10_000);
        vm.assertEq(r, designer, "own profile");
    }

    function test_mintFor_zeroOrSameReceiverUsesTheCreatorsProfile() public {
        vm.prank(minter);
        uint256 a = nft.mintFor(designer, CID_V0, META, 300, address(0));
        vm.prank(minter);
        uint256 b = nft.mintFor(designer, OTHER, META, 300, designer);
        (address ra,) = nft.royaltyInfo(a, 1);
        (address rb,) = nft.royaltyInfo(b, 1);
        vm.assertEq(ra, designer, "zero receiver = creator");
        vm.assertEq(rb, designer, "same receiver");
        vm.assertEq(nft.balanceOf(designer), 2, "balance");
    }

    function test_mintFor_onlyMinters() public {
        // Attack: anyone minting a design to a victim creator with the royalty to itself.
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__NotMinter.selector, buyer));
        nft.mintFor(designer, CID_V0, META, 300, buyer);
        vm.prank(owner);
        nft.setMinter(minter, false);
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__NotMinter.selector, minter));
        nft.mintFor(designer, CID_V0, META, 300, split);
        vm.assertTrue(!nft.exists(uint256(DIGEST)), "nothing minted");
    }

    function test_mintFor_checks() public {
        vm.startPrank(minter);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(0)));
        nft.mintFor(address(0), CID_V0, META, 300, split);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__RoyaltyTooHigh.selector, 2_501, 2_500));
        nft.mintFor(designer, CID_V0, META, 2_501, split);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, bytes(hex"1220")));
        nft.mintFor(designer, hex"1220", META, 1, split);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, bytes(hex"1220")));
        nft.mintFor(designer, CID_V0, hex"1220", 1, split);
        nft.mintFor(designer, CID_V0, META, 1, split);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__AlreadyMinted.selector, uint256(DIGEST)));
        nft.mintFor(designer, CID_JSON, META, 1, split);
        vm.stopPrank();
    }

    // ===================================================================================== ERC-721

    function test_transferFrom_movesOwnerAndBalancesKeepsCreatorRoyalty() public {
        uint256 id = _mint(CID_V0, 500);
        vm.expectEmit(address(nft));
        emit IERC721.Transfer(designer, buyer, id);
        vm.prank(designer);
        nft.transferFrom(designer, buyer, id);
        vm.assertEq(nft.ownerOf(id), buyer, "owner");
        vm.assertEq(nft.balanceOf(designer), 0, "from");
        vm.assertEq(nft.balanceOf(buyer), 1, "to");
        vm.assertEq(nft.creatorOf(id), designer, "creator for ever");
        (address r,) = nft.royaltyInfo(id, 100);
        vm.assertEq(r, designer, "resale royalty to the creator");
        (address o, uint16 bps, IDesignNFT.DesignState s, bool licensed) = nft.rightsOf(id);
        vm.assertEq(o, buyer, "rights owner");
        vm.assertEq(uint256(bps), 500, "rights royalty");
        vm.assertEq(uint256(s), uint256(IDesignNFT.DesignState.Active), "rights state");
        vm.assertTrue(!licensed, "not licensed");
        vm.assertEq(nft.cidOf(id), CID_V0, "cid survives");
    }

    function test_transferFrom_toSelfKeepsTheBalance() public {
        uint256 id = _mint(CID_V0, 500);
        vm.prank(designer);
        nft.transferFrom(designer, designer, id);
        vm.assertEq(nft.balanceOf(designer), 1, "unchanged");
    }

    function test_transferFrom_checks() public {
        uint256 id = _mint(CID_V0, 500);
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, buyer, id));
        nft.transferFrom(designer, buyer, id);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721IncorrectOwner.selector, buyer, id, designer));
        nft.transferFrom(buyer, designer, id);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.transferFrom(designer, buyer, 7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(0)));
        nft.transferFrom(designer, address(0), id);
        vm.stopPrank();
    }

    function test_approve_singleUseAndClearedOnTransfer() public {
        uint256 id = _mint(CID_V0, 500);
        vm.expectEmit(address(nft));
        emit IERC721.Approval(designer, buyer, id);
        vm.prank(designer);
        nft.approve(buyer, id);
        vm.assertEq(nft.getApproved(id), buyer, "approved");
        vm.prank(buyer);
        nft.transferFrom(designer, minter, id);
        vm.assertEq(nft.getApproved(id), address(0), "cleared");
        // The old approval is gone: the approved account cannot take it back from the new owner.
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, buyer, id));
        nft.transferFrom(minter, buyer, id);
    }

    function test_approve_checks() public {
        uint256 id = _mint(CID_V0, 500);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidApprover.selector, buyer));
        nft.approve(buyer, id);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.approve(buyer, 7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.getApproved(7);
    }

    function test_setApprovalForAll_operatorMovesAndApproves() public {
        uint256 id = _mint(CID_V0, 500);
        vm.expectEmit(address(nft));
        emit IERC721.ApprovalForAll(designer, minter, true);
        vm.prank(designer);
        nft.setApprovalForAll(minter, true);
        vm.assertTrue(nft.isApprovedForAll(designer, minter), "operator");
        vm.prank(minter);
        nft.approve(buyer, id); // an operator may approve
        vm.prank(minter);
        nft.transferFrom(designer, buyer, id);
        vm.assertEq(nft.ownerOf(id), buyer, "moved by the operator");
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidOperator.selector, address(0)));
        nft.setApprovalForAll(address(0), true);
    }

    function test_safeTransferFrom_checksTheReceiver() public {
        uint256 id = _mint(CID_V0, 500);
        NotADesignReceiver bad = new NotADesignReceiver();
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(bad)));
        nft.safeTransferFrom(designer, address(bad), id);
        DesignReceiver good = new DesignReceiver();
        vm.prank(designer);
        nft.safeTransferFrom(designer, address(good), id, "hi");
        vm.assertEq(nft.ownerOf(id), address(good), "received");
    }

    function test_views_unknownToken() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.ownerOf(7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.royaltyInfo(7, 100);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.cidOf(7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.creatorOf(7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.designOf(7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.tokenURI(7);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidOwner.selector, address(0)));
        nft.balanceOf(address(0));
        vm.assertEq(uint256(nft.stateOf(7)), uint256(IDesignNFT.DesignState.None), "none");
        vm.assertTrue(!nft.exists(7), "not minted");
        (address o, uint16 bps, IDesignNFT.DesignState s, bool l) = nft.rightsOf(7);
        vm.assertEq(o, address(0), "no owner");
        vm.assertEq(uint256(bps) + uint256(s) + (l ? 1 : 0), 0, "zeros");
    }

    function test_royaltyInfo_roundsDown() public {
        uint256 id = _mint(CID_V0, 500);
        (, uint256 a) = nft.royaltyInfo(id, 19);
        vm.assertEq(a, 0, "19 * 5 % rounds to 0");
        (, a) = nft.royaltyInfo(id, 20);
        vm.assertEq(a, 1, "20 * 5 % = 1");
    }

    function test_tokenURI_baseAndDecimalId() public {
        uint256 id = _mint(OTHER, 500);
        vm.assertEq(nft.tokenURI(id), "", "empty without a base");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        nft.setBaseURI("ipfs://x/");
        vm.expectEmit(address(nft));
        emit IDesignNFT.BaseURISet("https://fabrica.example/designs/");
        vm.prank(owner);
        nft.setBaseURI("https://fabrica.example/designs/");
        vm.assertEq(nft.baseURI(), "https://fabrica.example/designs/", "base");
        vm.assertEq(nft.tokenURI(id), string.concat("https://fabrica.example/designs/", vm.toString(id)), "uri");
    }

    function test_supportsInterface() public view {
        vm.assertTrue(nft.supportsInterface(type(IERC165).interfaceId), "165");
        vm.assertTrue(nft.supportsInterface(type(IERC721).interfaceId), "721");
        vm.assertTrue(nft.supportsInterface(type(IERC721Metadata).interfaceId), "721 metadata");
        vm.assertTrue(nft.supportsInterface(type(IERC2981).interfaceId), "2981");
        vm.assertTrue(!nft.supportsInterface(0xffffffff), "not ffffffff");
        vm.assertTrue(!nft.supportsInterface(0xd9b67a26), "not 1155");
    }

    // ================================================================================== governance

    function test_governance_onlyOwner() public {
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        nft.setMinter(buyer, true);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        nft.setMaxRoyaltyBps(5_000);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        nft.setModerator(buyer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        nft.setLicences(buyer);
        vm.stopPrank();
    }

    function test_governance_setters() public {
        vm.startPrank(owner);
        vm.expectEmit(address(nft));
        emit IDesignNFT.MinterSet(buyer, true);
        nft.setMinter(buyer, true);
        vm.assertTrue(nft.isMinter(buyer), "minter");
        vm.expectEmit(address(nft));
        emit IDesignNFT.MaxRoyaltySet(5_000);
        nft.setMaxRoyaltyBps(5_000);
        vm.assertEq(uint256(nft.maxRoyaltyBps()), 5_000, "cap");
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__RoyaltyCapTooHigh.selector, 5_001, 5_000));
        nft.setMaxRoyaltyBps(5_001);
        vm.expectEmit(address(nft));
        emit IDesignNFT.ModeratorSet(buyer);
        nft.setModerator(buyer);
        vm.assertEq(nft.moderator(), buyer, "moderator");
        vm.stopPrank();
    }

    function test_setMaxRoyaltyBps_keepsTheProfileCount() public {
        // The cap shares its slot with the profile counter: changing one must not touch the other.
        _mint(CID_V0, 500); // profile 1
        vm.prank(owner);
        nft.setMaxRoyaltyBps(4_000);
        vm.prank(minter);
        uint256 id = nft.mintFor(buyer, OTHER, META, 4_000, split); // profile 2 (separate receiver)
        (address r,) = nft.royaltyInfo(id, 1);
        vm.assertEq(r, split, "the new profile's receiver");
        (r,) = nft.royaltyInfo(uint256(DIGEST), 1);
        vm.assertEq(r, designer, "profile 1 untouched");
        vm.assertEq(uint256(nft.maxRoyaltyBps()), 4_000, "cap kept");
    }

    function test_setLicences_onceAndMarkLicensedOnlyByIt() public {
        uint256 id = _mint(CID_V0, 500);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__NotLicences.selector, address(this)));
        nft.markLicensed(id);
        vm.prank(owner);
        vm.expectRevert(IDesignNFT.DesignNFT__ZeroLicences.selector);
        nft.setLicences(address(0));
        vm.expectEmit(address(nft));
        emit IDesignNFT.LicencesSet(split);
        vm.prank(owner);
        nft.setLicences(split);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__LicencesAlreadySet.selector, split));
        nft.setLicences(buyer);
        vm.prank(split);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.markLicensed(7);
        vm.expectEmit(address(nft));
        emit IDesignNFT.DesignLicensed(id);
        vm.prank(split);
        nft.markLicensed(id);
        vm.prank(split);
        nft.markLicensed(id); // idempotent
        (address o, uint16 bps, IDesignNFT.DesignState s, bool licensed) = nft.rightsOf(id);
        vm.assertTrue(licensed, "licensed");
        vm.assertEq(o, designer, "owner kept");
        vm.assertEq(uint256(bps), 500, "royalty kept");
        vm.assertEq(uint256(s), uint256(IDesignNFT.DesignState.Active), "state kept");
        // The flag survives transfers and takedowns and never blocks them.
        vm.prank(designer);
        nft.transferFrom(designer, buyer, id);
        vm.prank(moderator);
        nft.takedown(id, REASON);
        vm.assertEq(uint256(nft.stateOf(id)), uint256(IDesignNFT.DesignState.TakenDown), "taken down");
        vm.prank(owner);
        nft.restore(id);
        (,, s, licensed) = nft.rightsOf(id);
        vm.assertTrue(licensed, "still licensed");
        vm.assertEq(uint256(s), uint256(IDesignNFT.DesignState.Active), "restored");
        vm.prank(buyer);
        nft.transferFrom(buyer, designer, id);
    }

    // ================================================================================== takedown

    function test_takedown_freezesTransfers() public {
        uint256 id = _mint(CID_V0, 500);
        vm.expectEmit(address(nft));
        emit IDesignNFT.DesignTakenDown(id, moderator, REASON);
        vm.prank(moderator);
        nft.takedown(id, REASON);
        vm.assertEq(uint256(nft.stateOf(id)), uint256(IDesignNFT.DesignState.TakenDown), "taken down");
        (uint64 at, bool appealable) = nft.takedownOf(id);
        vm.assertEq(uint256(at), block.timestamp, "when");
        vm.assertTrue(appealable, "appealable");
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__TakenDown.selector, id));
        nft.transferFrom(designer, buyer, id);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__TakenDown.selector, id));
        nft.safeTransferFrom(designer, buyer, id);
        // Still owned, still the same CID: a copy cannot be re-minted while it is down.
        vm.assertEq(nft.ownerOf(id), designer, "owner");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__AlreadyMinted.selector, id));
        nft.mint(CID_RAW, META, 100);
    }

    function test_takedown_byOwnerToo_andChecks() public {
        uint256 id = _mint(CID_V0, 500);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__NotModerator.selector, buyer));
        nft.takedown(id, REASON);
        vm.prank(moderator);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, bytes("")));
        nft.takedown(id, "");
        vm.prank(moderator);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 7));
        nft.takedown(7, REASON);
        vm.prank(owner);
        nft.takedown(id, REASON);
        vm.prank(moderator);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignNFT.DesignNFT__WrongState.selector, id, IDesignNFT.DesignState.TakenDown)
        );
        nft.takedown(id, REASON);
    }

    function test_appeal_byOwnerOrCreatorWithinTheWindowOnce() public {
        uint256 id = _mint(CID_V0, 500);
        vm.prank(designer);
        nft.transferFrom(designer, buyer, id);
        vm.prank(moderator);
        nft.takedown(id, REASON);
        vm.prank(minter);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__NotOwnerOrCreator.selector, id, minter));
        nft.appeal(id, META);
        vm.warp(block.timestamp + 14 days);
        vm.expectEmit(address(nft));
        emit IDesignNFT.DesignAppealed(id, designer, META);
        vm.prank(designer); // the creator, no longer the owner
        nft.appeal(id, META);
        vm.assertEq(uint256(nft.stateOf(id)), uint256(IDesignNFT.DesignState.Appealed), "appealed");
        (, bool appealable) = nft.takedownOf(id);
        vm.assertTrue(!appealable, "not twice");
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignNFT.DesignNFT__WrongState.selector, id, IDesignNFT.DesignState.Appealed)
        );
        nft.appeal(id, META);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__TakenDown.selector, id));
        nft.transferFrom(buyer, designer, id);
        // Governance upholds: final.
        vm.expectEmit(address(nft));
        emit IDesignNFT.TakedownUpheld(id);
        vm.prank(owner);
        nft.uphold(id);
        vm.assertEq(uint256(nft.stateOf(id)), uint256(IDesignNFT.DesignState.TakenDown), "down again");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__AppealClosed.selector, id));
        nft.appeal(id, META);
        // ...though governance may still restore it later.
        vm.prank(owner);
        nft.restore(id);
        vm.assertEq(uint256(nft.stateOf(id)), uint256(IDesignNFT.DesignState.Active), "restored");
    }

    function test_appeal_closedAfterTheWindow() public {
        uint256 id = _mint(CID_V0, 500);
        vm.prank(moderator);
        nft.takedown(id, REASON);
        vm.warp(block.timestamp + 14 days + 1);
        (, bool appealable) = nft.takedownOf(id);
        vm.assertTrue(!appealable, "closed");
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__AppealClosed.selector, id));
        nft.appeal(id, META);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__InvalidCid.selector, bytes("x")));
        nft.appeal(id, "x");
    }

    function test_restore_fromTakenDownOrAppealed_thenUsable() public {
        uint256 id = _mint(CID_V0, 500);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignNFT.DesignNFT__WrongState.selector, id, IDesignNFT.DesignState.Active)
        );
        nft.restore(id);
        vm.prank(moderator);
        nft.takedown(id, REASON);
        vm.prank(moderator);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, moderator));
        nft.restore(id); // only governance lifts a takedown
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignNFT.DesignNFT__WrongState.selector, id, IDesignNFT.DesignState.TakenDown)
        );
        nft.uphold(id); // nothing to uphold without an appeal
        vm.expectEmit(address(nft));
        emit IDesignNFT.DesignRestored(id);
        vm.prank(owner);
        nft.restore(id);
        (uint64 at,) = nft.takedownOf(id);
        vm.assertEq(uint256(at), 0, "record cleared");
        vm.prank(designer);
        nft.transferFrom(designer, buyer, id);
        // A second takedown gets a fresh appeal.
        vm.prank(moderator);
        nft.takedown(id, REASON);
        vm.prank(buyer);
        nft.appeal(id, META);
        vm.prank(owner);
        nft.restore(id);
        vm.assertEq(uint256(nft.stateOf(id)), uint256(IDesignNFT.DesignState.Active), "active again");
        vm.assertEq(nft.ownerOf(id), buyer, "owner kept");
        vm.assertEq(uint256(nft.royaltyBpsOf(id)), 500, "royalty kept");
        vm.assertEq(nft.cidOf(id), CID_V0, "cid kept");
    }
}
