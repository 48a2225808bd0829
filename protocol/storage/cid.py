"""CIDs as IPFS writes them: unsigned varints, multihashes, multibase strings and CID v0/v1.

Written from the multiformats specifications (unsigned-varint, multihash, multibase,
CID); no CID library is used. A CIDv0 is the bare sha2-256 multihash of a dag-pb block,
written in base58btc ("Qm..."). A CIDv1 is ``varint(1) varint(codec) multihash``,
written by default in lowercase base32 with the multibase prefix ``b``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fabrica.protocol.storage.errors import (
    CidMismatchError,
    InvalidCidError,
    UnsupportedHashError,
)

__all__ = [
    "BLAKE2B_256",
    "DAG_PB",
    "IDENTITY",
    "RAW",
    "SHA2_256",
    "SHA2_512",
    "SHA3_256",
    "Cid",
    "InvalidVarintError",
    "base32_decode",
    "base32_encode",
    "base58btc_decode",
    "base58btc_encode",
    "decode_multihash",
    "decode_varint",
    "encode_multihash",
    "encode_varint",
    "hash_code_for",
    "multihash_digest",
]

# Multicodec table entries used here (https://github.com/multiformats/multicodec).
DAG_PB = 0x70
RAW = 0x55
DAG_CBOR = 0x71
DAG_JSON = 0x0129
LIBP2P_KEY = 0x72

IDENTITY = 0x00
SHA2_256 = 0x12
SHA2_512 = 0x13
SHA3_256 = 0x16
BLAKE2B_256 = 0xB220

CODEC_NAMES: dict[int, str] = {
    DAG_PB: "dag-pb",
    RAW: "raw",
    DAG_CBOR: "dag-cbor",
    DAG_JSON: "dag-json",
    LIBP2P_KEY: "libp2p-key",
}

# code -> (name, digest length or None for variable, hash function or None for identity)
_HASHES: dict[int, tuple[str, int | None, Callable[[bytes], bytes] | None]] = {
    IDENTITY: ("identity", None, None),
    SHA2_256: ("sha2-256", 32, lambda b: hashlib.sha256(b).digest()),
    SHA2_512: ("sha2-512", 64, lambda b: hashlib.sha512(b).digest()),
    SHA3_256: ("sha3-256", 32, lambda b: hashlib.sha3_256(b).digest()),
    BLAKE2B_256: ("blake2b-256", 32, lambda b: hashlib.blake2b(b, digest_size=32).digest()),
}
_HASH_CODES_BY_NAME = {name: code for code, (name, _, _) in _HASHES.items()}

# Kubo refuses identity multihashes longer than this (verifcid.DefaultMaxIdentityDigestSize).
MAX_IDENTITY_DIGEST = 128
# Longest digest accepted from an unknown hash function (sha2-512 is 64).
MAX_DIGEST = 128
# unsigned-varint spec: at most 9 bytes, so values below 2**63.
_MAX_VARINT_BYTES = 9

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_B32_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")


class InvalidVarintError(InvalidCidError):
    """A byte string is not a minimal unsigned varint (multiformats unsigned-varint spec)."""


# --- unsigned varint -------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """Encode a non-negative int below 2**63 as a multiformats unsigned varint."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidVarintError(f"varint value must be a non-negative int, got {value!r}")
    if value >= 1 << 63:
        raise InvalidVarintError(f"varint value {value} is too large: the limit is 2**63 - 1")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode a minimal unsigned varint at ``offset``; return ``(value, next_offset)``."""
    value = 0
    shift = 0
    pos = offset
    end = len(data)
    for count in range(_MAX_VARINT_BYTES):
        if pos >= end:
            raise InvalidVarintError(
                f"varint at offset {offset} is truncated: the input ends after {count} byte(s)"
            )
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and count > 0:
                raise InvalidVarintError(
                    f"varint at offset {offset} is not minimally encoded (trailing zero byte)"
                )
            return value, pos
        shift += 7
    raise InvalidVarintError(
        f"varint at offset {offset} is longer than {_MAX_VARINT_BYTES} bytes"
    )


# --- multibase alphabets ---------------------------------------------------------------


def base58btc_encode(data: bytes) -> str:
    """Encode bytes in base58btc (Bitcoin alphabet), leading zero bytes as '1'."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    chars: list[str] = []
    while number:
        number, rem = divmod(number, 58)
        chars.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(chars))


