// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./utils/Vm.sol";
import {CidHarness, CidReference} from "./utils/CidHarness.sol";

/// @notice Unit tests: the CID shapes Kubo produces are accepted, everything else is not.
contract CidLibTest is TestBase {
    bytes32 internal constant DIGEST = 0xffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100;
    CidHarness internal cid;

    function setUp() public {
        cid = new CidHarness();
    }

    function _check(bytes memory b, bool expected, string memory what) internal view {
        vm.assertEq(cid.isValid(b), expected, what);
        vm.assertEq(CidReference.isValid(b), expected, string.concat("reference: ", what));
    }

    function _v0() internal pure returns (bytes memory) {
        return abi.encodePacked(hex"1220", DIGEST);
    }

    function _v1(bytes memory codec) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"01", codec, hex"1220", DIGEST);
    }

    // ====================================================================================== valid

    function test_isValid_acceptsCidV0() public view {
        _check(_v0(), true, "v0 sha2-256");
        _check(abi.encodePacked(hex"1220", bytes32(0)), true, "v0 zero digest");
    }

    function test_isValid_acceptsCidV1Raw() public view {
        _check(_v1(hex"55"), true, "v1 raw");
    }

    function test_isValid_acceptsCidV1DagPb() public view {
        _check(_v1(hex"70"), true, "v1 dag-pb");
    }

    function test_isValid_acceptsCidV1DagCbor() public view {
        _check(_v1(hex"71"), true, "v1 dag-cbor");
    }

    function test_isValid_acceptsCidV1DagJson() public view {
        _check(_v1(hex"a902"), true, "v1 dag-json (0x0129 as a two-byte varint)");
    }

    function test_isValid_acceptsKuboExample() public view {
        // bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku: raw codec, sha2-256 of the empty file.
        _check(
            hex"01551220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true, "kubo raw cid"
        );
    }

    // ================================================================================ bad lengths

    function test_isValid_rejectsEmpty() public view {
        _check("", false, "empty");
    }

    function test_isValid_rejectsTruncated() public view {
        bytes memory v0 = _v0();
        for (uint256 len; len < v0.length; ++len) {
            bytes memory b = new bytes(len);
            for (uint256 i; i < len; ++i) b[i] = v0[i];
            _check(b, false, "truncated v0");
        }
        _check(abi.encodePacked(hex"01551220", bytes31(DIGEST)), false, "v1 raw 35 bytes");
        _check(abi.encodePacked(hex"01a9021220", bytes31(DIGEST)), false, "dag-json 36 bytes");
    }

    function test_isValid_rejectsTrailingBytes() public view {
        _check(abi.encodePacked(_v0(), hex"00"), false, "v0 + 1 (35 bytes)");
        _check(abi.encodePacked(_v1(hex"55"), hex"00"), false, "raw + 1 (37 bytes)");
        _check(abi.encodePacked(_v1(hex"70"), hex"00"), false, "dag-pb + 1 (37 bytes)");
        _check(abi.encodePacked(_v1(hex"a902"), hex"00"), false, "dag-json + 1 (38 bytes)");
        _check(abi.encodePacked(_v1(hex"a902"), DIGEST), false, "70 bytes");
    }

    // =============================================================================== bad prefixes

    function test_isValid_rejectsV0WithWrongHashOrLength() public view {
        _check(abi.encodePacked(hex"1320", DIGEST), false, "v0 sha2-512 code");
        _check(abi.encodePacked(hex"1120", DIGEST), false, "v0 sha1 code");
        _check(abi.encodePacked(hex"1221", DIGEST), false, "v0 length 33");
        _check(abi.encodePacked(hex"121f", DIGEST), false, "v0 length 31");
        _check(abi.encodePacked(hex"0000", DIGEST), false, "v0 zero prefix");
    }

    function test_isValid_rejectsWrongVersion() public view {
        _check(abi.encodePacked(hex"00551220", DIGEST), false, "version 0 prefix on 36 bytes");
        _check(abi.encodePacked(hex"02551220", DIGEST), false, "version 2");
        _check(abi.encodePacked(hex"02a9021220", DIGEST), false, "version 2 dag-json");
        _check(abi.encodePacked(hex"12551220", DIGEST), false, "v0 prefix on 36 bytes");
    }

    function test_isValid_rejectsUnknownCodec() public view {
        _check(_v1(hex"72"), false, "libp2p-key");
        _check(_v1(hex"00"), false, "identity codec");
        _check(_v1(hex"56"), false, "0x56");
        _check(_v1(hex"a903"), false, "0x01a9 (not dag-json)");
        _check(_v1(hex"a901"), false, "0x00a9");
        _check(_v1(hex"8002"), false, "0x0100");
        _check(_v1(hex"d500"), false, "raw as a non-minimal two-byte varint");
    }

    function test_isValid_rejectsV1WithWrongMultihash() public view {
        _check(abi.encodePacked(hex"01551320", DIGEST), false, "raw sha2-512 code");
        _check(abi.encodePacked(hex"01701221", DIGEST), false, "dag-pb length 33");
        _check(abi.encodePacked(hex"01710020", DIGEST), false, "dag-cbor identity hash");
        _check(abi.encodePacked(hex"01a9021320", DIGEST), false, "dag-json sha2-512 code");
        _check(abi.encodePacked(hex"01a9021221", DIGEST), false, "dag-json length 33");
        _check(abi.encodePacked(hex"01a9021b20", DIGEST), false, "dag-json keccak-256");
    }

    function test_isValid_rejectsCodecOnWrongLength() public view {
        // dag-json's two-byte codec on a 36-byte input, a one-byte codec on a 37-byte input.
        _check(abi.encodePacked(hex"01a91220", bytes32(DIGEST)), false, "0xa9 0x12 on 36 bytes");
        _check(abi.encodePacked(hex"0155021220", DIGEST), false, "raw with an extra byte on 37 bytes");
    }

    function test_isValid_rejectsMultibaseText() public view {
        // The base32 text form "b..." is not binary.
        _check(bytes("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"), false, "text cid");
        _check(bytes("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"), false, "text v0");
    }
}
