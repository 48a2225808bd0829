// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {DesignMarketFixture} from "./DesignMarketFixture.sol";
import {IDesignMarket} from "../../src/interfaces/IDesignMarket.sol";

/// @notice Per-transaction gas of a signed design sale: a listing of a DesignNFT for the stablecoin, filled by
/// its buyer, paying the protocol fee, the creator's royalty and the seller (three distinct accounts that
/// already hold the stablecoin). Run with `forge test --isolate` so each call is its own transaction
/// (intrinsic gas, cold accounts and slots): bench/gas.py reads contracts/snapshots/DesignMarket.json.
/// Steady state: the seller's nonce word was used by an earlier listing, which the same buyer filled (so the
/// buyer already holds a design), and the buyer approved the market before.
contract DesignSaleGasTest is DesignMarketFixture {
    uint256 internal constant PRICE = 50e6;
    uint256 internal constant NEWCOMER_KEY = 0x9E3;

    uint256 internal second;

    function setUp() public override {
        super.setUp();
        // The creator's two designs were sold to the seller before (direct transfers here).
        uint256 first = designHeldBy(seller);
        second = designHeldBy(seller);
        // The earlier listing (nonce 0, same nonce word as the measured one), filled by the buyer.
        IDesignMarket.Order memory earlier = listing(seller, first, PRICE, 0);
        fillAs(buyer, earlier, sign(SELLER_KEY, earlier), 1, first);
        vm.warp(block.timestamp + 1);
    }

    /// @notice The benchmark: `signed_sale`.
    function test_gas_signedSale() public {
        _sale(buyer, "signed_sale");
    }

    /// @notice The same sale to a buyer who has never held a design (its DesignNFT account slot goes from zero
    /// to non-zero: about 17 100 gas more, paid inside DesignNFT.transferFrom).
    function test_gas_signedSaleFirstDesign() public {
        address newcomer = vm.addr(NEWCOMER_KEY);
        fund(newcomer, WALLET);
        vm.prank(newcomer);
        usd.approve(address(market), type(uint256).max);
        _sale(newcomer, "signed_sale_first_design");
    }

    /// @notice The same sale with token id 0 in the fill call (it stands for the listing's token): 384 gas
    /// less calldata.
    function test_gas_signedSaleTokenIdZero() public {
        _saleWith(buyer, "signed_sale_token_zero", true);
    }

    function _sale(address taker, string memory name) internal {
        _saleWith(taker, name, false);
    }

    function _saleWith(address taker, string memory name, bool zeroId) internal {
        IDesignMarket.Order memory o = listing(seller, second, PRICE, 1);
        bytes memory sig = sign(SELLER_KEY, o);
        uint256 sellerBefore = usd.balanceOf(seller);
        uint256 creatorBefore = usd.balanceOf(creator);
        uint256 treasuryBefore = usd.balanceOf(treasury);
        vm.assertGt(sellerBefore, 0, "seller holds the stablecoin");
        vm.assertGt(creatorBefore, 0, "creator holds the stablecoin");
        vm.assertGt(treasuryBefore, 0, "treasury holds the stablecoin");

        vm.prank(taker);
        market.fill(o, sig, 1, zeroId ? 0 : second);
        vm.snapshotGasLastCall("DesignMarket", name);

        uint256 f = PRICE * FEE_BPS / 10_000;
        uint256 r = PRICE * ROYALTY_BPS / 10_000;
        vm.assertEq(designs.ownerOf(second), taker, "sold");
        vm.assertEq(usd.balanceOf(treasury) - treasuryBefore, f, "fee");
        vm.assertEq(usd.balanceOf(creator) - creatorBefore, r, "royalty");
        vm.assertEq(usd.balanceOf(seller) - sellerBefore, PRICE - f - r, "proceeds");
        assertMarketHoldsNothing();
    }
}
