"""Node telemetry batches: what `fabrica node run` pushes to the gateway, and how the node's operator signs them.

A batch (schema `fabrica.telemetry/1`) carries one machine's samples and print-log lines:

    {"schema": "fabrica.telemetry/1", "chain_id": 31337, "node_id": 3, "operator": "0xabc…", "machine": "mk4-1",
     "seq": 1718000000123, "sent_at": 1718000000.125,
     "samples": [{"t": 1718000000.0, "state": "printing", "hotend": 214.8, "hotend_target": 215.0, "bed": 60.1,
                  "bed_target": 60.0, "hotend_duty": 0.5039, "bed_duty": 0.2, "progress": 0.4312, "job_id": 7,
                  "error": null}],
     "logs": [{"t": 1718000000.0, "level": "info", "line": "attempt 1: 812 lines", "job_id": 7}]}

`seq` increases with every batch of a node (the gateway refuses one not above the last it stored); `sent_at` is
when it was signed (Unix seconds); times are Unix seconds; duty and progress are 0..1. Numbers are rounded on
parse to the resolution the signature covers: times to the millisecond, temperatures to 0.01 °C, duty and
progress to 1/10,000.

Signature: EIP-191 `personal_sign` (eth_sign's "\\x19Ethereum Signed Message:\\n32" prefix) over the 32-byte
sha256 of the batch's canonical bytes, by the node operator's key — the account that registered the node and
claims its jobs. Canonical bytes (`canonical_bytes`): the batch as JSON with keys sorted, no whitespace, UTF-8,
`operator` lowercase, absent optional values as null, and every number as an integer in fixed units — times in
milliseconds, temperatures in centidegrees, duty and progress in 1/10,000 — so any language reproduces the same
bytes without agreeing on how to print a float. It travels as `{"batch": {…}, "signature": "0x…65 bytes"}`.
"""
from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from fabrica.protocol.errors import FabricaError

SCHEMA = "fabrica.telemetry/1"
SIGNATURE_SCHEME = "eip191-sha256"
STATES = ("idle", "heating", "printing", "paused", "done", "cancelled", "error", "offline")
LEVELS = ("debug", "info", "warning", "error")
HARD_MAX_ITEMS = 100_000  # samples or log lines a batch may ever hold (gateways configure lower limits)
MAX_LINE_CHARS = 2000
MAX_ERROR_CHARS = 1000
MAX_ID = 2**63 - 1  # node and job ids are stored as signed 64-bit integers
TIME_SCALE, TEMP_SCALE, FRACTION_SCALE = 1000, 100, 10_000  # canonical integer units


class TelemetryError(FabricaError):
    """A telemetry batch that cannot be signed or whose signature cannot be read."""


def _rounder(scale: int) -> Any:
    def rounded(v: float | None) -> float | None:
        return None if v is None else round(v * scale) / scale

    return AfterValidator(rounded)


Time = Annotated[float, Field(ge=0, le=1e11), _rounder(TIME_SCALE)]  # Unix seconds (to year 5138)
Temp = Annotated[float, Field(ge=-300, le=2000), _rounder(TEMP_SCALE)]  # °C
Fraction = Annotated[float, Field(ge=0, le=1), _rounder(FRACTION_SCALE)]
Id = Annotated[int, Field(ge=0, le=MAX_ID)]
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Sample(BaseModel):
    """One reading of a machine: temperatures and targets, heater duty (Marlin @: and B@:), progress, state."""

    model_config = _STRICT

    t: Time
    state: Literal[STATES] | None = None  # type: ignore[valid-type]
    hotend: Temp | None = None
    hotend_target: Temp | None = None
    bed: Temp | None = None
    bed_target: Temp | None = None
    hotend_duty: Fraction | None = None
    bed_duty: Fraction | None = None
    progress: Fraction | None = None
    job_id: Id | None = None
    error: Annotated[str, Field(max_length=MAX_ERROR_CHARS)] | None = None


class LogLine(BaseModel):
    """One line of a print's log."""

    model_config = _STRICT

    t: Time
    level: Literal[LEVELS] = "info"  # type: ignore[valid-type]
    line: Annotated[str, Field(max_length=MAX_LINE_CHARS)]
    job_id: Id | None = None


