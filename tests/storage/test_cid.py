"""CIDs, varints, multihashes and multibase: known encodings, strict parsing, round trips."""
from __future__ import annotations

import hashlib

import pytest
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage import (
    DAG_PB,
    IDENTITY,
    RAW,
    SHA2_256,
    Cid,
    CidMismatchError,
    InvalidCidError,
    UnsupportedHashError,
)
from fabrica.protocol.storage.cid import (
    base32_decode,
    base32_encode,
    base58btc_decode,
    base58btc_encode,
    decode_varint,
    encode_varint,
)
from fabrica.protocol.storage.unixfs import iter_file_bytes
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


# --- varint (examples from the multiformats unsigned-varint README) ---------------------

@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (1, "01"),
        (127, "7f"),
        (128, "8001"),
        (255, "ff01"),
        (300, "ac02"),
        (16384, "808001"),
        (0x70, "70"),
        (0xB220, "a0e402"),
    ],
)
def test_varint_known_encodings(value: int, encoded: str) -> None:
    assert encode_varint(value).hex() == encoded
    assert decode_varint(bytes.fromhex(encoded)) == (value, len(encoded) // 2)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("8000", "not minimally encoded"),
        ("ff", "truncated"),
        ("", "truncated"),
        ("ffffffffffffffffff01", "longer than 9 bytes"),
    ],
)
def test_varint_rejects_bad_encodings(raw: str, rule: str) -> None:
    with pytest.raises(InvalidCidError, match=rule):
        decode_varint(bytes.fromhex(raw))


def test_varint_rejects_negative_and_huge_values() -> None:
    with pytest.raises(InvalidCidError):
        encode_varint(-1)
    with pytest.raises(InvalidCidError, match="too large"):
        encode_varint(1 << 63)


@given(st.integers(min_value=0, max_value=(1 << 63) - 1))
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded) == (value, len(encoded))


# --- multibase alphabets ------------------------------------------------------------------

@given(st.binary(max_size=80))
def test_base58btc_round_trip(data: bytes) -> None:
    assert base58btc_decode(base58btc_encode(data)) == data


@given(st.binary(max_size=80))
def test_base32_round_trip(data: bytes) -> None:
    text = base32_encode(data)
    assert text == text.lower() and "=" not in text
    assert base32_decode(text) == data


def test_base58_rejects_characters_outside_the_alphabet() -> None:
    with pytest.raises(InvalidCidError, match="'0' at position 3"):
        base58btc_decode("Qmx0abc")


def test_base32_rejects_non_canonical_trailing_bits() -> None:
    assert base32_encode(b"\xff") == "74"
    with pytest.raises(InvalidCidError, match="not canonical"):
        base32_decode("77")


# --- CIDs ---------------------------------------------------------------------------------

def test_cidv0_to_cidv1_and_digest() -> None:
    # kubo docs/changelogs/v0.4.md (`ipfs cid format` / `ipfs cid base32` examples)
    cid = Cid.parse(HELLO_V0)
    assert (cid.version, cid.codec, cid.hash_code) == (0, DAG_PB, SHA2_256)
    assert cid.digest.hex() == "46d44814b9c5af141c3aaab7c05dc5e844ead5f91f12858b021eba45768b4c0e"
    assert str(cid.to_v1()) == "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby"
    assert cid.to_v1().to_v0() == cid
    assert str(cid) == HELLO_V0 and repr(cid) == f"Cid('{HELLO_V0}')"
    assert cid.to_bytes() == b"\x12\x20" + cid.digest
    assert Cid.parse(cid.to_bytes()) == cid


def test_cidv1_raw_parts() -> None:
    # kubo test/sharness/t0040-add-and-cat.sh: the empty file with --raw-leaves
    cid = Cid.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    assert (cid.version, cid.codec, cid.codec_name, cid.hash_name) == (1, RAW, "raw", "sha2-256")
    assert cid.digest == hashlib.sha256(b"").digest()
    assert cid.to_bytes()[:4] == bytes([0x01, 0x55, 0x12, 0x20])
    cid.verify(b"")
    with pytest.raises(CidMismatchError, match="does not match its CID") as info:
        cid.verify(b"x")
    assert info.value.expected == cid
    with pytest.raises(InvalidCidError, match="no CIDv0 form"):
        cid.to_v0()


@pytest.mark.parametrize("base", ["base32", "base32upper", "base58btc", "base16"])
def test_cidv1_parses_in_every_supported_multibase(base: str) -> None:
    cid = Cid.parse(HELLO_V0).to_v1()
    text = cid.encode(base)
    assert text[0] == {"base32": "b", "base32upper": "B", "base58btc": "z", "base16": "f"}[base]
    assert Cid.parse(text) == cid