def base58btc_decode(text: str) -> bytes:
    """Decode a base58btc string; raise InvalidCidError naming the first bad character."""
    number = 0
    for pos, char in enumerate(text):
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise InvalidCidError(
                f"character {char!r} at position {pos} is not in the base58btc alphabet"
            )
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def base32_encode(data: bytes) -> str:
    """Encode bytes in RFC 4648 base32, lowercase, without padding (multibase 'b')."""
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def base32_decode(text: str) -> bytes:
    """Decode unpadded lowercase RFC 4648 base32, rejecting non-canonical input."""
    for pos, char in enumerate(text):
        if char not in _B32_ALPHABET:
            raise InvalidCidError(
                f"character {char!r} at position {pos} is not in the lowercase base32 alphabet"
            )
    if len(text) % 8 in (1, 3, 6):
        raise InvalidCidError(f"base32 text of length {len(text)} cannot encode whole bytes")
    padded = text.upper() + "=" * (-len(text) % 8)
    data = base64.b32decode(padded)
    if base32_encode(data) != text:
        raise InvalidCidError("base32 text has non-zero padding bits (not canonical)")
    return data


# --- multihash -------------------------------------------------------------------------


def hash_code_for(name_or_code: str | int) -> int:
    """Return the multihash code for a name such as 'sha2-256' (or validate a code)."""
    if isinstance(name_or_code, int) and not isinstance(name_or_code, bool):
        if name_or_code not in _HASHES:
            raise UnsupportedHashError(_unsupported_hash_message(name_or_code))
        return name_or_code
    code = _HASH_CODES_BY_NAME.get(str(name_or_code).lower())
    if code is None:
        raise UnsupportedHashError(
            f"unknown hash function {name_or_code!r}; supported: {', '.join(_supported_names())}"
        )
    return code


def _supported_names() -> list[str]:
    return [name for code, (name, _, fn) in _HASHES.items() if fn is not None]


def _unsupported_hash_message(code: int) -> str:
    return (
        f"multihash function 0x{code:x} is not supported; "
        f"supported: {', '.join(_supported_names())}"
    )


def multihash_digest(hash_code: int, data: bytes | bytearray | memoryview) -> bytes:
    """Hash ``data`` with the multihash function ``hash_code`` and return the bare digest."""
    entry = _HASHES.get(hash_code)
    if entry is None:
        raise UnsupportedHashError(_unsupported_hash_message(hash_code))
    fn = entry[2]
    if fn is None:  # identity: the "digest" is the data itself
        if len(data) > MAX_IDENTITY_DIGEST:
            raise UnsupportedHashError(
                f"identity multihash of {len(data)} bytes exceeds the limit of "
                f"{MAX_IDENTITY_DIGEST} bytes"
            )
        return bytes(data)
    return fn(bytes(data) if isinstance(data, memoryview) else data)


def encode_multihash(hash_code: int, digest: bytes) -> bytes:
    """Return ``varint(code) varint(len) digest``."""
    return encode_varint(hash_code) + encode_varint(len(digest)) + digest


