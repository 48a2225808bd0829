// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./utils/Fixture.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {IJobMarketTypes} from "../src/interfaces/IJobMarketTypes.sol";
import {NaiveEscrow} from "./bench/NaiveEscrow.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";

/// @notice Per-transaction gas of the job lifecycle. Run with `forge test --isolate` so each call is
/// its own transaction (intrinsic gas, cold accounts and slots, refunds): scripts/gas_snapshot.py reads
/// contracts/snapshots/JobMarket.json and bench/gas.py reports it. Every market rule is in force.
contract JobMarketGasTest is Fixture {
    uint256 internal constant CUSTOMER_KEY = 0xC057;

    /// @dev A first job warms the long-lived balances (a live marketplace has them non-zero) and leaves a
    /// finished job whose slot the next post recycles, as the SDK does.
    function _warm() internal returns (uint64 finishedKey) {
        (uint256 warmId, Job memory warm) = postJob(100e6, designId);
        warm = deliverJob(warmId, claimJob(warmId, warm));
        vm.prank(customer);
        market.accept(warmId, warm);
        return warm.key;
    }

    /// @notice Steady state: customer (with a deposit), node, treasury and designer have been paid before.
    function test_gas_lifecycle() public {
        vm.prank(customer);
        market.deposit(address(usd), 10_000e6);
        uint64 finished = _warm();

        uint40 claimBy = uint40(block.timestamp + 1 days);
        vm.prank(customer);
        uint256 id = market.post(address(usd), 250e6, SPEC_CID, designId, claimBy, 7 days, MIN_COLLATERAL, 0, finished);
        vm.snapshotGasLastCall("JobMarket", "post");
        Job memory job = openJob(250e6, designId, claimBy, 7 days, MIN_COLLATERAL);
        job.key = finished;
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Open), "recycled slot");

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
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Settled), "settled");
    }

    /// @notice A first post into a fresh slot (no finished job to recycle), same warm marketplace.
    function test_gas_postFreshSlot() public {
        vm.prank(customer);
        market.deposit(address(usd), 10_000e6);
        _warm();
        vm.prank(customer);
        market.post(address(usd), 250e6, SPEC_CID, designId, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, 0);
        vm.snapshotGasLastCall("JobMarket", "post_fresh");
    }

    /// @notice A post paid by transferFrom (no deposit) on the same warm marketplace.
    function test_gas_postWithTransfer() public {
        uint64 finished = _warm();
        vm.prank(customer);
        market.post(
            address(usd), 250e6, SPEC_CID, designId, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL, 0, finished
        );
        vm.snapshotGasLastCall("JobMarket", "post_transfer");
    }

    /// @notice Signed order: take (create + claim in one transaction), deliver, accept.
    function test_gas_signedLifecycle() public {
        address signer = vm.addr(CUSTOMER_KEY);
        vm.prank(owner);
        usd.mint(signer, 100_000e6);
        vm.startPrank(signer);
        usd.approve(address(market), type(uint256).max);
        market.deposit(address(usd), 10_000e6);
        vm.stopPrank();
        // Warm the long-lived balances with one signed job first.
        uint64 finished = _signedRound(signer, 1, 0, false);
        _signedRound(signer, 2, finished, true);
    }

    function _signedRound(address signer, uint64 nonce, uint64 reuseKey, bool measure) internal returns (uint64 key) {
        IJobMarketTypes.Order memory order = IJobMarketTypes.Order({
            customer: signer,
            token: address(usd),
            amount: 250e6,
            collateral: MIN_COLLATERAL,
            designId: designId,
            deliveryWindow: 7 days,
            targetNode: 0,
            expiry: uint40(block.timestamp + 1 days),
            nonce: nonce,
            counter: 0,
            specCid: SPEC_CID
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(CUSTOMER_KEY, market.orderDigest(order));
        vm.prank(shop);
        uint256 id = market.take(order, abi.encodePacked(r, s, v), nodeId, reuseKey);
        if (measure) vm.snapshotGasLastCall("JobMarket", "take");
        Job memory job = openJob(250e6, designId, 0, 7 days, MIN_COLLATERAL);
        job.customer = signer;
        job.node = shop;
        job.deadline = uint40(block.timestamp + 7 days);
        job.key = reuseKey == 0 ? uint64(id) : reuseKey;
        key = job.key;
        vm.prank(shop);
        market.deliver(id, job, PROOF_CID);
        if (measure) vm.snapshotGasLastCall("JobMarket", "deliver_signed");
        job.deadline = uint40(block.timestamp + job.reviewWindow);
        vm.prank(signer);
        market.accept(id, job);
        if (measure) vm.snapshotGasLastCall("JobMarket", "accept_signed");
        vm.assertEq(uint256(market.statusOf(id, job)), uint256(JobStatus.Settled), "signed settled");
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
