"""The shop's job loop: register machines as nodes, claim jobs they can make, fetch, slice, print, deliver.

One `JobLoop` serves every machine in `node.toml`; each machine is one node on chain. A tick:

1. resumes this node's unfinished jobs whose machine is free (after a restart too);
2. for each free machine, looks at the open jobs (the SDK's listing) and claims one that passes every rule
   below; a job that fails one is recorded as skipped with the rule's reason and never claimed;
3. works a job: fetch + verify spec and design by CID (unsealing a private design with the node's key),
   slice (or pass G-code through), print through `PrintRunner` with telemetry into the local state,
   put the print log JSON, signed by the operator's key, into the content store and deliver its CID as proof.

Refusal rules, checked before the claim (`[node]` keys in backquotes):

* a job targeted at another node (`target_node` set and not one of this shop's nodes) is not for us;
* collateral above `max_collateral` FAB, or (with `max_collateral_share`) collateral worth more than that share
  of the payment, valued at `fab_prices`;
* no machine here does the process and material (for a targeted job: the target's machine);
* a sealed design in a job open to any node: a design sealed to one node's key must come in a job targeted at
  that node (the sealed box does not name its recipient, so the target is what says whose key it is);
* a public design file that is a registered design (`DesignNFT`: its id is the plaintext's digest) the job
  does not name: making it would skip the designer's royalty; and a job that names a design but neither pays its
  royalty nor used a fabrication licence the licence contract recorded for it;
* a file that is neither STL nor G-code, a part that does not fit, a G-code line the firmware cannot take;
* a delivery window shorter than the print-time estimate x quantity x `time_margin` + `min_slack_s`
  (estimate.py: the slicer's figure or the G-code's own moves, whichever is longer; an STL is sliced before the
  claim and that slice is reused once claimed). A sealed design is read only once claimed, so its time is
  unknown before: such a job is claimed only when its window is at least `unestimated_min_window`, and the
  estimate is made as soon as it is unsealed.

After the claim, anything that makes the job impossible here (the design does not unseal, is not what the spec
says, is a registered design the job does not name, does not slice, does not fit the time left, or has lines the
machine cannot take) hands the job back at once (`handBack`: free within the market's hand-back window), so
the customer gets another node and this one stays in service. Only a failure after printing started (the
machine failed every attempt) abandons the job: it stays claimed, and the machine's node is taken out of
service (`deactivate_on_abandon`).

Crash safety (local state in SQLite, `state.py`): a claim is recorded right after its transaction; a job
this node's operator claimed on chain but that is missing locally (a crash between the two) is adopted, never
claimed again; a job handed back is never claimed again. A print interrupted by a crash counts as a failed
attempt and is printed again; only a job whose print finished with every line acknowledged is ever delivered.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from fabrica.protocol.accounts import resolve_account
from fabrica.protocol.chain_errors import ContractError
from fabrica.protocol.client import Fabrica
from fabrica.protocol.errors import FabricaError
from fabrica.protocol.proof import LOG_SCHEMA, MAX_LOG_SAMPLES, plaintext_cids, sign_log, spec_design_file
from fabrica.protocol.storage import (
    CidMismatchError,
    ContentError,
    InvalidDagError,
    SealingError,
    SealingKeyPair,
    generate_keypair,
    key_from_hex,
    key_to_hex,
    public_key_from_private,
    unseal,
)
from fabrica.protocol.types import (
    JobRecord,
    JobSpec,
    JobStatus,
    Material,
    ProcessKind,
    SpecFile,
    format_units,
    parse_flags,
)

from . import gcode
from .config import MachineConfig, NodeConfig
from .drivers import Driver, create_protocol
from .errors import FirmwareTimeoutError, NodeClientError, NodeConfigError
from .estimate import TimeEstimate, estimate, format_duration, required_window
from .limits import LineLimit, check_lines, identified_limits, unopened_limits
from .runner import PrintResult, PrintRunner
from .runner import Progress as JobProgress
from .serial_transport import SerialTransport
from .slicer import (
    MachineProfile,
    PartRejectedError,
    SliceResult,
    SlicingError,
    is_gcode,
    prepare,
    slicer_version,
    stl_bounding_box,
)
from .state import PHASES, NodeState
from .telemetry_push import SEQ_FILE, TelemetryPusher, resolve_gateway_url

RECHECK_S = 60.0  # how often a machine that stopped answering is tried again
SLICE_CACHE = 8  # slices made before a claim, kept for the claimed job to reuse


class JobRejected(NodeClientError):
    """A job this node cannot or will not make (the reason says which rule)."""


class NoMachineError(NodeClientError):
    """No configured machine can take work (none answers, or every one is out of service)."""


@dataclass
class Machine:
    """A configured machine and its runtime state."""

    cfg: MachineConfig
    profile: MachineProfile
    materials: tuple[str, ...]
    node_id: int = 0
    job_id: int | None = None
    thread: threading.Thread | None = None
    runner: PrintRunner | None = None
    in_service: bool = True
    answering: bool | None = None  # None until checked: nothing is claimed for a machine that does not answer
    problem: str | None = None
    checked_at: float = 0.0
    identity: dict[str, str] = field(default_factory=dict)

    @property
    def process(self) -> ProcessKind:
        return ProcessKind[self.cfg.process]

    @property
    def material_flags(self) -> Material:
        return parse_flags(Material, list(self.materials))  # type: ignore[return-value]

    @property
    def build_volume(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.profile.build_volume_mm)  # type: ignore[return-value]


def load_or_create_key(path: Path) -> SealingKeyPair:
    """The node's X25519 key pair from `path` (private key, hex); created with mode 0600 when missing."""
    try:
        if path.exists():
            private = key_from_hex(path.read_text().strip(), what=f"encryption key in {path}")
            return SealingKeyPair(private, public_key_from_private(private))
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = generate_keypair()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key_to_hex(keys.private_key) + "\n")
        return keys
    except (OSError, UnicodeDecodeError) as exc:
        raise NodeConfigError(f"[node] encryption_key_file {path}: cannot read or create it "
                              f"({getattr(exc, 'strerror', None) or exc}); point it at a key file or a new path") \
            from None


