"""Proof of fabrication: the signed print log a node delivers, and the customer's check of it.

A node delivers the CID of a print log (schema `fabrica.print-log/1`, JSON): what it made (spec, design file
and its CID), how (slicer, profile, the G-code's sha256 and line count, and for a public design the G-code's
own CID), and every print attempt with telemetry samples (time, acknowledged lines). The node operator signs
it: EIP-191 `personal_sign` over the 32-byte sha256 of the canonical JSON of the log without its `signature`
field (`canonical_log_bytes`); the log then carries

    "signature": {"scheme": "eip191-sha256", "signer": "0x…", "sha256": "…", "value": "0x…"}

`verify_proof(client, store, job_id)` checks a delivered job's log as far as the customer can: each check is
named, says what it compared, and says what it could not check (a sealed design's plaintext, or re-slicing an
STL). `dispute_if_failed` disputes a failed proof with the report as the reason, while the review window is open.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from fabrica.protocol.errors import FabricaError
from fabrica.protocol.storage import ContentError, compute_cid
from fabrica.protocol.types import Job, JobSpec, JobStatus, SpecFile

LOG_SCHEMA = "fabrica.print-log/1"
REPORT_SCHEMA = "fabrica.proof-report/1"
SIGNATURE_SCHEME = "eip191-sha256"
MAX_LOG_SAMPLES = 500  # a node keeps about this many telemetry samples per attempt (evenly thinned)
MIN_GAP_BOUND_S = 60.0  # telemetry may be silent this long in any print, however short
GAP_FACTOR = 3.0  # ... or this many times the spacing that MAX_LOG_SAMPLES evenly spread samples would have
CLOCK_SLACK_S = 2.0  # samples may lie this far outside their attempt's start and finish (clock granularity)
GCODE_SUFFIXES = (".gcode", ".gco", ".g", ".nc")

# Check names, in the order they run.
PROOF_RESOLVES = "proof_resolves"
LOG_SCHEMA_CHECK = "log_schema"
SIGNATURE = "signature"
DESIGN_FILE = "design_file"
GCODE = "gcode"
TELEMETRY = "telemetry"
DELIVERED_IN_TIME = "delivered_in_time"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ProofError(FabricaError):
    """A print log that cannot be signed or whose signature cannot be read."""


@dataclass(frozen=True)
class ProofCheck:
    """One named check of a proof: passed or not, and what was compared."""

    name: str
    ok: bool
    detail: str


@dataclass
class ProofReport:
    """The result of verifying job `job_id`'s proof: ok only when every check passed."""

    job_id: int
    proof_cid: str | None
    checks: list[ProofCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there were checks and all of them passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failed(self) -> list[ProofCheck]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, detail: str) -> bool:
        """Record a check; returns `ok` so callers can stop after a check later ones depend on."""
        self.checks.append(ProofCheck(name, ok, detail))
        return ok

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what `to_json` writes and a dispute's reason CID holds)."""
        return {"schema": REPORT_SCHEMA, "job_id": self.job_id, "proof_cid": self.proof_cid, "ok": self.ok,
                "checks": [asdict(c) for c in self.checks]}

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the same report always has the same CID."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------------------- signing the log


