// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title FabTimelock
/// @notice OpenZeppelin's TimelockController, unchanged: it owns every Fabrica contract and holds the
/// treasury; only the DAO (FabGovernor) proposes and cancels, anyone executes what is due.
contract FabTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
