// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Job, JobStatus} from "../types/Job.sol";

/// @title Escrow for fabrication jobs.
/// @notice Customers escrow an allowlisted ERC-20; a staked node claims with FAB collateral, delivers a
/// proof CID and is paid on acceptance (or silently after the review window). Payouts are credited to
/// internal balances and pulled with `withdraw`, so no payee can block a settlement.
interface IJobMarket {
    /// @notice Protocol parameters, owned by governance and bounded by the constants below.
    struct Params {
        uint16 feeBps; // protocol fee on the payment
        uint16 maxRoyaltyBps; // cap on the design royalty taken from a payment
        uint16 disputeBondBps; // bond a disputing customer posts, in basis points of the payment
        uint32 reviewWindow; // seconds a customer has to accept or dispute after delivery
        uint32 minDeliveryWindow; // shortest delivery window a job may ask for
        uint96 minCollateral; // FAB a job must ask the claimer to lock
    }

    error JobMarket__TokenNotAllowed(address token);
    error JobMarket__ZeroAmount();
    error JobMarket__InvalidCid(bytes cid);
    error JobMarket__DeadlinePassed(uint256 jobId, uint256 deadline, uint256 nowTs);
    error JobMarket__DeadlineNotPassed(uint256 jobId, uint256 deadline, uint256 nowTs);
    error JobMarket__InvalidClaimDeadline(uint256 claimBy, uint256 nowTs);
    error JobMarket__InvalidDeliveryWindow(uint256 window, uint256 min, uint256 max);
    error JobMarket__CollateralTooLow(uint256 collateral, uint256 minimum);
    error JobMarket__UnknownDesign(uint256 designId);
    error JobMarket__UnknownJob(uint256 jobId);
    error JobMarket__WrongStatus(uint256 jobId, JobStatus actual, JobStatus expected);
    error JobMarket__JobDataMismatch(uint256 jobId);
    error JobMarket__NotCustomer(uint256 jobId, address caller, address customer);
    error JobMarket__NotClaimer(uint256 jobId, address caller, address node);
    error JobMarket__NotArbiter(address caller, address arbiter);
    error JobMarket__InvalidSplit(uint256 refundBps, uint256 slashBps);
    error JobMarket__NothingToWithdraw(address token, address account);
    error JobMarket__ZeroAddress(bytes32 name);
    error JobMarket__ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);

    event JobPosted(
        uint256 indexed jobId, address indexed customer, address indexed token, Job job, bytes specCid, uint256 designId
    );
    event JobCancelled(uint256 indexed jobId, address indexed customer, uint256 refund);
    event JobClaimed(uint256 indexed jobId, address indexed node, uint256 indexed nodeId, uint256 deliverBy);
    event JobDelivered(uint256 indexed jobId, address indexed node, bytes proofCid, uint256 reviewUntil);
    event JobSettled(
        uint256 indexed jobId, address indexed node, uint256 nodePayout, uint256 fee, uint256 royalty, bool accepted
    );
    event JobExpired(uint256 indexed jobId, address indexed node, uint256 refund, uint256 slashed);
    event JobDisputed(uint256 indexed jobId, address indexed customer, uint256 bond, bytes reasonCid);
    event JobResolved(
        uint256 indexed jobId,
        uint256 refundBps,
        uint256 slashBps,
        uint256 customerRefund,
        uint256 nodePayout,
        uint256 fee,
        uint256 royalty,
        uint256 slashed
    );
    event Deposited(address indexed token, address indexed account, uint256 amount);
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);
    event FeesWithdrawn(address indexed token, address indexed treasury, uint256 amount);
    event ParamsSet(Params params);
    event TokenAllowed(address indexed token, bool allowed);
    event ArbiterSet(address indexed arbiter);
    event TreasurySet(address indexed treasury);

    /// @notice Escrows `amount` of `token` (from the caller's balance, pulling any shortfall) for a job described by `specCid` and returns its id.
    /// @param designId DesignNFT token whose owner earns a royalty; 0 for none.
    /// @param claimBy last second a node may claim; @param deliveryWindow seconds from claim to delivery.
    /// @param collateral FAB the claimer must lock (at least `params().minCollateral`).
    function post(
        address token,
        uint96 amount,
        bytes calldata specCid,
        uint256 designId,
        uint40 claimBy,
        uint32 deliveryWindow,
        uint96 collateral
    ) external returns (uint256 jobId);
    /// @notice Customer withdraws an open job; the escrow is credited back to their balance.
    function cancel(uint256 jobId, Job calldata job) external;
    /// @notice The caller claims an open job for one of its nodes, locking `job.collateral` FAB.
    function claim(uint256 jobId, Job calldata job, uint256 nodeId) external;
    /// @notice The claiming node hands in proof of fabrication (print log, photos) by CID.
    function deliver(uint256 jobId, Job calldata job, bytes calldata proofCid) external;
    /// @notice Customer accepts a delivery: pays node, treasury and royalty receiver.
    function accept(uint256 jobId, Job calldata job) external;
    /// @notice Anyone settles a delivery in the node's favour after the review window.
    function settle(uint256 jobId, Job calldata job) external;
    /// @notice Customer takes the escrow back when the delivery deadline passed; collateral is slashed to them.
    function reclaim(uint256 jobId, Job calldata job) external;
    /// @notice Customer disputes a delivery during the review window, posting a bond.
    function dispute(uint256 jobId, Job calldata job, bytes calldata reasonCid) external;
    /// @notice Arbiter splits a disputed escrow: `refundBps` of the payment back to the customer and
    /// `slashBps` of the collateral slashed to them.
    function resolve(uint256 jobId, Job calldata job, uint16 refundBps, uint16 slashBps) external;
    /// @notice Adds `amount` of an allowlisted token to the caller's balance; posts draw from it first.
    function deposit(address token, uint256 amount) external;
    /// @notice Pays the caller's credited balance of `token` to `to`.
    function withdraw(address token, address to) external returns (uint256 amount);
    /// @notice Pays accrued protocol fees in `token` to the treasury.
    function withdrawFees(address token) external returns (uint256 amount);

    /// @notice The job's stored commitment: `keccak256(abi.encode(job))` with the status in the low byte;
    /// zero for a settled job (its slot is cleared) and for ids never posted.
    function commitmentOf(uint256 jobId) external view returns (bytes32);
    /// @notice The job's current status.
    function statusOf(uint256 jobId) external view returns (JobStatus);
    /// @notice The commitment a job struct in a given status would have.
    function hashJob(Job calldata job, JobStatus status) external pure returns (bytes32);
    /// @notice How many jobs were ever posted (ids are 1..jobCount).
    function jobCount() external view returns (uint256);
    /// @notice Balance of `account` in `token` held here: deposits, refunds and payouts, withdrawable any time.
    function balanceOf(address token, address account) external view returns (uint256);
    /// @notice Protocol fees accrued in `token`.
    function feesOf(address token) external view returns (uint256);
    /// @notice Whether `token` may be used for payment.
    function isTokenAllowed(address token) external view returns (bool);
    /// @notice Current protocol parameters.
    function params() external view returns (Params memory);
    /// @notice The dispute arbiter.
    function arbiter() external view returns (address);
    /// @notice Where protocol fees go.
    function treasury() external view returns (address);
    /// @notice The node registry holding stakes and collateral.
    function registry() external view returns (address);
    /// @notice The DesignNFT contract royalties are read from (ERC-2981).
    function designs() external view returns (address);
}
