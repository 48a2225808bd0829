"""The local devnet: anvil on 127.0.0.1 in the background with Fabrica deployed and dev accounts funded."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from .accounts import DEV_ROLES, dev_account
from .deploy import deploy_protocol, fund_dev_accounts
from .deployment import Deployment
from .errors import FabricaConnectionError, FabricaError, FabricaLookupError

DEVNET_CHAIN_ID = 31337
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DevnetPaths:
    """Where the devnet keeps its pid, log and manifest."""

    home: Path

    @property
    def dir(self) -> Path:
        return self.home / "devnet"

    @property
    def pid_file(self) -> Path:
        return self.dir / "anvil.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "anvil.log"

    @property
    def deployments(self) -> Path:
        return self.home / "deployments"


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


def rpc_ready(url: str, timeout: float = 0.5) -> bool:
    """True when an Ethereum JSON-RPC endpoint answers at `url`."""
    try:
        return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout})).is_connected()
    except Exception:
        return False


class Devnet:
    """Start, inspect and stop the local devnet."""

    def __init__(self, home: Path, host: str = "127.0.0.1", port: int = 8545) -> None:
        self.paths = DevnetPaths(home)
        self.host = host
        self.port = port

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def running_pid(self) -> int | None:
        """The pid of our anvil if it is alive."""
        try:
            pid = int(self.paths.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def manifest(self) -> Deployment | None:
        """The devnet's deployment manifest if the devnet is up and the contracts are there."""
        if not rpc_ready(self.rpc_url):
            return None
        try:
            deployment = Deployment.load(self.paths.deployments, DEVNET_CHAIN_ID)
        except FabricaLookupError:
            return None
        w3 = Web3(Web3.HTTPProvider(self.rpc_url))
        if w3.eth.chain_id != DEVNET_CHAIN_ID:
            return None
        if any(w3.eth.get_code(a) == b"" for a in deployment.contracts.values()):
            return None  # a different chain is on this port (restarted anvil): redeploy
        return deployment

    def up(self, progress: Callable[[str], None] | None = None) -> Deployment:
        """Start anvil if needed and deploy if needed; idempotent."""
        say = progress or (lambda _m: None)
        existing = self.manifest()
        if existing is not None:
            say(f"devnet already up at {self.rpc_url}")
            return existing
        if not rpc_ready(self.rpc_url):
            self._start_anvil(say)
        w3 = Web3(Web3.HTTPProvider(self.rpc_url))
        if w3.eth.chain_id != DEVNET_CHAIN_ID:
            raise FabricaError(f"{self.rpc_url} is chain {w3.eth.chain_id}, not a devnet; stop it or use --port")
        deployer = dev_account(DEV_ROLES["deployer"])
        deployment = deploy_protocol(
            w3, deployer,
            treasury=dev_account(DEV_ROLES["treasury"]).address,
            arbiter=dev_account(DEV_ROLES["arbiter"]).address,
            test_stablecoin=True, progress=say,
        )
        say("funding dev accounts with FAB and fUSD")
        fund_dev_accounts(w3, deployer, deployment, [dev_account(i).address for i in range(10)])
        path = deployment.save(self.paths.deployments)
        say(f"manifest written to {path}")
        return deployment

    def _start_anvil(self, say: Callable[[str], None]) -> None:
        self.paths.dir.mkdir(parents=True, exist_ok=True)
        anvil = find_anvil()
        # anvil outlives this process; it inherits its own copy of the log descriptor.
        with open(self.paths.log_file, "ab") as log:
            proc = subprocess.Popen(
                [anvil, "--host", self.host, "--port", str(self.port), "--chain-id", str(DEVNET_CHAIN_ID),
                 "--accounts", "10", "--balance", "10000"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.paths.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise FabricaConnectionError(
                    f"anvil exited with code {proc.returncode}; see {self.paths.log_file} "
                    f"(is port {self.port} taken?)"
                )
            if rpc_ready(self.rpc_url):
                say(f"anvil started at {self.rpc_url} (pid {proc.pid})")
                return
            time.sleep(0.1)
        proc.kill()
        raise FabricaConnectionError(f"anvil did not answer on {self.rpc_url} within 30 s")

    def down(self) -> bool:
        """Stop our anvil; returns whether one was running."""
        pid = self.running_pid()
        self.paths.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        manifest = self.paths.deployments / f"{DEVNET_CHAIN_ID}.json"
        manifest.unlink(missing_ok=True)
        return True


def manifest_json(deployment: Deployment, rpc_url: str) -> str:
    """The manifest as printed by `fabrica devnet up --json`, with the RPC URL and dev accounts."""
    data = json.loads(deployment.model_dump_json())
    data["rpc_url"] = rpc_url
    data["accounts"] = {role: dev_account(i).address for role, i in DEV_ROLES.items()}
    return json.dumps(data, indent=2)
