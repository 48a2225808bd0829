// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title FabToken (FAB)
/// @notice Fixed-supply governance and staking token: ERC-20 with EIP-2612 permit and ERC-5805 votes on a
/// timestamp clock, so voting periods mean the same on L2s whose block times differ.
contract FabToken is ERC20, ERC20Permit, ERC20Votes {
    /// @notice The fixed supply exceeds what stakes (uint96) can hold.
    error FabToken__SupplyTooLarge(uint256 supply, uint256 max);

    constructor(address holder, uint256 supply) ERC20("Fabrica", "FAB") ERC20Permit("Fabrica") {
        // Stake accounting packs FAB amounts into uint96; a larger supply could overflow it.
        if (supply > type(uint96).max) revert FabToken__SupplyTooLarge(supply, type(uint96).max);
        _mint(holder, supply);
    }

    /// @notice Votes are checkpointed by timestamp (ERC-6372).
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    // slither-disable-start naming-convention (CLOCK_MODE is the name ERC-6372 prescribes)
    /// @notice Machine-readable description of the clock (ERC-6372).
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }
    // slither-disable-end naming-convention

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
