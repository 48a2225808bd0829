// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "../utils/Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {FabToken} from "../../src/FabToken.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {DesignNFT} from "../../src/DesignNFT.sol";
import {TestStablecoin} from "../../src/devnet/TestStablecoin.sol";
import {IJobMarketTypes} from "../../src/interfaces/IJobMarketTypes.sol";
import {IFabricationLicences} from "../../src/interfaces/IFabricationLicences.sol";
import {IJobMarketModule} from "../../src/interfaces/IJobMarketModule.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {Job, JobStatus} from "../../src/types/Job.sol";
import {FeeOnTransferToken} from "../mocks/FeeOnTransferToken.sol";
import {ArbiterPanel} from "../../src/governance/ArbiterPanel.sol";
import {MarketMath} from "./MarketMath.sol";

/// @notice Cheatcodes the shared Vm interface does not declare.
interface VmExtra {
    function toString(bytes calldata value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
}

/// @notice What the invariant suite deploys and hands to the handler.
struct MarketEnv {
    JobMarket market;
    NodeRegistry registry;
    FabToken fab;
    DesignNFT designs;
    TestStablecoin usd;
    TestStablecoin eur;
    FeeOnTransferToken fot;
    address owner;
    address treasury;
    address arbiter; // an account that rules itself
    ArbiterPanel panel; // the market's arbiter when the run starts: its members rule
    address guardian; // may pause new jobs, never unpause
    address court;
    address idleShop; // the fixture's shop: staked, one node, never acts
    uint256 idleNode;
}

/// @notice What the model expects of the chain right now, in one call (the per-call invariant reads it):
/// running totals, and one job and one credited balance chosen in turn.
struct Expectations {
    uint256 surprises;
    uint256[4] holdings; // per token (handler order): live escrows and bonds + credited balances + fees
    uint256[4] fees;
    uint256[4] locked; // per operator (handler order)
    uint256[4] stake; // per operator: bonded + unbonding
    uint256 registryFab; // every operator's bonded + unbonding stake
    uint256 jobId; // the sampled job (0: none yet)
    bool evicted;
    uint8 status;
    bytes32 commitment;
    Job job;
    IJobMarketTypes.Dispute dispute;
    address holder; // the sampled account and token
    address token;
    uint256 credit;
}

/// @notice The reference model of the market and the registry: every job's struct, status and dispute,
/// every account's wallet and credited balance per token, fees, escrows, stakes with their unbond requests,
/// locked collateral, parameters, judges and order nonces. The handler predicts each call's outcome from
/// it, applies the predicted effect, and checks the contracts against it; any disagreement is a surprise.
abstract contract MarketModel is TestBase {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_REQUESTS = 32;
    uint256 internal constant REOPEN_PERIOD = 1 days;
    uint256 internal constant REOPEN_COOLDOWN = 1 hours;
    uint256 internal constant JUDGE_DELAY = 2 days;
    uint256 internal constant DEFAULT_REFUND_BPS = 5_000;
    VmExtra internal constant vmx = VmExtra(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes internal constant SPEC_CID = hex"1220aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
    bytes internal constant PROOF_CID =
        hex"01551220ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    bytes internal constant BAD_CID = hex"1220aabb";

    JobMarket public immutable market;
    IJobMarketModule internal immutable module;
    NodeRegistry public immutable registry;
    FabToken public immutable fab;
    DesignNFT public immutable designs;
    FeeOnTransferToken public immutable fot;
    address public immutable owner;
    address public immutable treasury;

    /// @dev A job as the model knows it.
    struct Rec {
        Job job; // the struct the market expects now
        JobStatus status;
        bool evicted; // its slot was recycled by a later job (it had finished)
        uint8 observed; // the status last read from the chain
        IJobMarketTypes.Dispute d;
    }

    // ------------------------------------------------------------------------------------------ actors
    address[] public paymentTokens; // usd, eur, fot
    address[] public tokens; // payment tokens + FAB (credits and fees in FAB come from slashes)
    address[] public customers;
    uint256[] internal _customerKeys;
    address[] public shops; // operators the handler drives
    address[] public operators; // shops + the idle fixture shop
    uint256[] public nodeIds; // every registered node (the idle shop's first)
    address[] public designers;
    uint256[] public designIds;
    address[] public holders; // every account that may hold a credited balance or receive a withdrawal
    address[] public judges; // the arbiter account, the panel, and two courts
    address public constant SINK = address(0x5111);
    address public constant STRANGER = address(0x5757);

    // ---------------------------------------------------------------------------------------- ghosts
    uint256 public ghostNow;
    Rec[] internal _recs;
    mapping(uint64 key => uint256 id) public slotHolder;
    uint256[][5] internal _live; // ids per live status (Open, Claimed, Delivered, Disputed)
    mapping(uint256 id => uint256) internal _livePos; // 1-based
    uint64[] internal _reusable; // keys whose slot holds a finished job
    mapping(uint64 key => uint256) internal _reusablePos; // 1-based

    mapping(address token => mapping(address account => uint256)) public credit;
    mapping(address token => mapping(address account => uint256)) public wallet;
    mapping(address token => mapping(address account => uint256)) public allowanceOf; // finite allowances only
    mapping(address account => bool) public finiteAllowance;
    mapping(address token => uint256) public creditTotal;
    mapping(address token => uint256) public fees;
    mapping(address token => uint256) public escrow; // live payments + posted bonds

    struct Account {
        uint96 staked;
        uint96 unbonding;
        uint24 head;
        uint24 tail;
        bool eligible;
    }

    mapping(address operator => Account) internal _accounts;
    mapping(address operator => mapping(uint256 => INodeRegistry.UnbondRequest)) internal _requests;
    mapping(address operator => uint256) public locked;
    mapping(uint256 nodeId => address) public nodeOperator;
    mapping(uint256 nodeId => bool) public nodeActive;
    mapping(address operator => uint256) public firstNode;
    uint256 public minStake;
    uint256 public unbondDelay;

    IJobMarketTypes.Params internal _params;
    mapping(address token => IJobMarketTypes.TokenTerms) internal _terms;
    address public arbiter;
    address public court;
    address public pendingArbiter;
    uint256 public pendingArbiterAt;
    address public pendingCourt;
    uint256 public pendingCourtAt;
    /// @dev The arbiter panel: its members in the contract's order, and its round-robin cursor.
    ArbiterPanel public immutable panel;
    address[] internal _members;
    uint256 internal _turn;
    address[] public panelCandidates; // who governance appoints or removes (two of them also trade here)
    /// @dev Who governance ever removed from the panel (to count rulings by a member appointed again).
    mapping(address account => bool) internal _wasRemoved;
    bool public paused;
    address public guardian;
    address public immutable GUARDIAN;
    mapping(uint256 design => address) public designOwner;
    mapping(uint256 design => uint96) public designBps;
    mapping(address customer => uint64) public counter;
    mapping(address customer => mapping(uint64 nonce => bool)) public nonceUsed;
    mapping(address customer => uint64) internal _nonceCursor;

    // ------------------------------------------------------------------------------------- surprises
    uint256 public unexpectedReverts;
    uint256 public unexpectedSuccesses;
    uint256 public wrongRevertReasons;
    uint256 public modelMismatches;
    uint256 public illegalTransitions;
    uint256 public ledgerViolations;
    string public lastSurprise;

    // -------------------------------------------------------------------------------------- ledger
    /// @dev The account whose own call this is, and the account that agreed to it by signature (take).
    address internal _actor;
    address internal _signer;
    /// @dev What each account held (credited + wallet, per token) and each operator's stake when last checked.
    mapping(address token => mapping(address account => uint256)) internal _seen;
    mapping(address operator => uint256) internal _seenStake;
    /// @dev FAB slashed from an operator during handler call number `_slashCall[op]`.
    mapping(address operator => uint256) internal _slashCall;
    mapping(address operator => uint256) internal _slashedInCall;

    // ---------------------------------------------------------------------------------- statistics
    mapping(bytes32 action => uint256) public succeeded;
    mapping(bytes32 action => uint256) public refused;
    /// @dev Refusals per action and error selector (the coverage test reports them).
    mapping(bytes32 action => mapping(bytes4 selector => uint256)) public refusedWith;
    /// @dev Rulings refused because the dispute's own judge had left the panel (`NotJudge(id, judge, 0)`).
    uint256 public removedJudgeRefusals;
    /// @dev Rulings by a judge whom governance had removed from the panel and appointed again.
    uint256 public reappointedJudgeRulings;
    uint256 public calls;

    constructor(MarketEnv memory env) {
        market = env.market;
        module = IJobMarketModule(address(env.market));
        registry = env.registry;
        fab = env.fab;
        designs = env.designs;
        fot = env.fot;
        owner = env.owner;
        treasury = env.treasury;
        ghostNow = block.timestamp;
        _params = module.params();
        minStake = env.registry.minStake();
        unbondDelay = env.registry.unbondDelay();
        arbiter = module.arbiter(); // the panel (env.arbiter, an account, is the other choice governance has)
        court = env.court;
        panel = env.panel;
        GUARDIAN = env.guardian;
        paused = module.paused();
        guardian = module.guardian();
        address[] memory members = env.panel.arbiters();
        for (uint256 i; i < members.length; ++i) _members.push(members[i]);
    }

    // ============================================================================================ views

    function jobCount() external view returns (uint256) {
        return _recs.length;
    }

    function ghostJob(uint256 id) external view returns (Job memory) {
        return _recs[id - 1].job;
    }

    function ghostStatus(uint256 id) external view returns (JobStatus) {
        return _recs[id - 1].status;
    }

    function isEvicted(uint256 id) external view returns (bool) {
        return _recs[id - 1].evicted;
    }

    function ghostDispute(uint256 id) external view returns (IJobMarketTypes.Dispute memory) {
        return _recs[id - 1].d;
    }

    function ghostAccount(address op) external view returns (Account memory) {
        return _accounts[op];
    }

    function ghostRequests(address op) external view returns (INodeRegistry.UnbondRequest[] memory list) {
        Account storage a = _accounts[op];
        list = new INodeRegistry.UnbondRequest[](a.tail - a.head);
        for (uint256 i; i < list.length; ++i) {
            list[i] = _requests[op][a.head + i];
        }
    }

    function ghostMembers() external view returns (address[] memory) {
        return _members;
    }

    function ghostParams() external view returns (IJobMarketTypes.Params memory) {
        return _params;
    }

    function ghostTerms(address token) external view returns (IJobMarketTypes.TokenTerms memory) {
        return _terms[token];
    }

    function liveCount(JobStatus s) external view returns (uint256) {
        return _live[uint8(s)].length;
    }

    function tokenCount() external view returns (uint256) {
        return tokens.length;
    }

    function holderCount() external view returns (uint256) {
        return holders.length;
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    function customerCount() external view returns (uint256) {
        return customers.length;
    }

    /// @notice The model's expectations for the per-call invariant (see Expectations).
    function expectations() external view returns (Expectations memory e) {
        e.surprises = surprises();
        for (uint256 t; t < 4; ++t) {
            address token = tokens[t];
            e.holdings[t] = escrow[token] + creditTotal[token] + fees[token];
            e.fees[t] = fees[token];
            e.locked[t] = locked[operators[t]];
            e.stake[t] = uint256(_accounts[operators[t]].staked) + _accounts[operators[t]].unbonding;
        }
        e.registryFab = ghostRegistryFab();
        uint256 n = _recs.length;
        if (n != 0) {
            e.jobId = calls % n + 1;
            Rec storage r = _recs[e.jobId - 1];
            e.evicted = r.evicted;
            e.status = uint8(r.status);
            e.commitment = ghostCommitment(e.jobId);
            e.job = r.job;
            e.dispute = r.d;
        }
        e.holder = holders[calls % holders.length];
        e.token = tokens[(calls / holders.length) % 4];
        e.credit = credit[e.token][e.holder];
    }

    /// @notice FAB the registry must hold: every operator's bonded and unbonding stake.
    function ghostRegistryFab() public view returns (uint256 sum) {
        for (uint256 i; i < operators.length; ++i) {
            Account storage a = _accounts[operators[i]];
            sum += uint256(a.staked) + a.unbonding;
        }
    }

    /// @notice What the market must hold of `token`: live escrows and bonds, credited balances and fees.
    function ghostHoldings(address token) external view returns (uint256) {
        return escrow[token] + creditTotal[token] + fees[token];
    }

    /// @notice The commitment the model expects in job `id`'s slot (zero once the slot was recycled).
    function ghostCommitment(uint256 id) public view returns (bytes32) {
        Rec storage r = _recs[id - 1];
        if (r.evicted) return bytes32(0);
        return _commit(id, r.job, r.status);
    }

    function surprises() public view returns (uint256) {
        return unexpectedReverts + unexpectedSuccesses + wrongRevertReasons + modelMismatches + illegalTransitions
            + ledgerViolations;
    }

    /// @notice Whether a status may follow another (creation is None -> Open or None -> Claimed).
    function legalTransition(JobStatus from, JobStatus to) public pure returns (bool) {
        if (from == JobStatus.None) return to == JobStatus.Open || to == JobStatus.Claimed;
        if (from == JobStatus.Open) return to == JobStatus.Claimed || to == JobStatus.Cancelled;
        if (from == JobStatus.Claimed) {
            return to == JobStatus.Open || to == JobStatus.Delivered || to == JobStatus.Expired;
        }
        if (from == JobStatus.Delivered) return to == JobStatus.Settled || to == JobStatus.Disputed;
        if (from == JobStatus.Disputed) return to == JobStatus.Resolved;
        return false;
    }

    function isLive(JobStatus s) public pure returns (bool) {
        return s >= JobStatus.Open && s <= JobStatus.Disputed;
    }

    function holdsCollateral(JobStatus s) public pure returns (bool) {
        return s >= JobStatus.Claimed && s <= JobStatus.Disputed;
    }

    // ======================================================================================= job store

    function _commit(uint256 id, Job memory job, JobStatus status) internal pure returns (bytes32 c) {
        c = keccak256(abi.encode(id, job));
        c = (c & ~bytes32(uint256(0xff))) | bytes32(uint256(status));
    }

    /// @dev Stores a new job (the market stored it at `job.key`, recycling the slot of a finished one).
    function _addJob(Job memory job, JobStatus status) internal returns (uint256 id) {
        id = _recs.length + 1;
        uint64 key = job.key;
        uint256 previous = slotHolder[key];
        if (previous != 0) {
            _recs[previous - 1].evicted = true;
            _removeReusable(key);
        }
        slotHolder[key] = id;
        Rec storage r = _recs.push();
        r.job = job;
        r.status = status;
        r.observed = uint8(JobStatus.None);
        _liveAdd(status, id);
        if (holdsCollateral(status)) locked[job.node] += job.collateral;
    }

    /// @dev The model's status change; keeps the live lists, reusable slots and locked collateral.
    function _setStatus(uint256 id, JobStatus next) internal {
        Rec storage r = _recs[id - 1];
        JobStatus prev = r.status;
        if (!legalTransition(prev, next)) _illegal("model applied an illegal transition");
        _liveRemove(prev, id);
        _liveAdd(next, id);
        r.status = next;
        // Collateral is locked from the claim to the end of the job (the caller sets job.node first).
        if (!holdsCollateral(prev) && holdsCollateral(next)) locked[r.job.node] += r.job.collateral;
        if (holdsCollateral(prev) && !holdsCollateral(next)) locked[r.job.node] -= r.job.collateral;
        if (!isLive(next)) _addReusable(r.job.key);
    }

    function _liveAdd(JobStatus s, uint256 id) private {
        if (!isLive(s)) return;
        uint256[] storage list = _live[uint8(s)];
        list.push(id);
        _livePos[id] = list.length;
    }

    function _liveRemove(JobStatus s, uint256 id) private {
        if (!isLive(s)) return;
        uint256[] storage list = _live[uint8(s)];
        uint256 pos = _livePos[id];
        uint256 last = list[list.length - 1];
        list[pos - 1] = last;
        _livePos[last] = pos;
        list.pop();
        _livePos[id] = 0;
    }

    function _addReusable(uint64 key) private {
        _reusable.push(key);
        _reusablePos[key] = _reusable.length;
    }

    function _removeReusable(uint64 key) private {
        uint256 pos = _reusablePos[key];
        if (pos == 0) return;
        uint64 last = _reusable[_reusable.length - 1];
        _reusable[pos - 1] = last;
        _reusablePos[last] = pos;
        _reusable.pop();
        _reusablePos[key] = 0;
    }

    /// @dev Whether the market would recycle `key` (it holds a finished job).
    function _isReusable(uint64 key) internal view returns (bool) {
        return key != 0 && _reusablePos[key] != 0;
    }

    /// @dev A live job in status `s` chosen by `seed`, preferring (seven times in eight) one whose deadline
    /// has (`late`) or has not passed; 0 when there is none.
    function _pick(JobStatus s, uint256 seed, bool late) internal view returns (uint256) {
        uint256[] storage list = _live[uint8(s)];
        uint256 n = list.length;
        if (n == 0) return 0;
        uint256 start = (seed >> 3) % n;
        if (seed % 8 != 0) {
            uint256 tries = n < 8 ? n : 8;
            for (uint256 i; i < tries; ++i) {
                uint256 id = list[(start + i) % n];
                if ((ghostNow > _deadlineOf(id)) == late) return id;
            }
        }
        return list[start];
    }

    /// @dev The deadline that matters now: the job's own, or its dispute's while Disputed.
    function _deadlineOf(uint256 id) internal view returns (uint256) {
        Rec storage r = _recs[id - 1];
        return r.status == JobStatus.Disputed ? r.d.deadline : r.job.deadline;
    }

    // ===================================================================================== the panel

    /// @dev Whether `account` sits on the panel (the model's list).
    function _isMember(address account) internal view returns (bool) {
        for (uint256 i; i < _members.length; ++i) if (_members[i] == account) return true;
        return false;
    }

    /// @dev ArbiterPanel.assign as its rules state it: the next member in turn that is neither party, and the
    /// cursor after it; zero (cursor unchanged) when every member is a party or the panel is empty.
    function _panelPick(address customer, address node) internal view returns (address who, uint256 nextTurn) {
        uint256 n = _members.length;
        for (uint256 tries; tries < n; ++tries) {
            address c = _members[(_turn + tries) % n];
            if (c != customer && c != node) return (c, _turn + tries + 1);
        }
        return (address(0), _turn);
    }

    /// @dev The judge a new dispute gets: the arbiter account itself, or the member the panel assigns.
    function _assignJudge(address customer, address node) internal returns (address who) {
        if (arbiter != address(panel)) return arbiter;
        (who, _turn) = _panelPick(customer, node);
    }

    /// @dev ArbiterPanel.remove: the last member takes the removed one's place.
    function _removeMember(address account) internal {
        uint256 n = _members.length;
        for (uint256 i; i < n; ++i) {
            if (_members[i] == account) {
                _members[i] = _members[n - 1];
                _members.pop();
                return;
            }
        }
    }

    // ========================================================================================== money

    function _credit(address token, address account, uint256 amount) internal {
        if (amount == 0) return;
        credit[token][account] += amount;
        creditTotal[token] += amount;
    }

    /// @dev Every decrease of an account goes through here: only the caller's own action, or the customer
    /// who signed the order being taken, may lose funds.
    function _decrease(address account) internal {
        if (account != _actor && account != _signer) {
            ledgerViolations++;
            lastSurprise = string.concat("ledger: a call debited a bystander ", vmx.toString(account));
        }
    }

    /// @dev MarketCore._debit as the rules state it: the credited balance first, any shortfall pulled in full.
    function _debit(address token, address account, uint256 amount) internal {
        if (amount == 0) return;
        _decrease(account);
        uint256 balance = credit[token][account];
        if (balance >= amount) {
            credit[token][account] = balance - amount;
            creditTotal[token] -= amount;
            return;
        }
        credit[token][account] = 0;
        creditTotal[token] -= balance;
        uint256 shortfall = amount - balance;
        wallet[token][account] -= shortfall;
        if (finiteAllowance[account]) allowanceOf[token][account] -= shortfall;
    }

    /// @dev Why MarketCore._debit of `amount` from `account` would revert (empty: it would not).
    function _debitError(address token, address account, uint256 amount) internal view returns (bytes memory) {
        uint256 balance = credit[token][account];
        if (balance >= amount) return "";
        uint256 shortfall = amount - balance;
        if (finiteAllowance[account] && allowanceOf[token][account] < shortfall) {
            return abi.encodeWithSignature(
                "ERC20InsufficientAllowance(address,uint256,uint256)",
                address(market),
                allowanceOf[token][account],
                shortfall
            );
        }
        uint256 arrives = _arrives(token, shortfall);
        if (arrives < shortfall) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__ShortDeposit.selector, token, shortfall, arrives);
        }
        return "";
    }

    /// @dev What a transfer of `amount` of `token` delivers.
    function _arrives(address token, uint256 amount) internal view returns (uint256) {
        return token == address(fot) ? amount - amount * fot.feeBps() / BPS : amount;
    }

    /// @dev MarketCore._slash: the job's collateral is unlocked (by _setStatus) and `amount` of it slashed:
    /// the customer's compensation credited in FAB, the rest to the FAB fees; the registry pays the market.
    function _slash(Job memory job, uint256 amount) internal returns (uint256 compensation) {
        if (amount == 0) return 0;
        if (amount > job.collateral) {
            ledgerViolations++;
            lastSurprise = "ledger: a slash exceeded the job's collateral";
        }
        if (_slashCall[job.node] != calls) (_slashCall[job.node], _slashedInCall[job.node]) = (calls, 0);
        _slashedInCall[job.node] += amount;
        MarketMath.Slash memory s = MarketMath.slash(amount, _params.compensationBps);
        _credit(address(fab), job.customer, s.compensation);
        fees[address(fab)] += s.treasury;
        _stakeSlash(job.node, amount);
        return s.compensation;
    }

    // ========================================================================================= stakes

    function _eligibility(address op) internal {
        Account storage a = _accounts[op];
        a.eligible = a.staked >= minStake;
    }

    function _stakeSlash(address op, uint256 amount) internal {
        Account storage a = _accounts[op];
        uint256 fromStaked = amount < a.staked ? amount : a.staked;
        uint256 rest = amount - fromStaked;
        a.staked -= uint96(fromStaked);
        uint256 tail = a.tail;
        while (rest != 0 && tail > a.head) {
            INodeRegistry.UnbondRequest storage r = _requests[op][tail - 1];
            uint256 take = rest < r.amount ? rest : r.amount;
            r.amount -= uint96(take);
            a.unbonding -= uint96(take);
            rest -= take;
            if (r.amount == 0) {
                delete _requests[op][tail - 1];
                --tail;
            }
        }
        if (rest != 0) _mismatch("model: a slash exceeded the operator's stake");
        a.tail = uint24(tail);
        _eligibility(op);
    }

    /// @dev The claim authorization MarketCore._lock performs; empty when the lock succeeds.
    function _lockError(address caller, uint256 nodeId, uint256 amount) internal view returns (bytes memory) {
        address op = nodeOperator[nodeId];
        if (op != caller) {
            if (op == address(0)) return abi.encodeWithSelector(IJobMarketTypes.JobMarket__UnknownNode.selector, nodeId);
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__NotNodeOperator.selector, nodeId, caller, op);
        }
        Account storage a = _accounts[op];
        if (!nodeActive[nodeId] || !a.eligible) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__NodeInactive.selector, nodeId);
        }
        uint256 free = a.staked > locked[op] ? a.staked - locked[op] : 0;
        if (amount > free) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__InsufficientFreeStake.selector, op, free, amount);
        }
        return "";
    }

    /// @dev Whether `op` can lock `amount` more for a claim by one of its nodes.
    function _canLock(address op, uint256 amount) internal view returns (bool) {
        Account storage a = _accounts[op];
        return a.eligible && a.staked >= locked[op] + amount;
    }

    // ================================================================================ job arithmetic

    /// @dev The job struct `post` / `take` build from their terms under the current parameters.
    function _newJob(address customer, address token, uint96 amount, uint256 designId, uint32 window, uint96 coll)
        internal
        view
        returns (Job memory job)
    {
        job.customer = customer;
        job.token = token;
        job.amount = amount;
        job.collateral = coll;
        job.bond = uint96(uint256(amount) * _params.disputeBondBps / BPS);
        job.feeBps = _params.feeBps;
        job.deliveryWindow = window;
        job.reviewWindow = _params.reviewWindow;
        if (designId != 0) {
            address receiver = designOwner[designId];
            if (receiver != customer) {
                job.royaltyReceiver = receiver;
                job.royalty = uint96(MarketMath.cappedRoyalty(amount, designBps[designId], _params.maxRoyaltyBps));
            }
        }
    }

    /// @dev The first check of MarketCore/JobMarket._newJob that fails (empty: none).
    function _termsError(address token, uint256 amount, uint256 designId, uint256 window, uint256 coll)
        internal
        view
        returns (bytes memory)
    {
        IJobMarketTypes.TokenTerms memory t = _terms[token];
        if (!t.allowed) return abi.encodeWithSelector(IJobMarketTypes.JobMarket__TokenNotAllowed.selector, token);
        if (amount == 0) return abi.encodeWithSelector(IJobMarketTypes.JobMarket__ZeroAmount.selector);
        uint256 minWindow = _params.minDeliveryWindow;
        if (window < minWindow || window > 365 days) {
            return abi.encodeWithSelector(
                IJobMarketTypes.JobMarket__InvalidDeliveryWindow.selector, window, minWindow, 365 days
            );
        }
        (uint256 lo, uint256 hi) = _bounds(token, amount);
        if (coll < lo || coll > hi) {
            return abi.encodeWithSelector(IJobMarketTypes.JobMarket__CollateralOutOfBounds.selector, coll, lo, hi);
        }
        if (designId != 0 && designOwner[designId] == address(0)) {
            return abi.encodeWithSelector(IFabricationLicences.Licences__UnknownDesign.selector, designId);
        }
        return "";
    }

    function _bounds(address token, uint256 amount) internal view returns (uint256, uint256) {
        IJobMarketTypes.TokenTerms memory t = _terms[token];
        return MarketMath.collateralBounds(amount, t.minCollateralRate, t.maxCollateralRate, _params.minCollateral);
    }

    // ==================================================================================== observation

    /// @dev Reads job `id`'s status from the chain (for the model's struct, so the commitment is checked too)
    /// and checks the transition from the status last observed.
    function _observe(uint256 id) internal {
        Rec storage r = _recs[id - 1];
        JobStatus onChain = market.statusOf(id, r.job);
        JobStatus expected = r.evicted ? JobStatus.None : r.status;
        if (onChain != expected) {
            _mismatch(string.concat("job ", vm.toString(id), ": status differs from the model"));
            return;
        }
        if (r.evicted) return;
        // statusOf answered this status for this struct, so the slot holds exactly the model's commitment.
        JobStatus last = JobStatus(r.observed);
        if (onChain != last) {
            if (!legalTransition(last, onChain)) {
                _illegal(string.concat("job ", vm.toString(id), ": illegal transition"));
            }
            r.observed = uint8(onChain);
        }
    }

    /// @dev The market's dispute record of job `id` against the model.
    function _checkDispute(uint256 id) internal {
        IJobMarketTypes.Dispute memory d = module.disputeOf(id);
        if (keccak256(abi.encode(d)) != keccak256(abi.encode(_recs[id - 1].d))) {
            _mismatch(string.concat("job ", vm.toString(id), ": dispute differs from the model"));
        }
    }

    /// @dev One account's credited balance and wallet in `token` against the model.
    function _checkAccount(address token, address account) internal {
        uint256 credited = market.balanceOf(token, account);
        uint256 held = IERC20(token).balanceOf(account);
        if (credited != credit[token][account]) {
            _mismatch(string.concat("credited balance of ", vmx.toString(account), " in ", vmx.toString(token)));
        }
        if (held != wallet[token][account]) {
            _mismatch(string.concat("wallet of ", vmx.toString(account), " in ", vmx.toString(token)));
        }
        // The ledger, read from the chain: what the account holds here and in its wallet never shrank since it
        // was last seen, unless this is its own call or the order it signed.
        uint256 value = credited + held;
        if (value < _seen[token][account] && account != _actor && account != _signer) {
            ledgerViolations++;
            lastSurprise = string.concat("ledger: ", vmx.toString(account), " lost funds in a call it did not make");
        }
        _seen[token][account] = value;
    }

    function _checkFees(address token) internal {
        if (market.feesOf(token) != fees[token]) _mismatch(string.concat("fees in ", vmx.toString(token)));
    }

    /// @dev An operator's stake, requests, locked collateral and eligibility against the model.
    function _checkStake(address op) internal {
        INodeRegistry.Stake memory s = registry.stakeOf(op);
        Account storage a = _accounts[op];
        uint256 unbondAt = a.tail > a.head ? _requests[op][a.head].releaseAt : 0;
        if (s.staked != a.staked || s.unbonding != a.unbonding || s.locked != locked[op] || s.unbondAt != unbondAt) {
            _mismatch(string.concat("stake of ", vmx.toString(op)));
        }
        // The stake only shrinks by the operator's own call or by slashes of its collateral in this call.
        uint256 stakeNow = uint256(s.staked) + s.unbonding;
        uint256 slashedNow = _slashCall[op] == calls ? _slashedInCall[op] : 0;
        if (op != _actor && stakeNow + slashedNow < _seenStake[op]) {
            ledgerViolations++;
            lastSurprise = string.concat("ledger: the stake of ", vmx.toString(op), " shrank beyond its slashes");
        }
        _seenStake[op] = stakeNow;
        uint256 node = firstNode[op];
        (, bool active, uint256 staked) = registry.claimInfo(node);
        if (active != (nodeActive[node] && a.eligible) || staked != a.staked) {
            _mismatch(string.concat("claim eligibility of ", vmx.toString(op)));
        }
    }

    /// @dev Everything a settled, expired or resolved job touched: its parties in its token and in FAB, fees.
    function _checkParties(Job memory job) internal {
        _checkAccount(job.token, job.customer);
        if (job.node != address(0)) {
            _checkAccount(job.token, job.node);
            _checkStake(job.node);
        }
        if (job.royaltyReceiver != address(0)) _checkAccount(job.token, job.royaltyReceiver);
        if (market.balanceOf(address(fab), job.customer) != credit[address(fab)][job.customer]) {
            _mismatch("customer's FAB compensation");
        }
        _checkFees(job.token);
        _checkFees(address(fab));
    }

    // ====================================================================================== outcomes

    /// @dev Makes a call as `caller` and scores it: `err` empty means the model expects success, else the
    /// exact revert data. Returns whether it succeeded as expected.
    function _exec(bytes32 action, address caller, address target, bytes memory data, bytes memory err)
        internal
        returns (bool ok, bytes memory ret)
    {
        _actor = caller;
        vm.prank(caller);
        (ok, ret) = target.call(data);
        if (ok) {
            succeeded[action]++;
            if (err.length != 0) {
                unexpectedSuccesses++;
                lastSurprise = string.concat(_name(action), ": unexpected success, expected ", vmx.toString(err));
            }
        } else {
            refused[action]++;
            if (ret.length >= 4) refusedWith[action][bytes4(ret)]++;
            if (err.length == 0) {
                unexpectedReverts++;
                lastSurprise = string.concat(_name(action), ": unexpected revert ", vmx.toString(ret));
            } else if (keccak256(ret) != keccak256(err)) {
                wrongRevertReasons++;
                lastSurprise = string.concat(
                    _name(action), ": wrong revert reason ", vmx.toString(ret), " expected ", vmx.toString(err)
                );
            }
        }
        ok = ok && err.length == 0;
    }

    function _mismatch(string memory what) internal {
        modelMismatches++;
        lastSurprise = what;
    }

    function _illegal(string memory what) internal {
        illegalTransitions++;
        lastSurprise = what;
    }

    function _name(bytes32 action) internal pure returns (string memory s) {
        uint256 len;
        while (len < 32 && action[len] != 0) ++len;
        s = new string(len);
        for (uint256 i; i < len; ++i) {
            bytes(s)[i] = action[i];
        }
    }

    // ========================================================================================== time

    /// @dev Starts a handler call: the chain's clock follows the model's, the ledger forgets the last actor.
    function _sync() internal {
        ++calls;
        _actor = address(0);
        _signer = address(0);
        vm.warp(ghostNow);
    }

    function _setTime(uint256 t) internal {
        ghostNow = t;
        vm.warp(t);
    }

    /// @dev One call in two lets time run to a deadline's edge: one second before `t`, at it, or after it
    /// (when that is ahead and at most `maxAhead` away).
    function _waitNear(uint256 seed, uint256 t, uint256 maxAhead) internal {
        uint256 k = _r(seed, 99, 6);
        if (k >= 3 || t == 0) return;
        uint256 target = t + k - 1;
        if (target > ghostNow && target - ghostNow <= maxAhead) _setTime(target);
    }

    /// @dev An independent pseudo-random draw in [0, n) from `seed` and a salt.
    function _r(uint256 seed, uint256 salt, uint256 n) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, salt))) % n;
    }
}