class JobLoop:
    """The daemon's brain; `run()` loops, `tick()` does one round (tests drive it directly)."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        client: Fabrica | None = None,
        store: Any = None,
        say: Callable[[str], None] = print,
        on_phase: Callable[[int, str], None] | None = None,
        threaded: bool = True,
        telemetry_interval: float = 1.0,
        recheck_interval: float = RECHECK_S,
        gateway_url: str | None = None,
    ) -> None:
        self.config = config
        self.recheck_interval = recheck_interval
        s = config.settings
        if client is None:
            if not s.account:
                raise NodeConfigError("node config: [fabrica] account is required (dev role, index or keystore)")
            client = Fabrica.connect(s.rpc_url, deployments_dir=s.deployments_dir,
                                     account=resolve_account(s.account))
        self.client = client
        self.store = store if store is not None else s.content_store()
        self.work_dir = config.state_db.parent / "jobs"
        self.say = say
        self.on_phase = on_phase
        self.threaded = threaded
        self.telemetry_interval = telemetry_interval
        self._chain_lock = threading.RLock()
        self._stop = threading.Event()
        self.machines: dict[str, Machine] = {}
        for m in config.machines:
            profile = m.load_profile(config.base_dir)
            self.machines[m.name] = Machine(m, profile, m.material_names(profile))
        self.delivered: list[int] = []
        # (machine, sha256 of the design, material) -> a slice made to estimate a job before claiming it
        self._slices: OrderedDict[tuple[str, str, str], SliceResult] = OrderedDict()
        self._tokens: dict[str, tuple[str, int]] = {}  # payment token -> (symbol, decimals)
        # Telemetry goes to the gateway too when one is named (--gateway, FABRICA_GATEWAY_URL, [node] gateway_url).
        self.pusher: TelemetryPusher | None = None
        url = resolve_gateway_url(gateway_url, config.node.gateway_url)
        if url:
            self.pusher = TelemetryPusher(url, self.client.account, self.client.deployment.chain_id,
                                          config.state_db.parent / SEQ_FILE, say=say)

    # The state file and the key are made on first use, so a start that fails its checks leaves nothing behind.
    @cached_property
    def state(self) -> NodeState:
        """The node's local state (SQLite), opened or created on first use."""
        return NodeState(self.config.state_db)

    @cached_property
    def keys(self) -> SealingKeyPair:
        """The node's X25519 key pair, read or created (0600) on first use."""
        return load_or_create_key(self.config.key_file)

    def close(self) -> None:
        """Flush telemetry still queued (a few seconds at most), then close the state file if it was opened."""
        if self.pusher is not None:
            self.pusher.close()
        if "state" in self.__dict__:
            self.state.close()

    # ------------------------------------------------------------------------------- machines

    def _connect(self, m: Machine) -> tuple[Driver, dict[str, Any]]:
        """Open the machine's port and wait for its firmware's report; NodeClientError when it does not answer."""
        options = {"max_cmd_size": m.cfg.max_cmd_size} if m.cfg.max_cmd_size else {}
        driver = Driver(SerialTransport(m.cfg.port, m.cfg.baud), create_protocol(m.cfg.firmware, **options),
                        boot_wait=m.cfg.boot_wait)
        try:
            identity = driver.connect(timeout=m.cfg.connect_timeout)
            if driver.protocol.halted or not identity["firmware"]:
                raise FirmwareTimeoutError(f"the firmware is halted ({driver.protocol.halt_reason or 'no report'}); "
                                           "reset the machine")
        except BaseException:
            driver.close()
            raise
        return driver, identity

    def check_machine(self, m: Machine) -> bool:
        """Probe one machine (open the port, get the firmware's report, close); record and return whether it answers."""
        try:
            driver, identity = self._connect(m)
            driver.close()
        except NodeClientError as exc:
            m.answering, m.problem = False, str(exc)
        else:
            m.answering, m.problem, m.identity = True, None, identity["firmware"]
        m.checked_at = time.monotonic()
        return m.answering

    def check_machines(self) -> list[Machine]:
        """Probe every machine at once; NoMachineError when none answers. Nothing is registered or claimed here."""
        todo = list(self.machines.values())
        threads = [threading.Thread(target=self.check_machine, args=(m,), daemon=True) for m in todo]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        usable = [m for m in todo if m.answering]
        if not usable:  # one line says it all
            raise NoMachineError("no machine answers, so nothing was registered or claimed: "
                                 + self._machine_problems()
                                 + "; fix port, baud or firmware in node.toml [[machines]] (try "
                                 "`fabrica node probe --port DEV --baud N`) and start again")
        for m in todo:
            if m.answering:
                self.say(f"machine {m.cfg.name}: {m.identity.get('FIRMWARE_NAME', 'firmware')} answers on {m.cfg.port}")
            else:
                self.say(f"machine {m.cfg.name}: does not answer on {m.cfg.port}; no job is claimed for it "
                         f"until it does ({m.problem})")
        return usable

    @staticmethod
    def line_limits(m: Machine) -> list[LineLimit]:
        """How long a G-code line `m` takes: its firmware's limit once it answered, else what none could take."""
        if m.identity:
            return identified_limits(m.cfg.firmware, m.identity, m.cfg.max_cmd_size)
        return unopened_limits(m.cfg.firmware, m.cfg.max_cmd_size)

    def _machine_problems(self) -> str:
        parts = []
        for m in self.machines.values():
            if not m.in_service:
                parts.append(f"{m.cfg.name} is out of service after an abandoned job")
            elif m.answering is False:
                parts.append(f"{m.cfg.name} on {m.cfg.port}: {m.problem}")
        return "; ".join(parts)

    def usable(self) -> list[Machine]:
        """Machines that may take work: in service and not known to be silent."""
        return [m for m in self.machines.values() if m.in_service and m.answering is not False]

    def _recheck(self) -> None:
        """Check unchecked machines, and silent idle ones every `recheck_interval`; register one that answers again."""
        now = time.monotonic()
        for m in self.machines.values():
            due = m.answering is None or (m.answering is False and now - m.checked_at >= self.recheck_interval)
            if not due or m.job_id is not None or not m.in_service:
                continue
            was = m.answering
            if self.check_machine(m) and was is False:
                self.say(f"machine {m.cfg.name}: answers again on {m.cfg.port}; back in matching")
            if m.answering and not m.node_id:
                self.register([m])

    # --------------------------------------------------------------------------------- set-up

    @property
    def address(self) -> str:
        return self.client.address

    def register(self, machines: list[Machine] | None = None) -> dict[str, int]:
        """Register each machine (default: all not known to be silent) as a node, or update it; name -> node id."""
        try:
            slicer = slicer_version()
        except NodeClientError:
            slicer = None
        if machines is None:
            machines = [m for m in self.machines.values() if m.answering is not False]
        for m in machines:
            meta = {"name": m.cfg.name, "firmware": m.cfg.firmware, "profile": m.profile.name,
                    "profile_sha256": m.profile.sha256, "slicer": slicer, "client": "fabrica-node"}
            meta_cid = str(self.store.add(json.dumps(meta, sort_keys=True).encode()))
            caps = {"processes": int(m.process), "materials": int(m.material_flags),
                    "build_volume_mm": list(m.build_volume), "encryption_key": key_to_hex(self.keys.public_key),
                    "metadata_cid": meta_cid}
            known = self.state.machine_node(m.cfg.name)
            node_id = m.cfg.node_id or (known[0] if known else None)
            args = dict(processes=m.process, materials=m.material_flags, build_volume_mm=m.build_volume,
                        encryption_key=self.keys.public_key, metadata_cid=meta_cid)
            with self._chain_lock:
                if node_id is None:
                    node_id = self.client.register_node(**args).value
                    self.say(f"machine {m.cfg.name}: registered as node {node_id}")
                else:
                    node = self.client.node(node_id)
                    if node.operator.lower() != self.address.lower():
                        raise NodeConfigError(f"machines.{m.cfg.name}.node_id: node {node_id} belongs to "
                                              f"{node.operator}, not to this account {self.address}")
                    current = {"processes": int(node.processes), "materials": int(node.materials),
                               "build_volume_mm": list(node.build_volume_mm),
                               "encryption_key": node.encryption_key.hex(), "metadata_cid": node.metadata_cid}
                    if current != caps:
                        self.client.update_node(node_id, **args)
                        self.say(f"machine {m.cfg.name}: node {node_id} capabilities updated")
                    if not node.active:
                        self.client.set_node_active(node_id, True)
                        self.say(f"machine {m.cfg.name}: node {node_id} back in service")
            m.node_id = node_id
            self.state.set_machine_node(m.cfg.name, node_id, caps)
        return {m.cfg.name: m.node_id for m in machines}

    def reconcile(self) -> None:
        """Bring local state in line with the chain after a restart (never claims, never delivers by itself)."""
        by_node = {m.node_id: m for m in self.machines.values()}
        for js in self.state.jobs(active=True):
            rec = self.client.job(js.job_id)
            mine = rec.job.node.lower() == self.address.lower()
            if mine and rec.status == JobStatus.CLAIMED:
                if js.phase == "printing":
                    self._interrupted(js.job_id, "the node client stopped while printing (crash or restart)")
                continue  # resumed by tick()
            if mine and rec.proof_cid and js.phase == "printed":
                self.state.advance(js.job_id, "delivered", proof_cid=rec.proof_cid, note="delivery found on chain")
                continue
            if self._handed_back_on_chain(js.job_id, rec):
                continue
            self.state.advance(js.job_id, "abandoned", error=f"job is {rec.status.name} on chain",
                               note="reconcile")
            self.say(f"job {js.job_id}: {rec.status.name} on chain; dropped from local work")
        for rec in self.client.jobs(status=JobStatus.CLAIMED, node=self.address):
            if rec.node_id in by_node and self.state.job(rec.job_id) is None:
                m = by_node[rec.node_id]
                self.state.record_claim(rec.job_id, rec.node_id, m.cfg.name, spec_cid=rec.spec_cid,
                                        claim_tx="adopted from chain")
                self.say(f"job {rec.job_id}: claimed on chain for {m.cfg.name} but not recorded; adopted")

    def _interrupted(self, job_id: int, reason: str) -> None:
        for log in self.state.print_logs(job_id):
            if log["ok"] is None:
                self.state.finish_print(log["id"], ok=False, state="interrupted", reason=reason, result={})
        self.state.advance(job_id, "sliced", note=reason)

    # ------------------------------------------------------------------------------------ loop

    def run(self, *, max_jobs: int | None = None, stop: threading.Event | None = None) -> list[int]:
        """Register, reconcile, then tick every poll interval until stopped or `max_jobs` were delivered."""
        if stop is not None:
            self._stop = stop
        self.check_machines()  # before anything touches the chain: claim nothing for a machine that does not answer
        self.register()
        self.reconcile()
        while not self._stop.is_set():
            self.tick()
            if max_jobs is not None and len(self.delivered) >= max_jobs and self.idle():
                break
            if not self.usable() and self.idle():
                # Running on would only look busy: say what is wrong and stop (claimed jobs resume on restart).
                raise NoMachineError("no usable machine left: " + self._machine_problems()
                                     + "; fix the machines and start `fabrica node run` again (claimed jobs resume)")
            self._stop.wait(self.config.node.poll_interval)
        self.wait()
        return self.delivered

    def stop(self, cancel_prints: bool = False) -> None:
        """Claim nothing more; with `cancel_prints`, cancel running prints too (they are retried on restart)."""
        self._stop.set()
        if cancel_prints:
            for m in self.machines.values():
                if m.runner is not None:
                    m.runner.cancel()

    def idle(self) -> bool:
        return all(m.job_id is None for m in self.machines.values())

    def wait(self, timeout: float | None = None) -> None:
        for m in list(self.machines.values()):
            if m.thread is not None:
                m.thread.join(timeout)

    def tick(self) -> None:
        """One round: check silent machines, resume unfinished jobs, then claim for free machines that answer."""
        self._recheck()
        for js in self.state.jobs(active=True):
            m = self.machines.get(js.machine)
            if m is None:
                self.say(f"job {js.job_id}: machine {js.machine!r} is no longer configured; it needs an operator")
                continue
            if m.job_id is None and m.answering and not self._stop.is_set():
                self._start(m, js.job_id)
        if self._stop.is_set():
            return
        free = [m for m in self.machines.values() if m.job_id is None and m.in_service and m.answering]
        if not free:
            return
        skipped = self.state.skipped()
        now = self.client.now()
        stake_free = self.client.stake_of(self.address).free
        for rec in self.client.jobs(status=JobStatus.OPEN):
            if not free:
                break
            if rec.job_id in skipped or self.state.job(rec.job_id) is not None:
                continue  # refused before, or claimed before (a job handed back is never claimed again)
            if rec.job.deadline < now + self.config.node.min_time_left:
                continue
            try:
                self._check_terms(rec)
            except JobRejected as exc:
                self._skip(rec.job_id, str(exc))
                continue
            if rec.job.collateral > stake_free:
                continue  # may fit once other jobs release their collateral
            try:
                spec = self._fetch_spec(rec)
                machine = self._match(spec, rec, free)
            except (JobRejected, ContentError, FabricaError) as exc:
                self._skip(rec.job_id, str(exc))
                continue
            if machine is None:
                continue  # a busy machine could make it
            try:
                with self._chain_lock:
                    tx = self.client.claim_job(rec.job_id, machine.node_id)
            except ContractError as exc:
                self.say(f"job {rec.job_id}: claim failed ({exc}); leaving it")
                self._skip(rec.job_id, f"claim reverted: {exc}")
                continue
            self.state.record_claim(rec.job_id, machine.node_id, machine.cfg.name, claim_tx=tx.tx_hash,
                                    spec_cid=rec.spec_cid)
            self._phase(rec.job_id, "claimed")
            self.say(f"job {rec.job_id}: claimed for {machine.cfg.name} (node {machine.node_id}, tx {tx.tx_hash})")
            stake_free -= rec.job.collateral
            free.remove(machine)
            self._start(machine, rec.job_id)

    def _skip(self, job_id: int, reason: str) -> None:
        self.state.skip(job_id, reason)
        self.say(f"job {job_id}: not for this node: {reason}")

    def _start(self, m: Machine, job_id: int) -> None:
        m.job_id = job_id

        def work() -> None:
            try:
                self._work(m, job_id)
            except (FabricaError, OSError) as exc:  # chain or storage trouble: retried next tick
                self.state.update(job_id, error=str(exc))
                self.say(f"job {job_id}: {exc.__class__.__name__}: {exc} (will retry)")
            finally:
                m.job_id, m.thread, m.runner = None, None, None

        if self.threaded:
            m.thread = threading.Thread(target=work, name=f"job-{job_id}", daemon=True)
            m.thread.start()
        else:
            work()

    def _reach(self, job_id: int, phase: str) -> bool:
        """Advance to `phase` unless the job is already there or further (a resumed job redoes early steps)."""
        current = self.state.job(job_id).phase
        if PHASES.index(current) >= PHASES.index(phase):
            return False
        self.state.advance(job_id, phase)
        self._phase(job_id, phase)
        return True

    def _phase(self, job_id: int, phase: str) -> None:
        if self.on_phase is not None:
            self.on_phase(job_id, phase)

    # -------------------------------------------------------------------------------- matching

    def _node_ids(self) -> dict[int, Machine]:
        """This shop's node ids (registered now, configured, or known from the state file) -> machine."""
        out: dict[int, Machine] = {}
        for m in self.machines.values():
            known = self.state.machine_node(m.cfg.name)
            node_id = m.node_id or m.cfg.node_id or (known[0] if known else 0)
            if node_id:
                out[node_id] = m
        return out

    def _token(self, token: str) -> tuple[str, int]:
        if token not in self._tokens:
            self._tokens[token] = (self.client.token_symbol(token), self.client.token_decimals(token))
        return self._tokens[token]

    def _check_terms(self, rec: JobRecord) -> None:
        """The rules that need only the job struct: the target node and the collateral policy."""
        job, opts = rec.job, self.config.node
        if job.target_node and job.target_node not in self._node_ids():
            ours = ", ".join(str(n) for n in sorted(self._node_ids())) or "none yet"
            raise JobRejected(f"the job is targeted at node {job.target_node}, not at this shop's nodes ({ours})")
        collateral = Decimal(job.collateral) / 10**18
        if collateral > opts.max_collateral:
            raise JobRejected(f"collateral {format_units(job.collateral, 18)} FAB is above max_collateral "
                              f"{opts.max_collateral} FAB")
        if opts.max_collateral_share is None:
            return
        symbol, decimals = self._token(job.token)
        price = opts.fab_prices.get(symbol)
        if price is None:
            raise JobRejected(f"max_collateral_share is set but [node] fab_prices has no price of FAB in {symbol} "
                              f"(add e.g. fab_prices = {{ {symbol} = \"0.5\" }})")
        payment = Decimal(job.amount) / 10**decimals
        worth = collateral * price
        if worth > opts.max_collateral_share * payment:
            raise JobRejected(f"collateral {format_units(job.collateral, 18)} FAB is worth {worth.normalize():f} "
                              f"{symbol} at {price} {symbol}/FAB, more than max_collateral_share "
                              f"{opts.max_collateral_share} x the payment of {format_units(job.amount, decimals)} "
                              f"{symbol}")

    def _fetch_spec(self, rec: JobRecord) -> JobSpec:
        try:
            return JobSpec.from_json_bytes(self.store.get(rec.spec_cid))  # the store verifies the CID
        except ValueError as exc:
            raise JobRejected(f"spec {rec.spec_cid} is not a valid JobSpec: {exc}") from None

    def _match(self, spec: JobSpec, rec: JobRecord, free: list[Machine]) -> Machine | None:
        """A free machine that can make the job; None when only a busy one could; JobRejected when none can."""
        material = Material(spec.material).name
        capable = [m for m in self.machines.values()
                   if spec.process & m.process and material in m.materials]
        if not capable:
            raise JobRejected(f"no machine here does {ProcessKind(spec.process).name} in {material}")
        if rec.job.target_node:  # the market lets only the target claim: only its machine may take the job
            target = self._node_ids().get(rec.job.target_node)
            capable = [m for m in capable if m is target]
            if not capable:
                raise JobRejected(f"the job is targeted at node {rec.job.target_node}, whose machine does not do "
                                  f"{ProcessKind(spec.process).name} in {material}")
        f, name, data = self._design_file(spec, rec, peek=True)
        if not (is_gcode(name) or name.lower().endswith(".stl")):
            raise JobRejected(f"design {name!r}: this node makes STL models and G-code files only")
        if data is None and rec.job.delivery_window < self.config.node.unestimated_min_window:
            raise JobRejected(
                f"design {name!r} is sealed, so its print time cannot be estimated before the claim; such a job "
                f"needs a delivery window of at least {format_duration(self.config.node.unestimated_min_window)} "
                f"(unestimated_min_window), this one has {format_duration(rec.job.delivery_window)}")
        size = spec.bounding_box_mm
        if data is not None and not is_gcode(name):
            size = stl_bounding_box(data, name).size
        # G-code passed through: a line a machine cannot take is found before the claim, not after it
        lines = gcode.numbered(data.decode("ascii", errors="replace")) if data is not None and is_gcode(name) else None
        fits = []
        last: Exception | None = None
        for m in capable:
            try:
                if size is not None:
                    m.profile.check_fits(size, name)
                if lines is not None:
                    check_lines(lines, m.cfg.firmware, f"design {name!r}", self.line_limits(m))
                fits.append(m)
            except (PartRejectedError, NodeConfigError) as exc:
                last = exc
        if not fits:
            raise JobRejected(str(last))
        machine = next((m for m in fits if m in free), None)
        if machine is not None and data is not None:
            try:
                sliced = self._slice(machine, spec, name, data)
            except (PartRejectedError, SlicingError) as exc:
                raise JobRejected(f"cannot slice {name!r} to estimate its print time: {exc}") from None
            self._check_time(spec, name, sliced.gcode, rec.job.delivery_window, "delivery window")
        return machine

    def _design_file(self, spec: JobSpec, rec: JobRecord, peek: bool = False) -> tuple[SpecFile, str, bytes | None]:
        """The design to make, verified, unsealed and checked against royalties; with `peek`, None for sealed data."""
        try:
            f = spec_design_file(spec)
        except FabricaError as exc:
            raise JobRejected(str(exc)) from None
        if f.sealed and not rec.job.target_node:
            raise JobRejected(f"design {f.name!r} is sealed but the job is open to any node: a design sealed to "
                              "one node's key must come in a job targeted at that node")
        if f.sealed and peek:
            return f, f.name, None  # sealed to this node: read only once the job is ours
        data = self.store.get(f.cid)  # verified against its CID on read
        if f.sealed:
            data = unseal(data, self.keys.private_key)
        if f.size is not None and len(data) != f.size:
            raise JobRejected(f"design {f.name} is {len(data)} bytes, the spec says {f.size}")
        self._check_royalty(rec, f, data)
        return f, f.name, data

    def _check_royalty(self, rec: JobRecord, f: SpecFile, data: bytes) -> None:
        """Refuse a registered design's file in a job that does not name that design (its royalty would be skipped)."""
        cids = plaintext_cids(data) + ([] if f.sealed else [f.cid])
        found = {d for d in (self.client.design_id_for_cid(c) for c in dict.fromkeys(cids)) if d}
        if found and rec.design_id not in found:
            names = ", ".join(f"#{d}" for d in sorted(found))
            raise JobRejected(f"design file {f.name!r} ({cids[0]}) is registered design {names}, but the job names "
                              f"{f'design #{rec.design_id}' if rec.design_id else 'no design'}: making it would skip "
                              "the designer's royalty")
        if rec.design_id:
            self._check_paid(rec)

    def _check_paid(self, rec: JobRecord) -> None:
        """Refuse a job naming a design unless it pays the design's royalty or used a fabrication licence for it."""
        licences = self.client.contracts["FabricationLicences"]
        job = rec.job
        if job.royalty_receiver == licences.address:
            customer, design = licences.functions.licenceOf(rec.job_id).call()
            if (customer, design) != (job.customer, rec.design_id):
                raise JobRejected(f"job {rec.job_id} claims a fabrication licence of design #{rec.design_id} that "
                                  "the licence contract has no record of")
            return
        if job.royalty > 0:
            return
        # No royalty and no licence: only right when the design asks none or the customer holds it.
        owner, bps, _state, _licensed = self.client.contracts["DesignNFT"].functions.rightsOf(rec.design_id).call()
        if bps and owner != job.customer:
            raise JobRejected(f"job {rec.job_id} names design #{rec.design_id} but pays neither its "
                              f"{bps / 100:g} % royalty nor a fabrication licence")

    def _slice(self, m: Machine, spec: JobSpec, name: str, data: bytes) -> SliceResult:
        """Slice (or pass through) for machine `m`, reusing a slice made while matching."""
        key = (m.cfg.name, hashlib.sha256(data).hexdigest(), Material(spec.material).name)
        cached = self._slices.get(key)
        if cached is not None and cached.profile_sha256 == m.profile.sha256:
            return cached
        result = prepare(data, name, m.profile, Material(spec.material).name)
        if result.sliced:  # G-code passes through in no time: only real slices are worth keeping
            self._slices[key] = result
            while len(self._slices) > SLICE_CACHE:
                self._slices.popitem(last=False)
        return result

    def _check_time(self, spec: JobSpec, name: str, gcode_bytes: bytes, available: float, what: str) -> TimeEstimate:
        """JobRejected when `available` seconds do not hold the estimate x quantity x time_margin + min_slack_s."""
        est = estimate(gcode_bytes.decode("ascii", errors="replace"))
        opts = self.config.node
        need = required_window(est.seconds, spec.quantity, opts.time_margin, opts.min_slack_s)
        if available < need:
            raise JobRejected(
                f"{what} {format_duration(available)} is shorter than the {name!r} print time: "
                f"{format_duration(est.seconds)} ({est.source} estimate) x {spec.quantity} "
                f"x time_margin {opts.time_margin:g} + min_slack_s {format_duration(opts.min_slack_s)} "
                f"= {format_duration(need)}")
        return est

    # ------------------------------------------------------------------------------------ work

    def _job_dir(self, job_id: int) -> Path:
        d = self.work_dir / str(job_id)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _work(self, m: Machine, job_id: int) -> None:
        rec = self.client.job(job_id)
        js = self.state.job(job_id)
        assert js is not None
        mine = rec.job.node.lower() == self.address.lower()
        if not (mine and rec.status == JobStatus.CLAIMED):
            if mine and rec.proof_cid and js.phase == "printed":
                self.state.advance(job_id, "delivered", proof_cid=rec.proof_cid, note="delivery found on chain")
            elif not self._handed_back_on_chain(job_id, rec):
                self.state.advance(job_id, "abandoned", error=f"job is {rec.status.name} on chain")
            return
        if js.phase == "printing":  # only after a crash that reconcile did not see
            self._interrupted(job_id, "print interrupted")
        sliced = self._prepare(m, rec)
        if sliced is None:
            return
        while self.state.job(job_id).phase == "sliced":
            if not self._print(m, job_id, sliced):
                return
        if self.state.job(job_id).phase == "printed":
            self._deliver(m, rec, sliced)

    def _prepare(self, m: Machine, rec: JobRecord) -> tuple[SliceResult, list[str], dict] | None:
        """Fetch, verify and slice (again after a restart: cheap, and nothing unverified is reused); a job that
        cannot be made here is handed back (None)."""
        job_id = rec.job_id
        first = self.state.job(job_id).phase == "claimed"
        try:
            spec = self._fetch_spec(rec)
            f, name, data = self._design_file(spec, rec)
            self._reach(job_id, "fetched")
            result = self._slice(m, spec, name, data)
            lines = gcode.numbered(result.gcode.decode("ascii"))
            what = f"G-code sliced from {name!r}" if result.sliced else f"design {name!r}"
            try:
                check_lines(lines, m.cfg.firmware, what, self.line_limits(m))
            except NodeConfigError as exc:
                raise JobRejected(str(exc)) from None
            if f.sealed and first:  # its time could not be estimated before the claim: now it can
                self._check_time(spec, name, result.gcode, rec.job.deadline - self.client.now(), "time left")
        except (JobRejected, PartRejectedError, SlicingError, SealingError, CidMismatchError, InvalidDagError) as exc:
            # Content that is wrong (not merely unreachable, which is retried) cannot become a part here.
            self._hand_back(m, rec, f"cannot make it: {exc}")
            return None
        d = self._job_dir(job_id)
        (d / "job.gcode").write_bytes(result.gcode)
        design = {"cid": f.cid, "name": name, "sealed": f.sealed, "role": f.role}
        (d / "slice.json").write_text(json.dumps({**result.as_log(), "design": design}, indent=1))
        if self._reach(job_id, "sliced"):
            how = f"sliced with {result.slicer}" if result.sliced else "G-code passed through"
            self.say(f"job {job_id}: {name} {how} (profile {result.profile}, config {result.config_sha256[:12]})")
        commands = [c for _, c in lines]
        return result, commands, {"spec": spec, "design": design, "lines": lines, "what": what, "rec": rec}

    def _print(self, m: Machine, job_id: int, sliced: tuple[SliceResult, list[str], dict]) -> bool:
        """One attempt; True to go on (printed, or retry), False when the job was abandoned."""
        _, commands, meta = sliced
        try:
            driver, identity = self._connect(m)
        except NodeClientError as exc:
            # The machine stopped answering: no attempt is spent and the job waits for it (abandoning it would
            # only lose the collateral sooner); nothing new is claimed for the machine until it answers again.
            m.answering, m.problem, m.checked_at = False, str(exc), time.monotonic()
            self.state.update(job_id, error=f"machine {m.cfg.name} does not answer: {exc}")
            self.say(f"job {job_id}: machine {m.cfg.name} does not answer ({exc}); the job waits for it")
            return False
        m.identity = identity["firmware"]
        try:  # before the first job line, against the firmware that answered now (it may have been reflashed)
            check_lines(meta["lines"], m.cfg.firmware, meta["what"], self.line_limits(m))
        except NodeConfigError as exc:
            driver.close()
            self._hand_back(m, meta["rec"], f"cannot make it: {exc}")
            return False
        attempt = self.state.job(job_id).attempts + 1
        self.state.advance(job_id, "printing", attempts=attempt)
        self._phase(job_id, "printing")
        log_id = self.state.start_print(job_id, attempt, m.cfg.name)
        self.say(f"job {job_id}: printing on {m.cfg.name}, attempt {attempt} ({len(commands)} lines)")

        pusher = self.pusher
        self._push_log(m, job_id, f"attempt {attempt}: printing {len(commands)} lines on {m.cfg.name}")

        def telemetry(p: JobProgress) -> None:
            self.state.add_telemetry(log_id, p.acked, p.total, p.temperatures, p.state)
            if pusher is not None:  # a queue append: the print loop never waits on the gateway
                pusher.record(m.node_id, m.cfg.name, p, job_id)

        def warned(text: str) -> None:
            self._push_log(m, job_id, text, "warning")

        try:
            m.runner = PrintRunner(driver, on_progress=telemetry, progress_interval=self.telemetry_interval,
                                   on_warning=warned)
            result = m.runner.run(commands, timeout=m.cfg.print_timeout)
        except NodeClientError as exc:
            result = PrintResult(False, "failed", 0, len(commands), 0.0, f"{exc.__class__.__name__}: {exc}")
        finally:
            driver.close()
            m.runner = None
        if pusher is not None and not result.ok:  # the failure itself, as the last sample of the attempt
            pusher.record(m.node_id, m.cfg.name, JobProgress(result.acked, result.total, result.elapsed, {},
                                                             "failed"), job_id, error=result.reason)
        self._push_log(m, job_id, f"attempt {attempt} {result.state}: {result.acked}/{result.total} lines acknowledged, "
                       f"{result.resends} resent in {result.elapsed:.1f} s" + (f"; {result.reason}" if result.reason
                                                                               else ""),
                       "info" if result.ok else "error")
        self.state.finish_print(log_id, ok=result.ok, state=result.state, reason=result.reason,
                                result={**result.as_dict(), "firmware": identity.get("firmware", {})})
        if result.ok:
            self.state.advance(job_id, "printed")
            self._phase(job_id, "printed")
            self.say(f"job {job_id}: printed ({result.acked} lines in {result.elapsed:.1f} s)")
            return True
        reason = f"attempt {attempt} {result.state}: {result.reason}"
        self.say(f"job {job_id}: {reason}")
        deadline_ok = self.client.now() < self.client.job(job_id).job.deadline
        if attempt >= self.config.node.max_attempts or not deadline_ok or self._stop.is_set():
            if self._stop.is_set() and result.state == "cancelled":
                self._interrupted(job_id, "cancelled by the operator; printed again on restart")
                return False
            self._abandon(m, job_id, f"{reason}; gave up after {attempt} attempt(s)")
            return False
        self.state.advance(job_id, "sliced", error=reason, note="retry")
        return True

    def _push_log(self, m: Machine, job_id: int, line: str, level: str = "info") -> None:
        """One print-log line for the gateway (nothing when no gateway is configured)."""
        if self.pusher is not None:
            self.pusher.log(m.node_id, m.cfg.name, line, level=level, job_id=job_id)

    def _abandon(self, m: Machine, job_id: int, reason: str, *, machine_fault: bool = True) -> None:
        """Give up on a job that stays claimed on chain; a machine fault also takes its node out of service."""
        self.state.advance(job_id, "abandoned", error=reason)
        self._phase(job_id, "abandoned")
        self.say(f"job {job_id}: ABANDONED: {reason}. It stays claimed on chain until its delivery deadline "
                 "passes; then anyone can expire it: the customer is refunded and part of the collateral slashed.")
        if machine_fault and self.config.node.deactivate_on_abandon:
            try:
                with self._chain_lock:
                    self.client.set_node_active(m.node_id, False)
                self.say(f"machine {m.cfg.name}: node {m.node_id} taken out of service; fix it and restart")
            except FabricaError as exc:
                self.say(f"machine {m.cfg.name}: could not take node {m.node_id} out of service: {exc}")
            m.in_service = False  # no further claims for it in this run

    def _hand_back(self, m: Machine, rec: JobRecord, reason: str) -> None:
        """Give a claimed job back on chain (free within the hand-back window) and never claim it again."""
        job_id = rec.job_id
        try:
            with self._chain_lock:
                tx = self.client.hand_back_job(job_id)
        except ContractError as exc:  # refused (its deadline passed, or it is no longer ours): keep it recorded
            self._abandon(m, job_id, f"{reason}; handing it back was refused: {exc}", machine_fault=False)
            return
        penalty = 0
        try:
            penalty = int(tx.event("JobHandedBack").args["penalty"])
        except (FabricaError, KeyError):
            pass
        self.state.advance(job_id, "handed_back", error=reason, note=tx.tx_hash)
        self._phase(job_id, "handed_back")
        cost = f"{format_units(penalty, 18)} FAB of collateral slashed" if penalty else "no penalty"
        self.say(f"job {job_id}: HANDED BACK ({reason}); {cost}; machine {m.cfg.name} stays in service "
                 f"(tx {tx.tx_hash})")

    def _handed_back_on_chain(self, job_id: int, rec: JobRecord) -> bool:
        """Record a job found Open again on chain (handed back before a crash let us record it)."""
        if rec.status != JobStatus.OPEN:
            return False
        self.state.advance(job_id, "handed_back", error="found handed back on chain", note="reconcile")
        self.say(f"job {job_id}: open again on chain (handed back); dropped from local work")
        return True

    def print_log(self, m: Machine, rec: JobRecord, sliced: tuple[SliceResult, list[str], dict]) -> dict[str, Any]:
        """The proof, unsigned: what was made, how it was sliced, every attempt with its telemetry (thinned evenly
        to about MAX_LOG_SAMPLES samples, the last one always kept). A public design's G-code is published by CID
        so the customer can check its hash; a sealed design's is not (it would reveal the design)."""
        result, commands, meta = sliced
        slicing = result.as_log()
        if not meta["design"]["sealed"]:
            slicing["gcode_cid"] = str(self.store.add(result.gcode))
        attempts = []
        for log in self.state.print_logs(rec.job_id):
            samples = log["telemetry"]
            step = max(1, -(-len(samples) // MAX_LOG_SAMPLES))
            attempts.append({
                "attempt": log["attempt"], "machine": log["machine"], "started_at": log["started_at"],
                "finished_at": log["finished_at"], "ok": log["ok"], "state": log["state"], "reason": log["reason"],
                "result": log["result"], "telemetry": samples[::step] + ([samples[-1]] if samples[::step][-1:]
                                                                         != samples[-1:] else []),
            })
        spec: JobSpec = meta["spec"]
        return {
            "schema": LOG_SCHEMA, "job_id": rec.job_id, "node_id": rec.node_id, "operator": self.address,
            "chain_id": self.client.deployment.chain_id, "spec_cid": rec.spec_cid, "title": spec.title,
            "quantity": spec.quantity, "design": meta["design"],
            "machine": {"name": m.cfg.name, "firmware": m.cfg.firmware, "profile": m.profile.name,
                        "build_volume_mm": list(m.profile.build_volume_mm)},
            "slicing": slicing, "gcode_lines": len(commands),
            "attempts": attempts, "result": "printed",
        }

    def _deliver(self, m: Machine, rec: JobRecord, sliced: tuple[SliceResult, list[str], dict]) -> None:
        job_id = rec.job_id
        logs = self.state.print_logs(job_id)
        if not logs or logs[-1]["ok"] is not True:  # never deliver a job that did not finish
            raise NodeClientError(f"job {job_id} is marked printed but has no finished print; refusing to deliver")
        log = sign_log(self.print_log(m, rec, sliced), self.client.account)  # the customer checks who made it
        (self._job_dir(job_id) / "print-log.json").write_text(json.dumps(log, indent=1, sort_keys=True))
        proof = str(self.store.add(json.dumps(log, sort_keys=True, separators=(",", ":")).encode()))
        with self._chain_lock:
            tx = self.client.deliver_job(job_id, proof)
        self.state.advance(job_id, "delivered", proof_cid=proof, deliver_tx=tx.tx_hash)
        self._phase(job_id, "delivered")
        self.delivered.append(job_id)
        self._push_log(m, job_id, f"delivered, proof {proof}")
        self.say(f"job {job_id}: delivered, proof {proof} (tx {tx.tx_hash})")


def run_loop(config: NodeConfig, say: Callable[[str], None] = print, max_jobs: int | None = None,
             stop: threading.Event | None = None) -> list[int]:
    """What `fabrica node run` does."""
    loop = JobLoop(config, say=say)
    try:
        return loop.run(max_jobs=max_jobs, stop=stop)
    finally:
        loop.close()


__all__ = ["JobLoop", "JobRejected", "Machine", "NoMachineError", "load_or_create_key", "run_loop"]
