// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Lifecycle of a fabrication job. Python's `fabrica.protocol.types.JobStatus` mirrors it.
/// Open -> Claimed -> Delivered -> Settled is the common path; a claim handed back returns to Open;
/// Cancelled, Expired, Settled and Resolved are terminal.
enum JobStatus {
    None, // 0: no such job
    Open, // 1: payment escrowed, waiting for a node (posted, or handed back by a node)
    Claimed, // 2: a node locked collateral and is fabricating
    Delivered, // 3: proof delivered, review window running
    Disputed, // 4: customer disputed during review; arbiter, then appeal court, then default ruling
    Settled, // 5: paid out to node, treasury and royalty receiver
    Resolved, // 6: a dispute ended: ruled by the arbiter or the appeal court, or by the default ruling
    Cancelled, // 7: withdrawn by the customer before any claim, or never claimed by its claim-by time
    Expired // 8: delivery deadline missed: customer refunded and compensated from the collateral
}

/// @notice Everything later steps need to know about a job. Only `keccak256(abi.encode(jobId, job))`
/// (with the status in its low byte) is stored, at storage key `job.key`; callers pass the struct back,
/// rebuilt from events.
struct Job {
    address customer;
    address token; // allowlisted ERC-20 the payment is escrowed in
    address node; // operator that claimed; zero while open, or (re-opened) the operator that handed it back
    address royaltyReceiver; // design owner at post time; zero without a design (or when it is the customer)
    uint96 amount; // escrowed payment
    uint96 royalty; // royalty owed from the payment, fixed at post
    uint96 collateral; // FAB the claimer locks, within the bounds the token's terms set for `amount`
    uint96 bond; // dispute bond the customer posts if it disputes, fixed at post
    uint16 feeBps; // protocol fee, fixed at post
    uint32 deliveryWindow; // seconds from claim to the delivery deadline
    uint32 reviewWindow; // seconds from delivery to automatic settlement, fixed at post
    uint40 deadline; // claim-by while Open, deliver-by while Claimed, review-until while Delivered
    uint64 targetNode; // the only node that may claim; 0 = any node
    uint64 key; // storage slot: the job's id, or the recycled slot of a finished job (posts and orders alike)
}
