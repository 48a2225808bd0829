"""Sign-In with Ethereum (EIP-4361): parse, format and verify the message a wallet signs with `personal_sign`.

Our own implementation rather than the `siwe` package: siwe 4.4 pins web3 < 8 (web3 8.0 is out, so it would
hold the whole SDK back) and fails to import with the current `abnf` release its grammar needs. The message
format is small and fixed by the EIP; `parse` follows its ABNF line by line and refuses anything else.

Verification checks the domain, the URI's origin, the chain id, the version, issued-at / expiration-time /
not-before against the clock, then the signature: recovered from an EOA, or accepted by a contract wallet's
ERC-1271 `isValidSignature(hash, signature)` when the address holds code. The nonce is the caller's to
check and spend (it lives in the database).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from .errors import Unauthorized

HEADER = " wants you to sign in with your Ethereum account:"
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
_NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9.\-\[\]:@%_~!$&'()*+,;=]+$")
_FIELDS = ("URI", "Version", "Chain ID", "Nonce", "Issued At", "Expiration Time", "Not Before", "Request ID")
_REQUIRED = ("URI", "Version", "Chain ID", "Nonce", "Issued At")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class SiweError(Unauthorized):
    """A sign-in message refused; the detail says which check failed (answered as 401)."""

    code = "siwe_refused"


def _time(text: str, name: str) -> datetime:
    if not _RFC3339.match(text):
        raise SiweError(f"{name} {text!r} is not an RFC 3339 date-time like 2026-01-31T12:00:00Z")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SiweError(f"{name} {text!r} is not a valid date-time") from None


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class SiweMessage:
    """The fields of an EIP-4361 message."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: str
    version: str = "1"
    statement: str | None = None
    scheme: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default=())

    def text(self) -> str:
        """The message exactly as a wallet shows and signs it."""
        prefix = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [prefix + HEADER, self.address, ""]
        if self.statement is not None:
            lines += [self.statement, ""]
        else:
            lines.append("")
        lines += [f"URI: {self.uri}", f"Version: {self.version}", f"Chain ID: {self.chain_id}",
                  f"Nonce: {self.nonce}", f"Issued At: {self.issued_at}"]
        for name, value in (("Expiration Time", self.expiration_time), ("Not Before", self.not_before),
                            ("Request ID", self.request_id)):
            if value is not None:
                lines.append(f"{name}: {value}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)

    @classmethod
    def parse(cls, text: str) -> SiweMessage:
        """Parse a message following EIP-4361's ABNF; anything else is refused with the line at fault."""
        if not isinstance(text, str) or len(text) > 8192:
            raise SiweError("message must be an EIP-4361 text of at most 8 KiB")
        lines = text.split("\n")
        if len(lines) < 8 or not lines[0].endswith(HEADER):
            raise SiweError(f"message must start with '<domain>{HEADER}'")
        authority = lines[0][: -len(HEADER)]
        scheme = None
        if "://" in authority:
            scheme, authority = authority.split("://", 1)
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
                raise SiweError(f"scheme {scheme!r} is not a URI scheme")
        if not authority or not _DOMAIN.match(authority):
            raise SiweError(f"domain {authority!r} is not an RFC 3986 authority")
        address = lines[1]
        if not _ADDRESS.match(address):
            raise SiweError(f"line 2 must be the signing address (0x and 40 hex digits), got {address!r}")
        from eth_utils import to_checksum_address

        if to_checksum_address(address) != address:
            raise SiweError(f"address {address} is not in its EIP-55 checksum form {to_checksum_address(address)}")
        if lines[2] != "":
            raise SiweError("line 3 must be empty")
        i = 3
        statement = None
        if lines[i] == "":  # no statement: the ABNF's two line feeds
            i += 1
        elif lines[i].startswith("URI: "):
            pass  # tolerated: some wallets' libraries drop the empty line when there is no statement
        else:
            statement = lines[i]
            if "\n" in statement or lines[i + 1] != "":
                raise SiweError("the statement must be one line followed by an empty line")
            i += 2
        values: dict[str, str] = {}
        order = list(_FIELDS)
        resources: list[str] = []
        while i < len(lines):
            line = lines[i]
            if line == "Resources:":
                resources = [r[2:] for r in lines[i + 1:]]
                if not all(r for r in resources) or not all(x.startswith("- ") for x in lines[i + 1:]):
                    raise SiweError("each resource must be on its own line as '- <URI>'")
                break
            name, sep, value = line.partition(": ")
            if not sep or name not in order:
                raise SiweError(f"unexpected line {line[:80]!r} (fields in order: {', '.join(_FIELDS)})")
            order = order[order.index(name) + 1:]  # fields appear once, in the EIP's order
            values[name] = value
            i += 1
        missing = [n for n in _REQUIRED if n not in values]
        if missing:
            raise SiweError(f"message lacks {', '.join(missing)}")
        if values["Version"] != "1":
            raise SiweError(f"version {values['Version']!r} is not 1")
        if not values["Chain ID"].isdigit():
            raise SiweError(f"chain id {values['Chain ID']!r} is not a number")
        if not _NONCE.match(values["Nonce"]):
            raise SiweError("nonce must be 8 to 64 letters and digits")
        uri = values["URI"]
        if not urlsplit(uri).scheme:
            raise SiweError(f"URI {uri!r} is not an absolute URI")
        for name in ("Issued At", "Expiration Time", "Not Before"):
            if name in values:
                _time(values[name], name.lower())
        return cls(domain=authority, address=address, uri=uri, chain_id=int(values["Chain ID"]),
                   nonce=values["Nonce"], issued_at=values["Issued At"], version=values["Version"],
                   statement=statement, scheme=scheme, expiration_time=values.get("Expiration Time"),
                   not_before=values.get("Not Before"), request_id=values.get("Request ID"),
                   resources=tuple(resources))

    def with_times(self, issued: datetime, expires: datetime | None = None) -> SiweMessage:
        """A copy with issued-at (and expiration-time) set from datetimes."""
        return replace(self, issued_at=_iso(issued), expiration_time=_iso(expires) if expires else None)


def check_fields(msg: SiweMessage, *, domain: str, origin: str, chain_id: int, now: datetime,
                 skew_s: int, max_age_s: int) -> None:
    """Refuse a message meant for another site or chain, or outside its validity window."""
    if msg.domain != domain:
        raise SiweError(f"message is for domain {msg.domain!r}, this gateway is {domain!r}")
    u = urlsplit(msg.uri)
    if f"{u.scheme}://{u.netloc}" != origin:
        raise SiweError(f"URI {msg.uri!r} is not on this gateway's origin {origin}")
    if msg.scheme is not None and msg.scheme != urlsplit(origin).scheme:
        raise SiweError(f"message scheme {msg.scheme!r} does not match {origin}")
    if msg.chain_id != chain_id:
        raise SiweError(f"message is for chain {msg.chain_id}, this gateway serves chain {chain_id}")
    issued = _time(msg.issued_at, "issued-at")
    age = (now - issued).total_seconds()
    if age < -skew_s:
        raise SiweError(f"issued-at {msg.issued_at} is in the future")
    if age > max_age_s:
        raise SiweError(f"message was issued at {msg.issued_at}, more than {max_age_s} s ago: sign in again")
    if msg.expiration_time is not None and _time(msg.expiration_time, "expiration-time") <= now:
        raise SiweError(f"message expired at {msg.expiration_time}")
    if msg.not_before is not None and _time(msg.not_before, "not-before") > now:
        raise SiweError(f"message is not valid before {msg.not_before}")


def _signature_bytes(signature: str) -> bytes:
    if not isinstance(signature, str) or not re.fullmatch(r"0x[0-9a-fA-F]+", signature or ""):
        raise SiweError("signature must be 0x-prefixed hex")
    raw = bytes.fromhex(signature[2:])
    if not 64 <= len(raw) <= 4096:
        raise SiweError("signature has the wrong length")
    return raw


def check_signature(text: str, msg: SiweMessage, signature: str,
                    contract_check: Callable[[str, bytes, bytes], bool] | None) -> str:
    """The checksummed signer of `text`: an EOA's recovered key, or a contract wallet that accepts it (ERC-1271).

    `contract_check(address, hash, signature)` calls the wallet; None means the chain is not reachable.
    """
    from eth_account import Account
    from eth_account.messages import _hash_eip191_message, encode_defunct

    raw = _signature_bytes(signature)
    encoded = encode_defunct(text=text)
    recovered = None
    if len(raw) == 65:
        try:
            recovered = Account.recover_message(encoded, signature=raw)
        except Exception:  # malformed (v, r, s): maybe a contract wallet's own format
            recovered = None
    if recovered == msg.address:
        return msg.address
    if contract_check is not None and contract_check(msg.address, _hash_eip191_message(encoded), raw):
        return msg.address
    raise SiweError("signature does not match the message's address (nor does a contract wallet there accept it)")


def now_utc() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)