def decode_multihash(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """Decode a multihash at ``offset``; return ``(code, digest, next_offset)``."""
    code, pos = decode_varint(data, offset)
    length, pos = decode_varint(data, pos)
    if pos + length > len(data):
        raise InvalidCidError(
            f"multihash declares a {length}-byte digest but only {len(data) - pos} byte(s) follow"
        )
    return code, bytes(data[pos : pos + length]), pos + length


# --- CID -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cid:
    """A content identifier: version (0 or 1), codec, and the multihash (hash_code, digest)."""

    version: int
    codec: int
    digest: bytes
    hash_code: int = SHA2_256

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise InvalidCidError(f"CID version must be 0 or 1, got {self.version!r}")
        if not isinstance(self.codec, int) or self.codec < 0 or self.codec >= 1 << 63:
            raise InvalidCidError(f"CID codec must be a multicodec code, got {self.codec!r}")
        if not isinstance(self.digest, bytes):
            raise InvalidCidError(f"CID digest must be bytes, got {type(self.digest).__name__}")
        if not isinstance(self.hash_code, int) or self.hash_code < 0 or self.hash_code >= 1 << 63:
            raise InvalidCidError(f"multihash code must be a non-negative int, got {self.hash_code!r}")
        if self.version == 0:
            if self.codec != DAG_PB:
                raise InvalidCidError(
                    f"CIDv0 is always dag-pb; codec {self.codec_name} needs CIDv1"
                )
            if self.hash_code != SHA2_256 or len(self.digest) != 32:
                raise InvalidCidError("CIDv0 only supports sha2-256 with a 32-byte digest")
        entry = _HASHES.get(self.hash_code)
        expected_len = entry[1] if entry else None
        if expected_len is not None and len(self.digest) != expected_len:
            raise InvalidCidError(
                f"{entry[0]} digest must be {expected_len} bytes, got {len(self.digest)}"
            )
        limit = MAX_IDENTITY_DIGEST if self.hash_code == IDENTITY else MAX_DIGEST
        if len(self.digest) > limit:
            raise InvalidCidError(f"digest of {len(self.digest)} bytes exceeds {limit} bytes")
        if self.hash_code != IDENTITY and not self.digest:
            raise InvalidCidError("digest is empty")

    # -- construction --

    @classmethod
    def parse(cls, value: str | bytes | bytearray | memoryview | Cid) -> Cid:
        """Parse a CID from its string form (v0 base58btc, v1 multibase) or binary form."""
        if isinstance(value, Cid):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return cls.from_bytes(bytes(value))
        if isinstance(value, str):
            return cls.from_string(value)
        raise InvalidCidError(f"expected a CID string or bytes, got {type(value).__name__}")

    @classmethod
    def from_string(cls, text: str) -> Cid:
        """Parse a CID string: 'Qm...' (v0) or multibase 'b'/'B'/'z'/'f'/'F' (v1)."""
        if not isinstance(text, str):
            raise InvalidCidError(f"expected a CID string, got {type(text).__name__}")
        stripped = text.strip()
        if not stripped:
            raise InvalidCidError("CID string is empty")
        if stripped != text:
            raise InvalidCidError(f"CID {text!r} has leading or trailing whitespace")
        if len(text) == 46 and text.startswith("Qm"):
            raw = base58btc_decode(text)
            if len(raw) != 34 or raw[:2] != b"\x12\x20":
                raise InvalidCidError(f"CIDv0 {text!r} does not decode to a sha2-256 multihash")
            return cls(0, DAG_PB, raw[2:])
        prefix, body = text[0], text[1:]
        try:
            if prefix == "b":
                raw = base32_decode(body)
            elif prefix == "B":
                raw = base32_decode(body.lower())
                if body != body.upper():
                    raise InvalidCidError("base32upper ('B') CID mixes upper and lower case")
            elif prefix == "z":
                raw = base58btc_decode(body)
            elif prefix in ("f", "F"):
                if (prefix == "f" and body != body.lower()) or (prefix == "F" and body != body.upper()):
                    raise InvalidCidError(f"base16 CID with prefix {prefix!r} has mixed case")
                raw = binascii.unhexlify(body)
            else:
                raise InvalidCidError(  # the handler below prefixes the CID itself
                    "it is neither a CIDv0 ('Qm' + 44 base58btc characters) "
                    f"nor a CIDv1 with a supported multibase prefix "
                    f"('b' base32, 'B' base32upper, 'z' base58btc, 'f'/'F' base16); "
                    f"got prefix {prefix!r}"
                )
        except binascii.Error as exc:
            raise InvalidCidError(f"CID {_short(text)} is not valid base16: {exc}") from None
        except InvalidCidError as exc:
            raise InvalidCidError(f"CID {_short(text)} is not valid: {exc}") from None
        cid = cls.from_bytes(raw)
        if cid.version == 0:
            raise InvalidCidError(f"CID {_short(text)}: a CIDv0 must be written in base58btc")
        return cid

    @classmethod
    def from_bytes(cls, raw: bytes) -> Cid:
        """Parse the binary form: a bare sha2-256 multihash (v0) or varint-prefixed CIDv1."""
        cid, end = cls.decode_prefix(raw)
        if end != len(raw):
            raise InvalidCidError(f"{len(raw) - end} unexpected byte(s) after the CID")
        return cid

    @classmethod
    def decode_prefix(cls, raw: bytes | memoryview, offset: int = 0) -> tuple[Cid, int]:
        """Decode one binary CID starting at ``offset``; return ``(cid, next_offset)``."""
        raw = bytes(raw)
        if len(raw) - offset >= 34 and raw[offset] == 0x12 and raw[offset + 1] == 0x20:
            return cls(0, DAG_PB, raw[offset + 2 : offset + 34]), offset + 34
        try:
            version, pos = decode_varint(raw, offset)
            if version == 0x12:
                raise InvalidCidError(
                    "binary CIDv0 must be a sha2-256 multihash with a 32-byte digest"
                )
            if version != 1:
                raise InvalidCidError(f"unsupported CID version {version} (expected 1)")
            codec, pos = decode_varint(raw, pos)
            hash_code, digest, pos = decode_multihash(raw, pos)
        except InvalidCidError as exc:
            raise InvalidCidError(f"binary CID is not valid: {exc}") from None
        return cls(1, codec, digest, hash_code), pos

    @classmethod
    def for_block(
        cls,
        block: bytes | bytearray | memoryview,
        *,
        codec: int = RAW,
        version: int = 1,
        hash_function: str | int = SHA2_256,
    ) -> Cid:
        """Compute the CID of one block (no chunking): hash it and wrap the digest."""
        code = hash_code_for(hash_function)
        return cls(version, codec, multihash_digest(code, block), code)

    # -- views --

    @property
    def multihash(self) -> bytes:
        """The multihash bytes: varint(hash code), varint(length), digest."""
        return encode_multihash(self.hash_code, self.digest)

    @property
    def codec_name(self) -> str:
        """The multicodec name ('dag-pb', 'raw', ...) or hex code if unknown."""
        return CODEC_NAMES.get(self.codec, f"0x{self.codec:x}")

    @property
    def hash_name(self) -> str:
        """The multihash function name ('sha2-256', ...) or hex code if unknown."""
        entry = _HASHES.get(self.hash_code)
        return entry[0] if entry else f"0x{self.hash_code:x}"

    def to_bytes(self) -> bytes:
        """Binary form: the bare multihash for v0, varint(1) varint(codec) multihash for v1."""
        if self.version == 0:
            return self.multihash
        return encode_varint(1) + encode_varint(self.codec) + self.multihash

    def encode(self, base: str = "base32") -> str:
        """String form in ``base``: 'base32' (default for v1), 'base58btc', 'base16'."""
        if self.version == 0:
            if base != "base58btc":
                raise InvalidCidError(
                    f"CIDv0 can only be written in base58btc, not {base}; use to_v1() first"
                )
            return base58btc_encode(self.to_bytes())
        raw = self.to_bytes()
        if base == "base32":
            return "b" + base32_encode(raw)
        if base == "base32upper":
            return "B" + base32_encode(raw).upper()
        if base == "base58btc":
            return "z" + base58btc_encode(raw)
        if base == "base16":
            return "f" + raw.hex()
        raise InvalidCidError(
            f"unknown multibase {base!r}; use base32, base32upper, base58btc or base16"
        )

    def to_v1(self) -> Cid:
        """The same content as a CIDv1 (a v0 becomes dag-pb sha2-256 v1)."""
        return self if self.version == 1 else Cid(1, self.codec, self.digest, self.hash_code)

    def to_v0(self) -> Cid:
        """The same content as a CIDv0; only dag-pb sha2-256 CIDs have one."""
        if self.version == 0:
            return self
        if self.codec != DAG_PB or self.hash_code != SHA2_256:
            raise InvalidCidError(
                f"{self} ({self.codec_name}, {self.hash_name}) has no CIDv0 form: "
                "CIDv0 is only dag-pb with sha2-256"
            )
        return Cid(0, DAG_PB, self.digest)

    def verify(self, block: bytes | bytearray | memoryview) -> None:
        """Raise CidMismatchError unless ``block`` hashes to this CID's multihash."""
        actual = multihash_digest(self.hash_code, block)
        if actual != self.digest:
            raise CidMismatchError(
                f"block does not match its CID {self}: its {self.hash_name} digest is "
                f"{actual.hex()[:16]}..., the CID says {self.digest.hex()[:16]}...; "
                "the stored or served bytes are corrupted or were tampered with",
                expected=self,
                actual=Cid(1, self.codec, actual, self.hash_code),
            )

    def matches(self, block: bytes | bytearray | memoryview) -> bool:
        """Whether ``block`` hashes to this CID's multihash."""
        return multihash_digest(self.hash_code, block) == self.digest

    def __str__(self) -> str:
        return self.encode("base58btc" if self.version == 0 else "base32")

    def __repr__(self) -> str:
        return f"Cid({str(self)!r})"

    # -- pydantic integration: a model field typed `Cid` validates from str/bytes, dumps as str --

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def validate(value: Any) -> Cid:
            try:
                return cls.parse(value)
            except InvalidCidError as exc:
                raise ValueError(str(exc)) from None

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
            json_schema_input_schema=core_schema.str_schema(),
        )


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
