// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Unit tests: the devnet dollar mints only for its owner and has 6 decimals.
contract TestStablecoinTest is TestBase {
    address internal owner = address(0xA11CE);
    address internal alice = address(0xA);
    TestStablecoin internal usd;

    function setUp() public {
        usd = new TestStablecoin(owner);
    }

    function test_metadata() public view {
        vm.assertEq(usd.name(), "Fabrica Test USD", "name");
        vm.assertEq(usd.symbol(), "fUSD", "symbol");
        vm.assertEq(usd.decimals(), 6, "decimals");
        vm.assertEq(usd.totalSupply(), 0, "supply");
        vm.assertEq(usd.owner(), owner, "owner");
    }

    function test_mint_byOwner() public {
        vm.expectEmit(address(usd));
        emit IERC20.Transfer(address(0), alice, 5e6);
        vm.prank(owner);
        usd.mint(alice, 5e6);
        vm.assertEq(usd.balanceOf(alice), 5e6, "balance");
        vm.assertEq(usd.totalSupply(), 5e6, "supply");
    }

    function test_mint_revertsWhenNotOwner() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        usd.mint(alice, 1);
        vm.assertEq(usd.totalSupply(), 0, "nothing minted");
    }

    function test_mint_revertsWhenToZero() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        usd.mint(address(0), 1);
    }

    function test_constructor_revertsWhenOwnerZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new TestStablecoin(address(0));
    }

    function test_permit_domainIsNamed() public view {
        (, string memory name, string memory version,,,,) = usd.eip712Domain();
        vm.assertEq(name, "Fabrica Test USD", "domain name");
        vm.assertEq(version, "1", "domain version");
    }
}
