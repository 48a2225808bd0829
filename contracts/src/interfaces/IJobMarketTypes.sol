// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Job, JobStatus} from "../types/Job.sol";

/// @title The job market's types, errors and events (shared by the market and its module).
interface IJobMarketTypes {
    /// @notice Protocol parameters, owned by governance and bounded by the market's constants.
    struct Params {
        uint16 feeBps; // protocol fee on the payment
        uint16 maxRoyaltyBps; // cap on the design royalty taken from a payment
        uint16 disputeBondBps; // bond a disputing customer posts, in basis points of the payment (fixed at post)
        uint32 reviewWindow; // seconds a customer has to accept or dispute after delivery
        uint32 minDeliveryWindow; // shortest delivery window a job may ask for
        uint96 minCollateral; // FAB floor of any job's collateral (never zero)
        uint32 handBackWindow; // seconds after a claim in which the node may hand the job back for free
        uint16 handBackPenaltyBps; // share of the collateral a later hand-back costs
        uint16 expirySlashBps; // share of the collateral a missed delivery costs
        uint16 compensationBps; // share of any slash paid to the customer for the delay; the rest goes to the treasury
        uint32 disputeWindow; // seconds the dispute's arbiter has to rule
        uint32 appealWindow; // seconds either side has to appeal a ruling
        uint32 courtWindow; // seconds the appeal court (the DAO: proposal, vote, timelock) has to rule
        uint16 arbiterFeeBps; // share of a lost appeal bond paid to the arbiter whose ruling stood; the rest: treasury
    }

    /// @notice What a payment token requires: FAB collateral per base unit of payment, 1e18 fixed point.
    struct TokenTerms {
        bool allowed;
        uint112 minCollateralRate; // collateral >= amount * minCollateralRate / 1e18 (and >= minCollateral)
        uint112 maxCollateralRate; // collateral <= amount * maxCollateralRate / 1e18 (or == minCollateral)
    }

    /// @notice A signed job order (EIP-712 "Order"): a shop takes it with its claim in one transaction.
    struct Order {
        address customer;
        address token;
        uint96 amount;
        uint96 collateral;
        uint256 designId;
        uint32 deliveryWindow;
        uint64 targetNode; // 0 = any node
        uint40 expiry; // last second the order can be taken
        uint64 nonce; // one job per (customer, nonce); cancelOrder(nonce) cancels it
        uint64 counter; // must equal orderCounter(customer); incrementCounter() cancels all older orders
        bytes specCid;
    }

    /// @notice Stage of a dispute (the job stays Disputed until it is Resolved).
    enum DisputeStage {
        None,
        AwaitingArbiter, // the arbiter assigned at opening rules by `deadline`, else anyone applies the default ruling
        Ruled, // the arbiter ruled (or the default applied); either side may appeal until `deadline`, then anyone finalizes
        Appealed // the appeal court fixed at appeal rules by `deadline`, else the ruling stands
    }

    /// @notice A dispute's state, kept beside the job commitment while the job is Disputed.
    struct Dispute {
        address judge; // the arbiter (a panel member when the market's arbiter is a panel), then the appeal court
        uint40 deadline;
        DisputeStage stage;
        uint16 refundBps; // the arbiter's ruling, once Ruled
        uint16 slashBps;
        address appellant; // who appealed (and posted the appeal bond)
        address arbiter; // the arbiter assigned when the dispute opened; zero once the default ruling applied
    }

    error JobMarket__TokenNotAllowed(address token);
    error JobMarket__ZeroAmount();
    error JobMarket__InvalidCid(bytes cid);
    error JobMarket__DeadlinePassed(uint256 jobId, uint256 deadline, uint256 nowTs);
    error JobMarket__DeadlineNotPassed(uint256 jobId, uint256 deadline, uint256 nowTs);
    error JobMarket__InvalidClaimDeadline(uint256 claimBy, uint256 nowTs);
    error JobMarket__InvalidDeliveryWindow(uint256 window, uint256 min, uint256 max);
    error JobMarket__CollateralOutOfBounds(uint256 collateral, uint256 min, uint256 max);
    error JobMarket__UnknownDesign(uint256 designId);
    error JobMarket__UnknownJob(uint256 jobId);
    error JobMarket__WrongStatus(uint256 jobId, JobStatus actual, JobStatus expected);
    error JobMarket__JobDataMismatch(uint256 jobId);
    error JobMarket__NotCustomer(uint256 jobId, address caller, address customer);
    error JobMarket__NotClaimer(uint256 jobId, address caller, address node);
    error JobMarket__NotJudge(uint256 jobId, address caller, address judge);
    error JobMarket__NotParty(uint256 jobId, address caller);
    error JobMarket__WrongDisputeStage(uint256 jobId, DisputeStage actual);
    error JobMarket__InvalidSplit(uint256 refundBps, uint256 slashBps);
    error JobMarket__NothingToWithdraw(address token, address account);
    error JobMarket__ZeroAddress(bytes32 name);
    error JobMarket__ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    error JobMarket__InvalidTokenTerms(address token, uint256 minRate, uint256 maxRate);
    error JobMarket__NotTargetNode(uint256 jobId, uint256 nodeId, uint256 targetNode);
    error JobMarket__HandedBackByCaller(uint256 jobId, address caller);
    error JobMarket__ReopenCooldown(uint256 jobId, uint256 claimableAt, uint256 nowTs);
    error JobMarket__UnknownNode(uint256 nodeId);
    error JobMarket__NotRegistry(address caller);
    error JobMarket__NotNodeOperator(uint256 nodeId, address caller, address operator);
    error JobMarket__NodeInactive(uint256 nodeId);
    error JobMarket__InsufficientFreeStake(address operator, uint256 free, uint256 needed);
    error JobMarket__OrderExpired(uint256 expiry, uint256 nowTs);
    error JobMarket__OrderNonceUsed(address customer, uint64 nonce);
    error JobMarket__OrderCounterStale(address customer, uint64 counter, uint64 current);
    error JobMarket__InvalidSignature(address customer);
    error JobMarket__NoPendingChange(bytes32 what);
    error JobMarket__ChangeNotDue(bytes32 what, uint256 effectiveAt, uint256 nowTs);
    error JobMarket__ShortDeposit(address token, uint256 requested, uint256 received);
    error JobMarket__Paused();
    error JobMarket__ModuleMismatch(address module);
    error JobMarket__NotGuardian(address caller);
    error JobMarket__NotReassignable(uint256 jobId, address judge);

