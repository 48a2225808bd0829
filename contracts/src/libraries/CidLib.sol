// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Shape checks for binary IPFS CIDs (sha2-256 multihash) as Kubo produces them:
/// CIDv0 (`0x1220 || digest`, 34 bytes) and CIDv1 (`0x01 || codec || 0x1220 || digest`, 36 bytes)
/// with codec raw (0x55), dag-pb (0x70), dag-cbor (0x71) or dag-json (0xa9 0x02, 37 bytes).
library CidLib {
    /// @notice True when `cid` is a well-formed binary CID with a sha2-256 multihash.
    function isValid(bytes calldata cid) internal pure returns (bool) {
        uint256 len = cid.length;
        if (len == 34) return cid[0] == 0x12 && cid[1] == 0x20;
        if (len == 36) {
            bytes1 codec = cid[1];
            return cid[0] == 0x01 && (codec == 0x55 || codec == 0x70 || codec == 0x71) && cid[2] == 0x12
                && cid[3] == 0x20;
        }
        if (len == 37) {
            return cid[0] == 0x01 && cid[1] == 0xa9 && cid[2] == 0x02 && cid[3] == 0x12 && cid[4] == 0x20;
        }
        return false;
    }
}
