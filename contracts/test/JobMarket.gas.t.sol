// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {NaiveEscrow} from "./bench/NaiveEscrow.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";

/// @notice Per-transaction gas of the job lifecycle. Run with `forge test --isolate` so each call is
/// its own transaction (intrinsic gas, cold accounts and slots, refunds): scripts/gas_snapshot.py reads
/// contracts/snapshots/JobMarket.json and bench/gas.py reports it.
contract JobMarketGasTest is Fixture {
    /// @notice Steady state: customer (with a deposit), node, treasury and designer have been paid before.
    function test_gas_lifecycle() public {
        vm.prank(customer);
        market.deposit(address(usd), 10_000e6);
        // A first job warms the long-lived balances (a live marketplace has them non-zero).
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

    /// @notice A post paid by transferFrom (no deposit) on the same warm marketplace.
    function test_gas_postWithTransfer() public {
        (uint256 warmId, Job memory warm) = postJob(100e6, designId);
        warm = deliverJob(warmId, claimJob(warmId, warm));
        vm.prank(customer);
        market.accept(warmId, warm);
        vm.prank(customer);
        market.post(address(usd), 250e6, SPEC_CID, designId, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL);
        vm.snapshotGasLastCall("JobMarket", "post_transfer");
    }

    /// @notice The anchor in the same run: a plain storage escrow with push payments, equally warm.
    function test_gas_naiveEscrowLifecycle() public {
        NaiveEscrow naive = new NaiveEscrow(fab, IERC2981(address(designs)), treasury);
        vm.prank(customer);
        usd.approve(address(naive), type(uint256).max);
        vm.startPrank(shop);
        fab.approve(address(naive), type(uint256).max);
        naive.stake(1_000e18);
        vm.stopPrank();
        for (uint256 round; round < 2; ++round) {
            vm.prank(customer);
            uint256 id = naive.post(IERC20(address(usd)), 250e6, SPEC_CID, designId, block.timestamp + 1 days, MIN_COLLATERAL);
            if (round == 1) vm.snapshotGasLastCall("NaiveEscrow", "post");
            vm.prank(shop);
            naive.claim(id);
            if (round == 1) vm.snapshotGasLastCall("NaiveEscrow", "claim");
            vm.prank(shop);
            naive.deliver(id, PROOF_CID);
            if (round == 1) vm.snapshotGasLastCall("NaiveEscrow", "deliver");
            vm.prank(customer);
            naive.accept(id);
            if (round == 1) vm.snapshotGasLastCall("NaiveEscrow", "accept");
        }
    }
}
