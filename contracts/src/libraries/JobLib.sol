// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Job, JobStatus} from "../types/Job.sol";

/// @notice Job commitments: `keccak256(abi.encode(job))` with the low byte replaced by the status,
/// so one storage slot proves a job's whole state and still answers `statusOf` on chain.
library JobLib {
    /// @dev A `Job` is 12 static ABI words.
    uint256 internal constant SIZE = 12 * 32;
    uint256 internal constant NODE_OFFSET = 2 * 32;
    uint256 internal constant BOND_OFFSET = 7 * 32;
    uint256 internal constant DEADLINE_OFFSET = 11 * 32;
    bytes32 private constant STATUS_MASK = bytes32(uint256(0xff));

    /// @notice The commitment of `job` (as passed in calldata) in `status`.
    function commit(Job calldata job, JobStatus status) internal pure returns (bytes32 c) {
        // Hashing the raw calldata words equals keccak256(abi.encode(job)) for canonical input; a
        // non-canonical encoding hashes differently and simply fails the comparison.
        // slither-disable-next-line assembly (hashes a Job's 12 calldata words; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, job, SIZE)
            c := keccak256(ptr, SIZE)
        }
        c = (c & ~STATUS_MASK) | bytes32(uint256(status));
    }

    /// @notice The commitment of `job` with one word replaced, in `status`.
    function commitWith(Job calldata job, JobStatus status, uint256 offset, uint256 value)
        internal
        pure
        returns (bytes32 c)
    {
        // slither-disable-next-line assembly (hashes a Job's 12 calldata words; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, job, SIZE)
            mstore(add(ptr, offset), value)
            c := keccak256(ptr, SIZE)
        }
        c = (c & ~STATUS_MASK) | bytes32(uint256(status));
    }

    /// @notice The commitment of `job` with two words replaced, in `status`.
    function commitWith(
        Job calldata job,
        JobStatus status,
        uint256 offsetA,
        uint256 valueA,
        uint256 offsetB,
        uint256 valueB
    ) internal pure returns (bytes32 c) {
        // slither-disable-next-line assembly (hashes a Job's 12 calldata words; see contracts/SLITHER.md)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, job, SIZE)
            mstore(add(ptr, offsetA), valueA)
            mstore(add(ptr, offsetB), valueB)
            c := keccak256(ptr, SIZE)
        }
        c = (c & ~STATUS_MASK) | bytes32(uint256(status));
    }

    /// @notice The commitment of an in-memory job in `status`.
    function commitMemory(Job memory job, JobStatus status) internal pure returns (bytes32 c) {
        c = keccak256(abi.encode(job));
        c = (c & ~STATUS_MASK) | bytes32(uint256(status));
    }

    /// @notice The status stored in a commitment's low byte.
    function statusOf(bytes32 commitment) internal pure returns (JobStatus) {
        return JobStatus(uint8(uint256(commitment)));
    }
}
