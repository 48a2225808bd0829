// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";

/// @notice Random sequences of stake, unbond requests, withdrawals, slashes, time and locked collateral
/// on one operator, against a plain model of its account: bonded stake, the queue of unbond requests (each
/// with its release time), eligibility, votes and every FAB transfer.
contract NodeRegistryFuzzTest is MarketFixture {
    address internal op = address(0x0B0B);
    uint256 internal opNode;
    uint256 internal constant MAX_REQUESTS = 32;

    // ------------------------------------------------------------------------------------- model
    uint256 internal mStaked;
    uint256 internal mUnbonding;
    uint256 internal mLocked; // what the market reports locked (mocked: any value the rules allow)
    uint256 internal mWallet;
    uint256 internal mSlashed;
    bool internal mEligible;
    INodeRegistry.UnbondRequest[] internal mReqs;
    uint256 internal mHead;
    uint256 internal registryBase; // the fixture's stakes
    uint256 internal marketBase;

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        fab.transfer(op, 1_000_000e18);
        vm.startPrank(op);
        fab.approve(address(registry), type(uint256).max);
        opNode = registry.registerNode(1, 1, [uint32(1), 1, 1], ENC_KEY, META_CID);
        vm.stopPrank();
        mWallet = 1_000_000e18;
        registryBase = fab.balanceOf(address(registry));
        marketBase = fab.balanceOf(address(market));
        _mockLocked(0);
    }

    function _mockLocked(uint256 locked) internal {
        mLocked = locked;
        vm.mockCall(address(market), abi.encodeCall(market.lockedOf, (op)), abi.encode(locked));
    }

    /// @notice Any sequence keeps the registry equal to the model after every step.
    function testFuzz_unbondSequence_matchesModel(uint256[24] calldata steps) public {
        for (uint256 i; i < steps.length; ++i) {
            uint256 s = steps[i];
            uint256 kind = s % 7;
            uint256 arg = s >> 8;
            if (kind == 0) _stake(arg);
            else if (kind == 1) _requestUnbond(arg);
            else if (kind == 2) _withdraw();
            else if (kind == 3) _warp(arg);
            else if (kind == 4) _slash(arg);
            else if (kind == 5) _lock(arg);
            else _minStake(arg);
            _check();
        }
    }

    // ---------------------------------------------------------------------------------- steps

    function _stake(uint256 arg) internal {
        uint256 amount = 1 + arg % 20_000e18;
        vm.prank(op);
        registry.stake(amount);
        mStaked += amount;
        mWallet -= amount;
        mEligible = mStaked >= registry.minStake();
    }

    function _requestUnbond(uint256 arg) internal {
        uint256 k = arg % 8;
        // Everything, nothing, one too many, or any part.
        uint256 amount = k == 0 ? mStaked : k == 1 ? 0 : k == 2 ? mStaked + 1 : 1 + (arg >> 3) % (mStaked + 1);
        vm.prank(op);
        if (amount == 0) {
            vm.expectRevert(INodeRegistry.NodeRegistry__ZeroAmount.selector);
        } else if (amount > mStaked) {
            vm.expectRevert(
                abi.encodeWithSelector(INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, op, mStaked, amount)
            );
        } else if (mReqs.length - mHead >= MAX_REQUESTS) {
            vm.expectRevert(
                abi.encodeWithSelector(INodeRegistry.NodeRegistry__TooManyRequests.selector, op, MAX_REQUESTS)
            );
        }
        registry.requestUnbond(amount);
        if (amount == 0 || amount > mStaked || mReqs.length - mHead >= MAX_REQUESTS) return;
        mReqs.push(INodeRegistry.UnbondRequest(uint96(amount), uint40(block.timestamp + registry.unbondDelay())));
        mStaked -= amount;
        mUnbonding += amount;
        mEligible = mStaked >= registry.minStake();
    }

    /// @dev Due requests oldest first, down to the collateral held beyond the bonded stake; the last in part.
    function _withdraw() internal {
        uint256 held = mLocked > mStaked ? mLocked - mStaked : 0;
        uint256 available = mUnbonding > held ? mUnbonding - held : 0;
        uint256 amount;
        uint256 head = mHead;
        uint256 cut;
        while (head < mReqs.length && amount < available) {
            INodeRegistry.UnbondRequest storage r = mReqs[head];
            if (r.releaseAt > block.timestamp) break;
            uint256 room = available - amount;
            if (r.amount > room) {
                cut = room;
                amount = available;
                break;
            }
            amount += r.amount;
            ++head;
        }
        vm.prank(op);
        if (mUnbonding == 0) {
            vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NothingUnbonding.selector, op));
        } else if (amount == 0) {
            uint256 due = head < mReqs.length ? mReqs[head].releaseAt : 0;
            vm.expectRevert(
                due != 0 && due <= block.timestamp
                    ? abi.encodeWithSelector(INodeRegistry.NodeRegistry__HeldAsCollateral.selector, op, held)
                    : abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnbondingNotDue.selector, op, due, block.timestamp)
            );
        }
        uint256 paid = registry.withdraw();
        if (mUnbonding == 0 || amount == 0) return;
        vm.assertEq(paid, amount, "withdrawn amount");
        mHead = head;
        if (cut != 0) mReqs[head].amount -= uint96(cut);
        mUnbonding -= amount;
        mWallet += amount;
        vm.assertGe(mStaked + mUnbonding, mLocked, "what stays covers the locked collateral");
    }

    /// @dev Hours or days, or exactly to the oldest request's release (one second before, at, after).
    function _warp(uint256 arg) internal {
        if (arg % 2 == 0 && mHead < mReqs.length) {
            uint256 t = uint256(mReqs[mHead].releaseAt) + (arg >> 1) % 3;
            if (t >= 1 + block.timestamp) vm.warp(t - 1);
            return;
        }
        vm.warp(block.timestamp + (arg >> 1) % 3 days);
    }

    /// @dev The market slashes: bonded stake first, then the newest requests; never more than the stake.
    function _slash(uint256 arg) internal {
        uint256 total = mStaked + mUnbonding;
        uint256 amount = arg % 8 == 0 ? total + 1 : arg % 8 == 1 ? total : (arg >> 3) % (total + 1);
        vm.prank(address(market));
        if (amount > total) {
            vm.expectRevert(
                abi.encodeWithSelector(INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, op, total, amount)
            );
            registry.slash(op, amount);
            return;
        }
        registry.slash(op, amount);
        uint256 fromStaked = amount < mStaked ? amount : mStaked;
        mStaked -= fromStaked;
        uint256 rest = amount - fromStaked;
        while (rest != 0) {
            INodeRegistry.UnbondRequest storage r = mReqs[mReqs.length - 1];
            uint256 take = rest < r.amount ? rest : r.amount;
            r.amount -= uint96(take);
            mUnbonding -= take;
            rest -= take;
            if (r.amount == 0) mReqs.pop();
        }
        mSlashed += amount;
        mEligible = mStaked >= registry.minStake();
        // The locked collateral the slash came from is released by the market; keep the mock within the stake.
        if (mLocked > mStaked + mUnbonding) _mockLocked(mStaked + mUnbonding);
    }

    /// @dev The market reports some locked collateral: at most the stake, often exactly on a request edge.
    function _lock(uint256 arg) internal {
        uint256 total = mStaked + mUnbonding;
        uint256 locked = arg % (total + 1);
        if (arg % 2 == 0 && mReqs.length > mHead) {
            // bonded stake + the newest k requests, give or take one: `available` lands on a request boundary.
            uint256 k = (arg >> 1) % (mReqs.length - mHead + 1);
            locked = mStaked;
            for (uint256 i; i < k; ++i) locked += mReqs[mReqs.length - 1 - i].amount;
            uint256 d = (arg >> 9) % 3;
            locked = locked + d >= 1 ? locked + d - 1 : 0;
            if (locked > total) locked = total;
        }
        _mockLocked(locked);
    }

    /// @dev Governance moves the minimum; eligibility follows at the next change or refresh.
    function _minStake(uint256 arg) internal {
        vm.prank(owner);
        registry.setMinStake(uint96(arg % 30_000e18));
        if (arg % 2 == 0) {
            mEligible = mStaked >= registry.minStake();
            vm.assertEq(registry.refreshEligibility(op), mEligible, "refreshed eligibility");
        }
    }

    // ---------------------------------------------------------------------------------- checks

    function _check() internal view {
        INodeRegistry.Stake memory s = registry.stakeOf(op);
        vm.assertEq(s.staked, mStaked, "bonded stake");
        vm.assertEq(s.unbonding, mUnbonding, "unbonding");
        vm.assertEq(s.locked, mLocked, "locked as the market reports it");
        INodeRegistry.UnbondRequest[] memory list = registry.unbondRequests(op);
        vm.assertEq(list.length, mReqs.length - mHead, "pending requests");
        uint256 sum;
        for (uint256 i; i < list.length; ++i) {
            vm.assertEq(list[i].amount, mReqs[mHead + i].amount, "request amount");
            vm.assertEq(list[i].releaseAt, mReqs[mHead + i].releaseAt, "request release time");
            sum += list[i].amount;
        }
        vm.assertEq(sum, mUnbonding, "unbonding == sum of the pending requests");
        vm.assertEq(s.unbondAt, list.length == 0 ? 0 : list[0].releaseAt, "unbondAt is the oldest release");
        (, bool active, uint256 staked) = registry.claimInfo(opNode);
        vm.assertEq(staked, mStaked, "claimInfo stake");
        vm.assertEq(active, mEligible, "eligibility");
        vm.assertEq(registry.getVotes(op), mStaked + mUnbonding, "votes == FAB held for the operator");
        vm.assertEq(fab.balanceOf(op), mWallet, "operator wallet");
        vm.assertEq(fab.balanceOf(address(registry)), registryBase + mStaked + mUnbonding, "registry holds the stake");
        vm.assertEq(fab.balanceOf(address(market)), marketBase + mSlashed, "slashed FAB went to the market");
    }
}
