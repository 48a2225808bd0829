"""Sealing private designs to a fabrication node's X25519 public key (libsodium sealed boxes).

A sealed box (``crypto_box_seal``) encrypts to a public key with a fresh ephemeral key pair:
anyone can seal, only the holder of the matching private key can open, and the sender
stays anonymous. Sealed output is 48 bytes longer than the input (ephemeral public key
plus authentication tag). Keys are raw 32-byte X25519 keys, written as 64 hex characters.
"""
from __future__ import annotations

from typing import NamedTuple

from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage.errors import InvalidKeyError, UnsealError
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

__all__ = [
    "KEY_SIZE",
    "SEAL_OVERHEAD",
    "SealingKeyPair",
    "generate_keypair",
    "key_from_hex",
    "key_to_hex",
    "public_key_from_private",
    "seal",
    "unseal",
]

#: Size of X25519 public and private keys, in bytes.
KEY_SIZE = 32
#: Bytes a sealed box adds: the ephemeral public key (32) and the Poly1305 tag (16).
SEAL_OVERHEAD = 48


class SealingKeyPair(NamedTuple):
    """A node's X25519 key pair as raw 32-byte keys."""

    private_key: bytes
    public_key: bytes


def generate_keypair() -> SealingKeyPair:
    """Generate a fresh X25519 key pair for sealing (private key, public key)."""
    private = PrivateKey.generate()
    return SealingKeyPair(bytes(private), bytes(private.public_key))


def _key_bytes(key: bytes | bytearray | str, what: str) -> bytes:
    if isinstance(key, str):
        return key_from_hex(key, what=what)
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidKeyError(f"{what} must be {KEY_SIZE} bytes or 64 hex characters, "
                              f"got {type(key).__name__}")
    if len(key) != KEY_SIZE:
        raise InvalidKeyError(f"{what} must be {KEY_SIZE} bytes, got {len(key)}")
    return bytes(key)


def public_key_from_private(private_key: bytes | str | PrivateKey) -> bytes:
    """Return the 32-byte X25519 public key that belongs to ``private_key``."""
    if isinstance(private_key, PrivateKey):
        return bytes(private_key.public_key)
    return bytes(PrivateKey(_key_bytes(private_key, "private key")).public_key)


def seal(data: bytes, public_key: bytes | str | PublicKey) -> bytes:
    """Encrypt ``data`` so that only the holder of ``public_key``'s private key can read it."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FabricaValueError(f"data to seal must be bytes, got {type(data).__name__}")
    key = public_key if isinstance(public_key, PublicKey) else PublicKey(
        _key_bytes(public_key, "public key")
    )
    try:
        return SealedBox(key).encrypt(bytes(data))
    except CryptoError:  # libsodium refuses low-order points (all zeros…): no shared secret exists
        raise InvalidKeyError(
            f"public key {key_to_hex(bytes(key))} is not a usable X25519 key (a low-order point); "
            "use the node's real public key (`fabrica node show ID`)"
        ) from None


def unseal(sealed: bytes, private_key: bytes | str | PrivateKey) -> bytes:
    """Decrypt data sealed to this private key; UnsealError if the key or data is wrong."""
    key = private_key if isinstance(private_key, PrivateKey) else PrivateKey(
        _key_bytes(private_key, "private key")
    )
    if len(sealed) < SEAL_OVERHEAD:
        raise UnsealError(
            f"sealed data is {len(sealed)} bytes, shorter than the {SEAL_OVERHEAD}-byte "
            "sealed-box overhead; it is not sealed content"
        )
    try:
        return SealedBox(key).decrypt(bytes(sealed))
    except CryptoError:
        raise UnsealError(
            "cannot unseal: the data was not sealed to this node's key (public key "
            f"{key_to_hex(bytes(key.public_key))}), or it was modified after sealing"
        ) from None


def key_to_hex(key: bytes) -> str:
    """Write a 32-byte key as 64 lowercase hex characters."""
    return _key_bytes(key, "key").hex()


def key_from_hex(text: str, *, what: str = "key") -> bytes:
    """Read a 32-byte key from 64 hex characters (an optional 0x prefix is allowed)."""
    if not isinstance(text, str):
        raise InvalidKeyError(f"{what} must be a hex string, got {type(text).__name__}")
    body = text.strip()
    if body[:2].lower() == "0x":
        body = body[2:]
    if len(body) != 2 * KEY_SIZE:
        raise InvalidKeyError(
            f"{what} must be {2 * KEY_SIZE} hex characters ({KEY_SIZE} bytes), got {len(body)}"
        )
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise InvalidKeyError(f"{what} is not hexadecimal: {text!r}") from None