class TelemetryBatch(BaseModel):
    """One signed push: a node's samples and log lines since its last batch."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    schema_: Literal[SCHEMA] = Field(SCHEMA, alias="schema")  # type: ignore[valid-type]
    chain_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    node_id: Id
    operator: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
    machine: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    seq: Annotated[int, Field(ge=1, le=MAX_ID)]
    sent_at: Time
    samples: Annotated[list[Sample], Field(max_length=HARD_MAX_ITEMS)] = []
    logs: Annotated[list[LogLine], Field(max_length=HARD_MAX_ITEMS)] = []

    @field_validator("operator")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()  # the index stores addresses lowercase; the canonical form does too

    @model_validator(mode="after")
    def _not_after_sending(self) -> TelemetryBatch:
        # A reading cannot be taken after the batch holding it was signed (one second of clock granularity).
        late = [x.t for x in (*self.samples, *self.logs) if x.t > self.sent_at + 1.0]
        if late:
            raise ValueError(f"{len(late)} sample(s) or log line(s) are dated after sent_at {self.sent_at} "
                             f"(first {late[0]}): a batch holds only what was read before it was signed")
        return self

    def canonical(self) -> dict[str, Any]:
        """The batch as the signature sees it: every number an integer in fixed units (see the module doc)."""
        def ms(v: float) -> int:
            return round(v * TIME_SCALE)

        def scaled(v: float | None, scale: int) -> int | None:
            return None if v is None else round(v * scale)

        return {
            "schema": SCHEMA, "chain_id": self.chain_id, "node_id": self.node_id, "operator": self.operator,
            "machine": self.machine, "seq": self.seq, "sent_at": ms(self.sent_at),
            "samples": [{
                "t": ms(s.t), "state": s.state, "hotend": scaled(s.hotend, TEMP_SCALE),
                "hotend_target": scaled(s.hotend_target, TEMP_SCALE), "bed": scaled(s.bed, TEMP_SCALE),
                "bed_target": scaled(s.bed_target, TEMP_SCALE), "hotend_duty": scaled(s.hotend_duty, FRACTION_SCALE),
                "bed_duty": scaled(s.bed_duty, FRACTION_SCALE), "progress": scaled(s.progress, FRACTION_SCALE),
                "job_id": s.job_id, "error": s.error,
            } for s in self.samples],
            "logs": [{"t": ms(x.t), "level": x.level, "line": x.line, "job_id": x.job_id} for x in self.logs],
        }

    def canonical_bytes(self) -> bytes:
        """Sorted keys, no whitespace, UTF-8: the bytes whose sha256 the operator signs."""
        return json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def digest(self) -> bytes:
        """sha256 of `canonical_bytes()`: the 32 bytes signed with EIP-191."""
        return hashlib.sha256(self.canonical_bytes()).digest()

    def sign(self, account: Any) -> SignedBatch:
        """This batch signed by `account` (an eth-account LocalAccount: the node operator's key)."""
        from eth_account.messages import encode_defunct

        if account is None or not hasattr(account, "sign_message"):
            raise TelemetryError("signing telemetry needs the node operator's local key ([fabrica] account)")
        if account.address.lower() != self.operator:
            raise TelemetryError(f"batch names operator {self.operator} but the key is {account.address}")
        signed = account.sign_message(encode_defunct(primitive=self.digest()))
        return SignedBatch(batch=self, signature="0x" + bytes(signed.signature).hex())

    def to_json(self) -> dict[str, Any]:
        """The wire form (floats as rounded on parse)."""
        return self.model_dump(by_alias=True)


class SignedBatch(BaseModel):
    """What a node POSTs: the batch and its operator's signature."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch: TelemetryBatch
    signature: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65-byte r,s,v signature")]

    def signer(self) -> str:
        """The address that signed the batch (lowercase); TelemetryError when the signature does not recover."""
        from eth_account import Account
        from eth_account.messages import encode_defunct

        try:
            raw = bytes.fromhex(self.signature[2:])
            return Account.recover_message(encode_defunct(primitive=self.batch.digest()), signature=raw).lower()
        except Exception as exc:  # eth-keys raises several types for a malformed signature
            raise TelemetryError(f"the signature {self.signature[:20]}… does not recover ({exc})") from None

    def to_json(self) -> dict[str, Any]:
        """The POST body."""
        return {"batch": self.batch.to_json(), "signature": self.signature}


__all__ = ["LEVELS", "SCHEMA", "SIGNATURE_SCHEME", "STATES", "LogLine", "Sample", "SignedBatch", "TelemetryBatch",
           "TelemetryError"]