def test_identity_cids_from_kubo_inline_tests() -> None:
    # kubo core/coreiface/tests/unixfs.go: "addInlineRaw", "addInlineZero", "addInline"
    raw = Cid.parse("bafkqadlimvwgy3zmeb3w64tmmqqq")
    assert (raw.codec, raw.hash_code, raw.digest) == (RAW, IDENTITY, b"hello, world!")
    raw.verify(b"hello, world!")
    assert Cid.parse("bafkqaaa").digest == b""
    inline = Cid.parse("bafyaafikcmeaeeqnnbswy3dpfqqho33snrsccgan")
    assert (inline.codec, inline.hash_code) == (DAG_PB, IDENTITY)
    assert b"".join(iter_file_bytes(inline, lambda c: c.digest)) == b"hello, world!"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "empty"),
        (" " + HELLO_V0, "whitespace"),
        ("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50", "'0'"),
        ("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5", "prefix 'Q'"),
        ("xyz", "prefix 'x'"),
        ("bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mb", "not valid"),
        ("bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mbY", "not in the lowercase"),
        ("bciqe3vcics44llyudq5kvn6alxc6qrhk2x4r6euftmbb5osfo2fuydq", "must be written in base58btc"),
        ("f0270" + "12" + "20" + "00" * 32, "unsupported CID version 2"),
        ("f0155" + "12" + "20" + "00" * 31, "declares a 32-byte digest"),
        ("f0155" + "12" + "1f" + "00" * 31, "sha2-256 digest must be 32 bytes"),
        ("f0155" + "12" + "20" + "00" * 33, "unexpected byte"),
        ("f01551220zz", "not valid base16"),
    ],
)
def test_parse_rejects_invalid_cids_with_a_reason(text: str, rule: str) -> None:
    with pytest.raises(InvalidCidError, match=rule) as info:
        Cid.parse(text)
    assert isinstance(info.value, FabricaValueError) and isinstance(info.value, ValueError)


def test_constructor_enforces_cidv0_rules() -> None:
    with pytest.raises(InvalidCidError, match="CIDv0 is always dag-pb"):
        Cid(0, RAW, bytes(32))
    with pytest.raises(InvalidCidError, match="only supports sha2-256"):
        Cid(0, DAG_PB, bytes(64), 0x13)
    with pytest.raises(InvalidCidError, match="version must be 0 or 1"):
        Cid(2, RAW, bytes(32))
    with pytest.raises(InvalidCidError, match="base58btc"):
        Cid(0, DAG_PB, bytes(32)).encode("base32")


def test_unknown_hash_function_parses_but_cannot_verify() -> None:
    cid = Cid(1, RAW, bytes(20), 0x11)  # sha1: a valid CID this package does not verify
    assert Cid.parse(str(cid)) == cid and cid.hash_name == "0x11"
    with pytest.raises(UnsupportedHashError, match="0x11 is not supported"):
        cid.verify(b"")


def test_for_block_matches_kubo_block_put() -> None:
    # bafkrei… for "hello world" (no newline) from kubo test/cli/add_test.go shortStringCidV1
    cid = Cid.for_block(b"hello world")
    assert str(cid) == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


class _Design(BaseModel):
    cid: Cid


def test_cid_as_pydantic_field() -> None:
    model = _Design.model_validate({"cid": HELLO_V0})
    assert model.cid == Cid.parse(HELLO_V0)
    assert model.model_dump(mode="json") == {"cid": HELLO_V0}
    assert _Design.model_validate_json(model.model_dump_json()) == model
    with pytest.raises(ValidationError, match="neither a CIDv0"):
        _Design.model_validate({"cid": "nope"})


_codecs = st.sampled_from([DAG_PB, RAW, 0x71, 0x0129])
_hashes = st.sampled_from([(SHA2_256, 32), (0x13, 64), (0x16, 32), (0xB220, 32)])


@given(_codecs, _hashes, st.data())
def test_cidv1_string_and_binary_round_trip(codec: int, hash_spec: tuple[int, int], data) -> None:
    code, length = hash_spec
    digest = data.draw(st.binary(min_size=length, max_size=length))
    cid = Cid(1, codec, digest, code)
    assert Cid.parse(str(cid)) == cid
    assert Cid.parse(cid.to_bytes()) == cid
    assert str(cid).startswith("b")


@given(st.binary(min_size=32, max_size=32))
def test_cidv0_round_trip(digest: bytes) -> None:
    cid = Cid(0, DAG_PB, digest)
    text = str(cid)
    assert text.startswith("Qm") and len(text) == 46
    assert Cid.parse(text) == cid and Cid.parse(cid.to_bytes()) == cid
