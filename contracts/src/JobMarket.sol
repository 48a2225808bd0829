// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDesignRights} from "./interfaces/IDesignRights.sol";
import {IDesignNFT} from "./interfaces/IDesignNFT.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {MarketCore} from "./market/MarketCore.sol";
import {JobMarketModule} from "./market/JobMarketModule.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "./types/Job.sol";
import {JobLib} from "./libraries/JobLib.sol";
import {CidLib} from "./libraries/CidLib.sol";

/// @title JobMarket
/// @notice Escrow for fabrication jobs. Each job is one storage slot: the hash of its id and `Job` struct
/// with the status in the low byte. Callers pass the struct back (the SDK rebuilds it from events), which
/// keeps the lifecycle near the storage floor; a finished job's slot is recycled by a later post.
/// Market rules (see README "Market rules"): collateral scales with the payment within governed bounds; a
/// node may hand a claim back (free within the hand-back window); a missed delivery refunds the customer
/// and compensates the delay from a bounded share of the slash, the rest goes to the treasury; disputes
/// have an arbiter (a governance-appointed panel's member) fixed at opening with a deadline and a default
/// ruling, and an appeal to the DAO. Governance may pause new jobs; nothing that belongs to anyone stops.
/// Disputes, governance and the rarely read views live in `JobMarketModule`, deployed just before the market
/// and reached by delegatecall (same storage, see MarketCore): the functions below that only forward are its.
contract JobMarket is IJobMarket, MarketCore, EIP712 {
    using SafeERC20 for IERC20;
    using JobLib for Job;

    /// @notice The dispute and governance half of the market, created by the constructor; immutable.
    address private immutable _module;

    constructor(
        address owner_,
        INodeRegistry registry_,
        IDesignRights designs_,
        JobMarketModule module_,
        address treasury_,
        address arbiter_,
        address appealCourt_,
        Params memory params_
    ) MarketCore(owner_, registry_, designs_) EIP712("Fabrica JobMarket", "1") {
        // The module runs on this market's storage with its own immutables: it must have been built for this
        // market, registry and designs (deployed just before, at the address the deployer predicted).
        (address m, address r, address d) = module_.binding();
        if (m != address(this) || r != address(registry_) || d != address(designs_)) {
            revert JobMarket__ModuleMismatch(address(module_));
        }
        _module = address(module_);
        _setTreasury(treasury_);
        if (arbiter_ == address(0)) revert JobMarket__ZeroAddress("arbiter");
        if (appealCourt_ == address(0)) revert JobMarket__ZeroAddress("appealCourt");
        _arbiter = arbiter_;
        _appealCourt = appealCourt_;
        emit ArbiterSet(arbiter_);
        emit AppealCourtSet(appealCourt_);
        _setParams(params_);
    }

    // ------------------------------------------------------------------------------------ customer

    /// @inheritdoc IJobMarket
    function post(
        address token,
        uint96 amount,
        bytes calldata specCid,
        uint256 designId,
        uint40 claimBy,
        uint32 deliveryWindow,
        uint96 collateral,
        uint64 targetNode,
        uint64 reuseKey
    ) external nonReentrant returns (uint256 jobId) {
        if (!CidLib.isValid(specCid)) revert JobMarket__InvalidCid(specCid);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (claimBy <= block.timestamp || claimBy > block.timestamp + MAX_CLAIM_PERIOD) {
            revert JobMarket__InvalidClaimDeadline(claimBy, block.timestamp);
        }
        // unchecked: a uint40 counter of jobs (a trillion) cannot overflow.
        unchecked {
            jobId = uint256(_jobCount) + 1;
        }
        Job memory job = _newJob(jobId, msg.sender, token, amount, designId, deliveryWindow, collateral);
        job.deadline = claimBy;
        job.targetNode = targetNode;
        if (_paused) revert JobMarket__Paused();
        _jobCount = uint40(jobId);
        uint64 key = _slotFor(jobId, reuseKey);
        job.key = key;
        _jobs[key] = JobLib.commitMemory(jobId, job, JobStatus.Open);
        emit JobPosted(jobId, msg.sender, JobLib.pack(job), specCid, designId);
        // Escrow comes from the customer's deposited balance first; only a shortfall is pulled.
        _debit(token, msg.sender, amount);
    }

    /// @inheritdoc IJobMarket
    function cancel(uint256 jobId, Job calldata job) external {
        uint256 key = _expect(jobId, job, JobStatus.Open);
        if (msg.sender != job.customer) revert JobMarket__NotCustomer(jobId, msg.sender, job.customer);
        _jobs[key] = job.commit(JobStatus.Cancelled);
        emit JobCancelled(jobId, job.customer, job.amount);
        _credit(job.token, job.customer, job.amount);
        _releaseLicence(jobId, job);
    }

    /// @inheritdoc IJobMarket
    function accept(uint256 jobId, Job calldata job) external {
        uint256 key = _expect(jobId, job, JobStatus.Delivered);
        if (msg.sender != job.customer) revert JobMarket__NotCustomer(jobId, msg.sender, job.customer);
        _settle(key, jobId, job, true);
    }

    /// @inheritdoc IJobMarket
    function cancelOrder(uint64 nonce) external {
        _useNonce(msg.sender, nonce);
        emit OrderCancelled(msg.sender, nonce);
    }

    /// @inheritdoc IJobMarket
    function incrementCounter() external returns (uint64 counter) {
        counter = ++_counters[msg.sender];
        emit OrderCounterIncremented(msg.sender, counter);
    }

    /// @inheritdoc IJobMarket
    function deposit(address token, uint256 amount) external nonReentrant {
        if (!_terms[token].allowed) revert JobMarket__TokenNotAllowed(token);
        if (amount == 0) revert JobMarket__ZeroAmount();
        // Credit what arrived, not what was asked: a fee-on-transfer token cannot make the market insolvent.
        uint256 received = _pull(token, msg.sender, amount);
        if (received == 0) revert JobMarket__ShortDeposit(token, amount, 0);
        _balances[token][msg.sender] += received;
        emit Deposited(token, msg.sender, received);
    }

    // ---------------------------------------------------------------------------------------- shop

    /// @inheritdoc IJobMarket
    function claim(uint256 jobId, Job calldata job, uint256 nodeId) external {
        uint256 key = _expect(jobId, job, JobStatus.Open);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > job.deadline) revert JobMarket__DeadlinePassed(jobId, job.deadline, block.timestamp);
        if (job.targetNode != 0 && job.targetNode != nodeId) {
            revert JobMarket__NotTargetNode(jobId, nodeId, job.targetNode);
        }
        address previous = job.node;
        if (previous != address(0)) {
            // Handed back (see handBack): not by the same operator, and not before the cooldown.
            if (msg.sender == previous) revert JobMarket__HandedBackByCaller(jobId, msg.sender);
            uint256 claimableAt = job.deadline - REOPEN_PERIOD + REOPEN_COOLDOWN;
            if (block.timestamp < claimableAt) revert JobMarket__ReopenCooldown(jobId, claimableAt, block.timestamp);
        }
        uint256 deliverBy = block.timestamp + job.deliveryWindow;
        _jobs[key] = job.commitWith(
            JobStatus.Claimed, JobLib.NODE_OFFSET, uint256(uint160(msg.sender)), JobLib.DEADLINE_OFFSET, deliverBy
        );
        emit JobClaimed(jobId, msg.sender, nodeId, deliverBy);
        _lock(msg.sender, nodeId, job.collateral);
    }

    /// @inheritdoc IJobMarket
    function take(Order calldata order, bytes calldata signature, uint256 nodeId, uint64 reuseKey)
        external
        nonReentrant
        returns (uint256 jobId)
    {
        return _take(order, signature, nodeId, reuseKey);
    }

    /// @inheritdoc IJobMarket
    function takeWithPermit(
        Order calldata order,
        bytes calldata signature,
        uint256 nodeId,
        uint64 reuseKey,
        uint256 permitValue,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 jobId) {
        // Only an allowlisted token's permit is called. A permit that was already used (front-run) fails here
        // harmlessly: the allowance is what counts.
        if (!_terms[order.token].allowed) revert JobMarket__TokenNotAllowed(order.token);
        try IERC20Permit(order.token).permit(order.customer, address(this), permitValue, permitDeadline, v, r, s) {}
            catch {}
        return _take(order, signature, nodeId, reuseKey);
    }

    /// @inheritdoc IJobMarket
    function handBack(uint256 jobId, Job calldata job) external nonReentrant {
        uint256 key = _expect(jobId, job, JobStatus.Claimed);
        if (msg.sender != job.node) revert JobMarket__NotClaimer(jobId, msg.sender, job.node);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > job.deadline) revert JobMarket__DeadlinePassed(jobId, job.deadline, block.timestamp);
        uint256 claimedAt = job.deadline - job.deliveryWindow;
        uint256 penalty = 0;
        if (block.timestamp > claimedAt + _handBackWindow) penalty = uint256(job.collateral) * _handBackPenaltyBps / BPS;
        uint256 claimBy = block.timestamp + REOPEN_PERIOD;
        // The job re-opens with `node` still naming this operator: it may not claim the job again, and nobody
        // may for REOPEN_COOLDOWN, so a shop cannot hold a job forever by handing it back and re-claiming it
        // in one block, and the customer always gets a window in which it can cancel.
        _jobs[key] = job.commitWith(JobStatus.Open, JobLib.DEADLINE_OFFSET, claimBy);
        uint256 compensation = _slash(job, penalty);
        emit JobHandedBack(jobId, msg.sender, penalty, compensation, claimBy);
    }

    /// @inheritdoc IJobMarket
    function deliver(uint256 jobId, Job calldata job, bytes calldata proofCid) external {
        uint256 key = _expect(jobId, job, JobStatus.Claimed);
        if (msg.sender != job.node) revert JobMarket__NotClaimer(jobId, msg.sender, job.node);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp > job.deadline) revert JobMarket__DeadlinePassed(jobId, job.deadline, block.timestamp);
        if (!CidLib.isValid(proofCid)) revert JobMarket__InvalidCid(proofCid);
        uint256 reviewUntil = block.timestamp + job.reviewWindow;
        _jobs[key] = job.commitWith(JobStatus.Delivered, JobLib.DEADLINE_OFFSET, reviewUntil);
        emit JobDelivered(jobId, msg.sender, proofCid, reviewUntil);
    }

    // ---------------------------------------------------------------------------------- permissionless

    /// @inheritdoc IJobMarket
    function settle(uint256 jobId, Job calldata job) external {
        uint256 key = _expect(jobId, job, JobStatus.Delivered);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp <= job.deadline) revert JobMarket__DeadlineNotPassed(jobId, job.deadline, block.timestamp);
        _settle(key, jobId, job, false);
    }

    /// @inheritdoc IJobMarket
    function expire(uint256 jobId, Job calldata job) external nonReentrant {
        uint256 key = job.key;
        JobStatus status = JobLib.statusOf(_jobs[key]);
        if (status != JobStatus.Open) status = JobStatus.Claimed; // _expect names the mismatch
        _expect(jobId, job, status);
        // slither-disable-next-line timestamp (deadline by design; see contracts/SLITHER.md)
        if (block.timestamp <= job.deadline) revert JobMarket__DeadlineNotPassed(jobId, job.deadline, block.timestamp);
        if (status == JobStatus.Open) {
            _jobs[key] = job.commit(JobStatus.Cancelled);
            emit JobCancelled(jobId, job.customer, job.amount);
            _credit(job.token, job.customer, job.amount);
        } else {
            _jobs[key] = job.commit(JobStatus.Expired);
            uint256 slashed = uint256(job.collateral) * _expirySlashBps / BPS;
            _credit(job.token, job.customer, job.amount);
            uint256 compensation = _slash(job, slashed);
            emit JobExpired(jobId, job.node, job.amount, slashed, compensation);
        }
        _releaseLicence(jobId, job);
    }

    // ------------------------------------------------------------------------------------ payouts

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

    // ----------------------------------------------------------------------------------- registry

    /// @inheritdoc IJobMarket
    function syncStake(address operator, uint256 staked, bool eligible) external {
        if (msg.sender != address(_registry)) revert JobMarket__NotRegistry(msg.sender);
        OperatorState storage o = _operators[operator];
        o.staked = uint96(staked);
        o.eligible = eligible;
    }

    /// @inheritdoc IJobMarket
    function syncNode(uint256 nodeId, address operator, bool active) external {
        if (msg.sender != address(_registry)) revert JobMarket__NotRegistry(msg.sender);
        _nodes[nodeId] = NodeState(operator, active);
    }

    // ------------------------------------------------------------------------------------- views

    /// @inheritdoc IJobMarket
    function commitmentAt(uint256 key) external view returns (bytes32) {
        return _jobs[key];
    }

    /// @inheritdoc IJobMarket
    function nonceUsed(address customer, uint64 nonce) external view returns (bool) {
        return _nonces[customer][nonce >> 8] & (uint256(1) << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IJobMarket
    function statusOf(uint256 jobId, Job calldata job) external view returns (JobStatus) {
        bytes32 stored = _jobs[job.key];
        JobStatus status = JobLib.statusOf(stored);
        return job.commit(status) == stored ? status : JobStatus.None;
    }

    /// @inheritdoc IJobMarket
    function hashJob(uint256, Job calldata job, JobStatus status) external pure returns (bytes32) {
        return job.commit(status);
    }

    /// @inheritdoc IJobMarket
    function orderDigest(Order calldata order) external view returns (bytes32) {
        return _orderDigest(order);
    }

    /// @inheritdoc IJobMarket
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @inheritdoc IJobMarket
    function lockedOf(address operator) external view returns (uint256) {
        return _operators[operator].locked;
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
        return _terms[token].allowed;
    }

    /// @inheritdoc IJobMarket
    function collateralBounds(address token, uint256 amount) external view returns (uint256 min, uint256 max) {
        return _collateralBounds(_terms[token], amount);
    }

    /// @inheritdoc IJobMarket
    function orderCounter(address customer) external view returns (uint64) {
        return _counters[customer];
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

    /// @dev Validates new job terms and builds job `jobId`, snapshotting fee, review window, bond and royalty.
    function _newJob(
        uint256 jobId,
        address customer,
        address token,
        uint96 amount,
        uint256 designId,
        uint32 deliveryWindow,
        uint96 collateral
    ) private returns (Job memory job) {
        TokenTerms memory terms = _terms[token];
        if (!terms.allowed) revert JobMarket__TokenNotAllowed(token);
        if (amount == 0) revert JobMarket__ZeroAmount();
        uint256 minWindow = _minDeliveryWindow;
        if (deliveryWindow < minWindow || deliveryWindow > MAX_DELIVERY_WINDOW) {
            revert JobMarket__InvalidDeliveryWindow(deliveryWindow, minWindow, MAX_DELIVERY_WINDOW);
        }
        // Collateral scales with the payment: enough that sitting on a claim costs, never so much that a
        // customer could bait shops into locking more than the job is worth.
        (uint256 minC, uint256 maxC) = _collateralBounds(terms, amount);
        if (collateral < minC || collateral > maxC) revert JobMarket__CollateralOutOfBounds(collateral, minC, maxC);
        job.customer = customer;
        job.token = token;
        job.amount = amount;
        job.collateral = collateral;
        job.bond = uint96(uint256(amount) * _disputeBondBps / BPS);
        job.feeBps = _feeBps;
        job.deliveryWindow = deliveryWindow;
        job.reviewWindow = _reviewWindow;
        if (designId != 0) {
            (address receiver, uint256 royaltyAmount) = _royalty(jobId, customer, designId, amount);
            if (receiver != address(0)) {
                uint256 cap = uint256(amount) * _maxRoyaltyBps / BPS;
                job.royaltyReceiver = receiver;
                job.royalty = uint96(royaltyAmount > cap ? cap : royaltyAmount);
            }
        }
    }

    /// @dev Who earns job `jobId`'s design royalty, before the cap. The design's owner, at its royalty; nothing
    /// for the customer's own design (it cannot rebate itself out of the shop's pay) or one the licences
    /// contract holds. One read of the DesignNFT decides for designs without licences; the others (and
    /// designs that are unknown or not Active) are the licences contract's: it consumes one of the customer's
    /// licences instead (receiver: itself, royalty 0) or reverts with its own errors.
    function _royalty(uint256 jobId, address customer, uint256 designId, uint256 amount)
        private
        returns (address receiver, uint256 royalty)
    {
        (address holder, uint256 bps, IDesignNFT.DesignState state, bool licensed) = _nft.rightsOf(designId);
        if (licensed || state != IDesignNFT.DesignState.Active) {
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign,reentrancy-events (the immutable licences contract; nonReentrant callers)
            return _designs.jobRoyalty(jobId, customer, designId, amount);
        }
        if (holder == customer || holder == address(_designs)) return (address(0), 0);
        return (holder, amount * bps / BPS);
    }

    /// @dev Gives back the licence a job consumed when it ends without a print (cancelled or expired).
    function _releaseLicence(uint256 jobId, Job calldata job) private {
        // slither-disable-next-line unused-return (false only when nothing was spent: nothing to do)
        if (job.royaltyReceiver == address(_designs) && job.royalty == 0) _designs.releaseLicence(jobId);
    }

    function _collateralBounds(TokenTerms memory terms, uint256 amount) private view returns (uint256 min, uint256 max) {
        uint256 floor = _minCollateral;
        min = amount * terms.minCollateralRate / RATE_ONE;
        if (min < floor) min = floor;
        max = amount * terms.maxCollateralRate / RATE_ONE;
        if (max < min) max = min;
    }

    /// @dev Creates and claims the job a signed order describes.
    function _take(Order calldata order, bytes calldata signature, uint256 nodeId, uint64 reuseKey)
        private
        returns (uint256 jobId)
    {
        bytes32 digest = _checkOrder(order, signature, nodeId);
        _useNonce(order.customer, order.nonce);
        if (_paused) revert JobMarket__Paused();
        unchecked {
            jobId = ++_jobCount;
        }
        uint64 key = _slotFor(jobId, reuseKey);
        Job memory job = _orderJob(jobId, order, key);
        _jobs[key] = JobLib.commitMemory(jobId, job, JobStatus.Claimed);
        _emitTaken(jobId, order, job, nodeId, digest);
        _lock(msg.sender, nodeId, order.collateral);
        _debit(order.token, order.customer, order.amount);
    }

    /// @dev The slot a new job is stored in: `reuseKey` when it holds a finished job (rewritten for 5 000 gas
    /// instead of 22 100 for a fresh slot), else the job's own id.
    function _slotFor(uint256 jobId, uint64 reuseKey) private view returns (uint64) {
        if (reuseKey != 0 && JobLib.statusOf(_jobs[reuseKey]) >= JobStatus.Settled) return reuseKey;
        return uint64(jobId);
    }

    /// @dev Marks an order nonce used (taken or cancelled); reverts when it already was.
    function _useNonce(address customer, uint64 nonce) private {
        uint256 bit = uint256(1) << (nonce & 0xff);
        uint256 bits = _nonces[customer][nonce >> 8];
        if (bits & bit != 0) revert JobMarket__OrderNonceUsed(customer, nonce);
        _nonces[customer][nonce >> 8] = bits | bit;
    }

    /// @dev Checks an order's expiry, nonce, counter, CID, target and signature; returns its digest.
    function _checkOrder(Order calldata order, bytes calldata signature, uint256 nodeId)
        private
        view
        returns (bytes32 digest)
    {
        // slither-disable-next-line timestamp (order expiry by design; see contracts/SLITHER.md)
        if (block.timestamp > order.expiry) revert JobMarket__OrderExpired(order.expiry, block.timestamp);
        uint64 current = _counters[order.customer];
        if (order.counter != current) revert JobMarket__OrderCounterStale(order.customer, order.counter, current);
        if (!CidLib.isValid(order.specCid)) revert JobMarket__InvalidCid(order.specCid);
        if (order.targetNode != 0 && order.targetNode != nodeId) {
            revert JobMarket__NotTargetNode(0, nodeId, order.targetNode);
        }
        digest = _orderDigest(order);
        // EOAs sign with ECDSA; contract wallets answer ERC-1271.
        if (!SignatureChecker.isValidSignatureNow(order.customer, digest, signature)) {
            revert JobMarket__InvalidSignature(order.customer);
        }
    }

    /// @dev The claimed job an order creates for the caller.
    function _orderJob(uint256 jobId, Order calldata order, uint64 key) private returns (Job memory job) {
        job = _newJob(
            jobId, order.customer, order.token, order.amount, order.designId, order.deliveryWindow, order.collateral
        );
        job.node = msg.sender;
        job.deadline = uint40(block.timestamp + order.deliveryWindow);
        job.targetNode = order.targetNode;
        job.key = key;
    }

    function _emitTaken(uint256 jobId, Order calldata order, Job memory job, uint256 nodeId, bytes32 digest) private {
        emit OrderTaken(
            jobId, order.customer, msg.sender, nodeId, JobLib.pack(job), order.specCid, order.designId, digest
        );
    }

    function _orderDigest(Order calldata o) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ORDER_TYPEHASH,
                    o.customer,
                    o.token,
                    o.amount,
                    o.collateral,
                    o.designId,
                    o.deliveryWindow,
                    o.targetNode,
                    o.expiry,
                    o.nonce,
                    o.counter,
                    keccak256(o.specCid)
                )
            )
        );
    }

    /// @dev Locks `amount` of the operator's bonded stake for a claim by its node `nodeId`: two slots of this
    /// contract's own (the node, the operator) and one write.
    function _lock(address operator, uint256 nodeId, uint256 amount) private {
        NodeState memory n = _nodes[nodeId];
        if (n.operator != operator) {
            if (n.operator == address(0)) revert JobMarket__UnknownNode(nodeId);
            revert JobMarket__NotNodeOperator(nodeId, operator, n.operator);
        }
        OperatorState storage o = _operators[operator];
        uint256 staked = o.staked;
        uint256 locked = o.locked;
        // Inactive: taken out of service by its operator, or the operator's stake is below the registry's minimum.
        if (!n.active || !o.eligible) revert JobMarket__NodeInactive(nodeId);
        uint256 free = staked > locked ? staked - locked : 0;
        if (amount > free) revert JobMarket__InsufficientFreeStake(operator, free, amount);
        o.locked = uint96(locked + amount);
    }

    /// @dev Pays a delivered job out: node, royalty receiver and treasury are credited, collateral freed.
    function _settle(uint256 key, uint256 jobId, Job calldata job, bool accepted) private {
        _jobs[key] = job.commit(JobStatus.Settled);
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
        _operators[node].locked -= job.collateral;
        emit JobSettled(jobId, accepted);
    }


    // ---------------------------------------------------------------------------------- module

    /// @notice Disputes, governance and the module's views: run by the module on this contract's storage.
    fallback() external {
        address module = _module;
        // slither-disable-next-line assembly (forwards the call to the immutable module; see contracts/SLITHER.md)
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}
