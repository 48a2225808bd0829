// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {DesignMarket} from "../../src/design/DesignMarket.sol";
import {IDesignMarket} from "../../src/interfaces/IDesignMarket.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {FabricationLicences} from "../../src/design/FabricationLicences.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @notice Cheatcodes the shared Vm interface lacks.
interface DesignMarketVm {
    function chainId(uint256 newChainId) external;
}

/// @notice The design market deployed beside the real DesignNFT and FabricationLicences (ERC-1155, id = design
/// id, royalty delegated to the DesignNFT; licences are handed out by free terms, see `giveLicences`), four
/// signing accounts with known keys (creator, seller, buyer) holding the stablecoin and approving the
/// market, and order/signature helpers. The digest is rebuilt here from the documented EIP-712 type string,
/// independently of the market.
abstract contract DesignMarketFixture is TestBase {
    DesignMarketVm internal constant vmx = DesignMarketVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address maker,uint8 side,uint8 asset,uint8 scope,uint256 tokenId,address creator,address currency,"
        "uint256 price,uint256 amount,uint64 expiry,uint64 nonce,uint64 counter)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    uint8 internal constant LISTING = 0;
    uint8 internal constant OFFER = 1;
    uint8 internal constant DESIGN = 0;
    uint8 internal constant LICENCE = 1;
    uint8 internal constant ONE_TOKEN = 0;
    uint8 internal constant BY_CREATOR = 1;

    uint16 internal constant FEE_BPS = 250;
    uint16 internal constant ROYALTY_BPS = 500;
    uint256 internal constant WALLET = 1_000_000e6;

    uint256 internal constant CREATOR_KEY = 0xC4EA;
    uint256 internal constant SELLER_KEY = 0x5E11;
    uint256 internal constant BUYER_KEY = 0xB0B;
    uint256 internal constant OTHER_CREATOR_KEY = 0xC4EB;

    bytes internal constant META_CID = hex"12201111111111111111111111111111111111111111111111111111111111111111";

    address internal constant JOB_MARKET = address(0x70B);
    address internal owner = address(0xA11CE);
    address internal treasury = address(0x7EA5);
    address internal creator;
    address internal seller;
    address internal buyer;
    address internal otherCreator;

    DesignNFT internal designs;
    FabricationLicences internal licences;
    DesignMarket internal market;
    TestStablecoin internal usd;

    uint256 internal cidSalt;

    function setUp() public virtual {
        creator = vm.addr(CREATOR_KEY);
        seller = vm.addr(SELLER_KEY);
        buyer = vm.addr(BUYER_KEY);
        otherCreator = vm.addr(OTHER_CREATOR_KEY);
        vm.label(creator, "creator");
        vm.label(seller, "seller");
        vm.label(buyer, "buyer");
        vm.label(treasury, "treasury");

        usd = new TestStablecoin(owner);
        designs = new DesignNFT(owner);
        // The job market the licences answer to is not needed here: any non-zero address.
        licences = new FabricationLicences(owner, IDesignNFT(address(designs)), JOB_MARKET, treasury, 0);
        vm.startPrank(owner);
        designs.setLicences(address(licences));
        licences.setCurrency(address(usd), true);
        vm.stopPrank();
        market = new DesignMarket(owner, IERC721(address(designs)), IERC1155(address(licences)), treasury, FEE_BPS);
        vm.prank(owner);
        market.setCurrency(address(usd), true);

        address[4] memory people = [creator, seller, buyer, otherCreator];
        for (uint256 i; i < people.length; ++i) {
            fund(people[i], WALLET);
            vm.startPrank(people[i]);
            usd.approve(address(market), type(uint256).max);
            usd.approve(address(licences), type(uint256).max);
            designs.setApprovalForAll(address(market), true);
            licences.setApprovalForAll(address(market), true);
            vm.stopPrank();
        }
    }

    // --------------------------------------------------------------------------------- helpers

    function fund(address who, uint256 amount) internal {
        vm.prank(owner);
        usd.mint(who, amount);
    }

    /// @dev A fresh CIDv0 (0x1220 || digest).
    function nextCid() internal returns (bytes memory) {
        return abi.encodePacked(hex"1220", keccak256(abi.encode("design", ++cidSalt)));
    }

    /// @dev `who` mints a fresh design with `bps` royalty.
    function mintDesign(address who, uint16 bps) internal returns (uint256 id) {
        vm.prank(who);
        id = designs.mint(nextCid(), META_CID, bps);
    }

    /// @dev `holder` gets `units` licences of design `id`, bought on free terms its current owner sets (no money
    /// moves: balances in the tests stay those of the market's fills).
    function giveLicences(address holder, uint256 id, uint256 units) internal {
        address designOwner = designs.ownerOf(id);
        vm.prank(designOwner);
        licences.setTerms(id, address(usd), 0, 0, 0, 0);
        vm.prank(holder);
        licences.buy(id, units, holder, address(usd), 0);
    }

    /// @dev A design minted by `creator` (royalty ROYALTY_BPS) and handed to `holder`.
    function designHeldBy(address holder) internal returns (uint256 id) {
        id = mintDesign(creator, ROYALTY_BPS);
        if (holder != creator) {
            vm.prank(creator);
            designs.transferFrom(creator, holder, id);
        }
    }

    function listing(address maker, uint256 tokenId, uint256 price, uint64 nonce)
        internal
        view
        returns (IDesignMarket.Order memory o)
    {
        o.maker = maker;
        o.side = LISTING;
        o.asset = DESIGN;
        o.scope = ONE_TOKEN;
        o.tokenId = tokenId;
        o.currency = address(usd);
        o.price = price;
        o.amount = 1;
        o.expiry = uint64(block.timestamp + 7 days);
        o.nonce = nonce;
        o.counter = market.counterOf(maker);
    }

    function offer(address maker, uint256 tokenId, uint256 price, uint64 nonce)
        internal
        view
        returns (IDesignMarket.Order memory o)
    {
        o = listing(maker, tokenId, price, nonce);
        o.side = OFFER;
    }

    function creatorOffer(address maker, address designer, uint256 price, uint64 nonce)
        internal
        view
        returns (IDesignMarket.Order memory o)
    {
        o = offer(maker, 0, price, nonce);
        o.scope = BY_CREATOR;
        o.creator = designer;
    }

    function licenceListing(address maker, uint256 tokenId, uint256 price, uint256 amount, uint64 nonce)
        internal
        view
        returns (IDesignMarket.Order memory o)
    {
        o = listing(maker, tokenId, price, nonce);
        o.asset = LICENCE;
        o.amount = amount;
    }

    /// @dev The EIP-712 digest, built from the documented type strings (not by the market).
    function digestOf(IDesignMarket.Order memory o, address verifyingContract) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("Fabrica DesignMarket"),
                keccak256("1"),
                block.chainid,
                verifyingContract
            )
        );
        // Field by field, each as one 32-byte word (two halves: one abi.encode of 13 values is too deep a stack).
        bytes32 structHash = keccak256(
            abi.encodePacked(
                abi.encode(ORDER_TYPEHASH, o.maker, o.side, o.asset, o.scope, o.tokenId, o.creator),
                abi.encode(o.currency, o.price, o.amount, o.expiry, o.nonce, o.counter)
            )
        );
        return keccak256(abi.encodePacked(hex"1901", domain, structHash));
    }

    function sign(uint256 key, IDesignMarket.Order memory o) internal view returns (bytes memory) {
        return signFor(key, o, address(market));
    }

    function signFor(uint256 key, IDesignMarket.Order memory o, address verifyingContract)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digestOf(o, verifyingContract));
        return abi.encodePacked(r, s, v);
    }

    function fillAs(address taker, IDesignMarket.Order memory o, bytes memory sig, uint256 units, uint256 tokenId)
        internal
        returns (bytes32)
    {
        vm.prank(taker);
        return market.fill(o, sig, units, tokenId);
    }

    function fee(uint256 total) internal view returns (uint256) {
        return total * market.feeBps() / 10_000;
    }

    function royalty(uint256 tokenId, uint256 total) internal view returns (uint256) {
        (, uint256 r) = designs.royaltyInfo(tokenId, total);
        return r;
    }

    /// @dev The fields of an OrderFilled event.
    struct Filled {
        bytes32 digest;
        address maker;
        address taker;
        uint8 side;
        uint8 asset;
        uint256 tokenId;
        uint256 units;
        address currency;
        uint256 total;
        uint256 fee;
        address receiver;
        uint256 royalty;
    }

    /// @dev The OrderFilled event a fill of `units` of `o` by `taker` must emit (royalty from the DesignNFT).
    function filledEvent(IDesignMarket.Order memory o, address taker, uint256 tokenId, uint256 units)
        internal
        view
        returns (Filled memory f)
    {
        f.digest = digestOf(o, address(market));
        f.maker = o.maker;
        f.taker = taker;
        f.side = o.side;
        f.asset = o.asset;
        f.tokenId = tokenId;
        f.units = units;
        f.currency = o.currency;
        f.total = o.price * units;
        f.fee = fee(f.total);
        (f.receiver, f.royalty) = designs.royaltyInfo(tokenId, f.total);
    }

    /// @dev Expects the next call to emit exactly `f` from the market.
    function expectFilled(Filled memory f) internal {
        vm.expectEmit(address(market));
        emit IDesignMarket.OrderFilled(
            f.digest, f.maker, f.taker, f.side, f.asset, f.tokenId, f.units, f.currency, f.total, f.fee, f.receiver,
            f.royalty
        );
    }

    function assertMarketHoldsNothing() internal view {
        vm.assertEq(usd.balanceOf(address(market)), 0, "market holds no money");
        vm.assertEq(designs.balanceOf(address(market)), 0, "market holds no design");
    }
}
