// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {CidLib} from "./libraries/CidLib.sol";

/// @title NodeRegistry
/// @notice Shops stake FAB and register fabrication nodes; the job market locks and slashes collateral.
contract NodeRegistry is INodeRegistry, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint256 public constant MAX_MIN_STAKE = 10_000_000e18;
    uint256 public constant MIN_UNBOND_DELAY = 1 days;
    uint256 public constant MAX_UNBOND_DELAY = 90 days;
    /// @dev Bit 0..9 of `processes` are the defined process kinds; materials use 40 bits.
    uint32 public constant PROCESS_MASK = (1 << 10) - 1;
    uint56 public constant MATERIAL_MASK = (1 << 40) - 1;

    IERC20 private immutable _stakeToken;
    address private immutable _market;

    // Packed: the two parameters share one slot.
    uint96 private _minStake;
    uint40 private _unbondDelay;
    uint64 private _nodeCount;

    mapping(address operator => Stake) private _stakes;
    mapping(uint256 nodeId => Node) private _nodes;

    modifier onlyMarket() {
        if (msg.sender != _market) revert NodeRegistry__NotMarket(msg.sender);
        _;
    }

    constructor(address owner_, IERC20 stakeToken_, address market_, uint96 minStake_, uint40 unbondDelay_)
        Ownable(owner_)
    {
        _stakeToken = stakeToken_;
        // slither-disable-next-line missing-zero-check (the market's CREATE address, verified by the deployer)
        _market = market_;
        _setMinStake(minStake_);
        _setUnbondDelay(unbondDelay_);
    }

    // ----------------------------------------------------------------------------------- staking

    /// @inheritdoc INodeRegistry
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert NodeRegistry__ZeroAmount();
        Stake storage s = _stakes[msg.sender];
        uint256 staked = uint256(s.staked) + amount;
        if (staked > type(uint96).max) revert NodeRegistry__AmountTooLarge(amount, type(uint96).max - s.staked);
        s.staked = uint96(staked);
        emit Staked(msg.sender, amount, staked);
        _stakeToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc INodeRegistry
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert NodeRegistry__ZeroAmount();
        Stake memory s = _stakes[msg.sender];
        uint256 free = s.staked - s.locked;
        // slither-disable-next-line timestamp (false positive: compares stake amounts, not times)
        if (amount > free) revert NodeRegistry__InsufficientFreeStake(msg.sender, free, amount);
        // unchecked: amount <= free <= staked, and unbonding + amount <= total supply < 2^96.
        unchecked {
            s.staked -= uint96(amount);
            s.unbonding += uint96(amount);
        }
        s.unbondAt = uint40(block.timestamp + _unbondDelay);
        _stakes[msg.sender] = s;
        emit UnbondRequested(msg.sender, amount, s.unbonding, s.unbondAt, s.staked);
    }

    /// @inheritdoc INodeRegistry
    function withdraw() external nonReentrant returns (uint256 amount) {
        Stake storage s = _stakes[msg.sender];
        amount = s.unbonding;
        if (amount == 0) revert NodeRegistry__NothingUnbonding(msg.sender);
        // slither-disable-next-line timestamp (unbonding delay by design; see contracts/SLITHER.md)
        if (block.timestamp < s.unbondAt) revert NodeRegistry__UnbondingNotDue(msg.sender, s.unbondAt, block.timestamp);
        s.unbonding = 0;
        s.unbondAt = 0;
        emit Withdrawn(msg.sender, amount);
        _stakeToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------------------------- nodes

    /// @inheritdoc INodeRegistry
    function registerNode(
        uint32 processes,
        uint56 materials,
        uint32[3] calldata buildVolumeMm,
        bytes32 encryptionKey,
        bytes calldata metadataCid
    ) external returns (uint256 nodeId) {
        _checkNode(processes, materials, buildVolumeMm, encryptionKey, metadataCid);
        // unchecked: a uint64 counter of registrations cannot overflow.
        unchecked {
            nodeId = ++_nodeCount;
        }
        _nodes[nodeId] = Node({
            operator: msg.sender,
            processes: processes,
            materials: materials,
            active: true,
            buildX: buildVolumeMm[0],
            buildY: buildVolumeMm[1],
            buildZ: buildVolumeMm[2],
            encryptionKey: encryptionKey,
            metadataCid: metadataCid
        });
        emit NodeRegistered(
            nodeId,
            msg.sender,
            processes,
            materials,
            buildVolumeMm[0],
            buildVolumeMm[1],
            buildVolumeMm[2],
            encryptionKey,
            metadataCid
        );
    }

    /// @inheritdoc INodeRegistry
    function updateNode(
        uint256 nodeId,
        uint32 processes,
        uint56 materials,
        uint32[3] calldata buildVolumeMm,
        bytes32 encryptionKey,
        bytes calldata metadataCid
    ) external {
        Node storage n = _ownedNode(nodeId);
        _checkNode(processes, materials, buildVolumeMm, encryptionKey, metadataCid);
        n.processes = processes;
        n.materials = materials;
        n.buildX = buildVolumeMm[0];
        n.buildY = buildVolumeMm[1];
        n.buildZ = buildVolumeMm[2];
        n.encryptionKey = encryptionKey;
        n.metadataCid = metadataCid;
        emit NodeUpdated(
            nodeId,
            msg.sender,
            processes,
            materials,
            buildVolumeMm[0],
            buildVolumeMm[1],
            buildVolumeMm[2],
            encryptionKey,
            metadataCid
        );
    }

    /// @inheritdoc INodeRegistry
    function setNodeActive(uint256 nodeId, bool active) external {
        Node storage n = _ownedNode(nodeId);
        n.active = active;
        emit NodeActiveSet(nodeId, msg.sender, active);
    }

    // -------------------------------------------------------------------------------- collateral

    /// @inheritdoc INodeRegistry
    function lockCollateral(address operator, uint256 nodeId, uint256 amount) external onlyMarket {
        // One slot holds operator, active flag and capabilities: a single cold read authorizes the node.
        Node storage n = _nodes[nodeId];
        address nodeOperator = n.operator;
        if (nodeOperator != operator) {
            if (nodeOperator == address(0)) revert NodeRegistry__UnknownNode(nodeId);
            revert NodeRegistry__NotNodeOperator(nodeId, operator, nodeOperator);
        }
        if (!n.active) revert NodeRegistry__NodeInactive(nodeId);
        Stake storage s = _stakes[operator];
        uint96 staked = s.staked;
        uint96 locked = s.locked;
        if (staked < _minStake) revert NodeRegistry__BelowMinimumStake(operator, staked, _minStake);
        // unchecked: locked <= staked is an invariant of this contract.
        unchecked {
            uint256 free = staked - locked;
            if (amount > free) revert NodeRegistry__InsufficientFreeStake(operator, free, amount);
            s.locked = locked + uint96(amount);
        }
    }

    /// @inheritdoc INodeRegistry
    function releaseCollateral(address operator, uint256 amount) external onlyMarket {
        Stake storage s = _stakes[operator];
        uint96 locked = s.locked - uint96(amount); // checked: the market never releases more than it locked
        s.locked = locked;
    }

    /// @inheritdoc INodeRegistry
    function slashCollateral(address operator, uint256 locked, uint256 slashed, address recipient)
        external
        onlyMarket
        nonReentrant
    {
        Stake storage s = _stakes[operator];
        // checked arithmetic: slashed <= locked <= s.locked <= s.staked by construction in the market.
        s.locked -= uint96(locked);
        s.staked -= uint96(slashed);
        emit CollateralSlashed(operator, recipient, slashed, s.staked);
        if (slashed != 0) _stakeToken.safeTransfer(recipient, slashed);
    }

    // ---------------------------------------------------------------------------------- governance

    /// @notice Sets the stake an operator needs to claim jobs.
    function setMinStake(uint96 minStake_) external onlyOwner {
        _setMinStake(minStake_);
    }

    function _setMinStake(uint96 minStake_) private {
        if (minStake_ > MAX_MIN_STAKE) {
            revert NodeRegistry__ParameterOutOfBounds("minStake", minStake_, 0, MAX_MIN_STAKE);
        }
        _minStake = minStake_;
        emit MinStakeSet(minStake_);
    }

    /// @notice Sets the delay between an unbond request and its withdrawal.
    function setUnbondDelay(uint40 unbondDelay_) external onlyOwner {
        _setUnbondDelay(unbondDelay_);
    }

    function _setUnbondDelay(uint40 unbondDelay_) private {
        if (unbondDelay_ < MIN_UNBOND_DELAY || unbondDelay_ > MAX_UNBOND_DELAY) {
            revert NodeRegistry__ParameterOutOfBounds("unbondDelay", unbondDelay_, MIN_UNBOND_DELAY, MAX_UNBOND_DELAY);
        }
        _unbondDelay = unbondDelay_;
        emit UnbondDelaySet(unbondDelay_);
    }

    // -------------------------------------------------------------------------------------- views

    /// @inheritdoc INodeRegistry
    function stakeToken() external view returns (address) {
        return address(_stakeToken);
    }

    /// @inheritdoc INodeRegistry
    function market() external view returns (address) {
        return _market;
    }

    /// @inheritdoc INodeRegistry
    function stakeOf(address operator) external view returns (Stake memory) {
        return _stakes[operator];
    }

    /// @inheritdoc INodeRegistry
    function nodeOf(uint256 nodeId) external view returns (Node memory) {
        if (_nodes[nodeId].operator == address(0)) revert NodeRegistry__UnknownNode(nodeId);
        return _nodes[nodeId];
    }

    /// @inheritdoc INodeRegistry
    function nodeCount() external view returns (uint256) {
        return _nodeCount;
    }

    /// @inheritdoc INodeRegistry
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc INodeRegistry
    function unbondDelay() external view returns (uint256) {
        return _unbondDelay;
    }

    // ----------------------------------------------------------------------------------- internal

    function _ownedNode(uint256 nodeId) private view returns (Node storage n) {
        n = _nodes[nodeId];
        if (n.operator == address(0)) revert NodeRegistry__UnknownNode(nodeId);
        if (n.operator != msg.sender) revert NodeRegistry__NotNodeOperator(nodeId, msg.sender, n.operator);
    }

    function _checkNode(
        uint32 processes,
        uint56 materials,
        uint32[3] calldata v,
        bytes32 encryptionKey,
        bytes calldata metadataCid
    ) private pure {
        if (processes == 0 || processes & ~PROCESS_MASK != 0 || materials & ~MATERIAL_MASK != 0) {
            revert NodeRegistry__InvalidCapabilities(processes, materials);
        }
        if (v[0] == 0 || v[1] == 0 || v[2] == 0) revert NodeRegistry__InvalidBuildVolume(v[0], v[1], v[2]);
        if (encryptionKey == bytes32(0)) revert NodeRegistry__InvalidEncryptionKey();
        if (!CidLib.isValid(metadataCid)) revert NodeRegistry__InvalidCid(metadataCid);
    }
}
