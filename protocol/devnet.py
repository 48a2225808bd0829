"""The local devnet: anvil on 127.0.0.1 in the background with Fabrica deployed and dev accounts funded."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3
from web3.exceptions import Web3Exception

from .accounts import DEV_ACCOUNTS, DEV_ROLES, dev_account
from .deploy import MarketParams, deploy_protocol, fund_dev_accounts
from .deployment import Deployment, GovernanceSettings
from .errors import FabricaConnectionError, FabricaError, FabricaLookupError, FabricaValueError

DEVNET_CHAIN_ID = 31337
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def advance_clock(w3: Web3, seconds: int) -> int:
    """Move a devnet's clock forward by `seconds` and mine a block; the new block's timestamp."""
    if w3.eth.chain_id != DEVNET_CHAIN_ID:
        raise FabricaValueError(f"chain {w3.eth.chain_id} is not the devnet (chain {DEVNET_CHAIN_ID}): only a "
                                "devnet's clock can be moved")
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])
    return int(w3.eth.get_block("latest")["timestamp"])

def devnet_roles() -> dict[str, int]:
    """The dev accounts' roles: what `devnet up` prints and deploys with (the DAO is the treasury and court)."""
    return dict(DEV_ROLES)


@dataclass(frozen=True)
class DevnetPaths:
    """Where the devnet keeps its pid, log and manifest: state per port, inside one home."""

    home: Path
    port: int = 8545

    @property
    def dir(self) -> Path:
        return self.home / "devnet"

    @property
    def pid_file(self) -> Path:
        return self.dir / f"anvil-{self.port}.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / f"anvil-{self.port}.log"

    @property
    def record(self) -> Path:
        """This port's own copy of its manifest (the home's `deployments/31337.json` names the last one up)."""
        return self.dir / f"deployment-{self.port}.json"

    @property
    def legacy_pid_file(self) -> Path:
        """The one pid file of earlier versions (for every port); read so their devnets can still be stopped."""
        return self.dir / "anvil.pid"

    @property
    def deployments(self) -> Path:
        return self.home / "deployments"


@dataclass(frozen=True)
class DownResult:
    """What `Devnet.down` did; true when it stopped an anvil."""

    stopped: bool
    rpc_url: str
    pid: int | None = None
    manifest_removed: Path | None = None
    other: str | None = None  # what answers on the port that this devnet did not start, if anything

    def __bool__(self) -> bool:
        return self.stopped


