// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Job, JobStatus} from "../types/Job.sol";

/// @notice Job commitments: `keccak256(abi.encode(jobId, job))` with the low byte replaced by the status,
/// so one storage slot proves a job's whole state and still answers its status on chain. The job id is
/// part of the hash because storage slots of finished jobs are recycled for new ones.
library JobLib {
    /// @dev The job id word followed by a `Job`'s 14 static ABI words.
    uint256 internal constant SIZE = 15 * 32;
    // Offsets inside the hashed words (word 0 is the job id).
    uint256 internal constant NODE_OFFSET = 3 * 32;
    uint256 internal constant DEADLINE_OFFSET = 12 * 32;
    bytes32 private constant STATUS_MASK = bytes32(uint256(0xff));

    /// @notice The commitment of (`jobId`, `job`) in `status`; `jobId` must be the calldata word right before `job`.
    function commit(Job calldata job, JobStatus status) internal pure returns (bytes32 c) {
        // Hashing the raw calldata words equals keccak256(abi.encode(jobId, job)) for canonical input; a
        // non-canonical encoding hashes differently and simply fails the comparison.
        // slither-disable-next-line assembly (hashes the job id and a Job's calldata words; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, sub(job, 32), SIZE)
            c := keccak256(ptr, SIZE)
        }
        c = (c & ~STATUS_MASK) | bytes32(uint256(status));
    }

    /// @notice As `commit`, with one word replaced.
    function commitWith(Job calldata job, JobStatus status, uint256 offset, uint256 value)
        internal
        pure
        returns (bytes32 c)
    {
        // slither-disable-next-line assembly (hashes the job id and a Job's calldata words; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, sub(job, 32), SIZE)
            mstore(add(ptr, offset), value)
            c := keccak256(ptr, SIZE)
        }
        c = (c & ~STATUS_MASK) | bytes32(uint256(status));
    }

    /// @notice As `commit`, with two words replaced.
    function commitWith(
        Job calldata job,
        JobStatus status,
        uint256 offsetA,
        uint256 valueA,
        uint256 offsetB,
        uint256 valueB
    ) internal pure returns (bytes32 c) {
        // slither-disable-next-line assembly (hashes the job id and a Job's calldata words; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, sub(job, 32), SIZE)
            mstore(add(ptr, offsetA), valueA)
            mstore(add(ptr, offsetB), valueB)
            c := keccak256(ptr, SIZE)
        }
        c = (c & ~STATUS_MASK) | bytes32(uint256(status));
    }

    /// @notice The commitment of an in-memory job in `status`.
    function commitMemory(uint256 jobId, Job memory job, JobStatus status) internal pure returns (bytes32 c) {
        c = keccak256(abi.encode(jobId, job));
        c = (c & ~STATUS_MASK) | bytes32(uint256(status));
    }

    /// @notice The job's fields packed tightly (159 bytes: addresses 20, amounts 12, the rest by their widths),
    /// as JobPosted and OrderTaken carry it: log data costs 8 gas a byte, and the ABI's 448 would cost 2 300
    /// more. `fabrica.protocol.types.Job.from_packed` reads it, with the layout taken from the ABI's types.
    function pack(Job memory job) internal pure returns (bytes memory p) {
        // Each field is shifted to the top of its word and stored at its byte offset, in order, so every store
        // overwrites only the zero tail of the one before. A memory Job is 14 words, one per field.
        // slither-disable-next-line assembly (packs a Job's 14 memory words into 159 bytes; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(p, 159)
            let d := add(p, 32)
            mstore(d, shl(96, mload(job))) // customer
            mstore(add(d, 20), shl(96, mload(add(job, 32)))) // token
            mstore(add(d, 40), shl(96, mload(add(job, 64)))) // node
            mstore(add(d, 60), shl(96, mload(add(job, 96)))) // royaltyReceiver
            mstore(add(d, 80), shl(160, mload(add(job, 128)))) // amount
            mstore(add(d, 92), shl(160, mload(add(job, 160)))) // royalty
            mstore(add(d, 104), shl(160, mload(add(job, 192)))) // collateral
            mstore(add(d, 116), shl(160, mload(add(job, 224)))) // bond
            mstore(
                add(d, 128),
                or(
                    or(or(shl(240, mload(add(job, 256))), shl(208, mload(add(job, 288)))), shl(176, mload(add(job, 320)))),
                    or(or(shl(136, mload(add(job, 352))), shl(72, mload(add(job, 384)))), shl(8, mload(add(job, 416))))
                )
            ) // feeBps, deliveryWindow, reviewWindow, deadline, targetNode, key
            mstore(0x40, add(d, 160))
        }
    }

    /// @notice The job `pack` packed (for tests and tools; the market never needs it).
    function unpack(bytes memory p) internal pure returns (Job memory job) {
        uint256 w;
        job.customer = address(uint160(_word(p, 0) >> 96));
        job.token = address(uint160(_word(p, 20) >> 96));
        job.node = address(uint160(_word(p, 40) >> 96));
        job.royaltyReceiver = address(uint160(_word(p, 60) >> 96));
        job.amount = uint96(_word(p, 80) >> 160);
        job.royalty = uint96(_word(p, 92) >> 160);
        job.collateral = uint96(_word(p, 104) >> 160);
        job.bond = uint96(_word(p, 116) >> 160);
        w = _word(p, 128);
        job.feeBps = uint16(w >> 240);
        job.deliveryWindow = uint32(w >> 208);
        job.reviewWindow = uint32(w >> 176);
        job.deadline = uint40(w >> 136);
        job.targetNode = uint64(w >> 72);
        job.key = uint64(w >> 8);
    }

    function _word(bytes memory p, uint256 offset) private pure returns (uint256 w) {
        require(p.length == 159, "JobLib: packed job is 159 bytes");
        // slither-disable-next-line assembly (reads one word of a packed job; tests and tools only)
        assembly ("memory-safe") {
            w := mload(add(add(p, 32), offset))
        }
    }

    /// @notice The status stored in a commitment's low byte.
    function statusOf(bytes32 commitment) internal pure returns (JobStatus) {
        return JobStatus(uint8(uint256(commitment)));
    }
}
