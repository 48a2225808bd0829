// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {IJobMarketTypes} from "../src/interfaces/IJobMarketTypes.sol";
import {Job, JobStatus} from "../src/types/Job.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Unit tests of the node registry: staking, the unbond queue (each request its own release time,
/// withdrawable only above the market's locked collateral), slashing order, votes, eligibility, nodes,
/// parameters and ownership.
contract NodeRegistryTest is MarketFixture {
    address internal newbie = address(0x4E3B);
    uint96 internal constant STAKED = 10_000e18; // what the fixture's shops staked

    function setUp() public override {
        super.setUp();
        vm.prank(owner);
        fab.transfer(newbie, 50_000e18);
        vm.prank(newbie);
        fab.approve(address(registry), type(uint256).max);
        watched.push(newbie);
    }

    function _vol(uint32 x, uint32 y, uint32 z) internal pure returns (uint32[3] memory v) {
        v = [x, y, z];
    }

    function _assertStake(address op, uint256 staked, uint256 locked, uint256 unbonding, uint256 unbondAt)
        internal
        view
    {
        INodeRegistry.Stake memory s = registry.stakeOf(op);
        vm.assertEq(s.staked, staked, "staked");
        vm.assertEq(s.locked, locked, "locked");
        vm.assertEq(s.unbonding, unbonding, "unbonding");
        vm.assertEq(s.unbondAt, unbondAt, "unbondAt");
    }

    function _assertRequest(address op, uint256 i, uint256 amount, uint256 releaseAt) internal view {
        INodeRegistry.UnbondRequest[] memory list = registry.unbondRequests(op);
        vm.assertLt(i, list.length, "request exists");
        vm.assertEq(list[i].amount, amount, "request amount");
        vm.assertEq(list[i].releaseAt, releaseAt, "request release");
    }

    function _unbond(address op, uint256 amount) internal returns (uint256 releaseAt) {
        releaseAt = block.timestamp + registry.unbondDelay();
        vm.prank(op);
        registry.requestUnbond(amount);
    }

    // ================================================================================== constructor

    function test_constructor_setsState() public view {
        vm.assertEq(registry.owner(), owner, "owner");
        vm.assertEq(registry.stakeToken(), address(fab), "stakeToken");
        vm.assertEq(registry.market(), address(market), "market");
        vm.assertEq(registry.minStake(), MIN_STAKE, "minStake");
        vm.assertEq(registry.unbondDelay(), UNBOND_DELAY, "unbondDelay");
        vm.assertEq(registry.nodeCount(), 2, "nodeCount");
        vm.assertEq(registry.MAX_MIN_STAKE(), 10_000_000e18, "MAX_MIN_STAKE");
        vm.assertEq(registry.MIN_UNBOND_DELAY(), 1 days, "MIN_UNBOND_DELAY");
        vm.assertEq(registry.MAX_UNBOND_DELAY(), 90 days, "MAX_UNBOND_DELAY");
        vm.assertEq(registry.MAX_UNBOND_REQUESTS(), 32, "MAX_UNBOND_REQUESTS");
        vm.assertEq(registry.PROCESS_MASK(), 1023, "PROCESS_MASK");
        vm.assertEq(registry.MATERIAL_MASK(), (uint256(1) << 40) - 1, "MATERIAL_MASK");
    }

    function test_constructor_revertsWhenMinStakeTooHigh() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__ParameterOutOfBounds.selector,
                bytes32("minStake"),
                10_000_000e18 + 1,
                0,
                10_000_000e18
            )
        );
        new NodeRegistry(owner, fab, address(market), 10_000_000e18 + 1, UNBOND_DELAY);
    }

    function test_constructor_revertsWhenUnbondDelayOutOfBounds() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__ParameterOutOfBounds.selector, bytes32("unbondDelay"), 0, 1 days, 90 days
            )
        );
        new NodeRegistry(owner, fab, address(market), MIN_STAKE, 0);
    }

    // ======================================================================================== stake

    function test_stake_bondsAccumulatesAndBecomesEligible() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.Staked(newbie, 300e18, 300e18);
        vm.prank(newbie);
        registry.stake(300e18);
        (address op, bool active,) = registry.claimInfo(0);
        vm.assertEq(op, address(0), "no node 0");
        vm.assertFalse(active, "no node 0 active");
        // Crossing the minimum makes the operator eligible, once, with an event.
        vm.expectEmit(address(registry));
        emit INodeRegistry.EligibilitySet(newbie, true);
        vm.expectEmit(address(registry));
        emit INodeRegistry.Staked(newbie, 700e18, 1_000e18);
        vm.prank(newbie);
        registry.stake(700e18);
        _assertStake(newbie, 1_000e18, 0, 0, 0);
        vm.assertEq(fab.balanceOf(newbie), 49_000e18, "paid");
        vm.assertEq(fab.balanceOf(address(registry)), 2 * STAKED + 1_000e18, "held");
    }

    function test_stake_revertsWhenZeroAmount() public {
        bytes32 before = _funds();
        vm.prank(newbie);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__ZeroAmount.selector));
        registry.stake(0);
        _assertNoFundsMoved(before);
    }

    function test_stake_revertsWhenAboveUint96() public {
        bytes32 before = _funds();
        vm.prank(newbie);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__AmountTooLarge.selector, uint256(1) << 96, type(uint96).max
            )
        );
        registry.stake(uint256(1) << 96);
        _assertNoFundsMoved(before);
    }

    function test_stake_revertsWhenTotalWithUnbondingAboveUint96() public {
        _unbond(shop, 4_000e18);
        uint256 amount = uint256(type(uint96).max) - STAKED + 1;
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__AmountTooLarge.selector, amount, type(uint96).max - STAKED
            )
        );
        registry.stake(amount);
        _assertNoFundsMoved(before);
    }

    function test_stake_revertsWhenBalanceTooLow() public {
        bytes32 before = _funds();
        vm.prank(newbie);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, newbie, 50_000e18, 50_001e18)
        );
        registry.stake(50_001e18);
        _assertNoFundsMoved(before);
    }

    function test_stake_revertsWhenNotApproved() public {
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), 0, 1)
        );
        registry.stake(1);
        _assertNoFundsMoved(before);
    }

    // ================================================================================ requestUnbond

    function test_requestUnbond_queuesRequestWithItsOwnReleaseTime() public {
        uint256 dueAt = block.timestamp + UNBOND_DELAY;
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondRequested(shop, 4_000e18, 4_000e18, dueAt, 6_000e18);
        vm.prank(shop);
        registry.requestUnbond(4_000e18);
        _assertStake(shop, 6_000e18, 0, 4_000e18, dueAt);
        _assertRequest(shop, 0, 4_000e18, dueAt);
        vm.assertEq(fab.balanceOf(address(registry)), 2 * STAKED, "nothing leaves yet");
    }

    function test_requestUnbond_laterRequestDoesNotDelayEarlierOne() public {
        uint256 first = _unbond(shop, 1_000e18);
        vm.warp(block.timestamp + 3 days);
        uint256 second = block.timestamp + UNBOND_DELAY;
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondRequested(shop, 500e18, 1_500e18, second, 8_500e18);
        vm.prank(shop);
        registry.requestUnbond(500e18);
        // unbondAt reports the oldest request; each keeps its own time.
        _assertStake(shop, 8_500e18, 0, 1_500e18, first);
        vm.assertEq(registry.unbondRequests(shop).length, 2, "two requests");
        _assertRequest(shop, 0, 1_000e18, first);
        _assertRequest(shop, 1, 500e18, second);
    }

    function test_requestUnbond_mayIncludeLockedStake() public {
        _claimed(0);
        uint256 dueAt = _unbond(shop, STAKED);
        // All of it unbonds, but the locked 10 FAB stays slashable and held until the job ends.
        _assertStake(shop, 0, MIN_COLLATERAL, STAKED, dueAt);
    }

    function test_requestUnbond_belowMinimumMakesIneligible() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.EligibilitySet(shop, false);
        _unbond(shop, STAKED - MIN_STAKE + 1);
        (address op, bool active, uint256 staked) = registry.claimInfo(nodeId);
        vm.assertEq(op, shop, "operator");
        vm.assertFalse(active, "ineligible");
        vm.assertEq(staked, MIN_STAKE - 1, "bonded");
    }

    function test_requestUnbond_revertsWhenZeroAmount() public {
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__ZeroAmount.selector));
        registry.requestUnbond(0);
        _assertNoFundsMoved(before);
    }

    function test_requestUnbond_revertsWhenMoreThanBonded() public {
        _unbond(shop, 1_000e18);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, shop, 9_000e18, 9_000e18 + 1
            )
        );
        registry.requestUnbond(9_000e18 + 1);
        _assertNoFundsMoved(before);
    }

    function test_requestUnbond_revertsWhenNothingStaked() public {
        bytes32 before = _funds();
        vm.prank(newbie);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, newbie, 0, 1)
        );
        registry.requestUnbond(1);
        _assertNoFundsMoved(before);
    }

    function test_requestUnbond_revertsWhenTooManyRequests() public {
        for (uint256 i; i < 32; ++i) {
            _unbond(shop, 1e18);
        }
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__TooManyRequests.selector, shop, 32));
        registry.requestUnbond(1e18);
        _assertNoFundsMoved(before);
        // Withdrawing frees queue places.
        vm.warp(block.timestamp + UNBOND_DELAY);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 32e18, "all due");
        _unbond(shop, 1e18);
        vm.assertEq(registry.unbondRequests(shop).length, 1, "queue reusable");
    }

    // ===================================================================================== withdraw

    function test_withdraw_paysOnlyDueRequests() public {
        uint256 first = _unbond(shop, 1_000e18);
        vm.warp(block.timestamp + 2 days);
        uint256 second = _unbond(shop, 500e18);
        vm.warp(first);
        uint256 before = fab.balanceOf(shop);
        vm.expectEmit(address(registry));
        emit INodeRegistry.Withdrawn(shop, 1_000e18, 500e18);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 1_000e18, "first only");
        vm.assertEq(fab.balanceOf(shop) - before, 1_000e18, "paid");
        _assertStake(shop, 8_500e18, 0, 500e18, second);
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnbondingNotDue.selector, shop, second, first)
        );
        registry.withdraw();
        vm.warp(second);
        vm.expectEmit(address(registry));
        emit INodeRegistry.Withdrawn(shop, 500e18, 0);
        vm.prank(shop);
        registry.withdraw();
        _assertStake(shop, 8_500e18, 0, 0, 0);
        vm.assertEq(registry.unbondRequests(shop).length, 0, "queue empty");
    }

    function test_withdraw_paysSeveralDueRequestsAtOnce() public {
        _unbond(shop, 1e18);
        _unbond(shop, 2e18);
        _unbond(shop, 3e18);
        vm.warp(block.timestamp + UNBOND_DELAY);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 6e18, "all three");
    }

    function test_withdraw_revertsWhenNotDue() public {
        uint256 dueAt = _unbond(shop, 4_000e18);
        vm.warp(dueAt - 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnbondingNotDue.selector, shop, dueAt, dueAt - 1)
        );
        registry.withdraw();
        _assertNoFundsMoved(before);
    }

    function test_withdraw_revertsWhenNothingUnbonding() public {
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NothingUnbonding.selector, shop));
        registry.withdraw();
        _assertNoFundsMoved(before);
    }

    function test_withdraw_revertsWhenCalledTwice() public {
        _unbond(shop, 1e18);
        vm.warp(block.timestamp + UNBOND_DELAY);
        vm.prank(shop);
        registry.withdraw();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NothingUnbonding.selector, shop));
        registry.withdraw();
        _assertNoFundsMoved(before);
    }

    function test_withdraw_usesDelayAtRequest() public {
        uint256 dueAt = _unbond(shop, 1e18);
        vm.prank(owner);
        registry.setUnbondDelay(90 days);
        vm.warp(dueAt);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 1e18, "old delay applies");
    }

    function test_withdraw_neverBelowLockedCollateral() public {
        (uint256 id, Job memory job) = _claimed(0); // 10 FAB locked
        uint256 dueAt = _unbond(shop, STAKED - MIN_COLLATERAL);
        _unbond(shop, MIN_COLLATERAL); // the locked part, in a request of its own
        vm.warp(dueAt);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), STAKED - MIN_COLLATERAL, "only the unlocked request");
        _assertStake(shop, 0, MIN_COLLATERAL, MIN_COLLATERAL, dueAt);
        // The locked request is due but held while the job is unfinished.
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__HeldAsCollateral.selector, shop, MIN_COLLATERAL)
        );
        registry.withdraw();
        _assertNoFundsMoved(before);
        // Once the job settles the collateral is free.
        job = deliverJob(id, job);
        vm.prank(customer);
        market.accept(id, job);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), MIN_COLLATERAL, "released");
        _assertStake(shop, 0, 0, 0, 0);
    }

    function test_withdraw_keepsRequestCoveringLockedCollateral() public {
        _claimed(0); // 10 FAB locked
        uint256 dueAt = _unbond(shop, STAKED); // one request including the locked 10 FAB
        vm.warp(dueAt);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), STAKED - MIN_COLLATERAL, "paid down to the locked collateral");
        _assertStake(shop, 0, MIN_COLLATERAL, MIN_COLLATERAL, dueAt);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__HeldAsCollateral.selector, shop, MIN_COLLATERAL)
        );
        registry.withdraw();
        _assertNoFundsMoved(before);
    }

    function test_withdraw_lockedCoveredByBondedStakeDoesNotHoldRequests() public {
        _claimed(0); // 10 FAB locked, covered by what stays bonded
        uint256 dueAt = _unbond(shop, 5_000e18);
        vm.warp(dueAt);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 5_000e18, "all of it");
    }

    // ======================================================================================== slash

    function test_slash_takesBondedFirstThenNewestRequests() public {
        uint256 first = _unbond(shop, 1_000e18);
        vm.warp(block.timestamp + 1 days);
        uint256 second = _unbond(shop, 2_000e18); // bonded 7 000, unbonding 3 000
        vm.expectEmit(address(registry));
        emit INodeRegistry.Slashed(shop, 7_500e18, 0, 2_500e18);
        vm.prank(address(market));
        registry.slash(shop, 7_500e18);
        _assertStake(shop, 0, 0, 2_500e18, first);
        _assertRequest(shop, 0, 1_000e18, first);
        _assertRequest(shop, 1, 1_500e18, second);
        vm.prank(address(market));
        registry.slash(shop, 2_000e18);
        vm.assertEq(registry.unbondRequests(shop).length, 1, "newest emptied and removed");
        _assertRequest(shop, 0, 500e18, first);
        _assertStake(shop, 0, 0, 500e18, first);
        vm.assertEq(fab.balanceOf(address(market)), 9_500e18, "slashed FAB moved to the market");
        vm.assertEq(fab.balanceOf(address(registry)), 2 * STAKED - 9_500e18, "registry keeps the rest");
        // The rest is still withdrawable at its own time.
        vm.warp(first);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 500e18, "rest withdrawn");
    }

    function test_slash_belowMinimumMakesIneligible() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.EligibilitySet(shop, false);
        vm.prank(address(market));
        registry.slash(shop, STAKED - MIN_STAKE + 1);
        (, bool active,) = registry.claimInfo(nodeId);
        vm.assertFalse(active, "ineligible");
    }

    function test_slash_revertsWhenMoreThanHeld() public {
        _unbond(shop, 1_000e18);
        bytes32 before = _funds();
        vm.prank(address(market));
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, shop, STAKED, STAKED + 1
            )
        );
        registry.slash(shop, STAKED + 1);
        _assertNoFundsMoved(before);
    }

    function test_slash_revertsWhenNotMarket() public {
        bytes32 before = _funds();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotMarket.selector, owner));
        registry.slash(shop, 1);
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotMarket.selector, shop));
        registry.slash(shop2, 1);
        _assertNoFundsMoved(before);
    }

    function test_slash_throughMarketHitsUnbondingRequest() public {
        (uint256 id, Job memory job) = _claimed(0);
        uint256 dueAt = _unbond(shop, STAKED); // everything unbonding, 10 FAB of it locked
        vm.warp(job.deadline + 1);
        market.expire(id, job); // 50 % of 10 FAB slashed from the unbonding request
        _assertStake(shop, 0, 0, STAKED - 5e18, dueAt);
        vm.assertLe(dueAt, block.timestamp, "request already due");
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), STAKED - 5e18, "the rest is paid");
    }

    // ======================================================================================== votes

    function test_votes_firstStakeSelfDelegatesAndCheckpoints() public {
        vm.warp(1_000);
        vm.assertEq(registry.delegates(newbie), address(0), "no delegate yet");
        vm.expectEmit(address(registry));
        emit IVotes.DelegateChanged(newbie, address(0), newbie);
        vm.prank(newbie);
        registry.stake(3_000e18);
        vm.assertEq(registry.delegates(newbie), newbie, "self");
        vm.assertEq(registry.getVotes(newbie), 3_000e18, "votes = stake");
        vm.warp(2_000);
        vm.assertEq(registry.getPastVotes(newbie, 999), 0, "none before staking");
        vm.assertEq(registry.getPastVotes(newbie, 1_000), 3_000e18, "from the stake on");
        vm.assertEq(registry.getPastTotalSupply(1_000), 2 * STAKED + 3_000e18, "total supply");
    }

    function test_votes_followDelegation() public {
        vm.prank(newbie);
        registry.stake(3_000e18);
        vm.prank(newbie);
        registry.delegate(stranger);
        vm.assertEq(registry.getVotes(stranger), 3_000e18, "delegated");
        vm.assertEq(registry.getVotes(newbie), 0, "moved away");
        // More stake follows the chosen delegate (no self-delegation override).
        vm.prank(newbie);
        registry.stake(1_000e18);
        vm.assertEq(registry.delegates(newbie), stranger, "delegate kept");
        vm.assertEq(registry.getVotes(stranger), 4_000e18, "added to delegate");
    }

    function test_votes_unbondingKeepsVotesWithdrawAndSlashRemoveThem() public {
        uint256 dueAt = _unbond(shop, 4_000e18);
        vm.assertEq(registry.getVotes(shop), STAKED, "unbonding still votes");
        vm.prank(address(market));
        registry.slash(shop, 1_000e18);
        vm.assertEq(registry.getVotes(shop), STAKED - 1_000e18, "slash removes votes");
        vm.warp(dueAt);
        vm.prank(shop);
        registry.withdraw();
        vm.assertEq(registry.getVotes(shop), STAKED - 5_000e18, "withdraw removes votes");
        vm.assertEq(registry.getPastTotalSupply(dueAt - 1), 2 * STAKED - 1_000e18, "past supply");
    }

    function test_votes_withdrawingEverythingLeavesNoVotes() public {
        // Votes are backed by FAB held here: an operator that took all of it out has none left.
        vm.prank(newbie);
        registry.stake(3_000e18);
        uint256 dueAt = _unbond(newbie, 3_000e18);
        vm.warp(dueAt);
        vm.prank(newbie);
        registry.withdraw();
        vm.assertEq(registry.getVotes(newbie), 0, "no stake, no votes");
        vm.warp(dueAt + 1);
        vm.assertEq(registry.getPastTotalSupply(dueAt), 2 * STAKED, "supply: the shops' stakes");
        vm.assertEq(registry.getVotes(shop) + registry.getVotes(shop2), 2 * STAKED, "votes add up to the supply");
    }

    function test_votes_timestampClock() public {
        vm.warp(123_456);
        vm.assertEq(registry.clock(), 123_456, "clock");
        vm.assertEq(registry.CLOCK_MODE(), "mode=timestamp", "mode");
        vm.expectRevert(abi.encodeWithSelector(Votes.ERC5805FutureLookup.selector, 123_456, 123_456));
        registry.getPastVotes(shop, 123_456);
    }

    // ================================================================================== eligibility

    function test_eligibility_staleUntilRefreshedAfterRaise() public {
        vm.prank(owner);
        registry.setMinStake(STAKED + 1);
        (, bool active,) = registry.claimInfo(nodeId);
        vm.assertTrue(active, "documented: eligible until refreshed");
        vm.expectEmit(address(registry));
        emit INodeRegistry.EligibilitySet(shop, false);
        vm.assertFalse(registry.refreshEligibility(shop), "refreshed");
        (, active,) = registry.claimInfo(nodeId);
        vm.assertFalse(active, "now ineligible");
        // Lowering the minimum again needs a refresh too, which anyone may do.
        vm.prank(owner);
        registry.setMinStake(MIN_STAKE);
        vm.prank(stranger);
        vm.assertTrue(registry.refreshEligibility(shop), "eligible again");
        (, active,) = registry.claimInfo(nodeId);
        vm.assertTrue(active, "active");
    }

    function test_eligibility_refreshWithoutChangeEmitsNothing() public {
        vm.recordLogs();
        vm.assertTrue(registry.refreshEligibility(shop), "eligible");
        vm.assertEq(vm.getRecordedLogs().length, 0, "no event");
    }

    function test_eligibility_inactiveNodeOfEligibleOperator() public {
        vm.prank(shop);
        registry.setNodeActive(nodeId, false);
        (address op, bool active, uint256 staked) = registry.claimInfo(nodeId);
        vm.assertEq(op, shop, "operator");
        vm.assertFalse(active, "inactive");
        vm.assertEq(staked, STAKED, "staked");
    }

    function test_claimInfo_reportsBondedStakeOnly() public {
        _unbond(shop, 2_000e18);
        (,, uint256 staked) = registry.claimInfo(nodeId);
        vm.assertEq(staked, STAKED - 2_000e18, "bonded only");
    }

    // =================================================================================== registerNode

    function test_registerNode_storesNodeAndEmits() public {
        bytes memory cid = PROOF_CID;
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeRegistered(3, newbie, 1023, (uint56(1) << 40) - 1, 1, 2, 3, bytes32(uint256(9)), cid);
        vm.prank(newbie);
        uint256 id = registry.registerNode(1023, (uint56(1) << 40) - 1, _vol(1, 2, 3), bytes32(uint256(9)), cid);
        vm.assertEq(id, 3, "id");
        vm.assertEq(registry.nodeCount(), 3, "count");
        INodeRegistry.Node memory n = registry.nodeOf(id);
        vm.assertEq(n.operator, newbie, "operator");
        vm.assertEq(n.processes, 1023, "processes");
        vm.assertEq(n.materials, (uint256(1) << 40) - 1, "materials");
        vm.assertTrue(n.active, "active");
        vm.assertEq(n.buildX, 1, "x");
        vm.assertEq(n.buildY, 2, "y");
        vm.assertEq(n.buildZ, 3, "z");
        vm.assertEq(n.encryptionKey, bytes32(uint256(9)), "key");
        vm.assertEq(n.metadataCid, cid, "cid");
    }

    function test_registerNode_withoutStakeIsAllowed() public {
        vm.prank(stranger);
        uint256 id = registry.registerNode(1, 0, _vol(1, 1, 1), ENC_KEY, META_CID);
        vm.assertEq(registry.nodeOf(id).operator, stranger, "registered");
    }

    function _expectRegisterRevert(
        bytes memory err,
        uint32 processes,
        uint56 materials,
        uint32[3] memory v,
        bytes32 key,
        bytes memory cid
    ) internal {
        vm.prank(newbie);
        vm.expectRevert(err);
        registry.registerNode(processes, materials, v, key, cid);
        vm.assertEq(registry.nodeCount(), 2, "nothing registered");
    }

    function test_registerNode_revertsWhenNoProcess() public {
        _expectRegisterRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidCapabilities.selector, 0, 1),
            0,
            1,
            _vol(1, 1, 1),
            ENC_KEY,
            META_CID
        );
    }

    function test_registerNode_revertsWhenUnknownProcessBit() public {
        _expectRegisterRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidCapabilities.selector, 1024 | 1, 1),
            1024 | 1,
            1,
            _vol(1, 1, 1),
            ENC_KEY,
            META_CID
        );
    }

    function test_registerNode_revertsWhenUnknownMaterialBit() public {
        uint56 m = uint56(1) << 40;
        _expectRegisterRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidCapabilities.selector, 1, m),
            1,
            m,
            _vol(1, 1, 1),
            ENC_KEY,
            META_CID
        );
    }

    function test_registerNode_revertsWhenBuildVolumeZero() public {
        _expectRegisterRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidBuildVolume.selector, 0, 1, 1),
            1,
            1,
            _vol(0, 1, 1),
            ENC_KEY,
            META_CID
        );
        _expectRegisterRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidBuildVolume.selector, 1, 0, 1),
            1,
            1,
            _vol(1, 0, 1),
            ENC_KEY,
            META_CID
        );
        _expectRegisterRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidBuildVolume.selector, 1, 1, 0),
            1,
            1,
            _vol(1, 1, 0),
            ENC_KEY,
            META_CID
        );
    }

    function test_registerNode_revertsWhenEncryptionKeyZero() public {
        _expectRegisterRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidEncryptionKey.selector),
            1,
            1,
            _vol(1, 1, 1),
            bytes32(0),
            META_CID
        );
    }

    function test_registerNode_revertsWhenMetadataCidInvalid() public {
        bytes memory bad = hex"12201111";
        _expectRegisterRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidCid.selector, bad),
            1,
            1,
            _vol(1, 1, 1),
            ENC_KEY,
            bad
        );
    }

    // ===================================================================================== updateNode

    function test_updateNode_replacesEverythingButOperatorAndActive() public {
        vm.prank(shop);
        registry.setNodeActive(nodeId, false);
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeUpdated(nodeId, shop, 6, 12, 7, 8, 9, bytes32(uint256(5)), PROOF_CID);
        vm.prank(shop);
        registry.updateNode(nodeId, 6, 12, _vol(7, 8, 9), bytes32(uint256(5)), PROOF_CID);
        INodeRegistry.Node memory n = registry.nodeOf(nodeId);
        vm.assertEq(n.operator, shop, "operator");
        vm.assertEq(n.processes, 6, "processes");
        vm.assertEq(n.materials, 12, "materials");
        vm.assertFalse(n.active, "active untouched");
        vm.assertEq(n.buildX, 7, "x");
        vm.assertEq(n.buildY, 8, "y");
        vm.assertEq(n.buildZ, 9, "z");
        vm.assertEq(n.encryptionKey, bytes32(uint256(5)), "key");
        vm.assertEq(n.metadataCid, PROOF_CID, "cid");
    }

    function test_updateNode_revertsWhenUnknownNode() public {
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnknownNode.selector, 3));
        registry.updateNode(3, 1, 1, _vol(1, 1, 1), ENC_KEY, META_CID);
    }

    function test_updateNode_revertsWhenNotOperator() public {
        vm.prank(shop2);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotNodeOperator.selector, nodeId, shop2, shop)
        );
        registry.updateNode(nodeId, 1, 1, _vol(1, 1, 1), ENC_KEY, META_CID);
    }

    function test_updateNode_revertsWhenInvalid() public {
        vm.startPrank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidCapabilities.selector, 0, 0));
        registry.updateNode(nodeId, 0, 0, _vol(1, 1, 1), ENC_KEY, META_CID);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidBuildVolume.selector, 1, 1, 0));
        registry.updateNode(nodeId, 1, 1, _vol(1, 1, 0), ENC_KEY, META_CID);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidEncryptionKey.selector));
        registry.updateNode(nodeId, 1, 1, _vol(1, 1, 1), bytes32(0), META_CID);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__InvalidCid.selector, bytes("")));
        registry.updateNode(nodeId, 1, 1, _vol(1, 1, 1), ENC_KEY, "");
        vm.stopPrank();
        vm.assertEq(registry.nodeOf(nodeId).processes, 1, "unchanged");
        vm.assertEq(registry.nodeOf(nodeId).buildX, 250, "unchanged volume");
    }

    // ================================================================================= setNodeActive

    function test_setNodeActive_togglesAndEmits() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActiveSet(nodeId, shop, false);
        vm.prank(shop);
        registry.setNodeActive(nodeId, false);
        vm.assertFalse(registry.nodeOf(nodeId).active, "inactive");
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeActiveSet(nodeId, shop, true);
        vm.prank(shop);
        registry.setNodeActive(nodeId, true);
        vm.assertTrue(registry.nodeOf(nodeId).active, "active");
    }

    function test_setNodeActive_revertsWhenUnknownNode() public {
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnknownNode.selector, 0));
        registry.setNodeActive(0, false);
    }

    function test_setNodeActive_revertsWhenNotOperator() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotNodeOperator.selector, nodeId, stranger, shop)
        );
        registry.setNodeActive(nodeId, false);
    }

    function test_nodeOf_revertsWhenUnknownNode() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnknownNode.selector, 77));
        registry.nodeOf(77);
    }

    // ==================================================================================== governance

    function test_setMinStake_setsAndEmits() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.MinStakeSet(10_000_000e18);
        vm.prank(owner);
        registry.setMinStake(10_000_000e18);
        vm.assertEq(registry.minStake(), 10_000_000e18, "max");
        vm.prank(owner);
        registry.setMinStake(0);
        vm.assertEq(registry.minStake(), 0, "zero");
    }

    function test_setMinStake_revertsWhenTooHigh() public {
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__ParameterOutOfBounds.selector,
                bytes32("minStake"),
                10_000_000e18 + 1,
                0,
                10_000_000e18
            )
        );
        registry.setMinStake(10_000_000e18 + 1);
        vm.assertEq(registry.minStake(), MIN_STAKE, "unchanged");
    }

    function test_setMinStake_revertsWhenNotOwner() public {
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, shop));
        registry.setMinStake(0);
    }

    function test_setUnbondDelay_setsAndEmits() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondDelaySet(1 days);
        vm.prank(owner);
        registry.setUnbondDelay(1 days);
        vm.assertEq(registry.unbondDelay(), 1 days, "min");
        vm.prank(owner);
        registry.setUnbondDelay(90 days);
        vm.assertEq(registry.unbondDelay(), 90 days, "max");
    }

    function test_setUnbondDelay_revertsWhenOutOfBounds() public {
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__ParameterOutOfBounds.selector,
                bytes32("unbondDelay"),
                1 days - 1,
                1 days,
                90 days
            )
        );
        registry.setUnbondDelay(1 days - 1);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__ParameterOutOfBounds.selector,
                bytes32("unbondDelay"),
                90 days + 1,
                1 days,
                90 days
            )
        );
        registry.setUnbondDelay(90 days + 1);
        vm.assertEq(registry.unbondDelay(), UNBOND_DELAY, "unchanged");
    }

    function test_setUnbondDelay_revertsWhenNotOwner() public {
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, shop));
        registry.setUnbondDelay(1 days);
    }

    function test_ownership_twoStepTransfer() public {
        vm.prank(owner);
        registry.transferOwnership(newbie);
        vm.assertEq(registry.pendingOwner(), newbie, "pending");
        vm.assertEq(registry.owner(), owner, "not yet");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        registry.acceptOwnership();
        vm.prank(newbie);
        registry.acceptOwnership();
        vm.assertEq(registry.owner(), newbie, "owner");
        vm.prank(newbie);
        registry.setMinStake(1);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        registry.setMinStake(2);
    }

    function test_ownership_renounce() public {
        vm.prank(owner);
        registry.renounceOwnership();
        vm.assertEq(registry.owner(), address(0), "renounced");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        registry.setMinStake(0);
    }

    function test_stakeToken_isFab() public view {
        vm.assertEq(IERC20(registry.stakeToken()).totalSupply(), 1_000_000_000e18, "FAB");
    }
}
