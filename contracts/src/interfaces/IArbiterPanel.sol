// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title A panel of arbiters the market assigns disputes to.
/// @notice When the market's arbiter is a contract that reports this interface (ERC-165), each new dispute is
/// assigned to one of its members, who then rules on the market directly.
interface IArbiterPanel {
    /// @notice Picks the member who judges dispute `jobId` (never one of its parties); zero when none can.
    /// Only the market may call it.
    function assign(uint256 jobId, address customer, address node) external returns (address arbiter);
    /// @notice Whether `account` sits on the panel now.
    function isArbiter(address account) external view returns (bool);
}
