// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDesignRights} from "../interfaces/IDesignRights.sol";
import {IDesignNFT} from "../interfaces/IDesignNFT.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../types/Job.sol";
import {JobLib} from "../libraries/JobLib.sol";

/// @title MarketCore
/// @notice The job market's storage, constants and the internal steps both halves share: `JobMarket`
/// (the lifecycle every job goes through) and `JobMarketModule` (disputes and governance, reached by
/// delegatecall from the market so that each half fits the 24 KiB contract size limit). Both inherit
/// exactly this layout; the module is deployed by the market's constructor and is immutable.
abstract contract MarketCore is IJobMarketTypes, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using JobLib for Job;

    struct OperatorState {
        uint96 staked; // bonded stake, as the registry last reported it
        uint96 locked; // collateral locked in this operator's claimed, delivered and disputed jobs
        bool eligible; // bonded stake at least the registry's minimum
    }

    struct NodeState {
        address operator;
        bool active;
    }

    /// @dev A proposed arbiter or appeal court and when it may be installed.
    struct PendingJudge {
        address judge;
        uint40 at;
    }

    uint256 internal constant BPS = 10_000;
    // slither-disable-next-line unused-state (used by JobMarket only; the module shares the constants)
    uint256 internal constant RATE_ONE = 1e18;
    uint256 public constant MAX_FEE_BPS = 1_000; // 10 %
    uint256 public constant MAX_ROYALTY_BPS = 2_500; // 25 %
    uint256 public constant MAX_DISPUTE_BOND_BPS = 5_000; // 50 %
    uint256 public constant MIN_REVIEW_WINDOW = 1 hours;
    uint256 public constant MAX_REVIEW_WINDOW = 30 days;
    uint256 public constant MIN_DELIVERY_WINDOW = 1 hours;
    uint256 public constant MAX_DELIVERY_WINDOW = 365 days;
    uint256 public constant MAX_CLAIM_PERIOD = 365 days;
    uint256 public constant MIN_MIN_COLLATERAL = 1e15; // collateral is never free
    uint256 public constant MAX_MIN_COLLATERAL = 1_000_000e18;
    uint256 public constant MIN_HAND_BACK_WINDOW = 10 minutes;
    uint256 public constant MAX_HAND_BACK_WINDOW = 1 days;
    uint256 public constant MAX_HAND_BACK_PENALTY_BPS = 2_500;
    uint256 public constant MIN_EXPIRY_SLASH_BPS = 1_000;
    uint256 public constant MAX_COMPENSATION_BPS = 5_000; // a customer never gets more than half of a slash
    uint256 public constant MIN_DISPUTE_WINDOW = 1 days;
    uint256 public constant MAX_DISPUTE_WINDOW = 30 days;
    uint256 public constant MIN_APPEAL_WINDOW = 1 days;
    uint256 public constant MAX_APPEAL_WINDOW = 30 days;
    /// @notice The appeal court is the DAO: its window must hold a whole proposal (delay, vote, timelock).
    uint256 public constant MIN_COURT_WINDOW = 1 days;
    uint256 public constant MAX_COURT_WINDOW = 60 days;
    /// @notice Most of a lost appeal bond that goes to the arbiter whose ruling stood (the rest: the treasury).
    uint256 public constant MAX_ARBITER_FEE_BPS = 5_000;
    /// @notice Delay before a new arbiter or appeal court takes new disputes (open ones keep theirs).
    uint256 public constant JUDGE_CHANGE_DELAY = 2 days;
    /// @notice How long a handed-back job stays open for other nodes (the customer may cancel any time).
    uint256 public constant REOPEN_PERIOD = 1 days;
    /// @notice How long a handed-back job waits before any node may claim it again: the customer's window
    /// to cancel (the operator that handed it back may never claim it again).
    uint256 public constant REOPEN_COOLDOWN = 1 hours;
    /// @notice Share of the payment refunded by the default ruling, which applies when the arbiter does not rule
    /// in time (either side may still appeal it).
    uint16 public constant DEFAULT_REFUND_BPS = 5_000;

    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address customer,address token,uint96 amount,uint96 collateral,uint256 designId,uint32 deliveryWindow,"
        "uint64 targetNode,uint40 expiry,uint64 nonce,uint64 counter,bytes specCid)"
    );

    INodeRegistry internal immutable _registry;
    /// @dev The fabrication licences contract: who earns a job's design royalty, or which licence pays it.
    IDesignRights internal immutable _designs;
    /// @dev The DesignNFT those rights are about (`_designs.designNFT()`): read first for every job.
    IDesignNFT internal immutable _nft;
    address internal immutable _fab;

    // Fills the slot Ownable2Step's pending owner starts (only disputes read these), so the post parameters
    // get a slot of their own.
    uint32 internal _disputeWindow;
    uint32 internal _appealWindow;
    uint32 internal _courtWindow;
    // One slot, read by every post: the job counter shares it with the parameters a post snapshots.
    // slither-disable-next-line uninitialized-state,constable-states (shared layout: see contracts/SLITHER.md)
    uint40 internal _jobCount;
    /// @dev New jobs (posts, taken orders) are refused while paused; nothing else is.
    // slither-disable-next-line uninitialized-state,constable-states (shared layout: see contracts/SLITHER.md)
    bool internal _paused;
    uint16 internal _feeBps;
    uint16 internal _maxRoyaltyBps;
    uint16 internal _disputeBondBps;
    uint32 internal _reviewWindow;
    uint32 internal _minDeliveryWindow;
    uint96 internal _minCollateral;
    // One slot, read by the failure paths.
    uint32 internal _handBackWindow;
    uint16 internal _handBackPenaltyBps;
    uint16 internal _expirySlashBps;
    uint16 internal _compensationBps;
    uint16 internal _arbiterFeeBps;
    // Rarely read.
    // slither-disable-next-line immutable-states (shared layout: see contracts/SLITHER.md)
    address internal _arbiter;
    // slither-disable-next-line immutable-states (shared layout: see contracts/SLITHER.md)
    address internal _appealCourt;
    address internal _treasury;
    // slither-disable-next-line unused-state (shared layout: see contracts/SLITHER.md)
    PendingJudge internal _nextArbiter;
    // slither-disable-next-line unused-state (shared layout: see contracts/SLITHER.md)
    PendingJudge internal _nextCourt;

    mapping(uint256 key => bytes32 commitment) internal _jobs;
    // slither-disable-next-line unused-state (shared layout: see contracts/SLITHER.md)
    mapping(uint256 jobId => Dispute) internal _disputes;
    // slither-disable-next-line uninitialized-state (shared layout: see contracts/SLITHER.md)
    mapping(address token => TokenTerms) internal _terms;
    mapping(address token => mapping(address account => uint256)) internal _balances;
    mapping(address token => uint256) internal _fees;
    /// @dev What a claim needs to know about an operator, in one slot of the market's own: its bonded stake
    /// and eligibility (pushed by the registry on every change) and the collateral its unfinished jobs lock.
    mapping(address operator => OperatorState) internal _operators;
    /// @dev Each node's operator and whether it is in service (pushed by the registry), so a claim reads no
    /// other contract.
    // slither-disable-next-line unused-state (shared layout: see contracts/SLITHER.md)
    mapping(uint256 nodeId => NodeState) internal _nodes;
    // slither-disable-next-line unused-state (shared layout: see contracts/SLITHER.md)
    mapping(address customer => uint64) internal _counters;
    /// @dev Used or cancelled order nonces, 256 per word (sequential nonces share a warm word).
    // slither-disable-next-line unused-state (shared layout: see contracts/SLITHER.md)
    mapping(address customer => mapping(uint256 word => uint256 bits)) internal _nonces;
    /// @dev May pause new jobs (never unpause): an emergency brake faster than a governance vote.
    // slither-disable-next-line unused-state,constable-states (shared layout: see contracts/SLITHER.md)
    address internal _guardian;

    constructor(address owner_, INodeRegistry registry_, IDesignRights designs_) Ownable(owner_) {
        _registry = registry_;
        _designs = designs_;
        _nft = IDesignNFT(designs_.designNFT());
        _fab = registry_.stakeToken();
    }

    /// @dev Reverts unless `job` is job `jobId` in `status` as stored; returns its storage key.
    function _expect(uint256 jobId, Job calldata job, JobStatus status) internal view returns (uint256 key) {
        key = job.key;
        bytes32 stored = _jobs[key];
        if (stored != job.commit(status)) {
            if (stored == 0 || jobId == 0 || jobId > _jobCount) revert JobMarket__UnknownJob(jobId);
            JobStatus actual = JobLib.statusOf(stored);
            if (actual != status && job.commit(actual) == stored) revert JobMarket__WrongStatus(jobId, actual, status);
            revert JobMarket__JobDataMismatch(jobId);
        }
    }

    /// @dev Unlocks a job's collateral and slashes `amount` of it: the customer's compensation share and the
    /// treasury's rest are credited in FAB here. Returns the compensation.
    function _slash(Job calldata job, uint256 amount) internal returns (uint256 compensation) {
        address node = job.node;
        _operators[node].locked -= job.collateral;
        if (amount == 0) return 0;
        compensation = amount * _compensationBps / BPS;
        _credit(_fab, job.customer, compensation);
        _fees[_fab] += amount - compensation;
        _registry.slash(node, amount);
    }

    /// @dev Credits a pull balance. No event: the lifecycle events carry every amount credited.
    function _credit(address token, address account, uint256 amount) internal {
        if (amount != 0) _balances[token][account] += amount;
    }

    /// @dev Takes `amount` from `account`'s deposit, pulling any shortfall with transferFrom (in full, or revert).
    function _debit(address token, address account, uint256 amount) internal {
        uint256 balance = _balances[token][account];
        if (balance >= amount) {
            // unchecked: balance >= amount.
            unchecked {
                _balances[token][account] = balance - amount;
            }
        } else {
            if (balance != 0) _balances[token][account] = 0;
            uint256 shortfall = amount - balance;
            uint256 received = _pull(token, account, shortfall);
            if (received < shortfall) revert JobMarket__ShortDeposit(token, shortfall, received);
        }
    }

    /// @dev transferFrom `amount`; returns what actually arrived.
    function _pull(address token, address from, uint256 amount) internal returns (uint256) {
        uint256 before = IERC20(token).balanceOf(address(this));
        // slither-disable-next-line arbitrary-send-erc20 (`from` is the caller, or a customer whose signed order authorizes it)
        IERC20(token).safeTransferFrom(from, address(this), amount);
        return IERC20(token).balanceOf(address(this)) - before;
    }

    /// @dev Sets every parameter within its constant bounds (constructor and governance).
    function _setParams(Params memory p) internal {
        _bound("feeBps", p.feeBps, 0, MAX_FEE_BPS);
        _bound("maxRoyaltyBps", p.maxRoyaltyBps, 0, MAX_ROYALTY_BPS);
        _bound("disputeBondBps", p.disputeBondBps, 0, MAX_DISPUTE_BOND_BPS);
        _bound("reviewWindow", p.reviewWindow, MIN_REVIEW_WINDOW, MAX_REVIEW_WINDOW);
        _bound("minDeliveryWindow", p.minDeliveryWindow, MIN_DELIVERY_WINDOW, MAX_DELIVERY_WINDOW);
        _bound("minCollateral", p.minCollateral, MIN_MIN_COLLATERAL, MAX_MIN_COLLATERAL);
        _bound("handBackWindow", p.handBackWindow, MIN_HAND_BACK_WINDOW, MAX_HAND_BACK_WINDOW);
        _bound("handBackPenaltyBps", p.handBackPenaltyBps, 0, MAX_HAND_BACK_PENALTY_BPS);
        _bound("expirySlashBps", p.expirySlashBps, MIN_EXPIRY_SLASH_BPS, BPS);
        _bound("compensationBps", p.compensationBps, 0, MAX_COMPENSATION_BPS);
        _bound("disputeWindow", p.disputeWindow, MIN_DISPUTE_WINDOW, MAX_DISPUTE_WINDOW);
        _bound("appealWindow", p.appealWindow, MIN_APPEAL_WINDOW, MAX_APPEAL_WINDOW);
        _bound("courtWindow", p.courtWindow, MIN_COURT_WINDOW, MAX_COURT_WINDOW);
        _bound("arbiterFeeBps", p.arbiterFeeBps, 0, MAX_ARBITER_FEE_BPS);
        _feeBps = p.feeBps;
        _maxRoyaltyBps = p.maxRoyaltyBps;
        _disputeBondBps = p.disputeBondBps;
        _reviewWindow = p.reviewWindow;
        _minDeliveryWindow = p.minDeliveryWindow;
        _minCollateral = p.minCollateral;
        _handBackWindow = p.handBackWindow;
        _handBackPenaltyBps = p.handBackPenaltyBps;
        _expirySlashBps = p.expirySlashBps;
        _compensationBps = p.compensationBps;
        _disputeWindow = p.disputeWindow;
        _appealWindow = p.appealWindow;
        _courtWindow = p.courtWindow;
        _arbiterFeeBps = p.arbiterFeeBps;
        emit ParamsSet(p);
    }

    /// @dev Names the treasury (constructor and governance).
    function _setTreasury(address treasury_) internal {
        if (treasury_ == address(0)) revert JobMarket__ZeroAddress("treasury");
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert JobMarket__ParameterOutOfBounds(name, value, min, max);
    }
}
