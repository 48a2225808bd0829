"""Sealing content to a node's X25519 key: round trips, wrong keys, tampering, key parsing."""
from __future__ import annotations

import pytest
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage import (
    InvalidKeyError,
    LocalContentStore,
    UnsealError,
    generate_keypair,
    key_from_hex,
    key_to_hex,
    public_key_from_private,
    seal,
    unseal,
)
from fabrica.protocol.storage.sealing import SEAL_OVERHEAD
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey


def test_generate_keypair_returns_32_byte_keys_that_belong_together() -> None:
    pair = generate_keypair()
    assert len(pair.private_key) == 32 and len(pair.public_key) == 32
    assert public_key_from_private(pair.private_key) == pair.public_key
    assert public_key_from_private(PrivateKey(pair.private_key)) == pair.public_key
    assert generate_keypair().private_key != pair.private_key


def test_seal_and_unseal_round_trip() -> None:
    private, public = generate_keypair()
    sealed = seal(b"private design.stl", public)
    assert len(sealed) == len(b"private design.stl") + SEAL_OVERHEAD
    assert b"private design" not in sealed
    assert unseal(sealed, private) == b"private design.stl"
    assert seal(b"same", public) != seal(b"same", public)  # fresh ephemeral key each time


def test_hex_keys_are_accepted_everywhere() -> None:
    private, public = generate_keypair()
    sealed = seal(b"gcode", key_to_hex(public))
    assert unseal(sealed, "0x" + key_to_hex(private)) == b"gcode"


def test_wrong_key_is_a_clear_error() -> None:
    _, public = generate_keypair()
    other_private, other_public = generate_keypair()
    sealed = seal(b"for someone else", public)
    with pytest.raises(UnsealError, match=f"not sealed to this node's key .*{other_public.hex()}"):
        unseal(sealed, other_private)


def test_tampered_sealed_data_is_rejected() -> None:
    private, public = generate_keypair()
    sealed = bytearray(seal(b"design", public))
    sealed[-1] ^= 1
    with pytest.raises(UnsealError, match="modified after sealing"):
        unseal(bytes(sealed), private)
    with pytest.raises(UnsealError, match="shorter than the 48-byte"):
        unseal(b"short", private)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("abcd", "64 hex characters .* got 4"),
        ("zz" * 32, "not hexadecimal"),
        ("", "got 0"),
    ],
)
def test_key_from_hex_names_the_problem(text: str, rule: str) -> None:
    with pytest.raises(InvalidKeyError, match=rule) as info:
        key_from_hex(text)
    assert isinstance(info.value, FabricaValueError)


def test_keys_must_be_32_bytes() -> None:
    with pytest.raises(InvalidKeyError, match="public key must be 32 bytes, got 31"):
        seal(b"x", bytes(31))
    with pytest.raises(InvalidKeyError, match="private key must be 32 bytes"):
        unseal(bytes(60), bytes(33))
    with pytest.raises(FabricaValueError, match="must be bytes"):
        seal("text", generate_keypair().public_key)  # type: ignore[arg-type]


def test_sealed_content_through_the_store(tmp_path) -> None:
    private, public = generate_keypair()
    store = LocalContentStore(tmp_path / "c", fsync=False)
    cid = store.add(seal(b"secret part", public))
    assert unseal(store.get(cid), private) == b"secret part"


_PAIR = generate_keypair()


@settings(max_examples=50)
@given(st.binary(max_size=4096))
def test_seal_round_trip_property(data: bytes) -> None:
    assert unseal(seal(data, _PAIR.public_key), _PAIR.private_key) == data
