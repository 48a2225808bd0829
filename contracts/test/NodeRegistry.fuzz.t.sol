// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";

/// @notice Fuzz tests: stake accounting, unbonding timing and collateral bounds.
contract NodeRegistryFuzzTest is MarketFixture {
    address internal op = address(0x0B0B);
    uint256 internal opNode;

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        fab.transfer(op, 1_000_000e18);
        vm.startPrank(op);
        fab.approve(address(registry), type(uint256).max);
        opNode = registry.registerNode(1, 1, [uint32(1), 1, 1], ENC_KEY, META_CID);
        vm.stopPrank();
    }

    function testFuzz_stakeUnbondWithdraw_roundTrip(uint256 staked, uint256 unbond, uint40 delay, uint256 wait)
        public
    {
        staked = bound(staked, 1, 1_000_000e18);
        unbond = bound(unbond, 1, staked);
        delay = uint40(bound(delay, 1 days, 90 days));
        wait = bound(wait, 0, 2 * uint256(delay));
        vm.prank(owner);
        registry.setUnbondDelay(delay);
        vm.startPrank(op);
        registry.stake(staked);
        registry.requestUnbond(unbond);
        uint256 dueAt = block.timestamp + delay;
        INodeRegistry.Stake memory s = registry.stakeOf(op);
        vm.assertEq(s.staked, staked - unbond, "staked");
        vm.assertEq(s.unbonding, unbond, "unbonding");
        vm.assertEq(s.unbondAt, dueAt, "unbondAt");
        vm.warp(block.timestamp + wait);
        uint256 balance = fab.balanceOf(op);
        if (block.timestamp < dueAt) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    INodeRegistry.NodeRegistry__UnbondingNotDue.selector, op, dueAt, block.timestamp
                )
            );
            registry.withdraw();
            vm.assertEq(fab.balanceOf(op), balance, "nothing paid early");
        } else {
            vm.assertEq(registry.withdraw(), unbond, "withdrawn");
            vm.assertEq(fab.balanceOf(op), balance + unbond, "paid");
            vm.assertEq(registry.stakeOf(op).unbonding, 0, "cleared");
        }
        vm.stopPrank();
        vm.assertEq(
            fab.balanceOf(address(registry)),
            2 * 10_000e18 + registry.stakeOf(op).staked + registry.stakeOf(op).unbonding,
            "registry holds stake + unbonding"
        );
    }

    function testFuzz_lockCollateral_onlyFreeStake(uint256 staked, uint256 unbond, uint256 lock) public {
        staked = bound(staked, MIN_STAKE, 1_000_000e18);
        unbond = bound(unbond, 0, staked);
        lock = bound(lock, 0, 2_000_000e18);
        vm.startPrank(op);
        registry.stake(staked);
        if (unbond != 0) registry.requestUnbond(unbond);
        vm.stopPrank();
        uint256 remaining = staked - unbond;
        vm.prank(address(market));
        if (remaining < MIN_STAKE) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    INodeRegistry.NodeRegistry__BelowMinimumStake.selector, op, remaining, MIN_STAKE
                )
            );
        } else if (lock > remaining) {
            vm.expectRevert(
                abi.encodeWithSelector(INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, op, remaining, lock)
            );
        }
        registry.lockCollateral(op, opNode, lock);
        INodeRegistry.Stake memory s = registry.stakeOf(op);
        vm.assertLe(s.locked, s.staked, "locked <= staked");
        if (remaining >= MIN_STAKE && lock <= remaining) vm.assertEq(s.locked, lock, "locked");
        else vm.assertEq(s.locked, 0, "nothing locked");
    }

    function testFuzz_slashCollateral_conservesFab(uint256 staked, uint256 locked, uint256 slashBps) public {
        staked = bound(staked, MIN_STAKE, 1_000_000e18);
        locked = bound(locked, 0, staked);
        uint256 slashed = locked * bound(slashBps, 0, BPS) / BPS;
        vm.prank(op);
        registry.stake(staked);
        uint256 total = fab.balanceOf(address(registry)) + fab.balanceOf(stranger);
        vm.startPrank(address(market));
        registry.lockCollateral(op, opNode, locked);
        registry.slashCollateral(op, locked, slashed, stranger);
        vm.stopPrank();
        INodeRegistry.Stake memory s = registry.stakeOf(op);
        vm.assertEq(s.staked, staked - slashed, "stake cut by the slash");
        vm.assertEq(s.locked, 0, "all released");
        vm.assertEq(fab.balanceOf(stranger), slashed, "recipient paid");
        vm.assertEq(fab.balanceOf(address(registry)) + fab.balanceOf(stranger), total, "FAB conserved");
    }

    function testFuzz_requestUnbond_neverTouchesLocked(uint256 staked, uint256 locked, uint256 unbond) public {
        staked = bound(staked, MIN_STAKE, 1_000_000e18);
        locked = bound(locked, 0, staked);
        unbond = bound(unbond, 1, 2 * staked);
        vm.prank(op);
        registry.stake(staked);
        vm.prank(address(market));
        registry.lockCollateral(op, opNode, locked);
        vm.prank(op);
        if (unbond > staked - locked) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, op, staked - locked, unbond
                )
            );
        }
        registry.requestUnbond(unbond);
        INodeRegistry.Stake memory s = registry.stakeOf(op);
        vm.assertEq(s.locked, locked, "locked untouched");
        vm.assertLe(s.locked, s.staked, "locked <= staked");
        vm.assertEq(uint256(s.staked) + s.unbonding, staked, "stake + unbonding conserved");
    }
}
