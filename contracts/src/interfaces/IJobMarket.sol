// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Job, JobStatus} from "../types/Job.sol";
import {IJobMarketTypes} from "./IJobMarketTypes.sol";

/// @title Escrow for fabrication jobs.
/// @notice Customers escrow an allowlisted ERC-20; a staked node claims with FAB collateral, delivers a
/// proof CID and is paid on acceptance (or silently after the review window). Every job reaches a
/// terminal state without the cooperation of a silent party: claim-by, delivery and review deadlines
/// anyone can enforce; disputes have an arbiter deadline, an appeal court and a default ruling.
/// Payouts are credited to internal balances and pulled with `withdraw`, so no payee can block a step.
/// Disputes, governance and some views are `IJobMarketModule`'s, served at the same address.
interface IJobMarket is IJobMarketTypes {
    // ------------------------------------------------------------------------------------ customer

    /// @notice Escrows `amount` of `token` (from the caller's balance, pulling any shortfall) for a job described by `specCid` and returns its id.
    /// @param designId DesignNFT token whose owner earns a royalty, or of which the customer's fabrication
    /// licence is consumed instead; 0 for none.
    /// @param claimBy last second a node may claim; @param deliveryWindow seconds from claim to delivery.
    /// @param collateral FAB the claimer must lock, within `collateralBounds(token, amount)`.
    /// @param targetNode the only node that may claim (mandatory for designs sealed to a node's key); 0 = any.
    /// @param reuseKey storage key of a finished job to recycle (cheaper than a fresh slot); 0 or a key that is not reusable takes a fresh one.
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
    ) external returns (uint256 jobId);
    /// @notice Customer withdraws an open job; the escrow is credited back to their balance.
    function cancel(uint256 jobId, Job calldata job) external;
    /// @notice Customer accepts a delivery: pays node, treasury and royalty receiver.
    function accept(uint256 jobId, Job calldata job) external;
    /// @notice Cancels the caller's signed orders with this nonce.
    function cancelOrder(uint64 nonce) external;
    /// @notice Invalidates every signed order of the caller made with the current counter.
    function incrementCounter() external returns (uint64 counter);
    /// @notice Adds what actually arrives of `amount` of an allowlisted token to the caller's balance.
    function deposit(address token, uint256 amount) external;

    // ---------------------------------------------------------------------------------------- shop

    /// @notice The caller claims an open job for one of its nodes, locking `job.collateral` FAB.
    function claim(uint256 jobId, Job calldata job, uint256 nodeId) external;
    /// @notice Takes a signed order for one of the caller's nodes: creates the job and claims it in one step.
    /// @param reuseKey slot of a finished job to recycle, as in `post`.
    function take(Order calldata order, bytes calldata signature, uint256 nodeId, uint64 reuseKey)
        external
        returns (uint256 jobId);
    /// @notice As `take`, first applying the customer's ERC-2612 permit for the payment token.
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
    ) external returns (uint256 jobId);
    /// @notice The claiming node gives the job back before delivering: free within the hand-back window, else a penalty.
    function handBack(uint256 jobId, Job calldata job) external;
    /// @notice The claiming node hands in proof of fabrication (print log) by CID.
    function deliver(uint256 jobId, Job calldata job, bytes calldata proofCid) external;

    // ---------------------------------------------------------------------------------- permissionless

    /// @notice Anyone settles a delivery in the node's favour after the review window.
    function settle(uint256 jobId, Job calldata job) external;
    /// @notice Anyone ends a job past its deadline: an open job is refunded; a claimed one is refunded, the
    /// customer compensated from the slashed collateral.
    function expire(uint256 jobId, Job calldata job) external;


    // ------------------------------------------------------------------------------------- registry

    /// @notice Registry only: an operator's bonded stake and eligibility changed (the market keeps a copy so
    /// a claim reads no other contract).
    function syncStake(address operator, uint256 staked, bool eligible) external;
    /// @notice Registry only: a node was registered or put in or out of service.
    function syncNode(uint256 nodeId, address operator, bool active) external;

    // -------------------------------------------------------------------------------------- payouts

    /// @notice Pays the caller's credited balance of `token` to `to`.
    function withdraw(address token, address to) external returns (uint256 amount);
    /// @notice Pays accrued protocol fees in `token` to the treasury.
    function withdrawFees(address token) external returns (uint256 amount);

    // ---------------------------------------------------------------------------------------- views

    /// @notice The commitment stored in slot `key`: `keccak256(abi.encode(jobId, job))` with the status in
    /// the low byte; zero for slots never used. A slot holds the latest job stored there (slots are recycled).
    function commitmentAt(uint256 key) external view returns (bytes32);
    /// @notice Whether `customer`'s order nonce was used (taken or cancelled).
    function nonceUsed(address customer, uint64 nonce) external view returns (bool);
    /// @notice Status of job `jobId` described by `job` (its current struct): None when slot `job.key` does not
    /// hold this job in that state (unknown job, stale struct, or the slot was recycled after the job ended).
    function statusOf(uint256 jobId, Job calldata job) external view returns (JobStatus);
    /// @notice The commitment a job struct in a given status would have.
    function hashJob(uint256 jobId, Job calldata job, JobStatus status) external pure returns (bytes32);
    /// @notice The EIP-712 digest a customer signs for `order`.
    function orderDigest(Order calldata order) external view returns (bytes32);
    /// @notice How many jobs were ever created (ids are 1..jobCount).
    function jobCount() external view returns (uint256);
    /// @notice FAB collateral an operator has locked in claimed, delivered and disputed jobs.
    function lockedOf(address operator) external view returns (uint256);
    /// @notice Balance of `account` in `token` held here: deposits, refunds and payouts, withdrawable any time.
    function balanceOf(address token, address account) external view returns (uint256);
    /// @notice Protocol fees accrued in `token`.
    function feesOf(address token) external view returns (uint256);
    /// @notice Whether `token` may be used for payment.
    function isTokenAllowed(address token) external view returns (bool);
    /// @notice The collateral range a job paying `amount` of `token` may ask for.
    function collateralBounds(address token, uint256 amount) external view returns (uint256 min, uint256 max);
    /// @notice The current counter for `customer`'s signed orders.
    function orderCounter(address customer) external view returns (uint64);
    /// @notice Where protocol fees and the non-compensating part of slashes go.
    function treasury() external view returns (address);
    /// @notice The node registry holding stakes and nodes.
    function registry() external view returns (address);
    /// @notice The fabrication licences contract (IDesignRights) that names each job's royalty receiver or
    /// consumes one of the customer's licences instead.
    function designs() external view returns (address);
}
