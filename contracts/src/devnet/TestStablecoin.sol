// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestStablecoin (fUSD)
/// @notice A plain 6-decimal dollar token for the local devnet and tests; never deployed to a real chain.
contract TestStablecoin is ERC20, ERC20Permit, Ownable {
    constructor(address owner_) ERC20("Fabrica Test USD", "fUSD") ERC20Permit("Fabrica Test USD") Ownable(owner_) {}

    /// @notice 6 decimals, like USDC.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Owner mints test dollars.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