def canonical_log_bytes(log: dict[str, Any]) -> bytes:
    """The bytes a log's signature covers: its JSON without `signature`, sorted keys, no spaces."""
    body = {k: v for k, v in log.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def log_digest(log: dict[str, Any]) -> bytes:
    """sha256 of `canonical_log_bytes(log)`: the 32 bytes the operator signs."""
    return hashlib.sha256(canonical_log_bytes(log)).digest()


def sign_log(log: dict[str, Any], account: Any) -> dict[str, Any]:
    """A copy of `log` signed by `account` (an eth-account LocalAccount): EIP-191 over the log's sha256."""
    from eth_account.messages import encode_defunct

    if account is None or not hasattr(account, "sign_message"):
        raise ProofError("signing a print log needs the node operator's local key ([fabrica] account)")
    digest = log_digest(log)
    signed = account.sign_message(encode_defunct(primitive=digest))
    return {**{k: v for k, v in log.items() if k != "signature"},
            "signature": {"scheme": SIGNATURE_SCHEME, "signer": account.address, "sha256": digest.hex(),
                          "value": "0x" + bytes(signed.signature).hex()}}


def log_signer(log: dict[str, Any]) -> str:
    """The address that signed `log` (checksummed); ProofError when the signature is missing or unreadable."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    sig = log.get("signature")
    if not isinstance(sig, dict) or sig.get("scheme") != SIGNATURE_SCHEME or not isinstance(sig.get("value"), str):
        raise ProofError(f"the log has no {SIGNATURE_SCHEME} signature object (scheme, signer, sha256, value)")
    try:
        raw = bytes.fromhex(sig["value"].removeprefix("0x"))
        return Account.recover_message(encode_defunct(primitive=log_digest(log)), signature=raw)
    except Exception as exc:  # eth-keys raises several types for a malformed signature
        raise ProofError(f"the signature {sig['value'][:20]}… cannot be recovered ({exc})") from None


# ------------------------------------------------------------------------------------ the spec


def spec_design_file(spec: JobSpec) -> SpecFile:
    """The file a node makes from a spec: its G-code file if it has one, else its first model."""
    files = [f for f in spec.files if f.role in ("gcode", "model")]
    if not files:
        raise FabricaError("the spec has no model or gcode file to make")
    return next((f for f in files if f.role == "gcode"), files[0])


def is_gcode_name(name: str) -> bool:
    """A G-code file, by its name's suffix."""
    return PurePosixPath(name).suffix.lower() in GCODE_SUFFIXES


def gcode_command_count(data: bytes) -> int:
    """Lines of G-code that carry a command (comments and blank lines dropped), as a node streams them."""
    text = data.decode("ascii", errors="replace")
    return sum(1 for line in text.splitlines() if line.split(";", 1)[0].strip())


def plaintext_cids(data: bytes) -> list[str]:
    """The CIDs `ipfs add` gives `data` (v0 and v1): what a design NFT may have been minted with."""
    return [str(compute_cid(data, 0)), str(compute_cid(data, 1))]


# --------------------------------------------------------------------------------- verification


def verify_proof(client: Any, store: Any, job_id: int) -> ProofReport:
    """Check the print log delivered for `job_id` against the chain, the spec and its own telemetry."""
    rec = client.job(job_id)
    report = ProofReport(job_id, rec.proof_cid)
    if not rec.proof_cid:
        report.add(PROOF_RESOLVES, False, f"job {job_id} is {rec.status.name}: no proof was delivered")
        return report
    try:
        raw = store.get(rec.proof_cid)  # verified against its CID on read
    except ContentError as exc:
        report.add(PROOF_RESOLVES, False, f"proof {rec.proof_cid} cannot be read from the content store: {exc}")
        return report
    report.add(PROOF_RESOLVES, True, f"proof {rec.proof_cid} read ({len(raw)} bytes, verified against its CID)")
    log = _parse_log(report, raw, rec, client.deployment.chain_id)
    if log is None:
        return report
    _check_signature(report, log, rec)
    spec = _check_design(report, log, rec, store)
    if spec is not None:
        _check_gcode(report, log, spec, store)
    _check_telemetry(report, log)
    _check_delivery_time(report, client, rec)
    return report


def _parse_log(report: ProofReport, raw: bytes, rec: Any, chain_id: int) -> dict[str, Any] | None:
    try:
        log = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        report.add(LOG_SCHEMA_CHECK, False, f"the proof is not JSON (starts {raw[:16]!r}); a print log is "
                                            f"{LOG_SCHEMA} JSON")
        return None
    if not isinstance(log, dict) or log.get("schema") != LOG_SCHEMA:
        got = log.get("schema") if isinstance(log, dict) else type(log).__name__
        report.add(LOG_SCHEMA_CHECK, False, f"the proof's schema is {got!r}, not {LOG_SCHEMA!r}")
        return None
    wrong = [f"{key} is {log.get(key)!r}, expected {want!r}"
             for key, want in (("job_id", rec.job_id), ("chain_id", chain_id), ("node_id", rec.node_id),
                               ("spec_cid", rec.spec_cid))
             if log.get(key) != want]
    if str(log.get("operator", "")).lower() != rec.job.node.lower():
        wrong.append(f"operator is {log.get('operator')!r}, expected the claimer {rec.job.node}")
    missing = [k for k in ("design", "slicing", "gcode_lines", "attempts") if k not in log]
    if missing:
        wrong.append(f"missing {', '.join(missing)}")
    if wrong:
        report.add(LOG_SCHEMA_CHECK, False, "the log is not this job's: " + "; ".join(wrong))
        return None
    report.add(LOG_SCHEMA_CHECK, True, f"{LOG_SCHEMA} for job {rec.job_id} on chain {chain_id}, node {rec.node_id}")
    return log


def _check_signature(report: ProofReport, log: dict[str, Any], rec: Any) -> None:
    try:
        signer = log_signer(log)
    except ProofError as exc:
        report.add(SIGNATURE, False, str(exc))
        return
    if signer.lower() != rec.job.node.lower():
        report.add(SIGNATURE, False, f"the log is signed by {signer}, not by the node's operator {rec.job.node}")
    else:
        report.add(SIGNATURE, True, f"signed by the node's operator {signer}")


def _check_design(report: ProofReport, log: dict[str, Any], rec: Any, store: Any) -> JobSpec | None:
    try:
        spec = JobSpec.from_json_bytes(store.get(rec.spec_cid))
        f = spec_design_file(spec)
    except (ContentError, ValueError, FabricaError) as exc:
        report.add(DESIGN_FILE, False, f"the job's spec {rec.spec_cid} cannot be read: {exc}")
        return None
    design = log.get("design") if isinstance(log.get("design"), dict) else {}
    if design.get("cid") != f.cid or bool(design.get("sealed")) != f.sealed:
        report.add(DESIGN_FILE, False, f"the log names design {design.get('cid')!r} (sealed: {design.get('sealed')}), "
                                       f"the spec's file {f.name!r} is {f.cid} (sealed: {f.sealed})")
        return None
    report.add(DESIGN_FILE, True, f"the log's design is the spec's file {f.name!r} ({f.cid})")
    return spec


def _check_gcode(report: ProofReport, log: dict[str, Any], spec: JobSpec, store: Any) -> None:
    """The G-code the node says it printed: hash and line count, as far as the customer can check them."""
    f = spec_design_file(spec)
    slicing = log.get("slicing") if isinstance(log.get("slicing"), dict) else {}
    gcode_sha, source_sha = slicing.get("gcode_sha256"), slicing.get("source_sha256")
    lines = log.get("gcode_lines")
    if not (isinstance(gcode_sha, str) and _HEX64.match(gcode_sha) and isinstance(source_sha, str)
            and _HEX64.match(source_sha) and isinstance(lines, int) and lines > 0):
        report.add(GCODE, False, "slicing.gcode_sha256 / source_sha256 (64 hex) or gcode_lines (> 0) missing or malformed")
        return
    gcode_design = f.role == "gcode" or is_gcode_name(f.name)
    if gcode_design and (slicing.get("sliced") is not False or gcode_sha != source_sha):
        report.add(GCODE, False, f"{f.name!r} is G-code and must be printed as is, but the log says it was sliced "
                                 f"or changed (source {source_sha[:12]}…, printed {gcode_sha[:12]}…)")
        return
    if f.sealed:
        report.add(GCODE, True, f"sealed design: the store holds only ciphertext, so the plaintext cannot be "
                                f"hashed here; compare sha256 {source_sha} with your own copy of {f.name!r}"
                   + ("" if gcode_design else f"; the G-code ({gcode_sha[:12]}…, {lines} lines) is the node's own "
                                              "slice, bound by its signature"))
        return
    try:
        data = store.get(f.cid)
    except ContentError as exc:
        report.add(GCODE, False, f"the design file {f.cid} cannot be read: {exc}")
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual != source_sha:
        report.add(GCODE, False, f"the log's source_sha256 {source_sha[:12]}… is not the design file's "
                                 f"sha256 {actual[:12]}…")
        return
    if gcode_design:
        count = gcode_command_count(data)
        ok = count == lines
        report.add(GCODE, ok, f"G-code design: sha256 {actual[:12]}… is the design file's; it has {count} command "
                              f"lines, the log says {lines}")
        return
    gcode_cid = slicing.get("gcode_cid")
    if not gcode_cid:
        report.add(GCODE, False, "the log does not publish the G-code it printed (slicing.gcode_cid), so its "
                                 "hash cannot be checked against anything")
        return
    try:
        printed = store.get(gcode_cid)
    except (ContentError, ValueError) as exc:
        report.add(GCODE, False, f"the printed G-code {gcode_cid} cannot be read: {exc}")
        return
    printed_sha, count = hashlib.sha256(printed).hexdigest(), gcode_command_count(printed)
    if printed_sha != gcode_sha or count != lines:
        report.add(GCODE, False, f"the published G-code {gcode_cid} has sha256 {printed_sha[:12]}… and {count} "
                                 f"command lines; the log says {gcode_sha[:12]}… and {lines}")
        return
    report.add(GCODE, True, f"model {f.name!r}: source sha256 matches the design file; the printed G-code "
                            f"{gcode_cid} matches gcode_sha256 {gcode_sha[:12]}… and its {lines} lines. It was "
                            f"sliced by the node ({slicing.get('slicer')}, profile {slicing.get('profile')}); "
                            "re-slicing is not checked here (it needs the node's slicer and profile)")


def _check_telemetry(report: ProofReport, log: dict[str, Any]) -> None:
    """The successful attempt's samples cover the print: start to finish, no long gap, every line acknowledged."""
    attempts = log.get("attempts")
    if not isinstance(attempts, list) or not attempts or not isinstance(attempts[-1], dict):
        report.add(TELEMETRY, False, "the log has no print attempts")
        return
    last, lines = attempts[-1], log["gcode_lines"]
    if last.get("ok") is not True:
        report.add(TELEMETRY, False, f"the last attempt ({last.get('attempt')}) did not succeed "
                                     f"(state {last.get('state')!r})")
        return
    try:
        start, end = float(last["started_at"]), float(last["finished_at"])
        samples = [(float(s["t"]), int(s["acked"])) for s in last.get("telemetry") or []]
    except (KeyError, TypeError, ValueError) as exc:
        report.add(TELEMETRY, False, f"attempt {last.get('attempt')}: times or samples malformed ({exc})")
        return
    if not samples:
        report.add(TELEMETRY, False, f"attempt {last.get('attempt')} has no telemetry samples")
        return
    duration = end - start
    bound = max(MIN_GAP_BOUND_S, GAP_FACTOR * duration / MAX_LOG_SAMPLES)
    problems = []
    if duration < 0:
        problems.append(f"it finished {-duration:.1f} s before it started")
    outside = [t for t, _ in samples if t < start - CLOCK_SLACK_S or t > end + CLOCK_SLACK_S]
    if outside:
        problems.append(f"{len(outside)} sample(s) lie outside the attempt's start and finish")
    times = [start, *(t for t, _ in samples), end]
    gaps = [b - a for a, b in zip(times, times[1:])]
    if any(g < -CLOCK_SLACK_S for g in gaps):
        problems.append("sample times go backwards")
    widest = max(gaps)
    if widest > bound:
        at = gaps.index(widest)
        problems.append(f"no sample for {widest:.1f} s (from {times[at] - start:.1f} s into the print; "
                        f"at most {bound:.1f} s allowed)")
    acked = [a for _, a in samples]
    if any(b < a for a, b in zip(acked, acked[1:])):
        problems.append("acknowledged line counts go backwards")
    if acked[-1] != lines:
        problems.append(f"acknowledged lines reach {acked[-1]} of the G-code's {lines}")
    detail = (f"attempt {last.get('attempt')}: {len(samples)} samples over {duration:.1f} s, "
              f"{acked[-1]}/{lines} lines acknowledged")
    report.add(TELEMETRY, not problems, detail + ("; " + "; ".join(problems) if problems else ""))


def _check_delivery_time(report: ProofReport, client: Any, rec: Any) -> None:
    """The delivery's time (from JobDelivered) against the deliver-by time of the claim before it."""
    from datetime import UTC, datetime

    logs = client.w3.eth.get_logs({"address": client.market.address, "fromBlock": client.deployment.deployed_block,
                                   "toBlock": "latest", "topics": [None, "0x" + rec.job_id.to_bytes(32, "big").hex()]})
    events = sorted(client.decode_logs(logs), key=lambda e: (e.block_number, e.log_index))
    deliver_by = delivered_at = None
    for e in events:
        if e.name == "JobClaimed":
            deliver_by = int(e.args["deliverBy"])
        elif e.name == "OrderTaken":
            deliver_by = Job.from_event(e.args["job"]).deadline
        elif e.name == "JobDelivered":
            delivered_at = int(e.args["reviewUntil"]) - rec.job.review_window
    if delivered_at is None or deliver_by is None:
        report.add(DELIVERED_IN_TIME, False, f"no claim and delivery events found for job {rec.job_id}")
        return

    def when(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    ok = delivered_at <= deliver_by
    report.add(DELIVERED_IN_TIME, ok, f"delivered {when(delivered_at)}, deliver-by {when(deliver_by)}")


# ---------------------------------------------------------------------------------------- dispute


def dispute_if_failed(client: Any, store: Any, report: ProofReport) -> Any:
    """Dispute job `report.job_id` with the report as its reason when the report failed and the job is still
    Delivered within its review window; None when there is nothing to dispute (or it is too late)."""
    if report.ok:
        return None
    rec = client.job(report.job_id)
    if rec.status != JobStatus.DELIVERED or client.now() > rec.job.deadline:
        return None
    reason = str(store.add(report.to_json().encode()))
    return client.dispute_job(report.job_id, reason)


def check_deliveries(client: Any, store: Any, *, dispute: bool, seen: set[int] | None = None
                     ) -> list[tuple[ProofReport, Any]]:
    """Verify every delivered job of `client`'s account not in `seen` (added to it); with `dispute`, dispute
    each whose proof fails while its review window is open. Returns (report, dispute tx or None) per job."""
    seen = set() if seen is None else seen
    out = []
    for rec in client.jobs(status=JobStatus.DELIVERED, customer=client.address):
        if rec.job_id in seen:
            continue
        seen.add(rec.job_id)
        report = verify_proof(client, store, rec.job_id)
        out.append((report, dispute_if_failed(client, store, report) if dispute else None))
    return out


__all__ = [
    "LOG_SCHEMA", "MAX_LOG_SAMPLES", "ProofCheck", "ProofError", "ProofReport", "canonical_log_bytes",
    "check_deliveries",
    "dispute_if_failed", "gcode_command_count", "is_gcode_name", "log_digest", "log_signer", "plaintext_cids",
    "sign_log", "spec_design_file", "verify_proof",
]
