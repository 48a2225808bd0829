// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {DesignMarketFixture} from "./DesignMarketFixture.sol";
import {Vm} from "../utils/Vm.sol";
import {DesignMarket} from "../../src/design/DesignMarket.sol";
import {IDesignMarket} from "../../src/interfaces/IDesignMarket.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC1271Wallet} from "../mocks/ERC1271Wallet.sol";
import {MockLicences} from "../mocks/MockLicences.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @notice Unit tests of DesignMarket: deployment, governance, listings and offers of designs and licences,
/// creator offers, partial fills, cancellation by nonce and counter, expiry, replay across fills, chains and
/// deployments, ERC-1271 makers, the currency allowlist and the royalty on every fill.
contract DesignMarketTest is DesignMarketFixture {
    uint256 internal constant PRICE = 50e6;
    address internal constant STRANGER = address(0x5757);

    // ------------------------------------------------------------------------------ deployment

    function test_constructor_setsEverything() public view {
        vm.assertEq(market.designs(), address(designs), "designs");
        vm.assertEq(market.licences(), address(licences), "licences");
        vm.assertEq(market.treasury(), treasury, "treasury");
        vm.assertEq(market.feeBps(), FEE_BPS, "fee");
        vm.assertEq(market.owner(), owner, "owner");
        vm.assertEq(market.ORDER_TYPEHASH(), ORDER_TYPEHASH, "the documented type string");
        vm.assertEq(market.MAX_FEE_BPS(), 1_000, "max fee");
        bytes32 domain = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("Fabrica DesignMarket"), keccak256("1"), block.chainid, address(market)
            )
        );
        vm.assertEq(market.domainSeparator(), domain, "domain");
        vm.assertTrue(market.isCurrencyAllowed(address(usd)), "usd allowed");
        vm.assertEq(market.currencies().length, 1, "one currency");
    }

    function test_constructor_rejectsBadArguments() public {
        IERC721 d = IERC721(address(designs));
        IERC1155 l = IERC1155(address(licences));
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__ZeroAddress.selector, "designs"));
        new DesignMarket(owner, IERC721(address(0)), l, treasury, FEE_BPS);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__ZeroAddress.selector, "licences"));
        new DesignMarket(owner, d, IERC1155(address(0)), treasury, FEE_BPS);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NotAContract.selector, STRANGER));
        new DesignMarket(owner, IERC721(STRANGER), l, treasury, FEE_BPS);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NotAContract.selector, STRANGER));
        new DesignMarket(owner, d, IERC1155(STRANGER), treasury, FEE_BPS);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__ZeroAddress.selector, "treasury"));
        new DesignMarket(owner, d, l, address(0), FEE_BPS);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__FeeTooHigh.selector, 1_001, 1_000));
        new DesignMarket(owner, d, l, treasury, 1_001);
    }

    // ------------------------------------------------------------------------------ governance

    function test_governance_onlyOwner() public {
        vm.startPrank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER));
        market.setFeeBps(0);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER));
        market.setTreasury(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER));
        market.setCurrency(STRANGER, true);
        vm.stopPrank();
    }

    function test_setFeeBps_boundsEventAndNextFills() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__FeeTooHigh.selector, 1_001, 1_000));
        market.setFeeBps(1_001);
        vm.expectEmit(address(market));
        emit IDesignMarket.FeeSet(1_000);
        vm.prank(owner);
        market.setFeeBps(1_000);
        vm.assertEq(market.feeBps(), 1_000, "fee");

        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        uint256 before = usd.balanceOf(treasury);
        fillAs(buyer, o, sign(SELLER_KEY, o), 1, id);
        vm.assertEq(usd.balanceOf(treasury) - before, PRICE / 10, "the new fee applies to signed orders");
    }

    function test_setFeeBps_zeroSkipsTheFeeLeg() public {
        vm.prank(owner);
        market.setFeeBps(0);
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        fillAs(buyer, o, sign(SELLER_KEY, o), 1, id);
        vm.assertEq(usd.balanceOf(treasury), 0, "no fee");
        vm.assertEq(usd.balanceOf(creator), WALLET + royalty(id, PRICE), "royalty still paid");
    }

    function test_setTreasury_redirectsFees() public {
        address newTreasury = address(0x7EA6);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__ZeroAddress.selector, "treasury"));
        market.setTreasury(address(0));
        vm.expectEmit(address(market));
        emit IDesignMarket.TreasurySet(newTreasury);
        vm.prank(owner);
        market.setTreasury(newTreasury);
        vm.assertEq(market.treasury(), newTreasury, "treasury");

        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        fillAs(buyer, o, sign(SELLER_KEY, o), 1, id);
        vm.assertEq(usd.balanceOf(newTreasury), fee(PRICE), "fee to the new treasury");
        vm.assertEq(usd.balanceOf(treasury), 0, "nothing to the old one");
    }

    function test_setCurrency_listRemoveAndCap() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__ZeroAddress.selector, "currency"));
        market.setCurrency(address(0), true);

        address[] memory extra = new address[](15);
        for (uint256 i; i < extra.length; ++i) {
            extra[i] = address(uint160(0xC000 + i));
            vm.expectEmit(address(market));
            emit IDesignMarket.CurrencySet(extra[i], true);
            vm.prank(owner);
            market.setCurrency(extra[i], true);
        }
        vm.assertEq(market.currencies().length, 16, "sixteen");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__TooManyCurrencies.selector, 16));
        market.setCurrency(address(0xC0FF), true);
        // Allowing an allowed one again changes nothing.
        vm.prank(owner);
        market.setCurrency(extra[3], true);
        vm.assertEq(market.currencies().length, 16, "still sixteen");

        vm.prank(owner);
        market.setCurrency(extra[3], false);
        vm.assertFalse(market.isCurrencyAllowed(extra[3]), "removed");
        address[] memory list = market.currencies();
        vm.assertEq(list.length, 15, "fifteen");
        for (uint256 i; i < list.length; ++i) {
            vm.assertTrue(list[i] != extra[3], "not listed");
            vm.assertTrue(market.isCurrencyAllowed(list[i]), "listed = allowed");
        }
        // Refusing a refused one changes nothing.
        vm.prank(owner);
        market.setCurrency(extra[3], false);
        vm.assertEq(market.currencies().length, 15, "still fifteen");
        vm.prank(owner);
        market.setCurrency(address(0xC0FF), true);
        vm.assertTrue(market.isCurrencyAllowed(address(0xC0FF)), "room again");
    }

    function test_removedCurrency_killsItsOrders() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(owner);
        market.setCurrency(address(usd), false);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__CurrencyNotAllowed.selector, address(usd)));
        market.fill(o, sig, 1, id);
        // Allowed again: the fee and treasury are stamped afresh.
        vm.prank(owner);
        market.setCurrency(address(usd), true);
        fillAs(buyer, o, sig, 1, id);
        vm.assertEq(usd.balanceOf(treasury), fee(PRICE), "fee");
    }

    function test_nonAllowlistedCurrency_refused() public {
        TestStablecoin other = new TestStablecoin(owner);
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        o.currency = address(other);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignMarket.DesignMarket__CurrencyNotAllowed.selector, address(other))
        );
        market.fill(o, sig, 1, id);
    }

    // ------------------------------------------------------------------------------ design fills

    function test_listing_paysEveryoneAndMovesTheDesign() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes32 digest = digestOf(o, address(market));
        vm.assertEq(market.orderHash(o), digest, "orderHash = the independent EIP-712 digest");
        vm.assertEq(market.remaining(o), 1, "remaining before");
        uint256 f = fee(PRICE);
        uint256 r = royalty(id, PRICE);
        vm.assertEq(r, PRICE * ROYALTY_BPS / 10_000, "5 % royalty");

        Filled memory e = filledEvent(o, buyer, id, 1);
        vm.assertEq(e.fee, f, "fee");
        vm.assertEq(e.receiver, creator, "royalty to the creator");
        expectFilled(e);
        bytes32 returned = fillAs(buyer, o, sign(SELLER_KEY, o), 1, id);

        vm.assertEq(returned, digest, "returns the digest");
        vm.assertEq(designs.ownerOf(id), buyer, "design moved");
        vm.assertEq(usd.balanceOf(buyer), WALLET - PRICE, "buyer paid the price");
        vm.assertEq(usd.balanceOf(seller), WALLET + PRICE - f - r, "seller");
        vm.assertEq(usd.balanceOf(treasury), f, "treasury");
        vm.assertEq(usd.balanceOf(creator), WALLET + r, "creator");
        vm.assertTrue(market.nonceUsed(seller, 0), "nonce used");
        vm.assertEq(market.remaining(o), 0, "nothing left");
        vm.assertEq(market.filled(digest), 0, "a design order records its nonce only");
        assertMarketHoldsNothing();
    }

    function test_listing_tokenIdZeroStandsForTheSignedToken() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        expectFilled(filledEvent(o, buyer, id, 1));
        fillAs(buyer, o, sign(SELLER_KEY, o), 1, 0);
        vm.assertEq(designs.ownerOf(id), buyer, "design moved");
    }

    function test_listing_byTheCreator_foldsTheRoyaltyIntoTheProceeds() public {
        uint256 id = mintDesign(creator, ROYALTY_BPS);
        IDesignMarket.Order memory o = listing(creator, id, PRICE, 0);
        vm.recordLogs();
        fillAs(buyer, o, sign(CREATOR_KEY, o), 1, id);
        vm.assertEq(usd.balanceOf(creator), WALLET + PRICE - fee(PRICE), "creator gets price less fee");
        vm.assertEq(usd.balanceOf(treasury), fee(PRICE), "fee");
        // Two money transfers (fee, creator), not three.
        Vm.Log[] memory logs = _logs();
        uint256 transfers;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(usd)) ++transfers;
        }
        vm.assertEq(transfers, 2, "two transfers");
    }

    function test_offer_sellerTakesIt() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = offer(buyer, id, PRICE, 0);
        expectFilled(filledEvent(o, seller, id, 1));
        fillAs(seller, o, sign(BUYER_KEY, o), 1, id);
        vm.assertEq(designs.ownerOf(id), buyer, "design to the offerer");
        vm.assertEq(usd.balanceOf(buyer), WALLET - PRICE, "offerer paid");
        vm.assertEq(usd.balanceOf(seller), WALLET + PRICE - fee(PRICE) - royalty(id, PRICE), "seller");
        vm.assertTrue(market.nonceUsed(buyer, 0), "offer used");
        assertMarketHoldsNothing();
    }

    function test_creatorOffer_fillsWithAnyDesignOfTheCreator() public {
        uint256 a = designHeldBy(seller);
        uint256 b = designHeldBy(seller);
        IDesignMarket.Order memory o = creatorOffer(buyer, creator, PRICE, 0);
        bytes memory sig = sign(BUYER_KEY, o);
        fillAs(seller, o, sig, 1, b);
        vm.assertEq(designs.ownerOf(b), buyer, "b bought");
        vm.assertEq(designs.ownerOf(a), seller, "a kept");
        // The offer is spent.
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, buyer, 0));
        market.fill(o, sig, 1, a);
    }

    function test_creatorOffer_refusesAnotherCreatorsDesign() public {
        vm.prank(otherCreator);
        uint256 foreign = designs.mint(nextCid(), META_CID, ROYALTY_BPS);
        IDesignMarket.Order memory o = creatorOffer(buyer, creator, PRICE, 0);
        bytes memory sig = sign(BUYER_KEY, o);
        vm.prank(otherCreator);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignMarket.DesignMarket__CreatorMismatch.selector, foreign, otherCreator, creator)
        );
        market.fill(o, sig, 1, foreign);
        // An unknown design has no creator.
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 12345));
        market.fill(o, sig, 1, 12345);
    }

    function test_creatorScope_onListingsOrWithoutCreator_isInvalid() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        o.scope = BY_CREATOR;
        o.creator = creator;
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(buyer);
        vm.expectRevert(IDesignMarket.DesignMarket__InvalidOrder.selector);
        market.fill(o, sig, 1, id);

        o = creatorOffer(buyer, address(0), PRICE, 0);
        sig = sign(BUYER_KEY, o);
        vm.prank(seller);
        vm.expectRevert(IDesignMarket.DesignMarket__InvalidOrder.selector);
        market.fill(o, sig, 1, id);
    }

    function test_invalidOrders() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory base = listing(seller, id, PRICE, 0);
        IDesignMarket.Order[] memory bad = new IDesignMarket.Order[](8);
        for (uint256 i; i < bad.length; ++i) {
            bad[i] = listing(seller, id, PRICE, 0);
        }
        bad[0].side = 2;
        bad[1].asset = 2;
        bad[2].scope = 2;
        bad[3].price = 0; // a free "sale" would move a design without a royalty
        bad[4].amount = 2; // a design is one unit
        bad[5].amount = 0;
        bad[6].asset = LICENCE;
        bad[6].amount = 0;
        bad[7].maker = address(0);
        for (uint256 i; i < bad.length; ++i) {
            bytes memory sig = sign(SELLER_KEY, bad[i]);
            vm.prank(buyer);
            vm.expectRevert(IDesignMarket.DesignMarket__InvalidOrder.selector);
            market.fill(bad[i], sig, 1, id);
            vm.assertEq(market.remaining(bad[i]), 0, "an invalid order has nothing to fill");
        }
        vm.prank(buyer);
        vm.expectRevert(IDesignMarket.DesignMarket__ZeroUnits.selector);
        market.fill(base, sign(SELLER_KEY, base), 0, id);
    }

    function test_design_fillsExactlyOneUnit() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        bytes32 digest = digestOf(o, address(market));
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__Overfill.selector, digest, 2, 1));
        market.fill(o, sig, 2, id);
    }

    // ------------------------------------------------------------------------------ licences

    function test_licenceListing_partialFillsUpToAmount() public {
        uint256 id = designHeldBy(seller);
        giveLicences(seller, id, 10);
        uint256 unit = 3e6;
        IDesignMarket.Order memory o = licenceListing(seller, id, unit, 10, 7);
        bytes memory sig = sign(SELLER_KEY, o);
        bytes32 digest = digestOf(o, address(market));

        expectFilled(filledEvent(o, buyer, id, 3));
        fillAs(buyer, o, sig, 3, id);
        vm.assertEq(market.filled(digest), 3, "3 filled");
        vm.assertEq(market.remaining(o), 7, "7 left");
        vm.assertFalse(market.nonceUsed(seller, 7), "nonce still open");

        fillAs(buyer, o, sig, 4, id);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__Overfill.selector, digest, 4, 3));
        market.fill(o, sig, 4, id);
        fillAs(buyer, o, sig, 3, id);

        vm.assertEq(market.filled(digest), 10, "complete");
        vm.assertTrue(market.nonceUsed(seller, 7), "nonce used once complete");
        vm.assertEq(market.remaining(o), 0, "nothing left");
        vm.assertEq(licences.balanceOf(buyer, id), 10, "ten licences");
        vm.assertEq(usd.balanceOf(buyer), WALLET - 10 * unit, "paid exactly price * units");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, 7));
        market.fill(o, sig, 1, id);
        vm.assertEq(licences.balanceOf(address(market), id), 0, "market holds no licence");
        assertMarketHoldsNothing();
    }

    function test_licenceListing_filledAtOnce_usesTheNonceOnly() public {
        uint256 id = designHeldBy(seller);
        giveLicences(seller, id, 5);
        IDesignMarket.Order memory o = licenceListing(seller, id, 1e6, 5, 0);
        bytes32 digest = fillAs(buyer, o, sign(SELLER_KEY, o), 5, id);
        vm.assertEq(market.filled(digest), 0, "nothing recorded");
        vm.assertTrue(market.nonceUsed(seller, 0), "nonce used");
        vm.assertEq(market.remaining(o), 0, "nothing left");
    }

    function test_licenceOffer_andRoyaltyOnLicences() public {
        uint256 id = designHeldBy(seller);
        giveLicences(seller, id, 4);
        IDesignMarket.Order memory o = licenceListing(buyer, id, 2e6, 4, 0);
        o.side = OFFER;
        bytes memory sig = sign(BUYER_KEY, o);
        fillAs(seller, o, sig, 1, id);
        fillAs(seller, o, sig, 3, id);
        vm.assertEq(licences.balanceOf(buyer, id), 4, "licences to the offerer");
        vm.assertEq(usd.balanceOf(creator), WALLET + royalty(id, 2e6) + royalty(id, 6e6), "royalty on each fill");
        vm.assertEq(usd.balanceOf(treasury), fee(2e6) + fee(6e6), "fee on each fill");
    }

    function test_licence_ofATakenDownDesign_refused() public {
        uint256 id = designHeldBy(seller);
        giveLicences(seller, id, 4);
        IDesignMarket.Order memory o = licenceListing(seller, id, 2e6, 4, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(owner);
        designs.takedown(id, META_CID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__DesignNotActive.selector, id));
        market.fill(o, sig, 1, id);
        vm.prank(owner);
        designs.restore(id);
        fillAs(buyer, o, sig, 1, id);
        vm.assertEq(licences.balanceOf(buyer, id), 1, "restored: tradable");
    }

    /// @notice A token whose ERC-2981 answer exceeds what is left after the fee cannot be sold (the real
    /// contracts cap royalties at 50 % and the fee at 10 %, so this needs a stand-in licence contract).
    function test_royaltyAboveWhatIsLeft_reverts() public {
        MockLicences mock = new MockLicences(IERC2981(address(designs)));
        DesignMarket m = new DesignMarket(owner, IERC721(address(designs)), IERC1155(address(mock)), treasury, FEE_BPS);
        vm.prank(owner);
        m.setCurrency(address(usd), true);
        vm.prank(buyer);
        usd.approve(address(m), type(uint256).max);
        vm.prank(seller);
        mock.setApprovalForAll(address(m), true);
        uint256 id = designHeldBy(seller);
        mock.mint(seller, id, 1);
        mock.setRoyaltyOverride(creator, 9_800); // 98 % + 2.5 % fee > 100 %
        IDesignMarket.Order memory o = licenceListing(seller, id, 1e6, 1, 0);
        bytes memory sig = signFor(SELLER_KEY, o, address(m));
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignMarket.DesignMarket__RoyaltyTooHigh.selector, 1e6, fee(1e6), 980_000)
        );
        m.fill(o, sig, 1, id);
        // Exactly what is left is fine (the seller gets nothing).
        mock.setRoyaltyOverride(creator, 9_750);
        vm.prank(buyer);
        m.fill(o, sig, 1, id);
        vm.assertEq(usd.balanceOf(seller), WALLET, "seller got nothing");
        vm.assertEq(usd.balanceOf(creator), WALLET + 975_000, "royalty");
        // A malformed answer (the receiver word is no address) is refused.
        mock.setRoyaltyOverride(address(0), 0);
        vm.mockCall(
            address(mock), abi.encodeWithSelector(IERC2981.royaltyInfo.selector), abi.encode(uint256(1) << 160, 0)
        );
        IDesignMarket.Order memory o2 = licenceListing(seller, id, 1e6, 1, 1);
        mock.mint(seller, id, 1);
        bytes memory sig2 = signFor(SELLER_KEY, o2, address(m));
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__BadRoyaltyInfo.selector, address(mock)));
        m.fill(o2, sig2, 1, id);
    }

    // ------------------------------------------------------------------------------ cancellation

    function test_expiry_lastSecondFillsThenNever() public {
        uint256 a = designHeldBy(seller);
        uint256 b = designHeldBy(seller);
        IDesignMarket.Order memory oa = listing(seller, a, PRICE, 0);
        IDesignMarket.Order memory ob = listing(seller, b, PRICE, 1);
        vm.warp(oa.expiry);
        fillAs(buyer, oa, sign(SELLER_KEY, oa), 1, a);
        vm.warp(uint256(ob.expiry) + 1);
        vm.assertEq(market.remaining(ob), 0, "expired: nothing left");
        bytes memory sig = sign(SELLER_KEY, ob);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignMarket.DesignMarket__OrderExpired.selector, ob.expiry, block.timestamp)
        );
        market.fill(ob, sig, 1, b);
    }

    function test_cancel_byNonce() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 5);
        bytes memory sig = sign(SELLER_KEY, o);
        uint64[] memory nonces = new uint64[](3);
        (nonces[0], nonces[1], nonces[2]) = (5, 300, type(uint64).max);
        vm.expectEmit(address(market));
        emit IDesignMarket.OrderCancelled(seller, 5);
        vm.expectEmit(address(market));
        emit IDesignMarket.OrderCancelled(seller, 300);
        vm.expectEmit(address(market));
        emit IDesignMarket.OrderCancelled(seller, type(uint64).max);
        vm.prank(seller);
        market.cancel(nonces);
        for (uint256 i; i < 3; ++i) {
            vm.assertTrue(market.nonceUsed(seller, nonces[i]), "cancelled");
        }
        vm.assertFalse(market.nonceUsed(seller, 4), "neighbour untouched");
        vm.assertFalse(market.nonceUsed(seller, 301), "high neighbour untouched");
        vm.assertFalse(market.nonceUsed(buyer, 5), "other makers untouched");
        vm.assertEq(market.remaining(o), 0, "cancelled: nothing left");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, 5));
        market.fill(o, sig, 1, id);

        // Cancelling used nonces again is a no-op (a fill landing first cannot make a batch revert).
        vm.recordLogs();
        vm.prank(seller);
        market.cancel(nonces);
        vm.assertEq(_logs().length, 0, "no events for used nonces");
    }

    function test_cancel_stopsTheRestOfAPartiallyFilledLicenceOrder() public {
        uint256 id = designHeldBy(seller);
        giveLicences(seller, id, 10);
        IDesignMarket.Order memory o = licenceListing(seller, id, 1e6, 10, 200);
        bytes memory sig = sign(SELLER_KEY, o);
        fillAs(buyer, o, sig, 4, id);
        uint64[] memory nonces = new uint64[](1);
        nonces[0] = 200;
        vm.prank(seller);
        market.cancel(nonces);
        vm.assertEq(market.remaining(o), 0, "nothing left");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, 200));
        market.fill(o, sig, 1, id);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, 200));
        market.fill(o, sig, 6, id);
        vm.assertEq(licences.balanceOf(buyer, id), 4, "only what was filled before");
    }

    function test_incrementCounter_killsEveryOlderOrder() public {
        uint256 a = designHeldBy(seller);
        uint256 b = designHeldBy(seller);
        IDesignMarket.Order memory oa = listing(seller, a, PRICE, 0);
        IDesignMarket.Order memory ob = listing(seller, b, PRICE, 400);
        bytes memory sa = sign(SELLER_KEY, oa);
        bytes memory sb = sign(SELLER_KEY, ob);
        // One order filled before: its nonce stays used across the counter change.
        uint256 c = designHeldBy(seller);
        IDesignMarket.Order memory oc = listing(seller, c, PRICE, 1);
        fillAs(buyer, oc, sign(SELLER_KEY, oc), 1, c);

        vm.expectEmit(address(market));
        emit IDesignMarket.CounterIncremented(seller, 1);
        vm.prank(seller);
        vm.assertEq(market.incrementCounter(), 1, "counter 1");
        vm.assertEq(market.counterOf(seller), 1, "counterOf");
        vm.assertTrue(market.nonceUsed(seller, 1), "used nonce survives the counter change");
        vm.assertEq(market.remaining(oa), 0, "stale: nothing left");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__CounterStale.selector, seller, 0, 1));
        market.fill(oa, sa, 1, a);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__CounterStale.selector, seller, 0, 1));
        market.fill(ob, sb, 1, b);

        // Re-signed with the new counter (same nonces): fills.
        oa = listing(seller, a, PRICE, 0);
        vm.assertEq(oa.counter, 1, "new counter");
        fillAs(buyer, oa, sign(SELLER_KEY, oa), 1, a);
        vm.assertEq(designs.ownerOf(a), buyer, "filled under the new counter");
        // A future counter is stale too.
        ob = listing(seller, b, PRICE, 400);
        ob.counter = 2;
        sb = sign(SELLER_KEY, ob);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__CounterStale.selector, seller, 2, 1));
        market.fill(ob, sb, 1, b);
    }

    function test_highNonce_usedOnce() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 70_000);
        bytes memory sig = sign(SELLER_KEY, o);
        fillAs(buyer, o, sig, 1, id);
        vm.assertTrue(market.nonceUsed(seller, 70_000), "used");
        vm.assertFalse(market.nonceUsed(seller, 70_001), "neighbour free");
        // The design comes back to the seller: the signed listing still cannot fill again.
        vm.prank(buyer);
        designs.transferFrom(buyer, seller, id);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, 70_000));
        market.fill(o, sig, 1, id);
    }

    // ------------------------------------------------------------------------------ replay

    function test_replay_sameFill_refused() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        fillAs(buyer, o, sig, 1, id);
        vm.prank(buyer);
        designs.transferFrom(buyer, seller, id);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, 0));
        market.fill(o, sig, 1, id);
    }

    function test_replay_acrossChains_refused() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        bytes32 here = market.domainSeparator();
        vmx.chainId(block.chainid + 1);
        vm.assertNotEq(market.domainSeparator(), here, "the domain follows the chain id");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
        market.fill(o, sig, 1, id);
        // Signed for the new chain, it fills.
        fillAs(buyer, o, sign(SELLER_KEY, o), 1, id);
        vm.assertEq(designs.ownerOf(id), buyer, "filled on its own chain");
    }

    function test_replay_acrossDeployments_refused() public {
        DesignMarket other = new DesignMarket(
            owner, IERC721(address(designs)), IERC1155(address(licences)), treasury, FEE_BPS
        );
        vm.prank(owner);
        other.setCurrency(address(usd), true);
        vm.prank(seller);
        designs.setApprovalForAll(address(other), true);
        vm.prank(buyer);
        usd.approve(address(other), type(uint256).max);

        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o); // for `market`
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
        other.fill(o, sig, 1, id);
        fillAs(buyer, o, sig, 1, id);
        vm.assertEq(designs.ownerOf(id), buyer, "filled where it was signed");
    }

    function test_signature_wrongSignerTamperedOrMalformed_refused() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(BUYER_KEY, o); // not the maker
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
        market.fill(o, sig, 1, id);

        sig = sign(SELLER_KEY, o);
        IDesignMarket.Order memory cheaper = listing(seller, id, PRICE - 1, 0);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
        market.fill(cheaper, sig, 1, id);

        IDesignMarket.Order memory flipped = listing(seller, id, PRICE, 0);
        flipped.side = OFFER; // a listing's signature is no offer
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
        market.fill(flipped, sig, 1, id);

        fillAs(buyer, o, sig, 1, id);
    }

    function test_signature_malleableCompactOrMalformed_refused() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes[4] memory sigs = _badSignatures(SELLER_KEY, digestOf(o, address(market)));
        for (uint256 i; i < sigs.length; ++i) {
            vm.prank(buyer);
            vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
            market.fill(o, sigs[i], 1, id);
        }
        fillAs(buyer, o, sign(SELLER_KEY, o), 1, id);
    }

    /// @dev The malleable twin (s' = n - s, v flipped), the ERC-2098 64-byte form, a v of 29 and nothing.
    function _badSignatures(uint256 key, bytes32 digest) internal pure returns (bytes[4] memory sigs) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        sigs[0] = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        sigs[1] = abi.encodePacked(r, bytes32(uint256(s) | (uint256(v - 27) << 255)));
        sigs[2] = abi.encodePacked(r, s, uint8(29));
        sigs[3] = "";
    }

    // ------------------------------------------------------------------------------ ERC-1271 makers

    function test_contractWallet_listsAndOffers() public {
        ERC1271Wallet wallet = new ERC1271Wallet(seller);
        uint256 id = designHeldBy(address(wallet));
        vm.startPrank(seller);
        wallet.execute(address(designs), abi.encodeCall(IERC721.setApprovalForAll, (address(market), true)));
        wallet.execute(address(usd), abi.encodeCall(IERC20.approve, (address(market), type(uint256).max)));
        vm.stopPrank();
        fund(address(wallet), WALLET);

        // The wallet lists; its owner's key signs for it.
        IDesignMarket.Order memory o = listing(address(wallet), id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        fillAs(buyer, o, sig, 1, id);
        vm.assertEq(designs.ownerOf(id), buyer, "bought from the wallet");
        vm.assertEq(usd.balanceOf(address(wallet)), WALLET + PRICE - fee(PRICE) - royalty(id, PRICE), "paid");

        // The wallet offers for it back.
        IDesignMarket.Order memory back = offer(address(wallet), id, PRICE, 1);
        fillAs(buyer, back, sign(SELLER_KEY, back), 1, id);
        vm.assertEq(designs.ownerOf(id), address(wallet), "bought back by the wallet");

        // A signature by anyone else is refused by the wallet.
        IDesignMarket.Order memory forged = offer(address(wallet), id, 1, 2);
        bytes memory bad = sign(BUYER_KEY, forged);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, address(wallet)));
        market.fill(forged, bad, 1, id);
    }

    // ------------------------------------------------------------------------------ helpers

    function _logs() internal returns (Vm.Log[] memory) {
        return vm.getRecordedLogs();
    }
}
