// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GovernanceFixture} from "./GovernanceFixture.sol";
import {StockGovernor} from "../bench/StockGovernor.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @notice Per-transaction gas of a one-action proposal (propose, first vote, queue, execute) on FabGovernor
/// and on the anchor, a stock OpenZeppelin Governor with the same modules and settings voting with FabToken
/// alone (test/bench/StockGovernor.sol), each with its own timelock, deployed in the same run. Run with
/// `forge test --isolate` so each call is its own transaction: bench/gas.py reads contracts/snapshots/
/// FabGovernor.json and StockGovernor.json. Same proposer, voters, action (a treasury spend) and description.
contract GovernorGasTest is GovernanceFixture {
    address internal constant GRANTEE = address(0x6A47);
    uint256 internal constant GRANT = 1_000e6;
    string internal constant DESCRIPTION = "Grant 1 000 USD from the treasury";

    StockGovernor internal stock;
    TimelockController internal stockTimelock;

    function setUp() public override {
        super.setUp();
        address[] memory none = new address[](0);
        address[] memory anyone = new address[](1); // address(0): open execution, as on FabTimelock
        stockTimelock = new TimelockController(TIMELOCK_DELAY, none, anyone, address(this));
        stock = new StockGovernor(
            IVotes(address(fab)),
            stockTimelock,
            VOTING_DELAY,
            VOTING_PERIOD,
            PROPOSAL_THRESHOLD,
            QUORUM_PERCENT,
            VOTE_EXTENSION
        );
        stockTimelock.grantRole(stockTimelock.PROPOSER_ROLE(), address(stock));
        stockTimelock.grantRole(stockTimelock.CANCELLER_ROLE(), address(stock));
        stockTimelock.renounceRole(stockTimelock.DEFAULT_ADMIN_ROLE(), address(this));
        // Both treasuries hold the stablecoin; the grantee has been paid before (a warm balance on both).
        vm.startPrank(usdIssuer);
        usd.mint(address(timelock), 10 * GRANT);
        usd.mint(address(stockTimelock), 10 * GRANT);
        usd.mint(GRANTEE, 1);
        vm.stopPrank();
        vm.warp(block.timestamp + 1);
    }

    /// @notice FabGovernor: FAB votes + staked-FAB votes, appeal exemption, FabTimelock.
    function test_gas_fabGovernor() public {
        _lifecycle(IGovernor(address(governor)), address(timelock), "FabGovernor");
    }

    /// @notice The anchor: stock OpenZeppelin Governor, same modules, FabToken votes only.
    function test_gas_stockGovernor() public {
        _lifecycle(IGovernor(address(stock)), address(stockTimelock), "StockGovernor");
    }

    /// @dev Alice (30 M FAB, above the threshold) proposes; Bob votes first (the measured vote), Alice second
    /// (quorum); queue; execute after the delay. Each step snapshotted under `group`.
    function _lifecycle(IGovernor gov, address treasury_, string memory group) internal {
        address[] memory targets = new address[](1);
        uint256[] memory values = new uint256[](1);
        bytes[] memory calls = new bytes[](1);
        targets[0] = address(usd);
        calls[0] = abi.encodeCall(usd.transfer, (GRANTEE, GRANT));
        bytes32 descriptionHash = keccak256(bytes(DESCRIPTION));

        vm.prank(alice);
        uint256 id = gov.propose(targets, values, calls, DESCRIPTION);
        vm.snapshotGasLastCall(group, "propose");

        vm.warp(gov.proposalSnapshot(id) + 1);
        vm.prank(bob);
        gov.castVote(id, 1);
        vm.snapshotGasLastCall(group, "vote");
        vm.prank(alice);
        gov.castVote(id, 1);

        vm.warp(gov.proposalDeadline(id) + 1);
        gov.queue(targets, values, calls, descriptionHash);
        vm.snapshotGasLastCall(group, "queue");

        vm.warp(block.timestamp + TIMELOCK_DELAY);
        uint256 before = usd.balanceOf(treasury_);
        vm.prank(stranger);
        gov.execute(targets, values, calls, descriptionHash);
        vm.snapshotGasLastCall(group, "execute");
        vm.assertEq(uint256(gov.state(id)), uint256(IGovernor.ProposalState.Executed), "executed");
        vm.assertEq(before - usd.balanceOf(treasury_), GRANT, "the treasury paid");
    }
}
