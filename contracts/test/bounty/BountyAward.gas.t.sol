// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BountyFixture} from "./BountyFixture.sol";

/// @notice Per-transaction gas of a bounty's life on the board. Run with `forge test --isolate` so each call
/// is its own transaction (intrinsic gas and cold storage included): bench/gas.py reads
/// contracts/snapshots/BountyBoard.json, key `award` = `bounty_award_gas`.
/// `award` is the second approver's `award(id, submissionId, amount)` call, the approval that reaches quorum 2
/// and executes the award on a bounty funded by two sponsors (the poster and one more): it records the
/// approval round, moves the amount from the pot to the submitter's board balance (its first credit in that
/// token: a zero-to-non-zero write) and marks the submission awarded. The other keys are for reference.
contract BountyAwardGasTest is BountyFixture {
    function test_gas_bountyLifecycle() public {
        vm.prank(poster);
        uint256 id = board.post(_terms(2, 2), 600e6);
        vm.snapshotGasLastCall("BountyBoard", "post");
        bytes32 h = board.bountyOf(id).termsHash;
        vm.prank(sponsorA);
        board.fund(id, 400e6, h);
        vm.snapshotGasLastCall("BountyBoard", "fund");
        vm.prank(designer);
        uint256 sub = board.submit(id, DESIGN_CID);
        vm.snapshotGasLastCall("BountyBoard", "submit");

        vm.prank(approver1);
        board.award(id, sub, 500e6);
        vm.snapshotGasLastCall("BountyBoard", "approve");
        vm.prank(approver2);
        bool executed = board.award(id, sub, 500e6);
        vm.snapshotGasLastCall("BountyBoard", "award");
        vm.assertTrue(executed, "the second approval executes the award");
        vm.assertEq(board.balanceOf(address(usd), designer), 500e6, "credited");

        vm.prank(designer);
        board.withdraw(address(usd));
        vm.snapshotGasLastCall("BountyBoard", "withdraw");
        vm.prank(designer);
        board.mintWinner(id, sub, META_CID);
        vm.snapshotGasLastCall("BountyBoard", "mintWinner");

        _pastGrace(id);
        vm.prank(sponsorA);
        board.refund(id);
        vm.snapshotGasLastCall("BountyBoard", "refund");
        vm.assertEq(usd.balanceOf(sponsorA), WALLET - 200e6, "A paid 40 % of the award");
    }
}
