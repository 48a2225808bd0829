// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Fabrication shops' stake and registered nodes.
/// @notice A shop (operator) stakes FAB and registers nodes with their capabilities. The job market
/// locks part of the stake as collateral while a job is claimed and slashes it on failure.
interface INodeRegistry {
    /// @notice A registered fabrication node.
    struct Node {
        address operator;
        uint32 processes; // bitmask of process kinds (fabrica.protocol.types.ProcessKind)
        uint56 materials; // bitmask of materials (fabrica.protocol.types.Material)
        bool active;
        uint32 buildX; // build volume in millimetres
        uint32 buildY;
        uint32 buildZ;
        bytes32 encryptionKey; // X25519 public key that private designs are sealed to
        bytes metadataCid; // binary CID of the node's metadata document
    }

    /// @notice An operator's stake.
    struct Stake {
        uint96 staked; // bonded FAB, including locked collateral
        uint96 locked; // collateral locked by claimed jobs
        uint96 unbonding; // FAB leaving, withdrawable at `unbondAt`
        uint40 unbondAt;
    }

    error NodeRegistry__ZeroAmount();
    error NodeRegistry__AmountTooLarge(uint256 amount, uint256 max);
    error NodeRegistry__InsufficientFreeStake(address operator, uint256 free, uint256 needed);
    error NodeRegistry__BelowMinimumStake(address operator, uint256 staked, uint256 minimum);
    error NodeRegistry__NothingUnbonding(address operator);
    error NodeRegistry__UnbondingNotDue(address operator, uint256 unbondAt, uint256 nowTs);
    error NodeRegistry__UnknownNode(uint256 nodeId);
    error NodeRegistry__NotNodeOperator(uint256 nodeId, address caller, address operator);
    error NodeRegistry__NodeInactive(uint256 nodeId);
    error NodeRegistry__InvalidCapabilities(uint32 processes, uint56 materials);
    error NodeRegistry__InvalidBuildVolume(uint32 x, uint32 y, uint32 z);
    error NodeRegistry__InvalidEncryptionKey();
    error NodeRegistry__InvalidCid(bytes cid);
    error NodeRegistry__NotMarket(address caller);
    error NodeRegistry__ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);

    event Staked(address indexed operator, uint256 amount, uint256 staked);
    event UnbondRequested(address indexed operator, uint256 amount, uint256 unbonding, uint256 unbondAt, uint256 staked);
    event Withdrawn(address indexed operator, uint256 amount);
    event NodeRegistered(
        uint256 indexed nodeId,
        address indexed operator,
        uint32 processes,
        uint56 materials,
        uint32 buildX,
        uint32 buildY,
        uint32 buildZ,
        bytes32 encryptionKey,
        bytes metadataCid
    );
    event NodeUpdated(
        uint256 indexed nodeId,
        address indexed operator,
        uint32 processes,
        uint56 materials,
        uint32 buildX,
        uint32 buildY,
        uint32 buildZ,
        bytes32 encryptionKey,
        bytes metadataCid
    );
    event NodeActiveSet(uint256 indexed nodeId, address indexed operator, bool active);
    event CollateralSlashed(address indexed operator, address indexed recipient, uint256 amount, uint256 staked);
    event MinStakeSet(uint256 minStake);
    event UnbondDelaySet(uint256 unbondDelay);

    /// @notice Bonds `amount` FAB from the caller (needs an allowance).
    function stake(uint256 amount) external;
    /// @notice Starts unbonding `amount` of free stake; it stays slashable until withdrawn.
    function requestUnbond(uint256 amount) external;
    /// @notice Withdraws stake whose unbonding delay has passed.
    function withdraw() external returns (uint256 amount);
    /// @notice Registers a node owned by the caller and returns its id.
    function registerNode(
        uint32 processes,
        uint56 materials,
        uint32[3] calldata buildVolumeMm,
        bytes32 encryptionKey,
        bytes calldata metadataCid
    ) external returns (uint256 nodeId);
    /// @notice Replaces a node's capabilities, key and metadata.
    function updateNode(
        uint256 nodeId,
        uint32 processes,
        uint56 materials,
        uint32[3] calldata buildVolumeMm,
        bytes32 encryptionKey,
        bytes calldata metadataCid
    ) external;
    /// @notice Takes a node out of (or back into) service; inactive nodes cannot claim.
    function setNodeActive(uint256 nodeId, bool active) external;

    /// @notice Market only (no event: JobClaimed/JobSettled carry the amounts): locks `amount` of `operator`'s free stake for a job claimed by `nodeId`.
    function lockCollateral(address operator, uint256 nodeId, uint256 amount) external;
    /// @notice Market only: unlocks collateral after a job ends well.
    function releaseCollateral(address operator, uint256 amount) external;
    /// @notice Market only: releases `locked` and pays `slashed` of it (<= locked) to `recipient`.
    function slashCollateral(address operator, uint256 locked, uint256 slashed, address recipient) external;

    /// @notice The FAB token staked here.
    function stakeToken() external view returns (address);
    /// @notice The job market allowed to lock and slash collateral.
    function market() external view returns (address);
    /// @notice An operator's stake.
    function stakeOf(address operator) external view returns (Stake memory);
    /// @notice A node by id.
    function nodeOf(uint256 nodeId) external view returns (Node memory);
    /// @notice How many nodes were ever registered (ids are 1..nodeCount).
    function nodeCount() external view returns (uint256);
    /// @notice The stake an operator needs to claim jobs.
    function minStake() external view returns (uint256);
    /// @notice Seconds between an unbond request and its withdrawal.
    function unbondDelay() external view returns (uint256);
}
