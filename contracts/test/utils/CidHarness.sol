// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {CidLib} from "../../src/libraries/CidLib.sol";

/// @notice Exposes the calldata-only CidLib to tests.
contract CidHarness {
    function isValid(bytes calldata cid) external pure returns (bool) {
        return CidLib.isValid(cid);
    }
}

/// @notice An independent reference: decodes a binary CID the way the multiformats spec reads one
/// (unsigned LEB128 varints, minimally encoded) and accepts exactly what Fabrica allows: CIDv0, or
/// CIDv1 with codec raw, dag-pb, dag-cbor or dag-json over a 32-byte sha2-256 multihash.
library CidReference {
    uint256 internal constant SHA2_256 = 0x12;
    uint256 internal constant DIGEST_LENGTH = 32;

    /// @dev Reads one varint at `pos`; `ok` is false when truncated, over 9 bytes, or not minimal.
    function readVarint(bytes memory b, uint256 pos) internal pure returns (bool ok, uint256 value, uint256 next) {
        uint256 shift;
        for (uint256 i = pos; i < b.length && i < pos + 9; ++i) {
            uint8 byte_ = uint8(b[i]);
            value |= uint256(byte_ & 0x7f) << shift;
            shift += 7;
            if (byte_ & 0x80 == 0) {
                // Minimal: a multi-byte varint may not end in a zero byte.
                if (i > pos && byte_ == 0) return (false, 0, 0);
                return (true, value, i + 1);
            }
        }
        return (false, 0, 0);
    }

    function isAllowedCodec(uint256 codec) internal pure returns (bool) {
        return codec == 0x55 || codec == 0x70 || codec == 0x71 || codec == 0x0129;
    }

    /// @dev A sha2-256 multihash that spans exactly the rest of `b` from `pos`.
    function isSha256Multihash(bytes memory b, uint256 pos) internal pure returns (bool) {
        (bool ok, uint256 code, uint256 p) = readVarint(b, pos);
        if (!ok || code != SHA2_256) return false;
        uint256 len;
        (ok, len, p) = readVarint(b, p);
        if (!ok || len != DIGEST_LENGTH) return false;
        return b.length - p == len;
    }

    function isValid(bytes memory b) internal pure returns (bool) {
        // CIDv0 is a bare multihash; it always starts with 0x12 0x20 and has no version prefix.
        if (b.length == 34 && uint8(b[0]) == SHA2_256) return isSha256Multihash(b, 0);
        (bool ok, uint256 version, uint256 p) = readVarint(b, 0);
        if (!ok || version != 1) return false;
        uint256 codec;
        (ok, codec, p) = readVarint(b, p);
        if (!ok || !isAllowedCodec(codec)) return false;
        return isSha256Multihash(b, p);
    }
}
