// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title A bounty's named judge.
/// @notice A bounty whose terms name an evaluator is decided by it instead of approvers: anyone calls
/// `BountyBoard.awardByEvaluator(bountyId, submissionId, data)` and the board asks the evaluator how much the
/// submission earns. The sponsors agreed to the evaluator when they funded the terms (by hash).
interface IBountyEvaluator {
    /// @notice Decides an award of bounty `bountyId` to its submission `submissionId` from `data` (for example
    /// a score signed by validators) and returns the amount to pay, in the bounty's token. Called by the
    /// board only, inside `awardByEvaluator`; it reverts to refuse. The board pays at most the bounty's pot
    /// and refuses zero. An evaluator must make each decision usable once (the board does not deduplicate).
    function evaluate(uint256 bountyId, uint256 submissionId, bytes calldata data) external returns (uint256 amount);
}
