"""Constants, the `Chain` helper and the in-process `Cli` shared by the SDK and CLI tests (fixtures live in
conftest.py)."""
from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from fabrica.protocol.accounts import dev_account
from fabrica.protocol.cli.main import app
from fabrica.protocol.client import Fabrica
from fabrica.protocol.deploy import MarketParams
from fabrica.protocol.deployment import Deployment
from fabrica.protocol.devnet import Devnet, devnet_roles
from fabrica.protocol.storage.store import LocalContentStore
from typer.testing import CliRunner
from web3 import Web3

FAB = 10**18
USD = 10**6
SHOP_STAKE = 2_000 * FAB
COLLATERAL = 10 * FAB  # the devnet's minimum collateral (and the lower bound for payments up to 1000 fUSD)
PARAMS = MarketParams.devnet()  # what `fabrica devnet up` deploys with
ROLES = devnet_roles()  # the dev roles (the DAO's timelock is the treasury and the appeal court)
# Dev accounts outside the named roles; fund_dev_accounts gives accounts 0..11 FAB and fUSD.
NEWCOMER = 6  # an operator with no stake and no node
STRANGER = 7  # an account that is party to nothing


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DevnetInfo:
    devnet: Devnet
    deployment: Deployment
    home: Path

    @property
    def rpc_url(self) -> str:
        return self.devnet.rpc_url


def role_clients(base: Fabrica) -> dict[str, Fabrica]:
    """A signing client for every dev role, plus the newcomer and the stranger."""
    out = {role: base.with_account(dev_account(i)) for role, i in ROLES.items()}
    out["newcomer"] = base.with_account(dev_account(NEWCOMER))
    out["stranger"] = base.with_account(dev_account(STRANGER))
    return out


class Chain:
    """Handles on the devnet for one test: role clients, tokens, the clock and a funds ledger."""

    def __init__(self, base: Fabrica, info: DevnetInfo, content_dir: Path, clients: dict[str, Fabrica]) -> None:
        self.base = base
        self.info = info
        self.w3 = base.w3
        self.deployment = info.deployment
        self.usd = info.deployment.payment_tokens["fUSD"]
        self.fab_token = info.deployment.contracts["FabToken"]
        self.store = LocalContentStore(content_dir)
        self.roles = {role: clients[role] for role in ROLES}
        self.newcomer = clients["newcomer"]
        self.stranger = clients["stranger"]
        self.node_id = 1  # the shop's baseline node
        # The DAO: its timelock owns the market, is the treasury and the appeal court.
        self.timelock = info.deployment.contracts["FabTimelock"]

    def __getattr__(self, role: str) -> Fabrica:
        roles = self.__dict__.get("roles", {})
        if role in roles:
            return roles[role]
        raise AttributeError(role)

    # ---- clock

    def advance(self, seconds: int) -> None:
        """Move the chain clock forward and mine a block."""
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    # ---- content

    def cid(self, data: bytes = b"part") -> str:
        return str(self.store.add(data))

    # ---- funds

    def everyone(self) -> dict[str, str]:
        out = {role: c.address for role, c in self.roles.items()}
        out["newcomer"] = self.newcomer.address
        out["stranger"] = self.stranger.address
        out["market"] = self.base.market.address
        out["timelock"] = self.timelock
        out["registry"] = self.base.registry.address
        return out

    def ledger(self) -> dict:
        """Every balance a Fabrica action could move: wallets, market balances, fees, stakes.

        Read with one JSON-RPC batch of raw eth_calls (the whole ledger costs one round trip).
        """
        usd, fab = self.usd, self.fab_token
        market, registry = self.base.market.address, self.base.registry.address
        calls: dict[str, tuple[str, str]] = {"fees": (market, _calldata("feesOf(address)", usd)),
                                             "fees.fab": (market, _calldata("feesOf(address)", fab))}
        for name, addr in self.everyone().items():
            calls[f"{name}.usd"] = (usd, _calldata("balanceOf(address)", addr))
            calls[f"{name}.fab"] = (fab, _calldata("balanceOf(address)", addr))
            calls[f"{name}.market"] = (market, _calldata("balanceOf(address,address)", usd, addr))
            calls[f"{name}.market.fab"] = (market, _calldata("balanceOf(address,address)", fab, addr))
            calls[f"{name}.stake"] = (registry, _calldata("stakeOf(address)", addr))
        batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"to": to, "data": data}, "latest"]}
                 for i, (to, data) in enumerate(calls.values())]
        answers = {a["id"]: a["result"] for a in httpx.post(self.info.rpc_url, json=batch, timeout=10).json()}
        return {key: answers[i] for i, key in enumerate(calls)}

    # ---- scenario helpers

    def post(self, amount: int = 25 * USD, *, claim_in: int = 86_400, window: int = 86_400,
             collateral: int | None = COLLATERAL, design_id: int = 0, target_node: int = 0, reuse: bool = True,
             who: Fabrica | None = None) -> int:
        who = who or self.customer
        return who.post_job(
            self.usd, amount, self.cid(b"spec %d" % amount), claim_by=who.now() + claim_in,
            delivery_window=window, collateral=collateral, design_id=design_id, target_node=target_node,
            reuse=reuse,
        ).value

    def operator(self, who: Fabrica | None = None, stake: int = 1_000 * FAB) -> int:
        """Make `who` (default: the newcomer) a staked operator with one node; returns the node id."""
        who = who or self.newcomer
        who.stake(stake)
        return who.register_node(processes=1, materials=3, build_volume_mm=(200, 200, 200),
                                 encryption_key=b"\x22" * 32, metadata_cid=self.cid(b"second shop")).value

    def claimed(self, **kw) -> int:
        job_id = self.post(**kw)
        self.shop.claim_job(job_id, self.node_id)
        return job_id

    def delivered(self, **kw) -> int:
        job_id = self.claimed(**kw)
        self.shop.deliver_job(job_id, self.cid(b"proof of job %d" % job_id))
        return job_id


    # ---- the DAO

    def dao_execute(self, calls: list[tuple[str, bytes]], *, proposer: Fabrica | None = None,
                    description: str = "test proposal"):
        """Pass `calls` (target, calldata) through governance as one proposal: propose (by `proposer`, default the
        deployer), the deployer delegates its FAB to itself and votes for it, queue, wait the timelock's delay, execute; returns
        the execute TxResult (the timelock performs the calls)."""
        gov_settings = self.deployment.governance
        proposer = proposer or self.deployer
        # The deployer holds most FAB; its votes count from the snapshot on, taken after the voting delay.
        self.deployer._send(self.deployer.fab, "delegate", self.deployer.address)
        self.advance(1)  # the proposal threshold reads the votes of the second before the proposal
        args = ([t for t, _ in calls], [0] * len(calls), [c for _, c in calls])
        pid = proposer._send(proposer.contracts["FabGovernor"], "propose", *args, description,
                             value_from="ProposalCreated.proposalId").value
        self.advance(gov_settings.voting_delay + 1)
        self.deployer._send(self.deployer.contracts["FabGovernor"], "castVote", pid, 1)
        self.advance(gov_settings.voting_period + 1)
        desc_hash = Web3.keccak(text=description)
        self.deployer._send(self.deployer.contracts["FabGovernor"], "queue", *args, desc_hash)
        self.advance(gov_settings.timelock_delay + 1)
        return self.stranger._send(self.stranger.contracts["FabGovernor"], "execute", *args, desc_hash)

    def calldata(self, contract: str, fn: str, *args) -> tuple[str, bytes]:
        """(address, calldata) of a call of `fn` on deployment contract `contract`, for `dao_execute`."""
        c = self.base.contracts[contract]
        return c.address, bytes.fromhex(c.encode_abi(fn, args=list(args))[2:])

    def dao_rule(self, job_id: int, refund_bps: int, slash_bps: int, *, proposer: Fabrica | None = None):
        """The appeal court (the DAO) rules on an appealed dispute: a party proposes the ruling (no threshold)."""
        job = self.base.job(job_id).job.to_abi()
        return self.dao_execute([self.calldata("JobMarket", "rule", job_id, job, refund_bps, slash_bps)],
                                proposer=proposer or self.customer,
                                description=f"rule on job {job_id}: refund {refund_bps}, slash {slash_bps}")


