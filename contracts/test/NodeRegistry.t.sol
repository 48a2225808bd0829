// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {NodeRegistry} from "../src/NodeRegistry.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Unit tests: staking, unbonding timing, nodes, market-only collateral, parameters, ownership.
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

    function test_stake_bondsAndAccumulates() public {
        vm.expectEmit(address(registry));
        emit INodeRegistry.Staked(newbie, 300e18, 300e18);
        vm.prank(newbie);
        registry.stake(300e18);
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

    function test_stake_revertsWhenTotalAboveUint96() public {
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

    function test_requestUnbond_movesFreeStakeToUnbonding() public {
        uint256 dueAt = block.timestamp + UNBOND_DELAY;
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondRequested(shop, 4_000e18, 4_000e18, dueAt, 6_000e18);
        vm.prank(shop);
        registry.requestUnbond(4_000e18);
        _assertStake(shop, 6_000e18, 0, 4_000e18, dueAt);
        vm.assertEq(fab.balanceOf(address(registry)), 2 * STAKED, "nothing leaves yet");
    }

    function test_requestUnbond_accumulatesAndRestartsDelay() public {
        vm.prank(shop);
        registry.requestUnbond(1_000e18);
        vm.warp(block.timestamp + 3 days);
        uint256 dueAt = block.timestamp + UNBOND_DELAY;
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondRequested(shop, 500e18, 1_500e18, dueAt, 8_500e18);
        vm.prank(shop);
        registry.requestUnbond(500e18);
        _assertStake(shop, 8_500e18, 0, 1_500e18, dueAt);
    }

    function test_requestUnbond_allowsWholeFreeStake() public {
        _claimed(0);
        vm.prank(shop);
        registry.requestUnbond(STAKED - MIN_COLLATERAL);
        _assertStake(shop, MIN_COLLATERAL, MIN_COLLATERAL, STAKED - MIN_COLLATERAL, block.timestamp + UNBOND_DELAY);
    }

    function test_requestUnbond_revertsWhenZeroAmount() public {
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__ZeroAmount.selector));
        registry.requestUnbond(0);
        _assertNoFundsMoved(before);
    }

    function test_requestUnbond_revertsWhenLockedCollateralWouldLeave() public {
        _claimed(0);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, shop, STAKED - MIN_COLLATERAL, STAKED
            )
        );
        registry.requestUnbond(STAKED);
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

    // ===================================================================================== withdraw

    function test_withdraw_paysOutAfterDelay() public {
        vm.prank(shop);
        registry.requestUnbond(4_000e18);
        uint256 dueAt = block.timestamp + UNBOND_DELAY;
        vm.warp(dueAt);
        uint256 before = fab.balanceOf(shop);
        vm.expectEmit(address(registry));
        emit INodeRegistry.Withdrawn(shop, 4_000e18);
        vm.prank(shop);
        uint256 amount = registry.withdraw();
        vm.assertEq(amount, 4_000e18, "returned");
        vm.assertEq(fab.balanceOf(shop) - before, 4_000e18, "paid");
        _assertStake(shop, 6_000e18, 0, 0, 0);
    }

    function test_withdraw_revertsWhenNotDue() public {
        vm.prank(shop);
        registry.requestUnbond(4_000e18);
        uint256 dueAt = block.timestamp + UNBOND_DELAY;
        vm.warp(dueAt - 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnbondingNotDue.selector, shop, dueAt, dueAt - 1)
        );
        registry.withdraw();
        _assertNoFundsMoved(before);
    }

    function test_withdraw_revertsWhenRestartedDelayNotDue() public {
        vm.prank(shop);
        registry.requestUnbond(1_000e18);
        vm.warp(block.timestamp + UNBOND_DELAY - 1);
        vm.prank(shop);
        registry.requestUnbond(1e18);
        uint256 dueAt = block.timestamp + UNBOND_DELAY;
        vm.warp(block.timestamp + 1);
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnbondingNotDue.selector, shop, dueAt, block.timestamp)
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
        vm.prank(shop);
        registry.requestUnbond(1e18);
        vm.warp(block.timestamp + UNBOND_DELAY);
        vm.prank(shop);
        registry.withdraw();
        bytes32 before = _funds();
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NothingUnbonding.selector, shop));
        registry.withdraw();
        _assertNoFundsMoved(before);
    }

    function test_withdraw_unbondingDelayUsesDelayAtRequest() public {
        vm.prank(shop);
        registry.requestUnbond(1e18);
        uint256 dueAt = block.timestamp + UNBOND_DELAY;
        vm.prank(owner);
        registry.setUnbondDelay(90 days);
        vm.warp(dueAt);
        vm.prank(shop);
        vm.assertEq(registry.withdraw(), 1e18, "old delay applies");
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

    // ================================================================================ lockCollateral

    function test_lockCollateral_locksFreeStake() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 2_500e18);
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 7_500e18);
        _assertStake(shop, STAKED, STAKED, 0, 0);
    }

    function test_lockCollateral_zeroAmountAllowed() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 0);
        _assertStake(shop, STAKED, 0, 0, 0);
    }

    function test_lockCollateral_atExactlyMinStake() public {
        vm.prank(newbie);
        registry.stake(MIN_STAKE);
        vm.prank(newbie);
        uint256 id = registry.registerNode(1, 1, _vol(1, 1, 1), ENC_KEY, META_CID);
        vm.prank(address(market));
        registry.lockCollateral(newbie, id, MIN_STAKE);
        _assertStake(newbie, MIN_STAKE, MIN_STAKE, 0, 0);
    }

    function test_lockCollateral_revertsWhenNotMarket() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotMarket.selector, owner));
        registry.lockCollateral(shop, nodeId, 1);
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotMarket.selector, shop));
        registry.lockCollateral(shop, nodeId, 1);
        _assertStake(shop, STAKED, 0, 0, 0);
    }

    function test_lockCollateral_revertsWhenUnknownNode() public {
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__UnknownNode.selector, 5));
        registry.lockCollateral(shop, 5, 1);
    }

    function test_lockCollateral_revertsWhenOperatorMismatch() public {
        vm.prank(address(market));
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotNodeOperator.selector, nodeId, shop2, shop)
        );
        registry.lockCollateral(shop2, nodeId, 1);
    }

    function test_lockCollateral_revertsWhenNodeInactive() public {
        vm.prank(shop);
        registry.setNodeActive(nodeId, false);
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NodeInactive.selector, nodeId));
        registry.lockCollateral(shop, nodeId, 1);
    }

    function test_lockCollateral_revertsWhenBelowMinimumStake() public {
        vm.prank(newbie);
        registry.stake(MIN_STAKE - 1);
        vm.prank(newbie);
        uint256 id = registry.registerNode(1, 1, _vol(1, 1, 1), ENC_KEY, META_CID);
        vm.prank(address(market));
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__BelowMinimumStake.selector, newbie, MIN_STAKE - 1, MIN_STAKE
            )
        );
        registry.lockCollateral(newbie, id, 0);
    }

    function test_lockCollateral_revertsWhenFreeStakeTooLow() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 9_000e18);
        vm.prank(address(market));
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, shop, 1_000e18, 1_000e18 + 1
            )
        );
        registry.lockCollateral(shop, nodeId, 1_000e18 + 1);
        _assertStake(shop, STAKED, 9_000e18, 0, 0);
    }

    function test_lockCollateral_unbondingStakeIsNotFree() public {
        vm.prank(shop);
        registry.requestUnbond(8_000e18);
        vm.prank(address(market));
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, shop, 2_000e18, 2_000e18 + 1
            )
        );
        registry.lockCollateral(shop, nodeId, 2_000e18 + 1);
    }

    // ============================================================================= releaseCollateral

    function test_releaseCollateral_unlocks() public {
        vm.startPrank(address(market));
        registry.lockCollateral(shop, nodeId, 3_000e18);
        registry.releaseCollateral(shop, 1_000e18);
        vm.stopPrank();
        _assertStake(shop, STAKED, 2_000e18, 0, 0);
    }

    function test_releaseCollateral_revertsWhenNotMarket() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 3_000e18);
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotMarket.selector, shop));
        registry.releaseCollateral(shop, 3_000e18);
        _assertStake(shop, STAKED, 3_000e18, 0, 0);
    }

    function test_releaseCollateral_revertsWhenMoreThanLocked() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 3_000e18);
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        registry.releaseCollateral(shop, 3_000e18 + 1);
    }

    // =============================================================================== slashCollateral

    function test_slashCollateral_unlocksAndPaysRecipient() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 3_000e18);
        vm.expectEmit(address(registry));
        emit INodeRegistry.CollateralSlashed(shop, stranger, 1_000e18, STAKED - 1_000e18);
        vm.prank(address(market));
        registry.slashCollateral(shop, 3_000e18, 1_000e18, stranger);
        _assertStake(shop, STAKED - 1_000e18, 0, 0, 0);
        vm.assertEq(fab.balanceOf(stranger), 1_000e18, "recipient paid");
        vm.assertEq(fab.balanceOf(address(registry)), 2 * STAKED - 1_000e18, "registry paid out");
    }

    function test_slashCollateral_zeroSlashOnlyUnlocks() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 3_000e18);
        vm.expectEmit(address(registry));
        emit INodeRegistry.CollateralSlashed(shop, stranger, 0, STAKED);
        vm.prank(address(market));
        registry.slashCollateral(shop, 3_000e18, 0, stranger);
        _assertStake(shop, STAKED, 0, 0, 0);
        vm.assertEq(fab.balanceOf(stranger), 0, "nothing paid");
    }

    function test_slashCollateral_leavesUnbondingAlone() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 3_000e18);
        vm.prank(shop);
        registry.requestUnbond(7_000e18);
        vm.prank(address(market));
        registry.slashCollateral(shop, 3_000e18, 3_000e18, stranger);
        _assertStake(shop, 0, 0, 7_000e18, block.timestamp + UNBOND_DELAY);
    }

    function test_slashCollateral_revertsWhenNotMarket() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 3_000e18);
        bytes32 before = _funds();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistry__NotMarket.selector, customer));
        registry.slashCollateral(shop, 3_000e18, 3_000e18, customer);
        _assertNoFundsMoved(before);
    }

    function test_slashCollateral_revertsWhenMoreThanLocked() public {
        vm.prank(address(market));
        registry.lockCollateral(shop, nodeId, 3_000e18);
        bytes32 before = _funds();
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        registry.slashCollateral(shop, 3_000e18 + 1, 0, customer);
        _assertNoFundsMoved(before);
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

    function test_setMinStake_raisedMinimumBlocksClaims() public {
        (uint256 id,) = _open();
        vm.prank(owner);
        registry.setMinStake(STAKED + 1);
        vm.prank(shop);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistry__BelowMinimumStake.selector, shop, STAKED, STAKED + 1)
        );
        market.claim(id, openJob(AMOUNT, 0, uint40(block.timestamp + 1 days), 7 days, MIN_COLLATERAL), nodeId);
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

    function test_ownership_transferCanBeOverridden() public {
        vm.startPrank(owner);
        registry.transferOwnership(newbie);
        registry.transferOwnership(stranger);
        vm.stopPrank();
        vm.prank(newbie);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, newbie));
        registry.acceptOwnership();
        vm.prank(stranger);
        registry.acceptOwnership();
        vm.assertEq(registry.owner(), stranger, "owner");
    }

    function test_ownership_transferRevertsWhenNotOwner() public {
        vm.prank(newbie);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, newbie));
        registry.transferOwnership(newbie);
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
