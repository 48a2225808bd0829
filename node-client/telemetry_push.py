"""Pushes print telemetry and print-log lines to the gateway, signed by the node operator's key.

The print loop only appends to a bounded in-memory queue per machine (a lock and a deque append: it never waits
on the network, the disk or a signature); one background thread turns the queue into batches
(fabrica.protocol.telemetry: `fabrica.telemetry/1`, EIP-191 over the canonical sha256), POSTs them to
`<gateway>/v1/nodes/<node_id>/telemetry`, and retries with exponential backoff (honouring Retry-After) while
the gateway is unreachable, busy (5xx, 429) or does not know the node yet (404: its index lags the chain).
A queue that fills while the gateway is away drops its oldest entries and counts them.

Sequence numbers: each batch gets `max(last + 1, now in ms)`, written to `telemetry-seq.json` beside the state
file before it is sent, so a restart (or even a lost file, with a sane clock) keeps them increasing. A retry
keeps its number: a batch the gateway stored but whose answer was lost is refused as `replayed` on retry, which
means delivered.
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from fabrica.protocol.telemetry import LogLine, Sample, TelemetryBatch, TelemetryError

from .errors import NodeConfigError

log = logging.getLogger("fabrica.node_client.telemetry")
GATEWAY_ENV = "FABRICA_GATEWAY_URL"
SEQ_FILE = "telemetry-seq.json"
HEATING_MARGIN = 5.0  # °C below target that still counts as heating up, not printing
_PERMANENT = {400, 401, 403, 413, 422}  # a refusal that sending the same batch again cannot change


def check_gateway_url(url: str, name: str = "gateway_url") -> str:
    """An http(s) base URL without a trailing slash; NodeConfigError naming `name` otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise NodeConfigError(f"{name} {url!r} is not a gateway URL like https://gateway.example or "
                              "http://127.0.0.1:8000")
    return url.strip().rstrip("/")


def resolve_gateway_url(flag: str | None, configured: str | None) -> str | None:
    """The gateway to push to: --gateway, then FABRICA_GATEWAY_URL, then [node] gateway_url (None: no push)."""
    if flag:
        return check_gateway_url(flag, "--gateway")
    if os.environ.get(GATEWAY_ENV):
        return check_gateway_url(os.environ[GATEWAY_ENV], GATEWAY_ENV)
    return check_gateway_url(configured, "[node] gateway_url") if configured else None


def sample_fields(progress: Any, job_id: int | None, error: str | None = None) -> dict[str, Any]:
    """A sample's fields from a runner Progress snapshot (cheap: the print loop calls it; validated later)."""
    temps = progress.temperatures
    hot = temps.get("T") or temps.get("T0")
    bed = temps.get("B")
    duty = getattr(progress, "heater_power", {}) or {}
    state = {"failed": "error"}.get(progress.state, progress.state)
    if state == "printing" and any(r and r[1] and r[0] < r[1] - HEATING_MARGIN for r in (hot, bed)):
        state = "heating"
    return {"t": time.time(), "state": state, "hotend": hot[0] if hot else None,
            "hotend_target": hot[1] if hot else None, "bed": bed[0] if bed else None,
            "bed_target": bed[1] if bed else None, "hotend_duty": duty.get("T", duty.get("T0")),
            "bed_duty": duty.get("B"), "progress": progress.fraction, "job_id": job_id, "error": error}