def fails_cleanly(chain: Chain, error: type[Exception], action: Callable[[], object], *,
                  match: str | None = None, sends_nothing: bool = False, who: Fabrica | None = None):
    """Run `action`, expect `error`, and check that no balance anywhere moved (and, with `sends_nothing`, that
    `who` sent no transaction at all)."""
    ledger = chain.ledger()
    nonce = chain.w3.eth.get_transaction_count(who.address) if who else None
    with pytest.raises(error, match=match) as exc:
        action()
    assert chain.ledger() == ledger, "a failed action moved funds"
    if sends_nothing:
        assert chain.w3.eth.get_transaction_count(who.address) == nonce, "a transaction was sent"
    return exc.value


def cli_home(home: Path, devnet: DevnetInfo) -> Path:
    """Make `home` a CLI home holding only the devnet's manifest."""
    (home / "deployments").mkdir(parents=True)
    shutil.copy(devnet.home / "deployments/31337.json", home / "deployments/31337.json")
    return home


class Cli:
    """Runs `fabrica …` in-process against one devnet, with its own home and content store."""

    def __init__(self, rpc_url: str, home: Path) -> None:
        self.rpc_url = rpc_url
        self.home = home

    def __call__(self, *args: str, account: str | None = None, ok: bool = True):
        """Run `fabrica ARGS --rpc-url … --home …` (and `--account`); with `ok`, assert it succeeded."""
        argv = [*args, "--rpc-url", self.rpc_url, "--home", str(self.home)]
        if account:
            argv += ["--account", account]
        result = CliRunner().invoke(app, argv)
        if ok:
            assert result.exit_code == 0, f"fabrica {' '.join(argv)} failed:\n{result.output}"
        return result

    def json(self, *args: str, account: str | None = None) -> dict | list:
        """Run the command with `--json` and return what it printed."""
        out = self(*args, "--json", account=account).stdout
        return json.loads(out)


def _calldata(signature: str, *args: str) -> str:
    types = signature[signature.index("(") + 1:-1].split(",")
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, list(args))).hex()
