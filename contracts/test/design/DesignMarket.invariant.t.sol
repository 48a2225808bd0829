// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {DesignMarketFixture} from "./DesignMarketFixture.sol";
import {DesignMarketHandler, DesignMarketEnv} from "../handlers/DesignMarketHandler.sol";
import {DesignMarket} from "../../src/design/DesignMarket.sol";
import {IDesignMarket} from "../../src/interfaces/IDesignMarket.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @notice Invariants of the design market under random trading driven by DesignMarketHandler (its model
/// predicts every fill's outcome, exact error included, and checks every successful fill leg by leg). After
/// every call: no surprise, no violation, the market holds no money and no token, and one tracked order's
/// remaining units equal the model's (each order in turn). One invariant function on purpose: forge runs a
/// campaign per function.
contract DesignMarketInvariantTest is DesignMarketFixture {
    DesignMarketHandler internal handler;
    DesignMarket internal otherMarket;
    TestStablecoin internal eur;
    TestStablecoin internal foreign;
    uint256 internal cursor;

    function setUp() public override {
        super.setUp();
        eur = new TestStablecoin(owner);
        foreign = new TestStablecoin(owner);
        otherMarket =
            new DesignMarket(owner, IERC721(address(designs)), IERC1155(address(licences)), treasury, FEE_BPS);
        vm.startPrank(owner);
        market.setCurrency(address(eur), true);
        otherMarket.setCurrency(address(usd), true);
        otherMarket.setCurrency(address(eur), true);
        vm.stopPrank();
        handler = new DesignMarketHandler(
            DesignMarketEnv({
                market: market,
                otherMarket: otherMarket,
                designs: designs,
                licences: licences,
                usd: usd,
                eur: eur,
                foreign: foreign,
                owner: owner,
                treasury: treasury
            })
        );
        bytes4[] memory s = new bytes4[](16);
        s[0] = DesignMarketHandler.sign.selector;
        s[1] = DesignMarketHandler.sign.selector;
        s[2] = DesignMarketHandler.sign.selector;
        s[3] = DesignMarketHandler.fill.selector;
        s[4] = DesignMarketHandler.fill.selector;
        s[5] = DesignMarketHandler.fill.selector;
        s[6] = DesignMarketHandler.fill.selector;
        s[7] = DesignMarketHandler.fillOnAnotherChain.selector;
        s[8] = DesignMarketHandler.fillOnAnotherMarket.selector;
        s[9] = DesignMarketHandler.cancel.selector;
        s[10] = DesignMarketHandler.incrementCounter.selector;
        s[11] = DesignMarketHandler.warp.selector;
        s[12] = DesignMarketHandler.transferDesign.selector;
        s[13] = DesignMarketHandler.moderate.selector;
        s[14] = DesignMarketHandler.govern.selector;
        s[15] = DesignMarketHandler.mintDesign.selector;
        bytes4[] memory all = new bytes4[](17);
        for (uint256 i; i < 16; ++i) all[i] = s[i];
        all[16] = DesignMarketHandler.mintLicences.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), all));
    }

    // CI: 40 runs x 500 calls (20 000 handler calls) keeps the whole CI run inside its budget; the
    // market invariant (JobMarket.invariant.t.sol) keeps the long 500 x 1 000 campaign.
    /// forge-config: ci.invariant.runs = 40
    /// forge-config: ci.invariant.depth = 500
    function invariant_marketFollowsItsRules() public {
        _checkAll();
    }

    /// @notice The handler is not vacuous: driven by a fixed pseudo-random sequence, fills of every kind
    /// succeed and the refusals the model predicts happen, without a single surprise or violation.
    function test_handlerReachesEveryOutcome() public {
        for (uint256 i; i < 1_500; ++i) {
            _step(uint256(keccak256(abi.encode("step", i))));
            _checkAll();
        }
        vm.assertGt(handler.fills(), 50, "fills");
        vm.assertGt(handler.licenceFills(), 10, "licence fills");
        vm.assertGt(handler.creatorFills(), 3, "creator-offer fills");
        vm.assertGt(handler.offerFills(), 10, "offer fills");
        vm.assertGt(handler.crossChainRefusals(), 3, "cross-chain refusals");
        vm.assertGt(handler.crossMarketRefusals(), 3, "cross-deployment refusals");
        bytes4[9] memory expected = [
            IDesignMarket.DesignMarket__OrderExpired.selector,
            IDesignMarket.DesignMarket__NonceUsed.selector,
            IDesignMarket.DesignMarket__CounterStale.selector,
            IDesignMarket.DesignMarket__CurrencyNotAllowed.selector,
            IDesignMarket.DesignMarket__TokenMismatch.selector,
            IDesignMarket.DesignMarket__CreatorMismatch.selector,
            IDesignMarket.DesignMarket__Overfill.selector,
            IDesignMarket.DesignMarket__ZeroUnits.selector,
            IDesignMarket.DesignMarket__DesignNotActive.selector
        ];
        for (uint256 i; i < expected.length; ++i) {
            vm.assertGt(handler.refusals(expected[i]), 0, vm.toString(uint256(uint32(expected[i]))));
        }
    }

    function _step(uint256 r) internal {
        uint256 k = r % 40;
        uint256 a = uint256(keccak256(abi.encode(r, 1)));
        uint256 b = uint256(keccak256(abi.encode(r, 2)));
        uint256 c = uint256(keccak256(abi.encode(r, 3)));
        if (k < 12) handler.sign(a, b, c, a >> 128, b >> 128, c % 20 days, a % 300, b % 10);
        else if (k < 28) handler.fill(a, b, c, a >> 64, b >> 64);
        else if (k == 28) handler.fillOnAnotherChain(a, b, uint64(c));
        else if (k == 29) handler.fillOnAnotherMarket(a, b);
        else if (k < 32) handler.cancel(a, b, c % 3 == 0);
        else if (k == 32 && a % 3 == 0) handler.incrementCounter(a);
        else if (k == 33) handler.warp(a % 1 days);
        else if (k == 34) handler.transferDesign(a, b);
        else if (k == 35) handler.moderate(a);
        else if (k == 36) handler.govern(uint16(a), b % 3 == 0);
        else if (k == 37) handler.mintLicences(a, b, c);
        else handler.mintDesign(a, uint16(b));
    }

    function _checkAll() internal {
        if (handler.surprises() != 0 || handler.violations() != 0) {
            vm.assertEq(handler.surprises() + handler.violations(), 0, handler.lastProblem());
        }
        vm.assertEq(usd.balanceOf(address(market)), 0, "market holds usd");
        vm.assertEq(eur.balanceOf(address(market)), 0, "market holds eur");
        vm.assertEq(designs.balanceOf(address(market)), 0, "market holds a design");
        uint256 n = handler.designCount();
        for (uint256 i; i < n; ++i) {
            vm.assertEq(licences.balanceOf(address(market), handler.designIds(i)), 0, "market holds a licence");
        }
        uint256 orders = handler.orderCount();
        if (orders == 0) return;
        uint256 i = cursor++ % orders;
        (IDesignMarket.Order memory o, bytes32 digest) = handler.orderAt(i);
        vm.assertEq(market.remaining(o), handler.remainingModel(i), "remaining = model");
        vm.assertLe(handler.unitsEverFilled(digest), o.amount, "never more than the amount");
        vm.assertEq(market.nonceUsed(o.maker, o.nonce), handler.nonceUsedModel(o.maker, o.nonce), "nonce = model");
    }
}