    /// @notice A job was posted. `job` is the struct packed by `JobLib.pack` (159 bytes, not ABI-encoded: log
    /// data costs 8 gas a byte); the payment token is `job`'s.
    event JobPosted(uint256 indexed jobId, address indexed customer, bytes job, bytes specCid, uint256 designId);
    /// @notice A signed order was taken: the job starts Claimed (`job` is the claimed job's struct, packed by
    /// `JobLib.pack`).
    event OrderTaken(
        uint256 indexed jobId,
        address indexed customer,
        address indexed node,
        uint256 nodeId,
        bytes job,
        bytes specCid,
        uint256 designId,
        bytes32 orderHash
    );
    event JobCancelled(uint256 indexed jobId, address indexed customer, uint256 refund);
    event JobClaimed(uint256 indexed jobId, address indexed node, uint256 indexed nodeId, uint256 deliverBy);
    /// @notice The node gave the claim back; the job is Open again until `claimBy`, claimable by other nodes
    /// from REOPEN_COOLDOWN after now (the job's `node` keeps naming this operator, which may not claim it again).
    event JobHandedBack(uint256 indexed jobId, address indexed node, uint256 penalty, uint256 compensation, uint256 claimBy);
    event JobDelivered(uint256 indexed jobId, address indexed node, bytes proofCid, uint256 reviewUntil);
    /// @notice A delivery was paid out (accepted by the customer, or settled after the review window) to the
    /// job's node. The amounts follow from the job: fee = amount * feeBps / 10 000, royalty as fixed, the node
    /// gets the rest.
    event JobSettled(uint256 indexed jobId, bool accepted);
    /// @notice The delivery deadline passed: the customer got `refund` and `compensation` FAB; `slashed` FAB left the node.
    event JobExpired(uint256 indexed jobId, address indexed node, uint256 refund, uint256 slashed, uint256 compensation);
    event JobDisputed(
        uint256 indexed jobId, address indexed customer, uint256 bond, bytes reasonCid, address arbiter, uint256 ruleBy
    );
    event DisputeRuled(uint256 indexed jobId, address indexed arbiter, uint16 refundBps, uint16 slashBps, uint256 appealBy);
    /// @notice A party appealed the ruling (posting the bond): the appeal court rules by `ruleBy`.
    event DisputeAppealed(
        uint256 indexed jobId, address indexed appellant, address indexed court, uint256 bond, uint256 ruleBy
    );
    /// @notice A dispute ended. `by` is the judge whose ruling applies, or zero for the default ruling.
    event JobResolved(
        uint256 indexed jobId,
        address indexed by,
        uint256 refundBps,
        uint256 slashBps,
        uint256 customerRefund,
        uint256 nodePayout,
        uint256 fee,
        uint256 royalty,
        uint256 slashed,
        uint256 compensation
    );
    event Deposited(address indexed token, address indexed account, uint256 amount);
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);
    event FeesWithdrawn(address indexed token, address indexed treasury, uint256 amount);
    event ParamsSet(Params params);
    event TokenTermsSet(address indexed token, TokenTerms terms);
    event ArbiterProposed(address indexed arbiter, uint256 effectiveAt);
    event ArbiterSet(address indexed arbiter);
    event AppealCourtProposed(address indexed court, uint256 effectiveAt);
    event AppealCourtSet(address indexed court);
    event TreasurySet(address indexed treasury);
    /// @notice The dispute's arbiter left the panel before ruling: a new one was assigned, with a fresh deadline.
    event DisputeReassigned(uint256 indexed jobId, address indexed previous, address indexed arbiter, uint256 ruleBy);
    /// @notice New jobs are refused (`paused`) or accepted again; withdrawals and running jobs never stop.
    event PausedSet(address indexed by, bool paused);
    event GuardianSet(address indexed guardian);
    event OrderCancelled(address indexed customer, uint64 nonce);
    event OrderCounterIncremented(address indexed customer, uint64 counter);
}
