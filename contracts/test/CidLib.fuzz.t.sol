// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./utils/Vm.sol";
import {CidHarness, CidReference} from "./utils/CidHarness.sol";

/// @notice Fuzz tests: CidLib agrees with a spec-following reference decoder on random, structured
/// and mutated inputs.
contract CidLibFuzzTest is TestBase {
    CidHarness internal cid;

    function setUp() public {
        cid = new CidHarness();
    }

    function _agree(bytes memory b) internal view returns (bool valid) {
        valid = CidReference.isValid(b);
        vm.assertEq(cid.isValid(b), valid, "CidLib disagrees with the reference decoder");
    }

    /// @dev A valid CID of each kind Fabrica accepts around `digest`.
    function _valid(uint256 kind, bytes32 digest) internal pure returns (bytes memory) {
        kind = kind % 5;
        if (kind == 0) return abi.encodePacked(hex"1220", digest);
        if (kind == 1) return abi.encodePacked(hex"01551220", digest);
        if (kind == 2) return abi.encodePacked(hex"01701220", digest);
        if (kind == 3) return abi.encodePacked(hex"01711220", digest);
        return abi.encodePacked(hex"01a9021220", digest);
    }

    function testFuzz_isValid_matchesReferenceOnRandomBytes(bytes calldata b) public view {
        _agree(b);
    }

    function testFuzz_isValid_acceptsEveryDigest(uint8 kind, bytes32 digest) public view {
        vm.assertTrue(_agree(_valid(kind, digest)), "valid CID refused");
    }

    function testFuzz_isValid_matchesReferenceOnMutations(uint8 kind, bytes32 digest, uint8 pos, uint8 value)
        public
        view
    {
        bytes memory b = _valid(kind, digest);
        b[pos % b.length] = bytes1(value);
        _agree(b);
    }

    function testFuzz_isValid_matchesReferenceOnPrefixMutations(uint8 kind, bytes32 digest, uint8 pos, uint8 value)
        public
        view
    {
        bytes memory b = _valid(kind, digest);
        // Header bytes only: version, codec and multihash prefix are where validity is decided.
        uint256 header = b.length - 32;
        b[pos % header] = bytes1(value);
        _agree(b);
    }

    function testFuzz_isValid_matchesReferenceOnResizing(uint8 kind, bytes32 digest, uint8 newLength) public view {
        bytes memory v = _valid(kind, digest);
        uint256 len = bound(newLength, 0, 40);
        bytes memory b = new bytes(len);
        for (uint256 i; i < len; ++i) b[i] = i < v.length ? v[i] : bytes1(digest[i % 32]);
        bool valid = _agree(b);
        if (len != v.length) vm.assertFalse(valid, "wrong length accepted");
    }

    function testFuzz_isValid_matchesReferenceOnHeaders(bytes5 header, bytes32 digest, uint8 headerLength)
        public
        view
    {
        uint256 h = bound(headerLength, 1, 5);
        bytes memory b = new bytes(h + 32);
        for (uint256 i; i < h; ++i) b[i] = header[i];
        for (uint256 i; i < 32; ++i) b[h + i] = digest[i];
        _agree(b);
    }
}
