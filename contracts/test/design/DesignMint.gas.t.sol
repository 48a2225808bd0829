// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {OzDesignNFT} from "../bench/OzDesignNFT.sol";
import {FabricationLicences} from "../../src/design/FabricationLicences.sol";
import {IDesignNFT} from "../../src/interfaces/IDesignNFT.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";

/// @notice Per-transaction gas of a designer's second mint on DesignNFT and on the anchor (a stock
/// OpenZeppelin ERC-721 + per-token ERC-2981 mint, test/bench/OzDesignNFT.sol), and of a first licence
/// purchase. Run with `forge test --isolate` so each call is its own transaction: bench/gas.py reads
/// contracts/snapshots/DesignNFT.json and OzDesignNFT.json.
contract DesignMintGasTest is TestBase {
    address internal constant OWNER = address(0xA11CE);
    address internal constant DESIGNER = address(0xD351);
    address internal constant TREASURY = address(0x7EA5);
    address internal constant MARKET = address(0x3A4E7);
    address internal constant BUYER = address(0xB1E4);
    address internal constant BUYER2 = address(0xB1E5);
    // CIDv0s, as `ipfs add` names files by default (and the SDK's importer does).
    bytes internal constant FIRST = hex"1220b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
    bytes internal constant SECOND = hex"12207d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730";
    bytes internal constant META_1 = hex"12202c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    bytes internal constant META_2 = hex"1220fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";

    function test_gas_designMintSecond() public {
        DesignNFT nft = new DesignNFT(OWNER);
        vm.prank(DESIGNER);
        nft.mint(FIRST, META_1, 500);
        vm.prank(DESIGNER);
        uint256 id = nft.mint(SECOND, META_2, 500);
        vm.snapshotGasLastCall("DesignNFT", "mint_second");
        vm.assertEq(nft.ownerOf(id), DESIGNER, "minted");
    }

    function test_gas_ozMintSecond() public {
        OzDesignNFT oz = new OzDesignNFT();
        vm.prank(DESIGNER);
        oz.mint(500);
        vm.prank(DESIGNER);
        uint256 id = oz.mint(500);
        vm.snapshotGasLastCall("OzDesignNFT", "mint_second");
        vm.assertEq(oz.ownerOf(id), DESIGNER, "minted");
    }

    /// @notice A buyer holding the stablecoin buys 10 prints of a design at 10 USD each: the design's first
    /// licence sale (it also flags the design for the job market), fee and rest to a treasury and an owner
    /// that already hold the token; then a second buyer's purchase of the same design.
    function test_gas_licencePurchase() public {
        DesignNFT nft = new DesignNFT(OWNER);
        FabricationLicences licences = new FabricationLicences(OWNER, IDesignNFT(address(nft)), MARKET, TREASURY, 500);
        TestStablecoin usd = new TestStablecoin(OWNER);
        vm.startPrank(OWNER);
        nft.setLicences(address(licences));
        licences.setCurrency(address(usd), true);
        usd.mint(BUYER, 1_000e6);
        usd.mint(BUYER2, 1_000e6);
        usd.mint(DESIGNER, 1e6);
        usd.mint(TREASURY, 1e6);
        vm.stopPrank();
        vm.prank(BUYER);
        usd.approve(address(licences), type(uint256).max);
        vm.prank(BUYER2);
        usd.approve(address(licences), type(uint256).max);
        vm.startPrank(DESIGNER);
        uint256 id = nft.mint(FIRST, META_1, 500);
        licences.setTerms(id, address(usd), 10e6, 0, 0, 0);
        vm.stopPrank();

        vm.prank(BUYER);
        licences.buy(id, 10, BUYER, address(usd), 100e6);
        vm.snapshotGasLastCall("DesignNFT", "licence_purchase");
        vm.prank(BUYER2);
        licences.buy(id, 10, BUYER2, address(usd), 100e6);
        vm.snapshotGasLastCall("DesignNFT", "licence_purchase_licensed_design");
        vm.assertEq(licences.balanceOf(BUYER, id), 10, "bought");
        vm.assertEq(usd.balanceOf(address(licences)), 0, "nothing held");
    }
}
