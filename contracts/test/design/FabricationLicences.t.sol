// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "../utils/MarketFixture.sol";
import {FabricationLicences} from "../../src/design/FabricationLicences.sol";
import {IFabricationLicences} from "../../src/interfaces/IFabricationLicences.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC20Errors, IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @dev A licence receiver that tries to buy again from inside the mint's acceptance callback.
contract ReenteringBuyer {
    FabricationLicences internal immutable licences;
    address internal immutable token;
    uint256 internal designId;
    bool internal armed;

    constructor(FabricationLicences licences_, address token_) {
        licences = licences_;
        token = token_;
    }

    function buy(uint256 id, uint256 prints, uint256 maxCost) external {
        designId = id;
        armed = true;
        TestStablecoin(token).approve(address(licences), type(uint256).max);
        licences.buy(id, prints, address(this), token, maxCost);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        if (armed) {
            armed = false;
            licences.buy(designId, 1, address(this), token, type(uint256).max);
        }
        return this.onERC1155Received.selector;
    }
}

/// @notice Unit and attack tests of the licence sale: terms bound to their setter, prices per print and per
/// block, the cap on prints ever sold, payments straight from the buyer (fee to the treasury, the rest to
/// the design's owner), takedowns, governance.
contract FabricationLicencesTest is MarketFixture {
    address internal buyer = address(0xB1E4);
    uint96 internal constant PRICE = 10e6;

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        licences.setCurrency(address(usd), true);
        vm.prank(owner);
        usd.mint(buyer, 1_000_000e6);
        vm.prank(buyer);
        usd.approve(address(licences), type(uint256).max);
        watched.push(buyer);
        watched.push(address(licences));
    }

    function _terms(uint96 price, uint32 blockSize, uint96 blockPrice, uint32 maxPrints) internal {
        vm.prank(designer);
        licences.setTerms(designId, address(usd), price, blockSize, blockPrice, maxPrints);
    }

    function _buy(address who, uint256 prints, uint256 maxCost) internal returns (uint256 cost) {
        vm.prank(who);
        cost = licences.buy(designId, prints, who, address(usd), maxCost);
    }

    // ================================================================================= constructor

    function test_constructor_views() public view {
        vm.assertEq(licences.owner(), owner, "owner");
        vm.assertEq(licences.market(), address(market), "market");
        vm.assertEq(licences.designNFT(), address(designs), "nft");
        vm.assertEq(licences.treasury(), treasury, "treasury");
        vm.assertEq(uint256(licences.feeBps()), LICENCE_FEE_BPS, "fee");
        vm.assertEq(uint256(licences.MAX_FEE_BPS()), 1_000, "max fee");
        vm.assertTrue(licences.isCurrencyAllowed(address(usd)), "usd");
        vm.assertTrue(!licences.isCurrencyAllowed(address(fab)), "fab not");
        vm.assertEq(designs.licences(), address(licences), "the NFT names the licences");
    }

    function test_constructor_checks() public {
        IDesignNFT nft = IDesignNFT(address(designs));
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__ZeroAddress.selector, bytes32("nft")));
        new FabricationLicences(owner, IDesignNFT(address(0)), address(market), treasury, 0);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__ZeroAddress.selector, bytes32("market")));
        new FabricationLicences(owner, nft, address(0), treasury, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__ZeroAddress.selector, bytes32("treasury"))
        );
        new FabricationLicences(owner, nft, address(market), address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__FeeTooHigh.selector, 1_001, 1_000));
        new FabricationLicences(owner, nft, address(market), treasury, 1_001);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new FabricationLicences(address(0), nft, address(market), treasury, 0);
    }

    // ======================================================================================= terms

    function test_setTerms_byTheOwnerOnly() public {
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__NotDesignOwner.selector, designId, buyer, designer)
        );
        licences.setTerms(designId, address(usd), PRICE, 0, 0, 0);
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__UnknownDesign.selector, 7));
        licences.setTerms(7, address(usd), PRICE, 0, 0, 0);
        vm.prank(designer);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__CurrencyNotAllowed.selector, address(fab))
        );
        licences.setTerms(designId, address(fab), PRICE, 0, 0, 0);
        vm.expectEmit(address(licences));
        emit IFabricationLicences.TermsSet(designId, designer, address(usd), PRICE, 10, 80e6, 100);
        _terms(PRICE, 10, 80e6, 100);
        (IFabricationLicences.Terms memory t, bool valid) = licences.termsOf(designId);
        vm.assertTrue(valid, "valid");
        vm.assertEq(t.token, address(usd), "token");
        vm.assertEq(uint256(t.pricePerPrint), PRICE, "price");
        vm.assertEq(t.setter, designer, "setter");
        vm.assertEq(uint256(t.blockSize), 10, "block");
        vm.assertEq(uint256(t.blockPrice), 80e6, "block price");
        vm.assertEq(uint256(t.maxPrints), 100, "max");
        vm.assertEq(uint256(t.sold), 0, "sold");
    }

    function test_setTerms_blockSizeAndBlockPriceGoTogether() public {
        vm.startPrank(designer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__InvalidTerms.selector, designId));
        licences.setTerms(designId, address(usd), PRICE, 10, 0, 0); // free blocks
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__InvalidTerms.selector, designId));
        licences.setTerms(designId, address(usd), PRICE, 0, 80e6, 0); // a block price without blocks
        vm.stopPrank();
    }

    function test_clearTerms_stopsSalesKeepsSold() public {
        _terms(PRICE, 0, 0, 10);
        _buy(buyer, 4, type(uint256).max);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__NotDesignOwner.selector, designId, buyer, designer)
        );
        licences.clearTerms(designId);
        vm.expectEmit(address(licences));
        emit IFabricationLicences.TermsCleared(designId, designer);
        vm.prank(designer);
        licences.clearTerms(designId);
        (IFabricationLicences.Terms memory t, bool valid) = licences.termsOf(designId);
        vm.assertTrue(!valid, "no terms");
        vm.assertEq(uint256(t.sold), 4, "sold kept");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__NoTerms.selector, designId));
        licences.buy(designId, 1, buyer, address(usd), type(uint256).max);
        // New terms: the cap counts what earlier terms sold.
        _terms(PRICE, 0, 0, 10);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__SoldOut.selector, designId, 6));
        licences.buy(designId, 7, buyer, address(usd), type(uint256).max);
        _buy(buyer, 6, type(uint256).max);
        (t,) = licences.termsOf(designId);
        vm.assertEq(uint256(t.sold), 10, "all sold");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__SoldOut.selector, designId, 0));
        licences.buy(designId, 1, buyer, address(usd), type(uint256).max);
    }

    // ========================================================================================= buy

    function test_buy_perPrint_paysOwnerAndTreasuryDirectly() public {
        _terms(PRICE, 0, 0, 0);
        uint256 buyer0 = usd.balanceOf(buyer);
        uint256 designer0 = usd.balanceOf(designer);
        uint256 treasury0 = usd.balanceOf(treasury);
        uint256 cost = 10 * uint256(PRICE);
        uint256 fee = cost * LICENCE_FEE_BPS / BPS;
        (address token, uint256 quoted, uint256 quotedFee) = licences.quote(designId, 10);
        vm.assertEq(token, address(usd), "quote token");
        vm.assertEq(quoted, cost, "quote");
        vm.assertEq(quotedFee, fee, "quote fee");
        vm.expectEmit(address(licences));
        emit IFabricationLicences.LicencesBought(designId, buyer, customer, 10, address(usd), cost, fee, designer);
        vm.expectEmit(address(designs));
        emit IDesignNFT.DesignLicensed(designId);
        vm.expectEmit(address(licences));
        emit IERC1155.TransferSingle(buyer, address(0), customer, designId, 10);
        vm.prank(buyer);
        uint256 paid = licences.buy(designId, 10, customer, address(usd), cost);
        vm.assertEq(paid, cost, "cost");
        vm.assertEq(licences.balanceOf(customer, designId), 10, "licences to `to`");
        vm.assertEq(buyer0 - usd.balanceOf(buyer), cost, "the buyer paid the cost");
        vm.assertEq(usd.balanceOf(designer) - designer0, cost - fee, "the owner got the rest");
        vm.assertEq(usd.balanceOf(treasury) - treasury0, fee, "the treasury got the fee");
        vm.assertEq(usd.balanceOf(address(licences)), 0, "nothing held");
        (,,, bool licensed) = designs.rightsOf(designId);
        vm.assertTrue(licensed, "the design is flagged at its first sale");
    }

    function test_buy_blocksAndRest() public {
        _terms(PRICE, 10, 80e6, 0);
        (, uint256 cost,) = licences.quote(designId, 25);
        vm.assertEq(cost, 2 * 80e6 + 5 * uint256(PRICE), "two blocks and five prints");
        vm.assertEq(_buy(buyer, 25, cost), cost, "paid");
        vm.assertEq(licences.balanceOf(buyer, designId), 25, "25 prints");
    }

    function test_buy_wholeBlocksOnly() public {
        _terms(0, 10, 80e6, 0);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__WholeBlocksOnly.selector, designId, 25, 10)
        );
        licences.buy(designId, 25, buyer, address(usd), type(uint256).max);
        vm.assertEq(_buy(buyer, 20, 160e6), 160e6, "two blocks");
    }

    function test_buy_freeLicences() public {
        _terms(0, 0, 0, 3);
        uint256 before = usd.balanceOf(buyer);
        vm.assertEq(_buy(buyer, 3, 0), 0, "free");
        vm.assertEq(usd.balanceOf(buyer), before, "nothing paid");
        vm.assertEq(licences.balanceOf(buyer, designId), 3, "licences");
    }

    function test_buy_feeRoundsAndLegsSumToTheCost(uint96 price, uint32 prints, uint16 feeBps) public {
        price = uint96(bound(price, 0, 1_000e6));
        prints = uint32(bound(prints, 1, 1_000));
        vm.prank(owner);
        licences.setFeeBps(uint16(bound(feeBps, 0, 1_000)));
        _terms(price, 0, 0, 0);
        uint256 buyer0 = usd.balanceOf(buyer);
        uint256 designer0 = usd.balanceOf(designer);
        uint256 treasury0 = usd.balanceOf(treasury);
        uint256 cost = _buy(buyer, prints, type(uint256).max);
        vm.assertEq(cost, uint256(price) * prints, "cost");
        vm.assertEq(buyer0 - usd.balanceOf(buyer), cost, "paid");
        vm.assertEq((usd.balanceOf(designer) - designer0) + (usd.balanceOf(treasury) - treasury0), cost, "legs = cost");
        vm.assertEq(usd.balanceOf(address(licences)), 0, "nothing held");
    }

    function test_buy_checks() public {
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__UnknownDesign.selector, 7));
        licences.buy(7, 1, buyer, address(usd), type(uint256).max);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__NoTerms.selector, designId));
        licences.buy(designId, 1, buyer, address(usd), type(uint256).max);
        _terms(PRICE, 0, 0, 0);
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__InvalidPrints.selector, 0));
        licences.buy(designId, 0, buyer, address(usd), type(uint256).max);
        uint256 tooMany = uint256(type(uint32).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__InvalidPrints.selector, tooMany));
        licences.buy(designId, tooMany, buyer, address(usd), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__CostTooHigh.selector, 30e6, 30e6 - 1));
        licences.buy(designId, 3, buyer, address(usd), 30e6 - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IFabricationLicences.Licences__CurrencyMismatch.selector, designId, address(usd), address(fab)
            )
        );
        licences.buy(designId, 3, buyer, address(fab), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InvalidReceiver.selector, address(0)));
        licences.buy(designId, 3, address(0), address(usd), type(uint256).max);
        vm.stopPrank();
        vm.prank(stranger); // holds USD but never approved the licences contract
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(licences), 0, 1_500_000)
        );
        licences.buy(designId, 3, stranger, address(usd), type(uint256).max);
    }

    function test_buy_revertsWhenCurrencyDelisted() public {
        _terms(PRICE, 0, 0, 0);
        vm.prank(owner);
        licences.setCurrency(address(usd), false);
        (, bool valid) = licences.termsOf(designId);
        vm.assertTrue(!valid, "terms out of force");
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__CurrencyNotAllowed.selector, address(usd))
        );
        licences.buy(designId, 1, buyer, address(usd), type(uint256).max);
    }

    /// @notice Attack: the owner re-prices (or switches the currency) in front of a pending purchase.
    function test_attack_frontRunRepricingIsBoundedByMaxCostAndCurrency() public {
        _terms(PRICE, 0, 0, 0);
        (, uint256 quoted,) = licences.quote(designId, 5);
        // The owner raises the price first...
        _terms(PRICE * 10, 0, 0, 0);
        bytes32 before = _funds();
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__CostTooHigh.selector, quoted * 10, quoted)
        );
        licences.buy(designId, 5, buyer, address(usd), quoted);
        // ...or prices in another token the buyer also approved (say a dearer one): refused too.
        TestStablecoin dear = new TestStablecoin(owner);
        vm.startPrank(owner);
        licences.setCurrency(address(dear), true);
        dear.mint(buyer, 1_000e18);
        vm.stopPrank();
        vm.prank(buyer);
        dear.approve(address(licences), type(uint256).max);
        vm.prank(designer);
        licences.setTerms(designId, address(dear), PRICE, 0, 0, 0);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IFabricationLicences.Licences__CurrencyMismatch.selector, designId, address(dear), address(usd)
            )
        );
        licences.buy(designId, 5, buyer, address(usd), quoted);
        _assertNoFundsMoved(before);
        vm.assertEq(dear.balanceOf(buyer), 1_000e18, "nothing taken in the other token");
    }

    /// @notice Attack: a seller keeps selling (or re-prices) the licences of a design it already sold.
    function test_attack_sellerCannotPriceTheBuyersLicences() public {
        _terms(PRICE, 0, 0, 0);
        _buy(buyer, 1, PRICE);
        vm.prank(designer);
        designs.transferFrom(designer, stranger, designId);
        // The seller's terms lapsed with the sale: no sale at them pays the seller.
        (, bool valid) = licences.termsOf(designId);
        vm.assertTrue(!valid, "the seller's terms lapsed");
        uint256 designer0 = usd.balanceOf(designer);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__NoTerms.selector, designId));
        licences.buy(designId, 1, buyer, address(usd), type(uint256).max);
        vm.prank(designer);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__NotDesignOwner.selector, designId, designer, stranger)
        );
        licences.setTerms(designId, address(usd), 1, 0, 0, 0);
        vm.prank(designer);
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__NotDesignOwner.selector, designId, designer, stranger)
        );
        licences.clearTerms(designId);
        // The new owner prices them; the money goes to it.
        vm.prank(stranger);
        licences.setTerms(designId, address(usd), 2 * PRICE, 0, 0, 0);
        uint256 stranger0 = usd.balanceOf(stranger);
        _buy(buyer, 1, 2 * PRICE);
        vm.assertEq(usd.balanceOf(designer), designer0, "the seller earns nothing more");
        vm.assertEq(usd.balanceOf(stranger) - stranger0, 2 * PRICE - 2 * PRICE * LICENCE_FEE_BPS / BPS, "new owner");
        vm.assertEq(licences.balanceOf(buyer, designId), 2, "licences bought before the sale stay valid");
    }

    /// @notice Attack: a receiver re-enters `buy` from the mint's acceptance callback.
    function test_attack_reentrantBuyFails() public {
        _terms(PRICE, 0, 0, 0);
        ReenteringBuyer attacker = new ReenteringBuyer(licences, address(usd));
        vm.prank(owner);
        usd.mint(address(attacker), 100e6);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.buy(designId, 1, PRICE);
        vm.assertEq(usd.balanceOf(address(attacker)), 100e6, "nothing spent");
        vm.assertEq(licences.balanceOf(address(attacker), designId), 0, "nothing minted");
    }

    // ==================================================================================== takedown

    function test_takedown_stopsSalesAndTransfers() public {
        _terms(PRICE, 0, 0, 0);
        _buy(buyer, 3, type(uint256).max);
        vm.prank(owner);
        designs.takedown(designId, META_CID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__DesignTakenDown.selector, designId));
        licences.buy(designId, 1, buyer, address(usd), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__DesignTakenDown.selector, designId));
        licences.quote(designId, 1);
        (, bool valid) = licences.termsOf(designId);
        vm.assertTrue(!valid, "out of force while down");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__DesignTakenDown.selector, designId));
        licences.safeTransferFrom(buyer, customer, designId, 1, "");
        uint256[] memory ids = new uint256[](1);
        uint256[] memory values = new uint256[](1);
        ids[0] = designId;
        values[0] = 1;
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__DesignTakenDown.selector, designId));
        licences.safeBatchTransferFrom(buyer, customer, ids, values, "");
        // The owner may still withdraw its terms while the takedown is pending.
        vm.prank(designer);
        licences.clearTerms(designId);
        vm.prank(owner);
        designs.restore(designId);
        vm.prank(buyer);
        licences.safeTransferFrom(buyer, customer, designId, 1, "");
        vm.assertEq(licences.balanceOf(customer, designId), 1, "transferable again");
    }

    // ================================================================================== market hook

    function test_hooks_onlyTheMarket() public {
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__NotMarket.selector, address(this)));
        licences.jobRoyalty(1, customer, designId, 100);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__NotMarket.selector, address(this)));
        licences.releaseLicence(1);
    }

    function test_jobRoyalty_designHeldByTheLicencesContractEarnsNothing() public {
        vm.prank(designer);
        designs.transferFrom(designer, address(licences), designId);
        vm.prank(address(market));
        (address r, uint256 royalty) = licences.jobRoyalty(1, customer, designId, 100e6);
        vm.assertEq(r, address(0), "no receiver that cannot withdraw");
        vm.assertEq(royalty, 0, "no royalty");
    }

    // ============================================================================ ERC-165 / 2981 / uri

    function test_royaltyInfo_delegatesToTheDesign() public {
        (address r, uint256 a) = licences.royaltyInfo(designId, 1_000e6);
        vm.assertEq(r, designer, "the creator");
        vm.assertEq(a, 50e6, "5 %");
        vm.prank(designer);
        designs.transferFrom(designer, stranger, designId);
        (r,) = licences.royaltyInfo(designId, 1_000e6);
        vm.assertEq(r, designer, "still the creator");
        vm.expectRevert();
        licences.royaltyInfo(7, 1);
    }

    function test_supportsInterface() public view {
        vm.assertTrue(licences.supportsInterface(type(IERC165).interfaceId), "165");
        vm.assertTrue(licences.supportsInterface(type(IERC1155).interfaceId), "1155");
        vm.assertTrue(licences.supportsInterface(type(IERC1155MetadataURI).interfaceId), "1155 metadata");
        vm.assertTrue(licences.supportsInterface(type(IERC2981).interfaceId), "2981");
        vm.assertTrue(!licences.supportsInterface(0xffffffff), "not ffffffff");
    }

    function test_uri() public {
        vm.assertEq(licences.uri(designId), "", "empty");
        vm.expectEmit(address(licences));
        emit IFabricationLicences.BaseURISet("https://fabrica.example/licences/");
        vm.prank(owner);
        licences.setBaseURI("https://fabrica.example/licences/");
        vm.assertEq(licences.baseURI(), "https://fabrica.example/licences/", "base");
        vm.assertEq(licences.uri(5), "https://fabrica.example/licences/5", "uri");
    }

    // ================================================================================== governance

    function test_governance() public {
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        licences.setCurrency(address(fab), true);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        licences.setFeeBps(0);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        licences.setTreasury(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        licences.setBaseURI("x");
        vm.stopPrank();
        vm.startPrank(owner);
        vm.expectEmit(address(licences));
        emit IFabricationLicences.CurrencySet(address(fab), true);
        licences.setCurrency(address(fab), true);
        vm.assertTrue(licences.isCurrencyAllowed(address(fab)), "fab");
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__ZeroAddress.selector, bytes32("token")));
        licences.setCurrency(address(0), true);
        vm.expectEmit(address(licences));
        emit IFabricationLicences.FeeSet(1_000);
        licences.setFeeBps(1_000);
        vm.expectRevert(abi.encodeWithSelector(IFabricationLicences.Licences__FeeTooHigh.selector, 1_001, 1_000));
        licences.setFeeBps(1_001);
        vm.expectEmit(address(licences));
        emit IFabricationLicences.TreasurySet(stranger);
        licences.setTreasury(stranger);
        vm.assertEq(licences.treasury(), stranger, "treasury");
        vm.expectRevert(
            abi.encodeWithSelector(IFabricationLicences.Licences__ZeroAddress.selector, bytes32("treasury"))
        );
        licences.setTreasury(address(0));
        vm.stopPrank();
    }
}
