// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {Job, JobStatus} from "../src/types/Job.sol";

/// @notice Per-transaction gas of the job lifecycle. Run with `forge test --isolate` so each call is
/// its own transaction (intrinsic gas, cold accounts and slots, refunds): bench/gas.py reads the snapshot.
contract JobMarketGasTest is Fixture {
    /// @notice Steady state: customer, node, treasury and designer have been paid before.
    function test_gas_lifecycle() public {
        // A first job warms the long-lived balances (a live marketplace has them non-zero).
        vm.prank(customer);
        market.deposit(address(usd), 10_000e6);
        (uint256 warmId, Job memory warm) = postJob(100e6, designId);
        warm = deliverJob(warmId, claimJob(warmId, warm));
        vm.prank(customer);
        market.accept(warmId, warm);

        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        uint256 id = market.post(address(usd), 250e6, SPEC_CID, designId, claimBy, 7 days, MIN_COLLATERAL);
        vm.snapshotGasLastCall("JobMarket", "post");
        Job memory job = openJob(250e6, designId, claimBy, 7 days, MIN_COLLATERAL);

        vm.prank(shop);
        market.claim(id, job, nodeId);
        vm.snapshotGasLastCall("JobMarket", "claim");
        job.node = shop;
        job.deadline = uint40(block.timestamp + job.deliveryWindow);

        vm.prank(shop);
        market.deliver(id, job, PROOF_CID);
        vm.snapshotGasLastCall("JobMarket", "deliver");
        job.deadline = uint40(block.timestamp + job.reviewWindow);

        vm.prank(customer);
        market.accept(id, job);
        vm.snapshotGasLastCall("JobMarket", "accept");
        vm.assertEq(uint256(market.statusOf(id)), uint256(JobStatus.Settled), "settled");
    }
}