class SeqFile:
    """Per-node batch sequence numbers, persisted (atomically, fsynced) before a batch goes out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: dict[str, int] | None = None

    def _load(self) -> dict[str, int]:
        if self._last is None:
            try:
                self._last = {k: int(v) for k, v in json.loads(self.path.read_text()).items()}
            except FileNotFoundError:
                self._last = {}
            except (ValueError, AttributeError, OSError) as exc:  # unreadable: the clock floor still holds
                log.warning("telemetry sequence file %s unreadable (%s); continuing from the clock", self.path, exc)
                self._last = {}
        return self._last

    def next(self, node_id: int, at_least: int = 0) -> int:
        """A number above every one this node used (and at least the clock in ms, and `at_least`), persisted."""
        last = self._load()
        seq = max(last.get(str(node_id), 0) + 1, int(time.time() * 1000), at_least)
        last[str(node_id)] = seq
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump(last, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        return seq


@dataclass
class _Outgoing:
    seq: int  # 0 until the first try numbers it
    samples: list[Any]  # raw dicts until the first try validates them into Sample / LogLine
    logs: list[Any]
    attempts: int = 0
    bumps: int = 0


@dataclass
class _Buffer:
    """One machine's queue, its batch in flight and its retry clock."""

    node_id: int
    machine: str
    samples: deque = field(default_factory=deque)
    logs: deque = field(default_factory=deque)
    outgoing: _Outgoing | None = None
    next_try: float = 0.0
    last_sent: float = 0.0
    failing: bool = False


