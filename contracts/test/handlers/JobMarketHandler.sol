// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {FabToken} from "../../src/FabToken.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {IJobMarket} from "../../src/interfaces/IJobMarket.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";

/// @notice Drives random lifecycles across several customers, shops and two payment tokens, and keeps
/// a plain reference model: ghost Job structs and statuses, expected credits, fees, wallets and stakes.
/// Every call states up front whether it must succeed; a call that surprises the model is counted
/// (the invariants require zero), as is any collateral move, commitment or status the model did not predict.
contract JobMarketHandler is TestBase {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_AMOUNT = 1e15;
    uint96 internal constant MAX_COLLATERAL = 500e18;
    uint96 internal constant INITIAL_STAKE = 5_000e18;
    bytes internal constant SPEC_CID = hex"1220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
    bytes internal constant PROOF_CID =
        hex"01551220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    JobMarket public immutable market;
    NodeRegistry public immutable registry;
    FabToken public immutable fab;
    DesignNFT public immutable designs;
    address public immutable owner;
    address public immutable arbiter;
    address public immutable treasury;

    address[] public tokens;
    address[] public customers;
    address[] public shops;
    uint256[] public nodeIds;
    address[] public designers;
    /// @dev Everyone who can ever hold a credit in the market or receive a withdrawal.
    address[] public holders;
    uint256[] public designIds;

    // ---------------------------------------------------------------------------- reference model
    uint256 public ghostNow;
    Job[] internal _jobs;
    JobStatus[] internal _status;
    uint8[][] internal _history; // every status observed on chain, in order
    uint256[] internal _locks; // collateral locks observed per job
    uint256[] internal _releases; // collateral releases or slashes observed per job
    mapping(address token => mapping(address account => uint256)) public ghostCredit;
    mapping(address token => uint256) public ghostFees;
    mapping(address token => mapping(address account => uint256)) public ghostWallet;
    mapping(address token => uint256) public ghostLiveEscrow;
    mapping(address token => uint256) public ghostCreditTotal;
    mapping(address account => uint256) public ghostFab;
    mapping(address operator => INodeRegistry.Stake) internal _stakes;
    mapping(uint256 design => address) public ghostDesignOwner;
    mapping(uint256 design => uint256) public ghostDesignBps;
    IJobMarket.Params internal _params;
    uint256 public unbondDelay;
    uint256 public minStake;

    // ---------------------------------------------------------------------------------- surprises
    uint256 public unexpectedReverts;
    uint256 public unexpectedSuccesses;
    uint256 public wrongRevertReasons;
    uint256 public collateralAnomalies;
    uint256 public modelMismatches;
    uint256 public illegalTransitions;
    string public lastSurprise;

    // -------------------------------------------------------------------------------- statistics
    mapping(bytes32 action => uint256) public succeeded;
    mapping(bytes32 action => uint256) public refused;
    uint256 public calls;
    uint256 public lastJob;

    constructor(
        JobMarket market_,
        NodeRegistry registry_,
        FabToken fab_,
        DesignNFT designs_,
        address[] memory tokens_,
        address owner_,
        address arbiter_,
        address treasury_
    ) {
        market = market_;
        registry = registry_;
        fab = fab_;
        designs = designs_;
        tokens = tokens_;
        owner = owner_;
        arbiter = arbiter_;
        treasury = treasury_;
        ghostNow = block.timestamp;
        _params = market_.params();
        unbondDelay = registry_.unbondDelay();
        minStake = registry_.minStake();

        for (uint256 i; i < 3; ++i) {
            customers.push(address(uint160(0xC000 + i)));
            shops.push(address(uint160(0x5000 + i)));
        }
        designers.push(address(0xD000));
        designers.push(address(0xD001));
        for (uint256 i; i < 3; ++i) holders.push(customers[i]);
        for (uint256 i; i < 3; ++i) holders.push(shops[i]);
        for (uint256 i; i < 2; ++i) holders.push(designers[i]);
        holders.push(address(0x5111)); // a withdrawal sink that never holds a credit

        for (uint256 t; t < tokens_.length; ++t) {
            for (uint256 i; i < 3; ++i) {
                address c = customers[i];
                vm.prank(owner_);
                TestStablecoin(tokens_[t]).mint(c, 1e24);
                ghostWallet[tokens_[t]][c] = 1e24;
                vm.prank(c);
                TestStablecoin(tokens_[t]).approve(address(market_), type(uint256).max);
            }
        }
        for (uint256 i; i < 3; ++i) {
            address s = shops[i];
            vm.prank(owner_);
            fab_.transfer(s, 1_000_000e18);
            vm.startPrank(s);
            fab_.approve(address(registry_), type(uint256).max);
            registry_.stake(INITIAL_STAKE);
            nodeIds.push(registry_.registerNode(1, 1, [uint32(100), 100, 100], bytes32(uint256(1)), SPEC_CID));
            vm.stopPrank();
            ghostFab[s] = 1_000_000e18 - INITIAL_STAKE;
            _stakes[s].staked = INITIAL_STAKE;
        }
        // Royalties: 5 %, 25 % (above the market cap, so capped), and 0 %.
        uint96[3] memory bps = [uint96(500), 2_500, 0];
        for (uint256 i; i < bps.length; ++i) {
            address d = designers[i % 2];
            uint256 id = designs_.mint(d, SPEC_CID, bps[i]);
            designIds.push(id);
            ghostDesignOwner[id] = d;
            ghostDesignBps[id] = bps[i];
        }
    }

    // ====================================================================================== views

    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    function ghostJob(uint256 id) external view returns (Job memory) {
        return _jobs[id - 1];
    }

    function ghostStatus(uint256 id) external view returns (JobStatus) {
        return _status[id - 1];
    }

    function historyOf(uint256 id) external view returns (uint8[] memory) {
        return _history[id - 1];
    }

    /// @dev (node, collateral, locks observed, releases observed) for job `id`.
    function collateralOf(uint256 id) external view returns (address, uint256, uint256, uint256) {
        Job storage j = _jobs[id - 1];
        return (j.node, j.collateral, _locks[id - 1], _releases[id - 1]);
    }

    function ghostStake(address operator) external view returns (INodeRegistry.Stake memory) {
        return _stakes[operator];
    }

    function tokenCount() external view returns (uint256) {
        return tokens.length;
    }

    function holderCount() external view returns (uint256) {
        return holders.length;
    }

    function shopCount() external view returns (uint256) {
        return shops.length;
    }

    /// @notice What the model says the market holds in `token`: live escrows + credits + fees.
    function expectedHoldings(address token) external view returns (uint256) {
        return ghostLiveEscrow[token] + ghostCreditTotal[token] + ghostFees[token];
    }

    /// @notice What the model says the registry holds: every operator's stake plus what is unbonding.
    function expectedRegistryFab(address idleOperator, uint256 idleStake) external view returns (uint256 sum) {
        sum = idleOperator == address(0) ? 0 : idleStake;
        for (uint256 i; i < shops.length; ++i) sum += uint256(_stakes[shops[i]].staked) + _stakes[shops[i]].unbonding;
    }

    /// @notice The model's locked collateral per shop (index-aligned with `shops`).
    function ghostLocked() external view returns (uint256[] memory locked) {
        locked = new uint256[](shops.length);
        for (uint256 i; i < shops.length; ++i) locked[i] = _stakes[shops[i]].locked;
    }

    /// @notice The last status the handler observed on chain for job `id`.
    function lastObserved(uint256 id) external view returns (uint8) {
        uint8[] storage h = _history[id - 1];
        return h[h.length - 1];
    }

    /// @notice The commitment the model expects for job `id`.
    function ghostCommitment(uint256 id) public view returns (bytes32 c) {
        // A settled job's slot is cleared by the market.
        if (_status[id - 1] == JobStatus.Settled) return bytes32(0);
        c = keccak256(abi.encode(_jobs[id - 1]));
        c = (c & ~bytes32(uint256(0xff))) | bytes32(uint256(_status[id - 1]));
    }

    function surprises() external view returns (uint256) {
        return unexpectedReverts + unexpectedSuccesses + wrongRevertReasons + collateralAnomalies + modelMismatches
            + illegalTransitions;
    }

    // ================================================================================== lifecycle

    function post(
        uint256 actorSeed,
        uint256 tokenSeed,
        uint256 amount,
        uint256 designSeed,
        uint256 claimBySeed,
        uint256 windowSeed,
        uint256 collateralSeed
    ) external {
        _sync();
        Job memory job;
        job.customer = customers[actorSeed % customers.length];
        job.token = tokens[tokenSeed % tokens.length];
        job.amount = uint96(bound(amount, 1, MAX_AMOUNT));
        job.collateral = uint96(bound(collateralSeed, _params.minCollateral, MAX_COLLATERAL));
        job.feeBps = _params.feeBps;
        job.deliveryWindow = uint32(bound(windowSeed, _params.minDeliveryWindow, 3 days));
        job.reviewWindow = _params.reviewWindow;
        job.deadline = uint40(ghostNow + bound(claimBySeed, 1 hours, 3 days));
        // One post in four names no design.
        uint256 design = designSeed % 4 == 0 ? 0 : designIds[designSeed % designIds.length];
        if (design != 0) {
            job.royaltyReceiver = ghostDesignOwner[design];
            uint256 royalty = uint256(job.amount) * ghostDesignBps[design] / BPS;
            uint256 cap = uint256(job.amount) * _params.maxRoyaltyBps / BPS;
            job.royalty = uint96(royalty < cap ? royalty : cap);
        }
        vm.prank(job.customer);
        (bool ok, bytes memory ret) = address(market).call(
            abi.encodeCall(
                market.post,
                (job.token, job.amount, SPEC_CID, design, job.deadline, job.deliveryWindow, job.collateral)
            )
        );
        if (!_outcome("post", true, ok, ret, "")) return;
        uint256 id = abi.decode(ret, (uint256));
        if (id != _jobs.length + 1) _mismatch("post: job id");
        _debit(job.token, job.customer, job.amount);
        _verifyCredit(job.token, job.customer);
        ghostLiveEscrow[job.token] += job.amount;
        _jobs.push(job);
        _status.push(JobStatus.Open);
        _history.push();
        _locks.push(0);
        _releases.push(0);
        _observe(id);
    }

    function deposit(uint256 actorSeed, uint256 tokenSeed, uint256 amount) external {
        _sync();
        address c = customers[actorSeed % customers.length];
        address token = tokens[tokenSeed % tokens.length];
        amount = bound(amount, 1, MAX_AMOUNT);
        vm.prank(c);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.deposit, (token, amount)));
        if (!_outcome("deposit", true, ok, ret, "")) return;
        _addCredit(token, c, amount);
        ghostWallet[token][c] -= amount;
        _verifyCredit(token, c);
    }

    function cancel(uint256 jobSeed) external {
        _sync();
        uint256 id = _pick(jobSeed, JobStatus.Open);
        if (id == 0) return;
        Job memory job = _jobs[id - 1];
        vm.prank(job.customer);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.cancel, (id, job)));
        if (_outcome("cancel", true, ok, ret, "")) {
            _addCredit(job.token, job.customer, job.amount);
            ghostLiveEscrow[job.token] -= job.amount;
            _status[id - 1] = JobStatus.Cancelled;
            _verifyCredits(job);
        }
        _observe(id);
    }

    function claim(uint256 jobSeed, uint256 shopSeed) external {
        _sync();
        uint256 id = _pickTimed(jobSeed, JobStatus.Open, false);
        if (id == 0) return;
        Job memory job = _jobs[id - 1];
        // Prefer a shop that can afford the collateral; if none can, the chosen one must be refused.
        uint256 k = shopSeed % shops.length;
        bool eligible;
        for (uint256 i; i < shops.length && !eligible; ++i) {
            uint256 c = (k + i) % shops.length;
            if (_canLock(shops[c], job.collateral)) (k, eligible) = (c, true);
        }
        address s = shops[k];
        bool late = ghostNow > job.deadline;
        bytes memory reason = late
            ? abi.encodeWithSelector(IJobMarket.JobMarket__DeadlinePassed.selector, id, job.deadline, ghostNow)
            : _lockRefusal(s, job.collateral);
        uint256 lockedBefore = registry.stakeOf(s).locked;
        vm.prank(s);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.claim, (id, job, nodeIds[k])));
        if (_outcome("claim", eligible && !late, ok, ret, reason)) {
            if (registry.stakeOf(s).locked != lockedBefore + job.collateral) _collateral("claim: lock amount");
            if (_locks[id - 1] != 0) _collateral("claim: locked twice");
            _locks[id - 1]++;
            _stakes[s].locked += job.collateral;
            job.node = s;
            job.deadline = uint40(ghostNow + job.deliveryWindow);
            _jobs[id - 1] = job;
            _status[id - 1] = JobStatus.Claimed;
        } else if (registry.stakeOf(s).locked != lockedBefore) {
            _collateral("claim: refused claim moved collateral");
        }
        _observe(id);
    }

    function deliver(uint256 jobSeed) external {
        _sync();
        uint256 id = _pickTimed(jobSeed, JobStatus.Claimed, false);
        if (id == 0) return;
        Job memory job = _jobs[id - 1];
        bool late = ghostNow > job.deadline;
        bytes memory reason;
        if (late) {
            reason =
                abi.encodeWithSelector(IJobMarket.JobMarket__DeadlinePassed.selector, id, job.deadline, ghostNow);
        }
        vm.prank(job.node);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.deliver, (id, job, PROOF_CID)));
        if (_outcome("deliver", !late, ok, ret, reason)) {
            job.deadline = uint40(ghostNow + job.reviewWindow);
            _jobs[id - 1] = job;
            _status[id - 1] = JobStatus.Delivered;
        }
        _observe(id);
    }

    function accept(uint256 jobSeed) external {
        _sync();
        uint256 id = _pick(jobSeed, JobStatus.Delivered);
        if (id == 0) return;
        Job memory job = _jobs[id - 1];
        uint256 lockedBefore = registry.stakeOf(job.node).locked;
        vm.prank(job.customer);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.accept, (id, job)));
        if (_outcome("accept", true, ok, ret, "")) {
            _paySettlement(id, job, lockedBefore);
            _verifyCredits(job);
        }
        _observe(id);
    }

    /// @param wait when set and the review window ends within a day, time first runs past it.
    function settle(uint256 jobSeed, bool wait, uint256 callerSeed) external {
        _sync();
        uint256 id = _pickTimed(jobSeed, JobStatus.Delivered, true);
        if (id == 0) return;
        Job memory job = _jobs[id - 1];
        _waitFor(wait, uint256(job.deadline) + 1);
        bool due = ghostNow > job.deadline;
        bytes memory reason;
        if (!due) {
            reason =
                abi.encodeWithSelector(IJobMarket.JobMarket__DeadlineNotPassed.selector, id, job.deadline, ghostNow);
        }
        uint256 lockedBefore = registry.stakeOf(job.node).locked;
        vm.prank(holders[callerSeed % holders.length]);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.settle, (id, job)));
        if (_outcome("settle", due, ok, ret, reason)) {
            _paySettlement(id, job, lockedBefore);
            _verifyCredits(job);
        }
        _observe(id);
    }

    /// @param wait when set and the delivery deadline passes within a day, time first runs past it.
    function reclaim(uint256 jobSeed, bool wait) external {
        _sync();
        uint256 id = _pickTimed(jobSeed, JobStatus.Claimed, true);
        if (id == 0) return;
        Job memory job = _jobs[id - 1];
        _waitFor(wait, uint256(job.deadline) + 1);
        bool due = ghostNow > job.deadline;
        bytes memory reason;
        if (!due) {
            reason =
                abi.encodeWithSelector(IJobMarket.JobMarket__DeadlineNotPassed.selector, id, job.deadline, ghostNow);
        }
        uint256 lockedBefore = registry.stakeOf(job.node).locked;
        vm.prank(job.customer);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.reclaim, (id, job)));
        if (_outcome("reclaim", due, ok, ret, reason)) {
            _addCredit(job.token, job.customer, job.amount);
            ghostLiveEscrow[job.token] -= job.amount;
            _release(id, job, lockedBefore, job.collateral);
            _status[id - 1] = JobStatus.Expired;
            _verifyCredits(job);
        }
        _observe(id);
    }

    function dispute(uint256 jobSeed) external {
        _sync();
        uint256 id = _pickTimed(jobSeed, JobStatus.Delivered, false);
        if (id == 0) return;
        Job memory job = _jobs[id - 1];
        bool late = ghostNow > job.deadline;
        bytes memory reason;
        if (late) {
            reason =
                abi.encodeWithSelector(IJobMarket.JobMarket__DeadlinePassed.selector, id, job.deadline, ghostNow);
        }
        vm.prank(job.customer);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.dispute, (id, job, SPEC_CID)));
        if (_outcome("dispute", !late, ok, ret, reason)) {
            uint256 bond = uint256(job.amount) * _params.disputeBondBps / BPS;
            _debit(job.token, job.customer, bond);
            _verifyCredit(job.token, job.customer);
            ghostLiveEscrow[job.token] += bond;
            job.bond = uint96(bond);
            _jobs[id - 1] = job;
            _status[id - 1] = JobStatus.Disputed;
        }
        _observe(id);
    }

    function resolve(uint256 jobSeed, uint256 refundBps, uint256 slashBps) external {
        _sync();
        uint256 id = _pick(jobSeed, JobStatus.Disputed);
        if (id == 0) return;
        Job memory job = _jobs[id - 1];
        // Favour the edges: full refund, none, and exactly half decide who gets the bond.
        refundBps = refundBps % 5 == 0 ? 0 : refundBps % 5 == 1 ? BPS : refundBps % 5 == 2 ? 5_000 : bound(refundBps, 0, BPS);
        slashBps = slashBps % 3 == 0 ? 0 : slashBps % 3 == 1 ? BPS : bound(slashBps, 0, BPS);
        uint256 lockedBefore = registry.stakeOf(job.node).locked;
        vm.prank(arbiter);
        (bool ok, bytes memory ret) =
            address(market).call(abi.encodeCall(market.resolve, (id, job, uint16(refundBps), uint16(slashBps))));
        if (_outcome("resolve", true, ok, ret, "")) {
            _payResolution(job, refundBps);
            _release(id, job, lockedBefore, uint256(job.collateral) * slashBps / BPS);
            _status[id - 1] = JobStatus.Resolved;
            _verifyCredits(job);
        }
        _observe(id);
    }

    // ==================================================================================== payouts

    function withdraw(uint256 holderSeed, uint256 tokenSeed, uint256 toSeed) external {
        _sync();
        address who = holders[holderSeed % holders.length];
        address token = tokens[tokenSeed % tokens.length];
        address to = holders[toSeed % holders.length];
        uint256 credit = ghostCredit[token][who];
        bytes memory reason;
        if (credit == 0) {
            reason = abi.encodeWithSelector(IJobMarket.JobMarket__NothingToWithdraw.selector, token, who);
        }
        vm.prank(who);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.withdraw, (token, to)));
        if (_outcome("withdraw", credit != 0, ok, ret, reason)) {
            if (abi.decode(ret, (uint256)) != credit) _mismatch("withdraw: amount");
            _subCredit(token, who, credit);
            ghostWallet[token][to] += credit;
            _verifyCredit(token, who);
            if (_balance(token, to) != ghostWallet[token][to]) _mismatch("withdraw: recipient wallet");
        }
    }

    function withdrawFees(uint256 tokenSeed) external {
        _sync();
        address token = tokens[tokenSeed % tokens.length];
        uint256 fees = ghostFees[token];
        bytes memory reason;
        if (fees == 0) {
            reason = abi.encodeWithSelector(IJobMarket.JobMarket__NothingToWithdraw.selector, token, treasury);
        }
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.withdrawFees, (token)));
        if (_outcome("withdrawFees", fees != 0, ok, ret, reason)) {
            ghostFees[token] = 0;
            ghostWallet[token][treasury] += fees;
            if (market.feesOf(token) != 0) _mismatch("withdrawFees: fees left");
            if (_balance(token, treasury) != ghostWallet[token][treasury]) _mismatch("withdrawFees: treasury wallet");
        }
    }

    // ===================================================================================== stakes

    function stake(uint256 shopSeed, uint256 amount) external {
        _sync();
        address s = shops[shopSeed % shops.length];
        amount = bound(amount, 1, 3_000e18);
        vm.prank(s);
        (bool ok, bytes memory ret) = address(registry).call(abi.encodeCall(registry.stake, (amount)));
        if (!_outcome("stake", true, ok, ret, "")) return;
        _stakes[s].staked += uint96(amount);
        ghostFab[s] -= amount;
    }

    function requestUnbond(uint256 shopSeed, uint256 amount) external {
        _sync();
        address s = shops[shopSeed % shops.length];
        INodeRegistry.Stake memory st = _stakes[s];
        // A new request restarts the delay of what is already unbonding: mostly let it mature.
        if (st.unbonding != 0 && shopSeed % 4 != 0) return;
        uint256 free = st.staked - st.locked;
        // At most half the free stake, so shops keep claiming.
        amount = free == 0 ? 1 : bound(amount, 1, free / 2 == 0 ? 1 : free / 2);
        bytes memory reason;
        if (free == 0) {
            reason =
                abi.encodeWithSelector(INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, s, free, amount);
        }
        vm.prank(s);
        (bool ok, bytes memory ret) = address(registry).call(abi.encodeCall(registry.requestUnbond, (amount)));
        if (!_outcome("requestUnbond", free != 0, ok, ret, reason)) return;
        st.staked -= uint96(amount);
        st.unbonding += uint96(amount);
        st.unbondAt = uint40(ghostNow + unbondDelay);
        _stakes[s] = st;
    }

    function withdrawStake(uint256 shopSeed, bool wait) external {
        _sync();
        address s = shops[shopSeed % shops.length];
        INodeRegistry.Stake memory st = _stakes[s];
        if (st.unbonding != 0) _waitFor(wait, st.unbondAt);
        bool due = st.unbonding != 0 && ghostNow >= st.unbondAt;
        bytes memory reason;
        if (st.unbonding == 0) {
            reason = abi.encodeWithSelector(INodeRegistry.NodeRegistry__NothingUnbonding.selector, s);
        } else if (!due) {
            reason = abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__UnbondingNotDue.selector, s, st.unbondAt, ghostNow
            );
        }
        vm.prank(s);
        (bool ok, bytes memory ret) = address(registry).call(abi.encodeCall(registry.withdraw, ()));
        if (!_outcome("withdrawStake", due, ok, ret, reason)) return;
        ghostFab[s] += st.unbonding;
        st.unbonding = 0;
        st.unbondAt = 0;
        _stakes[s] = st;
    }

    // ================================================================================ environment

    function warp(uint256 secondsAhead) external {
        ++calls;
        _setTime(ghostNow + bound(secondsAhead, 0, 12 hours));
    }

    /// @dev Governance moves the fee, royalty cap, bond and review window; posted jobs keep their snapshot.
    function setParams(uint256 feeBps, uint256 maxRoyaltyBps, uint256 bondBps, uint256 reviewWindow) external {
        _sync();
        IJobMarket.Params memory p = _params;
        p.feeBps = uint16(bound(feeBps, 0, 1_000));
        p.maxRoyaltyBps = uint16(bound(maxRoyaltyBps, 0, 2_500));
        p.disputeBondBps = uint16(bound(bondBps, 0, 5_000));
        p.reviewWindow = uint32(bound(reviewWindow, 1 hours, 5 days));
        vm.prank(owner);
        (bool ok, bytes memory ret) = address(market).call(abi.encodeCall(market.setParams, (p)));
        if (_outcome("setParams", true, ok, ret, "")) _params = p;
    }

    /// @dev A design changes hands: later posts pay royalties to the new holder, posted jobs do not.
    function transferDesign(uint256 designSeed, uint256 toSeed) external {
        _sync();
        uint256 d = designIds[designSeed % designIds.length];
        address from = ghostDesignOwner[d];
        address to = toSeed % 2 == 0 ? designers[(toSeed / 2) % designers.length] : customers[toSeed % customers.length];
        vm.prank(from);
        (bool ok, bytes memory ret) =
            address(designs).call(abi.encodeWithSignature("transferFrom(address,address,uint256)", from, to, d));
        if (_outcome("transferDesign", true, ok, ret, "")) ghostDesignOwner[d] = to;
    }

    /// @dev Replays a lifecycle call the job's state forbids (exact WrongStatus expected), or the legal
    /// call with one field of the job tampered (exact JobDataMismatch expected). Neither may move anything.
    function replay(uint256 jobSeed, uint256 opSeed) external {
        _sync();
        uint256 n = _jobs.length;
        if (n == 0) return;
        uint256 id = jobSeed % n + 1;
        uint256 op = opSeed % 8;
        JobStatus need = op < 2 ? JobStatus.Open : op < 4 ? JobStatus.Claimed : op < 7 ? JobStatus.Delivered : JobStatus.Disputed;
        Job memory job = _jobs[id - 1];
        JobStatus actual = _status[id - 1];
        bytes memory reason;
        bytes32 before = _snapshotFunds(job);
        if (actual == need) {
            job = _tamper(job, (opSeed / 8) % 12);
            reason = abi.encodeWithSelector(IJobMarket.JobMarket__JobDataMismatch.selector, id);
        } else {
            reason = abi.encodeWithSelector(IJobMarket.JobMarket__WrongStatus.selector, id, actual, need);
        }
        (address caller, bytes memory data) = _replayCall(op, id, job);
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(market).call(data);
        _outcome("replay", false, ok, ret, reason);
        if (_snapshotFunds(_jobs[id - 1]) != before) _mismatch("replay: a refused call moved funds");
        _observe(id);
    }

    // ================================================================================== internals

    function _replayCall(uint256 op, uint256 id, Job memory job) internal view returns (address, bytes memory) {
        if (op == 0) return (job.customer, abi.encodeCall(market.cancel, (id, job)));
        if (op == 1) return (shops[0], abi.encodeCall(market.claim, (id, job, nodeIds[0])));
        if (op == 2) return (job.node, abi.encodeCall(market.deliver, (id, job, PROOF_CID)));
        if (op == 3) return (job.customer, abi.encodeCall(market.reclaim, (id, job)));
        if (op == 4) return (job.customer, abi.encodeCall(market.accept, (id, job)));
        if (op == 5) return (job.customer, abi.encodeCall(market.settle, (id, job)));
        if (op == 6) return (job.customer, abi.encodeCall(market.dispute, (id, job, SPEC_CID)));
        return (arbiter, abi.encodeCall(market.resolve, (id, job, uint16(5_000), uint16(5_000))));
    }

    function _snapshotFunds(Job memory job) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                market.balanceOf(job.token, job.customer),
                market.balanceOf(job.token, job.node),
                market.feesOf(job.token),
                registry.stakeOf(job.node),
                registry.stakeOf(shops[0]),
                _balance(job.token, address(market)),
                fab.balanceOf(address(registry))
            )
        );
    }

    function _balance(address token, address account) internal view returns (uint256) {
        return TestStablecoin(token).balanceOf(account);
    }

    function _tamper(Job memory job, uint256 field) internal pure returns (Job memory t) {
        t = job;
        if (field == 0) t.customer = address(uint160(t.customer) ^ 1);
        else if (field == 1) t.token = address(uint160(t.token) ^ 1);
        else if (field == 2) t.node = address(uint160(t.node) ^ 1);
        else if (field == 3) t.royaltyReceiver = address(uint160(t.royaltyReceiver) ^ 1);
        else if (field == 4) t.amount ^= 1;
        else if (field == 5) t.royalty ^= 1;
        else if (field == 6) t.collateral ^= 1;
        else if (field == 7) t.bond ^= 1;
        else if (field == 8) t.feeBps ^= 1;
        else if (field == 9) t.deliveryWindow ^= 1;
        else if (field == 10) t.reviewWindow ^= 1;
        else t.deadline ^= 1;
    }

    /// @dev Settlement model: fee and royalty fixed at post, the node gets the rest, collateral freed.
    function _paySettlement(uint256 id, Job memory job, uint256 lockedBefore) internal {
        uint256 fee = uint256(job.amount) * job.feeBps / BPS;
        _addCredit(job.token, job.node, job.amount - fee - job.royalty);
        _addCredit(job.token, job.royaltyReceiver, job.royalty);
        ghostFees[job.token] += fee;
        ghostLiveEscrow[job.token] -= job.amount;
        _release(id, job, lockedBefore, 0);
        _status[id - 1] = JobStatus.Settled;
    }

    /// @dev Resolution model: `refundBps` of the payment back, the rest split like a settlement, and the
    /// bond to the customer when they got at least half back, else to the node.
    function _payResolution(Job memory job, uint256 refundBps) internal {
        uint256 refund = uint256(job.amount) * refundBps / BPS;
        uint256 rest = job.amount - refund;
        uint256 fee = rest * job.feeBps / BPS;
        uint256 royalty = uint256(job.royalty) * rest / job.amount;
        bool customerWins = refundBps * 2 >= BPS;
        _addCredit(job.token, job.customer, refund + (customerWins ? job.bond : 0));
        _addCredit(job.token, job.node, rest - fee - royalty + (customerWins ? 0 : job.bond));
        _addCredit(job.token, job.royaltyReceiver, royalty);
        ghostFees[job.token] += fee;
        ghostLiveEscrow[job.token] -= uint256(job.amount) + job.bond;
    }

    /// @dev The job's collateral must have left `locked` exactly once; `slashed` of it goes to the customer.
    function _release(uint256 id, Job memory job, uint256 lockedBefore, uint256 slashed) internal {
        if (lockedBefore - registry.stakeOf(job.node).locked != job.collateral) _collateral("release amount");
        if (_releases[id - 1] != 0) _collateral("collateral released twice");
        _releases[id - 1]++;
        INodeRegistry.Stake storage st = _stakes[job.node];
        st.locked -= job.collateral;
        st.staked -= uint96(slashed);
        ghostFab[job.customer] += slashed;
    }

    function _debit(address token, address account, uint256 amount) internal {
        uint256 credit = ghostCredit[token][account];
        if (credit >= amount) {
            _subCredit(token, account, amount);
        } else {
            _subCredit(token, account, credit);
            ghostWallet[token][account] -= amount - credit;
        }
    }

    /// @dev Why the registry refuses to lock `collateral` for `s` (empty when it would not).
    function _lockRefusal(address s, uint256 collateral) internal view returns (bytes memory) {
        INodeRegistry.Stake storage st = _stakes[s];
        if (st.staked < minStake) {
            return abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__BelowMinimumStake.selector, s, st.staked, minStake
            );
        }
        uint256 free = st.staked - st.locked;
        if (free < collateral) {
            return abi.encodeWithSelector(
                INodeRegistry.NodeRegistry__InsufficientFreeStake.selector, s, free, collateral
            );
        }
        return "";
    }

    function _addCredit(address token, address account, uint256 amount) internal {
        ghostCredit[token][account] += amount;
        ghostCreditTotal[token] += amount;
    }

    function _subCredit(address token, address account, uint256 amount) internal {
        ghostCredit[token][account] -= amount;
        ghostCreditTotal[token] -= amount;
    }

    /// @dev Checks the market's credit and the wallet of `account` against the model right after a call.
    function _verifyCredit(address token, address account) internal {
        if (market.balanceOf(token, account) != ghostCredit[token][account]) _mismatch("credited balance");
        if (_balance(token, account) != ghostWallet[token][account]) _mismatch("wallet balance");
    }

    /// @dev Checks every party of `job` and the fee pot after a lifecycle call.
    function _verifyCredits(Job memory job) internal {
        _verifyCredit(job.token, job.customer);
        if (job.node != address(0)) {
            if (market.balanceOf(job.token, job.node) != ghostCredit[job.token][job.node]) _mismatch("node credit");
            if (fab.balanceOf(job.customer) != ghostFab[job.customer]) _mismatch("customer FAB");
        }
        if (market.balanceOf(job.token, job.royaltyReceiver) != ghostCredit[job.token][job.royaltyReceiver]) {
            _mismatch("royalty credit");
        }
        if (market.feesOf(job.token) != ghostFees[job.token]) _mismatch("fees");
    }

    function _canLock(address s, uint256 collateral) internal view returns (bool) {
        INodeRegistry.Stake storage st = _stakes[s];
        return st.staked >= minStake && st.staked - st.locked >= collateral;
    }

    /// @dev The first job at or after `seed` (cyclically) in status `want`; 0 when there is none.
    function _pick(uint256 seed, JobStatus want) internal view returns (uint256) {
        uint256 n = _jobs.length;
        if (n == 0) return 0;
        uint256 start = seed % n;
        for (uint256 i; i < n; ++i) {
            uint256 idx = (start + i) % n;
            if (_status[idx] == want) return idx + 1;
        }
        return 0;
    }

    /// @dev Like `_pick`, but seven times in eight prefers a job whose deadline has (`late`) or has
    /// not passed, so most calls can succeed while some still hit the deadline checks.
    function _pickTimed(uint256 seed, JobStatus want, bool late) internal view returns (uint256) {
        uint256 n = _jobs.length;
        if (n == 0) return 0;
        if (seed % 8 != 0) {
            uint256 start = (seed >> 3) % n;
            for (uint256 i; i < n; ++i) {
                uint256 idx = (start + i) % n;
                if (_status[idx] == want && (ghostNow > _jobs[idx].deadline) == late) return idx + 1;
            }
        }
        return _pick(seed >> 3, want);
    }

    /// @dev Records the on-chain status of `id` when it changed and checks the commitment against the model.
    function _observe(uint256 id) internal {
        lastJob = id;
        JobStatus onChain = market.statusOf(id);
        uint8[] storage h = _history[id - 1];
        if (h.length == 0) {
            if (onChain != JobStatus.Open) _illegal("a job must start Open");
            h.push(uint8(onChain));
        } else if (h[h.length - 1] != uint8(onChain)) {
            if (!legalTransition(JobStatus(h[h.length - 1]), onChain)) _illegal("illegal status transition");
            h.push(uint8(onChain));
        }
        if (onChain != _status[id - 1]) _mismatch("status differs from the model");
        if (market.commitmentOf(id) != ghostCommitment(id)) {
            _mismatch("commitment differs from the model");
        }
    }

    /// @dev Scores a call against its expectation; an expected refusal must carry exactly `reason` when given.
    function _outcome(bytes32 action, bool expectOk, bool ok, bytes memory ret, bytes memory reason)
        internal
        returns (bool)
    {
        if (ok) {
            succeeded[action]++;
            if (!expectOk) {
                unexpectedSuccesses++;
                lastSurprise = string.concat("unexpected success: ", _name(action));
            }
        } else {
            refused[action]++;
            if (expectOk) {
                unexpectedReverts++;
                lastSurprise = string.concat("unexpected revert: ", _name(action));
            } else if (reason.length != 0 && keccak256(ret) != keccak256(reason)) {
                wrongRevertReasons++;
                lastSurprise = string.concat("wrong revert reason: ", _name(action));
            }
        }
        return ok && expectOk;
    }

    /// @notice The lifecycle's edges; each one increases the status ordinal.
    function legalTransition(JobStatus from, JobStatus to) public pure returns (bool) {
        if (from == JobStatus.Open) return to == JobStatus.Claimed || to == JobStatus.Cancelled;
        if (from == JobStatus.Claimed) return to == JobStatus.Delivered || to == JobStatus.Expired;
        if (from == JobStatus.Delivered) return to == JobStatus.Settled || to == JobStatus.Disputed;
        if (from == JobStatus.Disputed) return to == JobStatus.Resolved;
        return false;
    }

    function _illegal(string memory what) internal {
        illegalTransitions++;
        lastSurprise = what;
    }

    function _mismatch(string memory what) internal {
        modelMismatches++;
        lastSurprise = what;
    }

    function _collateral(string memory what) internal {
        collateralAnomalies++;
        lastSurprise = what;
    }

    function _name(bytes32 action) internal pure returns (string memory s) {
        uint256 len;
        while (len < 32 && action[len] != 0) ++len;
        s = new string(len);
        for (uint256 i; i < len; ++i) bytes(s)[i] = action[i];
    }

    function _sync() internal {
        ++calls;
        vm.warp(ghostNow);
    }

    /// @dev Lets time run to `t` when asked and `t` is at most a day ahead (longer jumps would expire
    /// every other job at once).
    function _waitFor(bool wait, uint256 t) internal {
        if (wait && t > ghostNow && t - ghostNow <= 1 days) _setTime(t);
    }

    function _setTime(uint256 t) internal {
        ghostNow = t;
        vm.warp(t);
    }
}
