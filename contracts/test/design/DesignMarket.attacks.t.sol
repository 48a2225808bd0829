// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {DesignMarketFixture} from "./DesignMarketFixture.sol";
import {IDesignMarket} from "../../src/interfaces/IDesignMarket.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {FeeOnTransferToken} from "../mocks/FeeOnTransferToken.sol";
import {ReentrantERC20} from "../mocks/ReentrantERC20.sol";
import {ReentrantReceiver} from "../mocks/ReentrantReceiver.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors, IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice Attacks on the design market, each showing the attacker ends no richer: a taker naming another
/// token, a maker revoking approvals or moving the design, fee-on-transfer and re-entering ERC-20s, re-entry
/// through ERC-1155 and ERC-721 receiver hooks, rounding by partial fills, taken-down designs, royalty bypass
/// by price, signature reuse for another maker, and dirty calldata.
contract DesignMarketAttacksTest is DesignMarketFixture {
    uint256 internal constant PRICE = 50e6;
    uint256 internal constant ATTACKER_KEY = 0xA77AC4;
    address internal attacker;

    function setUp() public override {
        super.setUp();
        attacker = vm.addr(ATTACKER_KEY);
        fund(attacker, WALLET);
        vm.startPrank(attacker);
        usd.approve(address(market), type(uint256).max);
        designs.setApprovalForAll(address(market), true);
        licences.setApprovalForAll(address(market), true);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------------ another token id

    /// @notice A buyer cannot fill a cheap listing with the seller's other (valuable, also approved) design.
    function test_attack_listingTakerNamesAnotherToken() public {
        uint256 cheap = designHeldBy(seller);
        uint256 valuable = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, cheap, 1e6, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__TokenMismatch.selector, cheap, valuable));
        market.fill(o, sig, 1, valuable);
        vm.assertEq(designs.ownerOf(valuable), seller, "valuable design kept");
        vm.assertEq(usd.balanceOf(attacker), WALLET, "attacker unchanged");
        vm.assertFalse(market.nonceUsed(seller, 0), "the listing is still live for its own token");
    }

    /// @notice A seller front-running an offer for design X cannot deliver its own worthless design Y, even of
    /// the same creator.
    function test_attack_offerTakerDeliversAnotherToken() public {
        uint256 wanted = designHeldBy(seller);
        uint256 junk = designHeldBy(attacker);
        IDesignMarket.Order memory o = offer(buyer, wanted, PRICE, 0);
        bytes memory sig = sign(BUYER_KEY, o);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__TokenMismatch.selector, wanted, junk));
        market.fill(o, sig, 1, junk);
        vm.assertEq(usd.balanceOf(attacker), WALLET, "attacker unpaid");
        vm.assertEq(designs.ownerOf(junk), attacker, "junk not sold");
        // The intended seller still fills it.
        fillAs(seller, o, sig, 1, wanted);
        vm.assertEq(designs.ownerOf(wanted), buyer, "wanted design bought");
    }

    /// @notice The same signature does not speak for another maker (e.g. someone else's design).
    function test_attack_signatureReusedForAnotherMaker() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(attacker, id, 1, 0);
        bytes memory sig = sign(ATTACKER_KEY, o);
        o.maker = seller; // pretend the seller listed its design for 1 unit of money
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidSignature.selector, seller));
        market.fill(o, sig, 1, id);
        vm.assertEq(designs.ownerOf(id), seller, "kept");
    }

    // ------------------------------------------------------------------------ revoked approvals

    function test_attack_listingMakerRevokesApproval_fillRevertsCleanly() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(seller);
        designs.setApprovalForAll(address(market), false);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, address(market), id)
        );
        market.fill(o, sig, 1, id);
        vm.assertEq(usd.balanceOf(buyer), WALLET, "buyer paid nothing");
        vm.assertEq(usd.balanceOf(treasury), 0, "no fee");
        vm.assertFalse(market.nonceUsed(seller, 0), "nothing recorded");
        vm.prank(seller);
        designs.setApprovalForAll(address(market), true);
        fillAs(buyer, o, sig, 1, id);
        vm.assertEq(designs.ownerOf(id), buyer, "fills once approved again");
    }

    function test_attack_offerMakerRevokesAllowanceOrSpends_fillRevertsCleanly() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = offer(buyer, id, PRICE, 0);
        bytes memory sig = sign(BUYER_KEY, o);
        vm.prank(buyer);
        usd.approve(address(market), 0);
        uint256 f = fee(PRICE);
        vm.prank(seller);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, f)
        );
        market.fill(o, sig, 1, id);
        vm.assertEq(designs.ownerOf(id), seller, "design kept");

        // Allowance back, money gone: the fill reverts too.
        vm.startPrank(buyer);
        usd.approve(address(market), type(uint256).max);
        usd.transfer(attacker, WALLET);
        vm.stopPrank();
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, buyer, 0, f));
        market.fill(o, sig, 1, id);
        vm.assertEq(designs.ownerOf(id), seller, "design kept");
        vm.assertEq(usd.balanceOf(seller), WALLET, "seller unpaid and unharmed");
        vm.assertFalse(market.nonceUsed(buyer, 0), "nothing recorded");
    }

    function test_attack_listedDesignMovedAway_fillReverts() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(seller);
        designs.transferFrom(seller, attacker, id);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721IncorrectOwner.selector, seller, id, attacker));
        market.fill(o, sig, 1, id);
        vm.assertEq(usd.balanceOf(buyer), WALLET, "buyer paid nothing");
    }

    // ------------------------------------------------------------------------ hostile currencies

    function test_attack_feeOnTransferToken_refusedByTheAllowlist() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100);
        fot.mint(buyer, WALLET);
        vm.prank(buyer);
        fot.approve(address(market), type(uint256).max);
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        o.currency = address(fot);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignMarket.DesignMarket__CurrencyNotAllowed.selector, address(fot)));
        market.fill(o, sig, 1, id);
        vm.assertEq(fot.balanceOf(buyer), WALLET, "nothing moved");
    }

    /// @notice Governance allowlisting a fee-on-transfer token by mistake costs the recipients its fee; the
    /// buyer pays the price and the market still holds nothing (payments go straight to each recipient).
    function test_attack_feeOnTransferToken_ifAllowed_marketStillHoldsNothing() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(100);
        vm.prank(owner);
        market.setCurrency(address(fot), true);
        fot.mint(buyer, WALLET);
        vm.prank(buyer);
        fot.approve(address(market), type(uint256).max);
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        o.currency = address(fot);
        fillAs(buyer, o, sign(SELLER_KEY, o), 1, id);
        vm.assertEq(fot.balanceOf(buyer), WALLET - PRICE, "buyer paid the price");
        vm.assertEq(fot.balanceOf(address(market)), 0, "market holds nothing");
        uint256 received = fot.balanceOf(seller) + fot.balanceOf(treasury) + fot.balanceOf(creator);
        vm.assertEq(received, PRICE - PRICE / 100, "recipients lost the token's own 1 %");
    }

    /// @notice A malicious (mistakenly allowlisted) ERC-20 re-entering `fill` with the same order during the
    /// payment gets `NonceUsed`: the order is spent before the first transfer. One design, one payment.
    function test_attack_reenteringToken_cannotFillTwice() public {
        ReentrantERC20 evil = new ReentrantERC20();
        vm.prank(owner);
        market.setCurrency(address(evil), true);
        evil.mint(attacker, WALLET);
        vm.prank(attacker);
        evil.approve(address(market), type(uint256).max);
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        o.currency = address(evil);
        bytes memory sig = sign(SELLER_KEY, o);
        evil.arm(address(market), abi.encodeCall(market.fill, (o, sig, 1, id)));

        fillAs(attacker, o, sig, 1, id);
        vm.assertTrue(evil.attempted(), "re-entry attempted");
        vm.assertFalse(evil.reentered(), "re-entry failed");
        vm.assertEq(
            keccak256(evil.reentryError()),
            keccak256(abi.encodeWithSelector(IDesignMarket.DesignMarket__NonceUsed.selector, seller, 0)),
            "with NonceUsed"
        );
        vm.assertEq(evil.balanceOf(attacker), WALLET - PRICE, "paid once");
        vm.assertEq(designs.ownerOf(id), attacker, "one design");
        vm.assertEq(evil.balanceOf(address(market)), 0, "market holds nothing");
    }

    /// @notice The same token re-entering a partial licence fill: the first fill's units are recorded before the
    /// payment, so a nested fill can take only what is left.
    function test_attack_reenteringToken_cannotOverfillLicences() public {
        ReentrantERC20 evil = new ReentrantERC20();
        vm.prank(owner);
        market.setCurrency(address(evil), true);
        evil.mint(attacker, WALLET);
        vm.prank(attacker);
        evil.approve(address(market), type(uint256).max);
        uint256 id = designHeldBy(seller);
        giveLicences(seller, id, 10);
        IDesignMarket.Order memory o = licenceListing(seller, id, 1e6, 10, 0);
        o.currency = address(evil);
        bytes memory sig = sign(SELLER_KEY, o);
        evil.arm(address(market), abi.encodeCall(market.fill, (o, sig, 6, id)));

        fillAs(attacker, o, sig, 6, id);
        vm.assertEq(
            keccak256(evil.reentryError()),
            keccak256(
                abi.encodeWithSelector(
                    IDesignMarket.DesignMarket__Overfill.selector, digestOf(o, address(market)), 6, 4
                )
            ),
            "nested fill: Overfill with 4 left"
        );
        vm.assertEq(licences.balanceOf(attacker, id), 6, "six licences");
        vm.assertEq(evil.balanceOf(attacker), WALLET - 6e6, "paid for six");
        vm.assertEq(market.remaining(o), 4, "four left");
    }

    // ------------------------------------------------------------------------ receiver hooks

    /// @notice A buyer contract re-entering `fill` from its ERC-1155 hook hits the lock; bubbling the error
    /// undoes its own fill, swallowing it leaves exactly the one fill it paid for.
    function test_attack_erc1155ReceiverReentry() public {
        ReentrantReceiver bot = new ReentrantReceiver(address(market));
        fund(address(bot), WALLET);
        bot.approve(IERC20(address(usd)), address(market));
        uint256 id = designHeldBy(seller);
        giveLicences(seller, id, 10);
        IDesignMarket.Order memory o = licenceListing(seller, id, 1e6, 10, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        bytes memory call = abi.encodeCall(market.fill, (o, sig, 2, id));
        bot.arm(call, true);

        vm.expectRevert(IDesignMarket.DesignMarket__Reentrant.selector);
        bot.go(call);
        vm.assertEq(usd.balanceOf(address(bot)), WALLET, "bubbled: nothing happened");
        vm.assertEq(market.remaining(o), 10, "nothing filled");

        bot.arm(call, false);
        bot.go(call);
        vm.assertEq(bot.hookCalls(), 1, "one hook call");
        vm.assertFalse(bot.reentered(), "re-entry refused");
        vm.assertEq(
            keccak256(bot.reentryError()),
            keccak256(abi.encodeWithSelector(IDesignMarket.DesignMarket__Reentrant.selector)),
            "by the lock"
        );
        vm.assertEq(licences.balanceOf(address(bot), id), 2, "two licences");
        vm.assertEq(usd.balanceOf(address(bot)), WALLET - 2e6, "paid for two");
        vm.assertEq(market.remaining(o), 8, "eight left");
        // The lock is released: an ordinary fill works afterwards.
        fillAs(buyer, o, sig, 8, id);
        vm.assertEq(market.remaining(o), 0, "complete");
    }

    /// @notice Designs move by plain transferFrom: a buyer contract's onERC721Received is never called, so it
    /// offers no re-entry point.
    function test_attack_erc721ReceiverHookNeverRuns() public {
        ReentrantReceiver bot = new ReentrantReceiver(address(market));
        fund(address(bot), WALLET);
        bot.approve(IERC20(address(usd)), address(market));
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        bytes memory call = abi.encodeCall(market.fill, (o, sig, 1, id));
        bot.arm(call, true);
        bot.go(call);
        vm.assertEq(bot.hookCalls(), 0, "no hook");
        vm.assertEq(designs.ownerOf(id), address(bot), "bought");
        vm.assertEq(usd.balanceOf(address(bot)), WALLET - PRICE, "paid once");
    }

    // ------------------------------------------------------------------------ rounding

    /// @notice Splitting a licence purchase into single units never lowers what the buyer pays: the total is
    /// price * units exactly. Fee and royalty round down per fill (their dust goes to the seller, who chose the
    /// price), never in the buyer's favour.
    function test_attack_partialFillRounding_buyerPaysExactly() public {
        uint256 id = designHeldBy(seller);
        uint256 n = 40;
        giveLicences(seller, id, n);
        uint256 unit = 39; // fee (2.5 %) and royalty (5 %) of one unit round down to 0
        IDesignMarket.Order memory o = licenceListing(seller, id, unit, n, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        for (uint256 i; i < n; ++i) {
            fillAs(attacker, o, sig, 1, id);
        }
        vm.assertEq(usd.balanceOf(attacker), WALLET - unit * n, "paid price * units exactly");
        uint256 received =
            (usd.balanceOf(seller) - WALLET) + usd.balanceOf(treasury) + (usd.balanceOf(creator) - WALLET);
        vm.assertEq(received, unit * n, "everything paid arrived");
        vm.assertEq(licences.balanceOf(attacker, id), n, "n licences");
        // One fill of the same units pays the fee and royalty on the whole total.
        uint256 id2 = designHeldBy(seller);
        giveLicences(seller, id2, n);
        IDesignMarket.Order memory whole = licenceListing(seller, id2, unit, n, 1);
        uint256 treasuryBefore = usd.balanceOf(treasury);
        uint256 creatorBefore = usd.balanceOf(creator);
        fillAs(buyer, whole, sign(SELLER_KEY, whole), n, id2);
        vm.assertEq(usd.balanceOf(treasury) - treasuryBefore, unit * n * FEE_BPS / 10_000, "fee on the total");
        vm.assertEq(usd.balanceOf(creator) - creatorBefore, unit * n * ROYALTY_BPS / 10_000, "royalty on the total");
    }

    // ------------------------------------------------------------------------ moderation

    function test_attack_takenDownDesign_cannotBeSold() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(owner);
        designs.takedown(id, META_CID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__TakenDown.selector, id));
        market.fill(o, sig, 1, id);
        vm.prank(seller);
        designs.appeal(id, META_CID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__TakenDown.selector, id));
        market.fill(o, sig, 1, id);
        // An offer on it cannot be taken either.
        IDesignMarket.Order memory bid = offer(buyer, id, PRICE, 0);
        bytes memory bidSig = sign(BUYER_KEY, bid);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IDesignNFT.DesignNFT__TakenDown.selector, id));
        market.fill(bid, bidSig, 1, id);
        vm.assertEq(usd.balanceOf(buyer), WALLET, "buyer unharmed");
        vm.prank(owner);
        designs.restore(id);
        fillAs(buyer, o, sig, 1, id);
        vm.assertEq(designs.ownerOf(id), buyer, "restored: sold");
    }

    // ------------------------------------------------------------------------ royalty bypass

    /// @notice A zero price would move a design without a royalty: refused. (A design can still be given away
    /// by a plain transfer, outside any market.)
    function test_attack_zeroPriceListing_refused() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, 0, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        vm.prank(attacker);
        vm.expectRevert(IDesignMarket.DesignMarket__InvalidOrder.selector);
        market.fill(o, sig, 1, id);
    }

    // ------------------------------------------------------------------------ dirty calldata

    /// @notice Words with dirty high bits in the uint8/address fields are refused, never reinterpreted.
    function test_attack_dirtyCalldata_refused() public {
        uint256 id = designHeldBy(seller);
        IDesignMarket.Order memory o = listing(seller, id, PRICE, 0);
        bytes memory sig = sign(SELLER_KEY, o);
        bytes memory data = abi.encodeCall(market.fill, (o, sig, 1, id));
        // The side word (selector + 1 word): 0x100 reads as side 0 if only the low byte is used.
        bytes memory dirtySide = _setWord(data, 1, 0x100);
        vm.prank(buyer);
        (bool ok, bytes memory ret) = address(market).call(dirtySide);
        vm.assertFalse(ok, "dirty side refused");
        vm.assertEq(
            keccak256(ret),
            keccak256(abi.encodeWithSelector(IDesignMarket.DesignMarket__InvalidOrder.selector)),
            "as invalid"
        );
        // The currency word (selector + 6 words) with a bit above the address.
        bytes memory dirtyCurrency = _setWord(data, 6, uint256(uint160(address(usd))) | (1 << 200));
        vm.prank(buyer);
        (ok,) = address(market).call(dirtyCurrency);
        vm.assertFalse(ok, "dirty currency refused");
        vm.prank(buyer);
        (ok,) = address(market).call(data);
        vm.assertTrue(ok, "the clean call fills");
    }

    function _setWord(bytes memory data, uint256 word, uint256 value) internal pure returns (bytes memory out) {
        out = bytes.concat(data);
        assembly {
            mstore(add(add(out, 0x24), mul(word, 0x20)), value)
        }
    }
}
