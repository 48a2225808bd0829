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

    /// @notice An operator's stake as `stakeOf` reports it.
    struct Stake {
        uint96 staked; // bonded FAB: counts for the minimum stake and backs new claims
        uint96 locked; // collateral the market holds locked in this operator's unfinished jobs
        uint96 unbonding; // FAB leaving, each request at its own release time; slashable until withdrawn
        uint40 unbondAt; // release time of the oldest pending request (0 = none)
    }

    /// @notice One unbond request: it is released at its own time.
    struct UnbondRequest {
        uint96 amount;
        uint40 releaseAt;
    }

    error NodeRegistry__ZeroAmount();
    error NodeRegistry__AmountTooLarge(uint256 amount, uint256 max);
    error NodeRegistry__InsufficientFreeStake(address operator, uint256 free, uint256 needed);
    error NodeRegistry__NothingUnbonding(address operator);
    error NodeRegistry__UnbondingNotDue(address operator, uint256 unbondAt, uint256 nowTs);
    /// @notice Due unbonding stays until the market's locked collateral no longer needs it (`held` FAB).
    error NodeRegistry__HeldAsCollateral(address operator, uint256 held);
    error NodeRegistry__UnknownNode(uint256 nodeId);
    error NodeRegistry__NotNodeOperator(uint256 nodeId, address caller, address operator);
    error NodeRegistry__NodeInactive(uint256 nodeId);
    error NodeRegistry__InvalidCapabilities(uint32 processes, uint56 materials);
    error NodeRegistry__InvalidBuildVolume(uint32 x, uint32 y, uint32 z);
    error NodeRegistry__InvalidEncryptionKey();
    error NodeRegistry__InvalidCid(bytes cid);
    error NodeRegistry__NotMarket(address caller);
    error NodeRegistry__TooManyRequests(address operator, uint256 max);
    error NodeRegistry__ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);

    event Staked(address indexed operator, uint256 amount, uint256 staked);
    event UnbondRequested(address indexed operator, uint256 amount, uint256 unbonding, uint256 unbondAt, uint256 staked);
    /// @notice Due unbond requests were paid out; `unbonding` remains pending.
    event Withdrawn(address indexed operator, uint256 amount, uint256 unbonding);
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
    /// @notice The market slashed `amount` FAB (from bonded stake, then from the newest unbond requests) into itself.
    event Slashed(address indexed operator, uint256 amount, uint256 staked, uint256 unbonding);
    event UnbondDelaySet(uint256 unbondDelay);
    event MinStakeSet(uint256 minStake);
    /// @notice Whether the operator's bonded stake meets the minimum (its nodes can claim only while it does).
    event EligibilitySet(address indexed operator, bool eligible);

    /// @notice Bonds `amount` FAB from the caller (needs an allowance).
    function stake(uint256 amount) external;
    /// @notice Starts unbonding `amount` of bonded stake with its own release time; it stays slashable
    /// until withdrawn, and the part the market holds as collateral is withdrawable only once released.
    function requestUnbond(uint256 amount) external;
    /// @notice Withdraws every due unbond request (as far as the market's locked collateral allows).
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

    /// @notice Market only: moves `amount` of `operator`'s stake (bonded first, then the newest unbond
    /// requests) to the market, which pays the customer's compensation and the treasury from it.
    function slash(address operator, uint256 amount) external;

    /// @notice Re-evaluates `operator`'s eligibility against the current minimum stake (anyone may call it,
    /// e.g. after governance raised the minimum).
    function refreshEligibility(address operator) external returns (bool eligible);
    /// @notice A node's operator, whether it may claim now (active, operator's stake at least the minimum),
    /// and the operator's bonded stake: two storage reads authorize a claim.
    function claimInfo(uint256 nodeId) external view returns (address operator, bool active, uint256 staked);
    /// @notice An operator's pending unbond requests, oldest first.
    function unbondRequests(address operator) external view returns (UnbondRequest[] memory);
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
    /// @notice The bonded stake an operator needs for its nodes to claim jobs.
    function minStake() external view returns (uint256);
    /// @notice Seconds between an unbond request and its withdrawal.
    function unbondDelay() external view returns (uint256);
}