def find_anvil() -> str:
    """Path of the anvil binary: $FABRICA_ANVIL, the repo's node_modules, or PATH."""
    candidates = [os.environ.get("FABRICA_ANVIL")]
    for base in (Path.cwd(), PACKAGE_ROOT):
        candidates.append(str(base / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"))
        candidates.append(str(base / "node_modules/.bin/anvil"))
    candidates.append(shutil.which("anvil"))
    for c in candidates:
        if c and Path(c).exists():
            return c
    raise FabricaLookupError("anvil not found: run `make demo` (installs node_modules) or set FABRICA_ANVIL")


def _alive(pid: int) -> bool:
    try:  # reap it if it is our own exited child (else a zombie would look alive)
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _is_anvil_on(pid: int, port: int) -> bool:
    """True when process `pid` is an anvil serving `port` (a pid file can outlive its process and the pid be reused)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return _alive(pid) and not Path("/proc/self").exists()  # no procfs (macOS): trust a live pid
    except OSError:
        return False
    if not args or "anvil" not in Path(args[0].decode(errors="replace")).name:
        return False
    return any(a == b"--port" and b == str(port).encode() for a, b in zip(args, args[1:]))


def rpc_ready(url: str, timeout: float = 0.5) -> bool:
    """True when an Ethereum JSON-RPC endpoint answers at `url`."""
    try:
        return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout})).is_connected()
    except Exception:
        return False


def port_in_use(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def describe_endpoint(url: str, host: str, port: int) -> str | None:
    """What answers at `url` in words ('an Ethereum node, chain 31337'), or None if nothing listens."""
    if not port_in_use(host, port):
        return None
    # One plain request with a short timeout: web3's retries would make a silent listener cost seconds.
    request = urllib.request.Request(
        url, data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            chain_id = int(json.loads(answer.read())["result"], 16)
    except Exception:  # refused, silent, not HTTP, not JSON-RPC: all mean "not an Ethereum node"
        return "a program that is not an Ethereum JSON-RPC node"
    return f"an Ethereum node, chain {chain_id}"


def check_home(home: Path) -> Path:
    """`home` if it is, or can become, a folder; else a clear error naming the file in the way."""
    if "\0" in str(home):  # pathlib answers "does not exist" for such a name; the OS would refuse it
        raise FabricaValueError(f"--home {str(home)!r} contains a NUL byte; pass a folder name")
    try:
        probe = Path(home)
        while not probe.exists():
            if probe.parent == probe:
                break
            probe = probe.parent
        in_the_way = probe.exists() and not probe.is_dir()
    except (ValueError, OSError) as exc:  # an embedded NUL byte, a name too long
        raise FabricaValueError(f"--home {str(home)!r} is not a usable folder name: {exc}") from None
    if in_the_way:
        where = "is a file" if probe == Path(home) else f"is inside {probe}, which is a file"
        raise FabricaValueError(
            f"--home {home} {where}; the state directory must be a folder (it is created if missing)"
        )
    return Path(home)


def check_port(port: int) -> int:
    """`port` if it is a TCP port number."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise FabricaValueError(f"port {port} must be 1–65535 (a TCP port number, e.g. 8545)")
    return port


class Devnet:
    """Start, inspect and stop the local devnet; it only ever stops or deploys onto an anvil it started."""

    def __init__(self, home: Path, host: str = "127.0.0.1", port: int = 8545) -> None:
        self.paths = DevnetPaths(check_home(home), check_port(port))
        self.host = host
        self.port = port

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def running_pid(self) -> int | None:
        """The pid of the anvil this home started on this port, if it is alive."""
        for file in (self.paths.pid_file, self.paths.legacy_pid_file):
            try:
                pid = int(file.read_text().strip())
            except (OSError, ValueError):
                continue
            if _alive(pid) and _is_anvil_on(pid, self.port):
                return pid
        return None

    def other(self) -> str | None:
        """What answers on this port without this devnet having started it, in words; None if nothing."""
        if self.running_pid() is not None:
            return None
        return describe_endpoint(self.rpc_url, self.host, self.port)

    def manifest(self) -> Deployment | None:
        """The devnet's deployment manifest if the devnet is up and the contracts are there."""
        if not rpc_ready(self.rpc_url):
            return None
        try:
            deployment = self._record() or Deployment.load(self.paths.deployments, DEVNET_CHAIN_ID)
        except (FabricaLookupError, FabricaValueError):
            return None
        w3 = Web3(Web3.HTTPProvider(self.rpc_url))
        if w3.eth.chain_id != DEVNET_CHAIN_ID:
            return None
        if any(w3.eth.get_code(a) == b"" for a in deployment.contracts.values()):
            return None  # a different chain is on this port (restarted anvil): redeploy
        return deployment

    def up(self, progress: Callable[[str], None] | None = None) -> Deployment:
        """Start anvil if needed and deploy if needed; idempotent. Refuses a port something else answers on."""
        say = progress or (lambda _m: None)
        pid = self.running_pid()
        if pid is None:
            other = describe_endpoint(self.rpc_url, self.host, self.port)
            if other is not None:
                # Deploying onto a chain someone else runs would mix our state into theirs, and `down` could
                # not stop it: refuse.
                raise FabricaError(
                    f"port {self.port} is taken: {other} answers at {self.rpc_url} and this devnet (home "
                    f"{self.paths.home}) did not start it; stop it, or pick a free port with --port N"
                )
            pid = self._start_anvil(say)
        else:
            self._wait_ready(pid)
        existing = self.manifest()
        if existing is not None:
            say(f"devnet already up at {self.rpc_url} (pid {pid})")
            if self._shared() != existing:  # another port's devnet of this home was brought up since
                path = existing.save(self.paths.deployments)
                say(f"manifest {path} names this devnet again")
            return existing
        try:
            w3 = Web3(Web3.HTTPProvider(self.rpc_url))
            deployer = dev_account(DEV_ROLES["deployer"])
            # The DAO governs the devnet as it would production, on minutes instead of days: the dev
            # arbiter sits on the panel and the guardian may pause new jobs; a tenth of FAB is the treasury's.
            deployment = deploy_protocol(
                w3, deployer,
                params=MarketParams.devnet(), governance=GovernanceSettings.devnet(),
                arbiters=(dev_account(DEV_ROLES["arbiter"]).address,),
                guardian=dev_account(DEV_ROLES["guardian"]).address, treasury_fab=100_000_000 * 10**18,
                score_validators=(dev_account(DEV_ROLES["validator"]).address,),
                test_stablecoin=True, progress=say,
            )
            say(f"funding {DEV_ACCOUNTS} dev accounts with FAB and fUSD")
            fund_dev_accounts(w3, deployer, deployment, [dev_account(i).address for i in range(DEV_ACCOUNTS)])
        except (OSError, Web3Exception) as exc:  # anvil died or stopped answering mid-deployment
            raise FabricaConnectionError(
                f"deploying onto {self.rpc_url} failed ({exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}); "
                f"see {self.paths.log_file}, then `fabrica devnet down` and up again"
            ) from None
        self._write_record(deployment)
        path = deployment.save(self.paths.deployments)
        say(f"manifest written to {path}")
        return deployment

    def _record(self) -> Deployment | None:
        try:
            return Deployment.model_validate_json(self.paths.record.read_text())
        except (OSError, ValueError):
            return None

    def _shared(self) -> Deployment | None:
        try:
            return Deployment.load(self.paths.deployments, DEVNET_CHAIN_ID)
        except (FabricaLookupError, FabricaValueError):
            return None

    def _write_record(self, deployment: Deployment) -> None:
        tmp = self.paths.record.with_suffix(".json.tmp")
        tmp.write_text(deployment.model_dump_json(indent=2) + "\n")
        os.replace(tmp, self.paths.record)

    def _start_anvil(self, say: Callable[[str], None]) -> int:
        try:
            self.paths.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FabricaValueError(f"cannot create the devnet folder {self.paths.dir}: {exc.strerror}") from None
        anvil = find_anvil()
        # anvil outlives this process; it inherits its own copy of the log descriptor.
        with open(self.paths.log_file, "ab") as log:
            proc = subprocess.Popen(
                [anvil, "--host", self.host, "--port", str(self.port), "--chain-id", str(DEVNET_CHAIN_ID),
                 "--accounts", str(DEV_ACCOUNTS), "--balance", "10000"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.paths.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.paths.pid_file.unlink(missing_ok=True)
                raise FabricaConnectionError(
                    f"anvil exited with code {proc.returncode} on port {self.port}; see {self.paths.log_file}"
                )
            if rpc_ready(self.rpc_url):
                say(f"anvil started at {self.rpc_url} (pid {proc.pid})")
                return proc.pid
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        self.paths.pid_file.unlink(missing_ok=True)
        raise FabricaConnectionError(f"anvil did not answer on {self.rpc_url} within 30 s; see {self.paths.log_file}")

    def _wait_ready(self, pid: int, timeout: float = 30) -> None:
        """Wait for our anvil (maybe still starting from another `devnet up`) to answer."""
        deadline = time.monotonic() + timeout
        while not rpc_ready(self.rpc_url):
            if time.monotonic() > deadline or not _alive(pid):
                raise FabricaConnectionError(
                    f"the devnet's anvil (pid {pid}) does not answer on {self.rpc_url}; see {self.paths.log_file}, "
                    "then `fabrica devnet down` and up again"
                )
            time.sleep(0.1)

    def down(self) -> DownResult:
        """Stop the anvil this home started on this port (and nothing else); says what it did."""
        pid = self.running_pid()
        if pid is None:
            for file in (self.paths.pid_file, self.paths.legacy_pid_file):
                if file.exists() and not self._pid_file_live(file):
                    file.unlink(missing_ok=True)  # stale: its anvil is gone
            self.paths.record.unlink(missing_ok=True)
            return DownResult(False, self.rpc_url, other=describe_endpoint(self.rpc_url, self.host, self.port))
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        for file in (self.paths.pid_file, self.paths.legacy_pid_file):
            if file.exists() and not self._pid_file_live(file):
                file.unlink(missing_ok=True)
        removed = None
        manifest = self.paths.deployments / f"{DEVNET_CHAIN_ID}.json"
        record = self._record()
        self.paths.record.unlink(missing_ok=True)
        # The home's manifest goes only when it names this devnet (another port's may have been brought up since);
        # an earlier version kept no record: then only when no other devnet of this home runs.
        shared = self._shared()
        names_this = shared == record if record is not None else True
        if manifest.exists() and names_this and not self._other_devnets_alive(shared if record is not None else None):
            manifest.unlink(missing_ok=True)
            removed = manifest
        return DownResult(True, self.rpc_url, pid=pid, manifest_removed=removed)

    def _pid_file_live(self, file: Path) -> bool:
        try:
            pid = int(file.read_text().strip())
        except (OSError, ValueError):
            return False
        port = self.port if file == self.paths.pid_file else _port_of(pid)
        return port is not None and _alive(pid) and _is_anvil_on(pid, port)

    def _other_devnets_alive(self, deployment: Deployment | None = None) -> bool:
        """Whether another port's devnet of this home runs (with this same deployment, when one is given)."""
        for file in self.paths.dir.glob("anvil*.pid"):
            try:
                pid = int(file.read_text().strip())
            except (OSError, ValueError):
                continue
            port = _port_of(pid)
            if port is None or port == self.port or not (_alive(pid) and _is_anvil_on(pid, port)):
                continue
            if deployment is None or Devnet(self.paths.home, self.host, port)._record() == deployment:
                return True
        return False


def _port_of(pid: int) -> int | None:
    """The --port of anvil process `pid`, from its command line."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    for flag, value in zip(args, args[1:]):
        if flag == b"--port" and value.isdigit():
            return int(value)
    return None


def manifest_json(deployment: Deployment, rpc_url: str) -> str:
    """The manifest as printed by `fabrica devnet up --json`, with the RPC URL and dev accounts."""
    data = json.loads(deployment.model_dump_json())
    data["rpc_url"] = rpc_url
    data["accounts"] = {role: dev_account(i).address for role, i in devnet_roles().items()}
    return json.dumps(data, indent=2)
