// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {DesignMarketFixture} from "./DesignMarketFixture.sol";
import {IDesignMarket} from "../../src/interfaces/IDesignMarket.sol";

/// @notice Fuzz tests of the design market: conservation on every fill (seller + fee + royalty = price * units,
/// the buyer pays exactly that, the market keeps nothing), partial licence fills never exceeding the amount,
/// and no fill for a wrong signer, an expired order, a cancelled nonce, a stale counter or another chain.
contract DesignMarketFuzzTest is DesignMarketFixture {
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function testFuzz_designFill_conserves(uint256 price, uint16 feeBps, uint16 royaltyBps, bool isOffer) public {
        price = bound(price, 1, 1e36);
        feeBps = uint16(bound(feeBps, 0, market.MAX_FEE_BPS()));
        royaltyBps = uint16(bound(royaltyBps, 0, designs.maxRoyaltyBps()));
        vm.prank(owner);
        market.setFeeBps(feeBps);
        uint256 id = mintDesign(creator, royaltyBps);
        vm.prank(creator);
        designs.transferFrom(creator, seller, id);
        fund(buyer, price);

        IDesignMarket.Order memory o = isOffer ? offer(buyer, id, price, 0) : listing(seller, id, price, 0);
        uint256[4] memory before = _balances();
        if (isOffer) fillAs(seller, o, sign(BUYER_KEY, o), 1, id);
        else fillAs(buyer, o, sign(SELLER_KEY, o), 1, id);
        uint256[4] memory afterwards = _balances();

        uint256 f = price * feeBps / 10_000;
        uint256 r = price * royaltyBps / 10_000;
        vm.assertEq(before[0] - afterwards[0], price, "buyer paid exactly the price");
        vm.assertEq(afterwards[1] - before[1], price - f - r, "seller");
        vm.assertEq(afterwards[2] - before[2], f, "fee");
        vm.assertEq(afterwards[3] - before[3], r, "royalty");
        vm.assertEq(designs.ownerOf(id), buyer, "design moved");
        assertMarketHoldsNothing();
    }

    function testFuzz_licenceFills_neverExceedAmount(uint256 price, uint256 amount, uint256 seed) public {
        price = bound(price, 1, 1e30);
        amount = bound(amount, 1, 40);
        uint256 id = designHeldBy(seller);
        giveLicences(seller, id, amount + 5);
        fund(buyer, price * (amount + 5));
        IDesignMarket.Order memory o = licenceListing(seller, id, price, amount, uint64(seed % 500));
        bytes memory sig = sign(SELLER_KEY, o);
        uint256 done;
        uint256 paidOut;
        uint256 buyerStart = usd.balanceOf(buyer);
        while (done < amount) {
            seed = uint256(keccak256(abi.encode(seed)));
            uint256 units = bound(seed, 1, amount - done + 1); // sometimes one too many
            if (units > amount - done) {
                vm.prank(buyer);
                vm.expectRevert();
                market.fill(o, sig, units, id);
                continue;
            }
            uint256[4] memory b = _balances();
            fillAs(buyer, o, sig, units, id);
            uint256[4] memory a = _balances();
            uint256 total = price * units;
            vm.assertEq(b[0] - a[0], total, "buyer paid price * units");
            vm.assertEq((a[1] - b[1]) + (a[2] - b[2]) + (a[3] - b[3]), total, "seller + fee + royalty = total");
            paidOut += total;
            done += units;
            vm.assertEq(market.remaining(o), amount - done, "remaining");
        }
        vm.assertEq(licences.balanceOf(buyer, id), amount, "exactly amount");
        vm.assertEq(buyerStart - usd.balanceOf(buyer), paidOut, "total paid");
        vm.assertEq(paidOut, price * amount, "price * amount");
        vm.assertTrue(market.nonceUsed(seller, o.nonce), "nonce used at completion");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, o.nonce));
        market.fill(o, sig, 1, id);
        vm.assertEq(licences.balanceOf(address(market), id), 0, "market holds no licence");
        assertMarketHoldsNothing();
    }

    function testFuzz_wrongSigner_neverFills(uint256 key) public {
        key = bound(key, 1, SECP256K1_N - 1);
        vm.assume(key != SELLER_KEY);
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, 1e6, 0);
        bytes memory sig = sign(key, o);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
        market.fill(o, sig, 1, id);
    }

    function testFuzz_expired_neverFills(uint64 expiry, uint256 at) public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, 1e6, 0);
        expiry = uint64(bound(expiry, block.timestamp, type(uint64).max - 1));
        o.expiry = expiry;
        bytes memory sig = sign(SELLER_KEY, o);
        vm.warp(bound(at, uint256(expiry) + 1, type(uint64).max));
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignMarket.DesignMarket__OrderExpired.selector, expiry, block.timestamp)
        );
        market.fill(o, sig, 1, id);
    }

    function testFuzz_cancelledNonce_neverFills(uint64 nonce, uint64 other) public {
        vm.assume(nonce != other);
        uint256 a = designHeldBy(seller);
        uint256 b = designHeldBy(seller);
        IDesignMarket.Order memory oa = listing(seller, a, 1e6, nonce);
        IDesignMarket.Order memory ob = listing(seller, b, 1e6, other);
        uint64[] memory nonces = new uint64[](1);
        nonces[0] = nonce;
        vm.prank(seller);
        market.cancel(nonces);
        bytes memory sig = sign(SELLER_KEY, oa);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, nonce));
        market.fill(oa, sig, 1, a);
        fillAs(buyer, ob, sign(SELLER_KEY, ob), 1, b);
        vm.assertEq(designs.ownerOf(b), buyer, "another nonce fills");
    }

    function testFuzz_staleCounter_neverFills(uint8 bumps, uint64 signedCounter) public {
        bumps = uint8(bound(bumps, 1, 20));
        for (uint256 i; i < bumps; ++i) {
            vm.prank(seller);
            market.incrementCounter();
        }
        vm.assume(signedCounter != bumps);
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, 1e6, 0);
        o.counter = signedCounter;
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IDesignMarket.DesignMarket__CounterStale.selector, seller, signedCounter, bumps)
        );
        market.fill(o, sig, 1, id);
    }

    function testFuzz_otherChain_neverFills(uint64 chainId) public {
        vm.assume(chainId != block.chainid && chainId != 0);
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, 1e6, 0);
        bytes memory sig = sign(SELLER_KEY, o); // for this chain
        vmx.chainId(chainId);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
        market.fill(o, sig, 1, id);
    }

    function testFuzz_orderHash_isTheDocumentedDigest(
        address maker,
        uint8 side,
        uint8 asset,
        uint256 tokenId,
        address creatorAddress,
        uint256 price,
        uint256 amount,
        uint64 expiry,
        uint64 nonce,
        uint64 counter
    ) public view {
        IDesignMarket.Order memory o;
        o.maker = maker;
        o.side = side;
        o.asset = asset;
        o.scope = side & 1;
        o.tokenId = tokenId;
        o.creator = creatorAddress;
        o.currency = address(usd);
        o.price = price;
        o.amount = amount;
        o.expiry = expiry;
        o.nonce = nonce;
        o.counter = counter;
        vm.assertEq(market.orderHash(o), digestOf(o, address(market)), "digest");
    }

    /// @dev USD balances of buyer, seller, treasury, creator.
    function _balances() internal view returns (uint256[4] memory b) {
        b[0] = usd.balanceOf(buyer);
        b[1] = usd.balanceOf(seller);
        b[2] = usd.balanceOf(treasury);
        b[3] = usd.balanceOf(creator);
    }
}
