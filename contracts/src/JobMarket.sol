// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "./types/Job.sol";
import {JobLib} from "./libraries/JobLib.sol";
import {CidLib} from "./libraries/CidLib.sol";

/// @title JobMarket
/// @notice Escrow for fabrication jobs. Each job is one storage slot: the hash of its `Job` struct with
/// the status in the low byte. Callers pass the struct back (the SDK rebuilds it from events), which
/// keeps the whole post -> claim -> deliver -> accept lifecycle near the storage floor.
/// Refunds and payouts are credited to internal balances (pull payments); deposits fund new posts.
contract JobMarket is IJobMarket, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using JobLib for Job;

    uint256 private constant BPS = 10_000;
    uint256 public constant MAX_FEE_BPS = 1_000; // 10 %
    uint256 public constant MAX_ROYALTY_BPS = 2_500; // 25 %
    uint256 public constant MAX_DISPUTE_BOND_BPS = 5_000; // 50 %
    uint256 public constant MIN_REVIEW_WINDOW = 1 hours;
    uint256 public constant MAX_REVIEW_WINDOW = 30 days;
    uint256 public constant MIN_DELIVERY_WINDOW = 10 minutes;
    uint256 public constant MAX_DELIVERY_WINDOW = 365 days;
    uint256 public constant MAX_CLAIM_PERIOD = 365 days;
    uint256 public constant MAX_MIN_COLLATERAL = 1_000_000e18;

    INodeRegistry private immutable _registry;
    IERC2981 private immutable _designs;

    // Slot 0, read by every post: the job counter shares it with the parameters a post snapshots.
    uint64 private _jobCount;
    uint16 private _feeBps;
    uint16 private _maxRoyaltyBps;
    uint32 private _reviewWindow;
    uint32 private _minDeliveryWindow;
    uint96 private _minCollateral;
    // Slot 1: rarely read.
    address private _arbiter;
    uint16 private _disputeBondBps;
    // Slot 2.
    address private _treasury;

    mapping(uint256 jobId => bytes32 commitment) private _jobs;
    mapping(address token => bool) private _allowedTokens;
    mapping(address token => mapping(address account => uint256)) private _balances;
    mapping(address token => uint256) private _fees;

    constructor(
        address owner_,
        INodeRegistry registry_,
        IERC2981 designs_,
        address treasury_,
        address arbiter_,
        Params memory params_
    ) Ownable(owner_) {
        _registry = registry_;
        _designs = designs_;
        _setTreasury(treasury_);
        _setArbiter(arbiter_);
        _setParams(params_);
    }

    // ---------------------------------------------------------------------------------- lifecycle

    /// @inheritdoc IJobMarket
    function post(
        address token,
        uint96 amount,
        bytes calldata specCid,
        uint256 designId,
        uint40 claimBy,
        uint32 deliveryWindow,
        uint96 collateral
    ) external nonReentrant returns (uint256 jobId) {
        if (!CidLib.isValid(specCid)) revert JobMarket__InvalidCid(specCid);
        Job memory job = _newJob(token, amount, designId, claimBy, deliveryWindow, collateral);
        // unchecked: a uint64 counter of posts cannot overflow.
        unchecked {
            jobId = ++_jobCount;
        }
        _jobs[jobId] = job.commitMemory(JobStatus.Open);
        emit JobPosted(jobId, msg.sender, token, job, specCid, designId);
        // Escrow comes from the customer's deposited balance first; only a shortfall is pulled.
        _debit(token, msg.sender, amount);
    }

    /// @inheritdoc IJobMarket
    function deposit(address token, uint256 amount) external nonReentrant {
        if (!_allowedTokens[token]) revert JobMarket__TokenNotAllowed(token);
        if (amount == 0) revert JobMarket__ZeroAmount();
        _balances[token][msg.sender] += amount;
        emit Deposited(token, msg.sender, amount);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Validates a post and builds its job, snapshotting fee, review window and royalty.
    function _newJob(
        address token,
        uint96 amount,
        uint256 designId,
        uint40 claimBy,
        uint32 deliveryWindow,
        uint96 collateral
    ) private view returns (Job memory job) {
        if (!_allowedTokens[token]) revert JobMarket__TokenNotAllowed(token);
        if (amount == 0) revert JobMarket__ZeroAmount();
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (claimBy <= block.timestamp || claimBy > block.timestamp + MAX_CLAIM_PERIOD) {
            revert JobMarket__InvalidClaimDeadline(claimBy, block.timestamp);
        }
        uint256 minWindow = _minDeliveryWindow;
        if (deliveryWindow < minWindow || deliveryWindow > MAX_DELIVERY_WINDOW) {
            revert JobMarket__InvalidDeliveryWindow(deliveryWindow, minWindow, MAX_DELIVERY_WINDOW);
        }
        if (collateral < _minCollateral) revert JobMarket__CollateralTooLow(collateral, _minCollateral);
        job.customer = msg.sender;
        job.token = token;
        job.amount = amount;
        job.collateral = collateral;
        job.feeBps = _feeBps;
        job.deliveryWindow = deliveryWindow;
        job.reviewWindow = _reviewWindow;
        job.deadline = claimBy;
        if (designId != 0) {
            try _designs.royaltyInfo(designId, amount) returns (address receiver, uint256 royaltyAmount) {
                if (receiver != address(0)) {
                    uint256 cap = uint256(amount) * _maxRoyaltyBps / BPS;
                    job.royaltyReceiver = receiver;
                    job.royalty = uint96(royaltyAmount > cap ? cap : royaltyAmount);
                }
            } catch {
                revert JobMarket__UnknownDesign(designId);
            }
        }
    }

    /// @inheritdoc IJobMarket
    function cancel(uint256 jobId, Job calldata job) external nonReentrant {
        _expect(jobId, job, JobStatus.Open);
        if (msg.sender != job.customer) revert JobMarket__NotCustomer(jobId, msg.sender, job.customer);
        _jobs[jobId] = job.commit(JobStatus.Cancelled);
        emit JobCancelled(jobId, msg.sender, job.amount);
        _credit(job.token, msg.sender, job.amount);
    }

    /// @inheritdoc IJobMarket
    function claim(uint256 jobId, Job calldata job, uint256 nodeId) external {
        _expect(jobId, job, JobStatus.Open);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > job.deadline) revert JobMarket__DeadlinePassed(jobId, job.deadline, block.timestamp);
        uint256 deliverBy = block.timestamp + job.deliveryWindow;
        _jobs[jobId] = job.commitWith(
            JobStatus.Claimed, JobLib.NODE_OFFSET, uint256(uint160(msg.sender)), JobLib.DEADLINE_OFFSET, deliverBy
        );
        emit JobClaimed(jobId, msg.sender, nodeId, deliverBy);
        // The registry is immutable and trusted: it only updates its own storage.
        _registry.lockCollateral(msg.sender, nodeId, job.collateral);
    }

    /// @inheritdoc IJobMarket
    function deliver(uint256 jobId, Job calldata job, bytes calldata proofCid) external {
        _expect(jobId, job, JobStatus.Claimed);
        if (msg.sender != job.node) revert JobMarket__NotClaimer(jobId, msg.sender, job.node);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > job.deadline) revert JobMarket__DeadlinePassed(jobId, job.deadline, block.timestamp);
        if (!CidLib.isValid(proofCid)) revert JobMarket__InvalidCid(proofCid);
        uint256 reviewUntil = block.timestamp + job.reviewWindow;
        _jobs[jobId] = job.commitWith(JobStatus.Delivered, JobLib.DEADLINE_OFFSET, reviewUntil);
        emit JobDelivered(jobId, msg.sender, proofCid, reviewUntil);
    }

    /// @inheritdoc IJobMarket
    function accept(uint256 jobId, Job calldata job) external {
        _expect(jobId, job, JobStatus.Delivered);
        if (msg.sender != job.customer) revert JobMarket__NotCustomer(jobId, msg.sender, job.customer);
        _settle(jobId, job, true);
    }

    /// @inheritdoc IJobMarket
    function settle(uint256 jobId, Job calldata job) external {
        _expect(jobId, job, JobStatus.Delivered);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp <= job.deadline) {
            revert JobMarket__DeadlineNotPassed(jobId, job.deadline, block.timestamp);
        }
        _settle(jobId, job, false);
    }

    /// @inheritdoc IJobMarket
    function reclaim(uint256 jobId, Job calldata job) external nonReentrant {
        _expect(jobId, job, JobStatus.Claimed);
        if (msg.sender != job.customer) revert JobMarket__NotCustomer(jobId, msg.sender, job.customer);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp <= job.deadline) {
            revert JobMarket__DeadlineNotPassed(jobId, job.deadline, block.timestamp);
        }
        _jobs[jobId] = job.commit(JobStatus.Expired);
        emit JobExpired(jobId, job.node, job.amount, job.collateral);
        _credit(job.token, msg.sender, job.amount);
        _registry.slashCollateral(job.node, job.collateral, job.collateral, msg.sender);
    }

    /// @inheritdoc IJobMarket
    function dispute(uint256 jobId, Job calldata job, bytes calldata reasonCid) external nonReentrant {
        _expect(jobId, job, JobStatus.Delivered);
        if (msg.sender != job.customer) revert JobMarket__NotCustomer(jobId, msg.sender, job.customer);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > job.deadline) revert JobMarket__DeadlinePassed(jobId, job.deadline, block.timestamp);
        if (!CidLib.isValid(reasonCid)) revert JobMarket__InvalidCid(reasonCid);
        uint256 bond = uint256(job.amount) * _disputeBondBps / BPS;
        _jobs[jobId] = job.commitWith(JobStatus.Disputed, JobLib.BOND_OFFSET, bond);
        emit JobDisputed(jobId, msg.sender, bond, reasonCid);
        if (bond != 0) _debit(job.token, msg.sender, bond);
    }

    /// @inheritdoc IJobMarket
    function resolve(uint256 jobId, Job calldata job, uint16 refundBps, uint16 slashBps) external nonReentrant {
        if (msg.sender != _arbiter) revert JobMarket__NotArbiter(msg.sender, _arbiter);
        _expect(jobId, job, JobStatus.Disputed);
        if (refundBps > BPS || slashBps > BPS) revert JobMarket__InvalidSplit(refundBps, slashBps);
        _jobs[jobId] = job.commit(JobStatus.Resolved);
        (uint256 refund, uint256 nodePayout, uint256 fee, uint256 royalty) = _split(job, refundBps);
        uint256 slashed = uint256(job.collateral) * slashBps / BPS;
        emit JobResolved(jobId, refundBps, slashBps, refund, nodePayout, fee, royalty, slashed);
        _registry.slashCollateral(job.node, job.collateral, slashed, job.customer);
    }

    /// @dev Credits a resolution: `refundBps` of the payment to the customer, the rest paid out as a
    /// settlement would; the bond goes back to the customer when they win at least half, else to the node.
    function _split(Job calldata job, uint256 refundBps)
        private
        returns (uint256 refund, uint256 nodePayout, uint256 fee, uint256 royalty)
    {
        uint256 amount = job.amount;
        refund = amount * refundBps / BPS;
        uint256 rest = amount - refund;
        fee = rest * job.feeBps / BPS;
        royalty = uint256(job.royalty) * rest / amount;
        nodePayout = rest - fee - royalty;
        bool customerWins = refundBps * 2 >= BPS;
        address token = job.token;
        _credit(token, job.customer, refund + (customerWins ? job.bond : 0));
        _credit(token, job.node, nodePayout + (customerWins ? 0 : job.bond));
        _credit(token, job.royaltyReceiver, royalty);
        _fees[token] += fee;
    }

    // ----------------------------------------------------------------------------------- payouts

    /// @inheritdoc IJobMarket
    function withdraw(address token, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert JobMarket__ZeroAddress("to");
        amount = _balances[token][msg.sender];
        if (amount == 0) revert JobMarket__NothingToWithdraw(token, msg.sender);
        _balances[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @inheritdoc IJobMarket
    function withdrawFees(address token) external nonReentrant returns (uint256 amount) {
        amount = _fees[token];
        if (amount == 0) revert JobMarket__NothingToWithdraw(token, _treasury);
        _fees[token] = 0;
        emit FeesWithdrawn(token, _treasury, amount);
        IERC20(token).safeTransfer(_treasury, amount);
    }

    // -------------------------------------------------------------------------------- governance

    /// @notice Sets the protocol parameters, each within its constant bounds.
    function setParams(Params calldata p) external onlyOwner {
        _setParams(p);
    }

    function _setParams(Params memory p) private {
        _bound("feeBps", p.feeBps, 0, MAX_FEE_BPS);
        _bound("maxRoyaltyBps", p.maxRoyaltyBps, 0, MAX_ROYALTY_BPS);
        _bound("disputeBondBps", p.disputeBondBps, 0, MAX_DISPUTE_BOND_BPS);
        _bound("reviewWindow", p.reviewWindow, MIN_REVIEW_WINDOW, MAX_REVIEW_WINDOW);
        _bound("minDeliveryWindow", p.minDeliveryWindow, MIN_DELIVERY_WINDOW, MAX_DELIVERY_WINDOW);
        _bound("minCollateral", p.minCollateral, 0, MAX_MIN_COLLATERAL);
        _feeBps = p.feeBps;
        _maxRoyaltyBps = p.maxRoyaltyBps;
        _disputeBondBps = p.disputeBondBps;
        _reviewWindow = p.reviewWindow;
        _minDeliveryWindow = p.minDeliveryWindow;
        _minCollateral = p.minCollateral;
        emit ParamsSet(p);
    }

    /// @notice Allows or forbids an ERC-20 for new payments (no fee-on-transfer or rebasing tokens).
    function setTokenAllowed(address token, bool allowed) external onlyOwner {
        if (token == address(0)) revert JobMarket__ZeroAddress("token");
        _allowedTokens[token] = allowed;
        emit TokenAllowed(token, allowed);
    }

    /// @notice Names the dispute arbiter.
    function setArbiter(address arbiter_) external onlyOwner {
        _setArbiter(arbiter_);
    }

    function _setArbiter(address arbiter_) private {
        if (arbiter_ == address(0)) revert JobMarket__ZeroAddress("arbiter");
        _arbiter = arbiter_;
        emit ArbiterSet(arbiter_);
    }

    /// @notice Names the treasury that receives protocol fees.
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert JobMarket__ZeroAddress("treasury");
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    // ------------------------------------------------------------------------------------- views

    /// @inheritdoc IJobMarket
    function commitmentOf(uint256 jobId) external view returns (bytes32) {
        return _jobs[jobId];
    }

    /// @inheritdoc IJobMarket
    function statusOf(uint256 jobId) external view returns (JobStatus) {
        bytes32 stored = _jobs[jobId];
        // slither-disable-next-line incorrect-equality,timestamp (0 = cleared slot; a hash, not a balance or time)
        if (stored == 0 && jobId != 0 && jobId <= _jobCount) return JobStatus.Settled;
        return JobLib.statusOf(stored);
    }

    /// @inheritdoc IJobMarket
    function hashJob(Job calldata job, JobStatus status) external pure returns (bytes32) {
        return job.commit(status);
    }

    /// @inheritdoc IJobMarket
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @inheritdoc IJobMarket
    function balanceOf(address token, address account) external view returns (uint256) {
        return _balances[token][account];
    }

    /// @inheritdoc IJobMarket
    function feesOf(address token) external view returns (uint256) {
        return _fees[token];
    }

    /// @inheritdoc IJobMarket
    function isTokenAllowed(address token) external view returns (bool) {
        return _allowedTokens[token];
    }

    /// @inheritdoc IJobMarket
    function params() external view returns (Params memory) {
        return Params({
            feeBps: _feeBps,
            maxRoyaltyBps: _maxRoyaltyBps,
            disputeBondBps: _disputeBondBps,
            reviewWindow: _reviewWindow,
            minDeliveryWindow: _minDeliveryWindow,
            minCollateral: _minCollateral
        });
    }

    /// @inheritdoc IJobMarket
    function arbiter() external view returns (address) {
        return _arbiter;
    }

    /// @inheritdoc IJobMarket
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IJobMarket
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IJobMarket
    function designs() external view returns (address) {
        return address(_designs);
    }

    // ---------------------------------------------------------------------------------- internal

    /// @dev Reverts unless `job` is the stored job `jobId` and it is in `status`.
    function _expect(uint256 jobId, Job calldata job, JobStatus status) private view {
        bytes32 stored = _jobs[jobId];
        if (stored != job.commit(status)) {
            // slither-disable-next-line incorrect-equality,timestamp (0 = cleared slot; a hash, not a balance or time)
            if (stored == 0) {
                // A settled job's slot is cleared (see _settle); only ids never posted are unknown.
                if (jobId == 0 || jobId > _jobCount) revert JobMarket__UnknownJob(jobId);
                revert JobMarket__WrongStatus(jobId, JobStatus.Settled, status);
            }
            JobStatus actual = JobLib.statusOf(stored);
            if (actual != status) revert JobMarket__WrongStatus(jobId, actual, status);
            revert JobMarket__JobDataMismatch(jobId);
        }
    }

    /// @dev Pays a delivered job out: node, royalty receiver and treasury are credited, collateral freed.
    function _settle(uint256 jobId, Job calldata job, bool accepted) private {
        // Settled is the only status stored as an empty slot: clearing it refunds 4 800 gas on the most
        // common path, and `statusOf` reads "posted but empty" as Settled, so nothing is ambiguous.
        delete _jobs[jobId];
        uint256 amount = job.amount;
        uint256 fee = amount * job.feeBps / BPS;
        uint256 royalty = job.royalty;
        // unchecked: fee <= 10 % and royalty <= 25 % of amount, both bounded at post.
        uint256 nodePayout;
        unchecked {
            nodePayout = amount - fee - royalty;
        }
        address token = job.token;
        address node = job.node;
        _credit(token, node, nodePayout);
        _credit(token, job.royaltyReceiver, royalty);
        _fees[token] += fee;
        emit JobSettled(jobId, node, nodePayout, fee, royalty, accepted);
        _registry.releaseCollateral(node, job.collateral);
    }

    /// @dev Credits a pull balance. No event: the lifecycle events carry every amount credited.
    function _credit(address token, address account, uint256 amount) private {
        if (amount != 0) _balances[token][account] += amount;
    }

    /// @dev Takes `amount` from the caller's deposit, pulling any shortfall with transferFrom.
    function _debit(address token, address account, uint256 amount) private {
        uint256 balance = _balances[token][account];
        if (balance >= amount) {
            // unchecked: balance >= amount.
            unchecked {
                _balances[token][account] = balance - amount;
            }
        } else {
            if (balance != 0) _balances[token][account] = 0;
            IERC20(token).safeTransferFrom(account, address(this), amount - balance);
        }
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert JobMarket__ParameterOutOfBounds(name, value, min, max);
    }
}
