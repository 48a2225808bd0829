// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Lifecycle of a fabrication job. Every legal transition increases the ordinal, so
/// "status only moves forward" is `new > old`. Python's `fabrica.protocol.types.JobStatus` mirrors it.
enum JobStatus {
    None, // 0: no such job
    Open, // 1: posted, payment escrowed, waiting for a node
    Claimed, // 2: a node locked collateral and is fabricating
    Delivered, // 3: proof delivered, review window running
    Disputed, // 4: customer disputed during review, waiting for the arbiter
    Settled, // 5: paid out to node, treasury and royalty receiver
    Resolved, // 6: the arbiter split the escrow
    Cancelled, // 7: withdrawn by the customer before any claim
    Expired // 8: delivery deadline missed, customer refunded, collateral slashed
}

/// @notice Everything later steps need to know about a job. Only `keccak256(abi.encode(job))`
/// (with the status in its low byte) is stored; callers pass the struct back, rebuilt from events.
struct Job {
    address customer;
    address token; // allowlisted ERC-20 the payment is escrowed in
    address node; // operator that claimed; zero while open
    address royaltyReceiver; // design owner at post time; zero without a design
    uint96 amount; // escrowed payment
    uint96 royalty; // royalty owed from the payment, fixed at post
    uint96 collateral; // FAB locked from the claimer's stake
    uint96 bond; // dispute bond paid by the customer; zero unless disputed
    uint16 feeBps; // protocol fee, fixed at post
    uint32 deliveryWindow; // seconds from claim to the delivery deadline
    uint32 reviewWindow; // seconds from delivery to automatic settlement, fixed at post
    uint40 deadline; // claim-by while Open, deliver-by while Claimed, review-until while Delivered
}