class TelemetryPusher:
    """Batches, signs and POSTs one node client's telemetry from a background thread."""

    def __init__(self, gateway_url: str, account: Any, chain_id: int, seq_file: Path, *,
                 say: Callable[[str], None] | None = None, interval: float = 2.0, max_samples: int = 500,
                 max_logs: int = 200, max_queue: int = 10_000, timeout: float = 10.0, max_backoff: float = 60.0) -> None:
        """`max_samples`/`max_logs` bound one batch; `max_queue` bounds each machine's waiting samples (and logs)."""
        self.url = check_gateway_url(gateway_url)
        if account is None or not hasattr(account, "sign_message"):
            raise NodeConfigError("pushing telemetry needs the node operator's local key ([fabrica] account: a dev "
                                  "role, dev index or keystore)")
        self.account, self.chain_id = account, chain_id
        self.operator = account.address.lower()
        self.seqs = SeqFile(seq_file)
        self.say = say or (lambda m: log.info(m))
        self.interval, self.max_samples, self.max_logs = interval, max_samples, max_logs
        self.max_queue, self.timeout, self.max_backoff = max_queue, timeout, max_backoff
        self.counts = {"sent_batches": 0, "sent_samples": 0, "sent_logs": 0, "dropped_samples": 0, "dropped_logs": 0,
                       "invalid": 0, "rejected_batches": 0, "retries": 0}
        self.last_error: str | None = None
        self._buffers: dict[tuple[int, str], _Buffer] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._flush = False

    # ------------------------------------------------------------------ the print loop's side (never blocks)
    def record(self, node_id: int, machine: str, progress: Any, job_id: int | None, error: str | None = None) -> None:
        """Queue a sample of a runner Progress snapshot."""
        self._put(node_id, machine, "samples", sample_fields(progress, job_id, error))

    def log(self, node_id: int, machine: str, line: str, *, level: str = "info", job_id: int | None = None) -> None:
        """Queue one print-log line."""
        self._put(node_id, machine, "logs", {"t": time.time(), "level": level, "line": line[:2000], "job_id": job_id})

    def _put(self, node_id: int, machine: str, kind: str, item: dict[str, Any]) -> None:
        with self._cond:
            buf = self._buffers.get((node_id, machine))
            if buf is None:
                buf = self._buffers[(node_id, machine)] = _Buffer(node_id, machine)
            queue = getattr(buf, kind)
            if len(queue) >= self.max_queue:  # the gateway is away for long: keep the newest
                queue.popleft()
                self.counts[f"dropped_{kind}"] += 1
            queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="telemetry-push", daemon=True)
                self._thread.start()
            if len(queue) >= (self.max_samples if kind == "samples" else self.max_logs):
                self._cond.notify()

    # ------------------------------------------------------------------------------------------ control
    def stats(self) -> dict[str, Any]:
        """Counters (sent, dropped, rejected, retries), what is still queued, and the last error."""
        with self._cond:
            queued = sum(len(b.samples) + (len(b.outgoing.samples) if b.outgoing else 0)
                         for b in self._buffers.values())
            return {**self.counts, "queued_samples": queued, "last_error": self.last_error}

    def pending(self) -> bool:
        """Whether anything is queued or in flight."""
        with self._cond:
            return any(b.samples or b.logs or b.outgoing for b in self._buffers.values())

    def flush(self, timeout: float) -> bool:
        """Send what is queued now (not waiting for the interval); True when all of it went out in `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flush = True
            self._cond.notify()
        try:
            while self.pending() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            with self._cond:
                self._flush = False
        return not self.pending()

    def close(self, timeout: float = 5.0) -> None:
        """Flush for up to `timeout` seconds, then stop the thread (what is left is reported, not sent)."""
        if self._thread is None:
            return
        if not self.flush(timeout):
            s = self.stats()
            self.say(f"telemetry: {s['queued_samples']} sample(s) not delivered to {self.url} ({s['last_error']})")
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout + self.timeout)

    # ----------------------------------------------------------------------------------- the worker
    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=self.timeout, headers={"user-agent": "fabrica-node"}) as http:
            while True:
                with self._cond:
                    if self._stop:
                        return
                    self._cond.wait(self._wait())
                    if self._stop:
                        return
                    due = self._take_due()
                for buf in due:
                    try:
                        self._send(http, buf)
                    except Exception as exc:  # the pusher must outlive anything one batch does
                        log.exception("telemetry push failed")
                        self._failed(buf, f"{type(exc).__name__}: {exc}")

    def _wait(self) -> float:
        now = time.monotonic()
        waits = [self.interval]
        for b in self._buffers.values():
            if b.outgoing is not None:
                waits.append(b.next_try - now)
            elif b.samples or b.logs:
                waits.append(0 if self._flush else b.last_sent + self.interval - now)
        return max(0.01, min(waits))

    def _take_due(self) -> list[_Buffer]:
        """Buffers whose batch may go now: their first batch is cut here, under the lock."""
        now = time.monotonic()
        due = []
        for b in self._buffers.values():
            if b.outgoing is None and (b.samples or b.logs):
                full = len(b.samples) >= self.max_samples or len(b.logs) >= self.max_logs
                if self._flush or full or now - b.last_sent >= self.interval:
                    b.outgoing = self._cut(b)
                    b.next_try = now
            if b.outgoing is not None and now >= b.next_try:
                due.append(b)
        return due

    def _cut(self, b: _Buffer) -> _Outgoing:
        """Take the next batch's raw items off the queue (under the lock: pops only, validated outside it)."""
        samples = [b.samples.popleft() for _ in range(min(len(b.samples), self.max_samples))]
        logs = [b.logs.popleft() for _ in range(min(len(b.logs), self.max_logs))]
        return _Outgoing(0, samples, logs)

    def _valid(self, model: Any, raw: dict[str, Any]) -> Any:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:  # e.g. a thermistor fault reading far out of range: count, never crash
            with self._cond:
                self.counts["invalid"] += 1
            log.warning("telemetry: dropped an invalid %s: %s", model.__name__, exc.errors()[0]["msg"])
            return None

    def _send(self, http: Any, b: _Buffer) -> None:
        out = b.outgoing
        assert out is not None
        if out.seq == 0:  # first try: validate off the lock, so the print loop's appends never wait on it
            out.samples = [x for x in (self._valid(Sample, r) for r in out.samples) if x is not None]
            out.logs = [x for x in (self._valid(LogLine, r) for r in out.logs) if x is not None]
        if not out.samples and not out.logs:
            self._done(b)
            return
        if out.seq == 0:
            out.seq = self.seqs.next(b.node_id)
        batch = TelemetryBatch(chain_id=self.chain_id, node_id=b.node_id, operator=self.operator, machine=b.machine,
                               seq=out.seq, sent_at=time.time(), samples=out.samples, logs=out.logs)
        try:
            body = batch.sign(self.account).to_json()  # signed again on every try: sent_at stays fresh
        except TelemetryError as exc:
            self._failed(b, str(exc))
            return
        try:
            r = http.post(f"{self.url}/v1/nodes/{b.node_id}/telemetry", json=body)
        except Exception as exc:  # httpx.HTTPError and OS errors: the gateway is unreachable
            self._retry(b, f"{self.url} unreachable: {type(exc).__name__}: {exc}")
            return
        code = _error_code(r)
        if r.status_code == 200:
            self._done(b)
        elif code == "replayed" and out.attempts > 0:
            self._done(b)  # an earlier try of this very batch was stored; only its answer was lost
        elif code == "replayed" and out.bumps < 3:  # the counter fell behind the gateway's (a restored state file)
            out.bumps += 1
            out.seq = self.seqs.next(b.node_id, at_least=int(r.headers.get("x-fabrica-telemetry-seq", "0") or 0) + 1)
            with self._cond:
                b.next_try = time.monotonic()
        elif r.status_code == 413 and len(out.samples) + len(out.logs) > 1:
            self._shrink(b, out)
        elif r.status_code in _PERMANENT:
            self._failed(b, f"gateway refused batch {out.seq} ({r.status_code} {code}): {_detail(r)}")
        else:  # 404 (the index lags the node's registration), 429, 5xx: the same batch may pass later
            self._retry(b, f"gateway answered {r.status_code} {code}: {_detail(r)}", r.headers.get("retry-after"))

    def _done(self, b: _Buffer) -> None:
        with self._cond:
            out, b.outgoing, b.last_sent = b.outgoing, None, time.monotonic()
            if out is not None and (out.samples or out.logs):
                self.counts["sent_batches"] += 1
                self.counts["sent_samples"] += len(out.samples)
                self.counts["sent_logs"] += len(out.logs)
            if b.failing:
                b.failing = False
                self.say(f"telemetry: node {b.node_id} delivering to {self.url} again")

    def _retry(self, b: _Buffer, why: str, retry_after: str | None = None) -> None:
        with self._cond:
            out = b.outgoing
            assert out is not None
            out.attempts += 1
            self.counts["retries"] += 1
            self.last_error = why
            delay = min(self.max_backoff, 0.5 * 2 ** min(out.attempts, 10)) * (0.75 + random.random() / 2)
            if retry_after and retry_after.isdigit():
                delay = max(delay, float(retry_after))
            b.next_try = time.monotonic() + delay
            first = not b.failing
            b.failing = True
        if first:
            self.say(f"telemetry: node {b.node_id}: {why}; retrying with backoff (the queue keeps the newest "
                     f"{self.max_queue} samples)")

    def _failed(self, b: _Buffer, why: str) -> None:
        with self._cond:
            b.outgoing, b.last_sent = None, time.monotonic()
            self.counts["rejected_batches"] += 1
            self.last_error = why
        self.say(f"telemetry: node {b.node_id}: {why}; batch dropped")

    def _shrink(self, b: _Buffer, out: _Outgoing) -> None:
        """The gateway takes smaller batches than ours: halve ours and put the items back in front."""
        with self._cond:
            self.max_samples = max(1, len(out.samples) // 2) if out.samples else self.max_samples
            self.max_logs = max(1, len(out.logs) // 2) if out.logs else self.max_logs
            b.samples.extendleft(reversed([s.model_dump() for s in out.samples]))
            b.logs.extendleft(reversed([x.model_dump() for x in out.logs]))
            b.outgoing = None
            self._cond.notify()
        self.say(f"telemetry: the gateway refused a batch as too large; batches now hold at most "
                 f"{self.max_samples} samples and {self.max_logs} log lines")


def _error_code(r: Any) -> str:
    try:
        return str(r.json().get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _detail(r: Any) -> str:
    try:
        return str(r.json().get("detail", ""))[:300]
    except (ValueError, AttributeError):
        return r.text[:300]


__all__ = ["GATEWAY_ENV", "SeqFile", "TelemetryPusher", "check_gateway_url", "resolve_gateway_url", "sample_fields"]
