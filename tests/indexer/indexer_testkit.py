"""Helpers for the indexer tests: a chain driver (contract transactions, anvil time travel and reorgs) and the
oracle comparison.

The driver talks to the contracts with web3 and the generated ABIs, not through the SDK: it keeps its own fold of
each job's current struct from the market's logs (what every call after `post` needs), so the indexer's tests
check the indexer against the contracts alone.
"""
from __future__ import annotations

import json
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_abi import encode as abi_encode
from eth_utils import keccak
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.indexer.verify import check_chain, snapshot
from fabrica.indexer.verify import diff as _diff
from fabrica.protocol.accounts import DEV_ACCOUNTS, DEV_ROLES, dev_account
from fabrica.protocol.artifacts import abi, canonical_type
from fabrica.protocol.deployment import Deployment
from fabrica.protocol.gas import gas_limit
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.storage.store import LocalContentStore
from fabrica.protocol.types import Material, ProcessKind, unpack_job
from web3 import Web3

FAB = 10**18
USD = 10**6
DAY = 86_400
ZERO = "0x" + "00" * 20
JOB_FIELDS = ("customer", "token", "node", "royaltyReceiver", "amount", "royalty", "collateral", "bond", "feeBps",
              "deliveryWindow", "reviewWindow", "deadline", "targetNode", "key")
TERMINAL = ("settled", "resolved", "cancelled", "expired")
# The status a job is in after each market event that names it.
AFTER = {"JobPosted": "open", "OrderTaken": "claimed", "JobClaimed": "claimed", "JobHandedBack": "open",
         "JobDelivered": "delivered", "JobDisputed": "disputed", "JobSettled": "settled", "JobResolved": "resolved",
         "JobCancelled": "cancelled", "JobExpired": "expired"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JsonRpcProxy:
    """A loopback HTTP server in front of a JSON-RPC node, standing in for a provider: `answer` decides each reply
    (by default the node's own); `start` serves, `close` stops (also as a context manager)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                code, payload, headers = proxy.answer(body)
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, body: Any) -> Any:
        """The node's answer to a request (or batch)."""
        return httpx.post(self.upstream, json=body, timeout=30).json()

    def answer(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        """The HTTP status, JSON payload and extra headers to reply with."""
        return 200, self.forward(body), {}

    def start(self) -> JsonRpcProxy:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> JsonRpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def oracle_snapshot(rpc_url: str, deployment: Deployment, tmp: Path, head: int) -> dict[str, list[tuple]]:
    """A fresh index from genesis (SQLite) up to `head`: the expected contents."""
    path = tmp / f"oracle-{random.getrandbits(48):x}.db"
    with Indexer(f"sqlite:///{path}", rpc_url, deployment, IndexerConfig(confirmations=0)) as ix:
        ix.sync(until=head)
        snap = snapshot(ix.engine)
        ix.engine.dispose()
    path.unlink()
    return snap


def diff(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> list[str]:
    return [str(d) for d in _diff(actual, expected)]


def chain_problems(ix: Indexer, chain: ChainDriver) -> list[str]:
    """What the contracts' views (statusOf, commitmentAt, balances, stakes…) disagree with in the index, at its tip."""
    return [str(d) for d in check_chain(ix.engine, chain.rpc_url, chain.deployment, ix.metrics.tip)]


def assert_index_is_the_chain(ix: Indexer, chain: ChainDriver, tmp: Path) -> None:
    """Sync to the head: the index equals a fresh one from genesis, and the contracts agree with it."""
    head = chain.head
    ix.sync()
    assert ix.metrics.tip == head, (ix.metrics, head)
    problems = diff(snapshot(ix.engine), oracle_snapshot(chain.rpc_url, chain.deployment, tmp, head))
    problems += chain_problems(ix, chain)
    assert not problems, "\n".join(problems[:20])


class ChainDriver:
    """Drives the devnet: market and registry transactions as the dev roles, time travel, reorgs, snapshots."""

    def __init__(self, rpc_url: str, deployment: Deployment, content: Path, seed: int = 0) -> None:
        self.rpc_url = rpc_url
        self.deployment = deployment
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
        self.market = self._contract("JobMarket")
        self.registry = self._contract("NodeRegistry")
        self.fab = self._contract("FabToken")
        self.designs = self._contract("DesignNFT")
        self.usd = deployment.payment_tokens["fUSD"]
        self.usd_token = self.w3.eth.contract(address=self.usd, abi=abi("TestStablecoin"))
        self.customer = dev_account(DEV_ROLES["customer"]).address
        self.customer_key = dev_account(DEV_ROLES["customer"]).key
        self.shop = dev_account(DEV_ROLES["shop"]).address
        self.designer = dev_account(DEV_ROLES["designer"]).address
        # With the DAO the market's arbiter is the panel (its dev member rules) and the court is the timelock.
        self.panel = self._contract("ArbiterPanel") if "ArbiterPanel" in deployment.contracts else None
        self.arbiter = dev_account(DEV_ROLES["arbiter"]).address if self.panel else deployment.arbiter
        self.court = deployment.appeal_court
        self.timelock = deployment.contracts.get("FabTimelock")
        self.governor = self._contract("FabGovernor") if "FabGovernor" in deployment.contracts else None
        self.deployer = dev_account(DEV_ROLES["deployer"]).address
        self.shop2 = dev_account(6).address
        self.stranger = dev_account(7).address
        self.store = LocalContentStore(content)
        self.rng = random.Random(seed)
        self.node_id: int | None = None
        self.nonce = 0  # the customer's next order nonce
        self.keys = {dev_account(i).address: dev_account(i).key for i in range(DEV_ACCOUNTS)}
        self.collector = dev_account(DEV_ROLES["collector"]).address
        self.sponsor = dev_account(DEV_ROLES["sponsor"]).address
        self.validator = dev_account(DEV_ROLES["validator"]).address
        self.licences = self._contract("FabricationLicences")
        self.design_market = self._contract("DesignMarket")
        self.board = self._contract("BountyBoard")
        self.bounty_terms: dict[int, tuple] = {}  # the terms each bounty was posted (or extended) with
        self._events = {"0x" + keccak(text=f"{e['name']}({','.join(canonical_type(i) for i in e['inputs'])})").hex():
                        e["name"] for e in abi("JobMarket") if e["type"] == "event"}

    def _contract(self, name: str) -> Any:
        return self.w3.eth.contract(address=self.deployment.address(name), abi=abi(name))

    def rpc(self, method: str, params: list[Any]) -> Any:
        answer = self.w3.provider.make_request(method, params)
        assert "error" not in answer, answer
        return answer["result"]

    @property
    def head(self) -> int:
        return self.w3.eth.block_number

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def cid(self, data: bytes) -> str:
        return str(self.store.add(data))

    def cid_bytes(self, data: bytes) -> bytes:
        return Cid.parse(self.cid(data)).to_bytes()

    def send(self, call: Any, sender: str) -> Any:
        """Send a contract call from an (unlocked) dev account, or from the timelock (impersonated: what the DAO
        would do after a vote, in one transaction); the receipt of the mined transaction."""
        if self.timelock and sender.lower() == self.timelock.lower():
            self.rpc("anvil_impersonateAccount", [self.timelock])
            self.rpc("anvil_setBalance", [self.timelock, hex(10**20)])
        gas = gas_limit(call.estimate_gas({"from": sender}))  # the client's own margin
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "gas": gas}))
        assert receipt["status"] == 1, receipt
        return receipt

    def emitted(self, receipt: Any, name: str, contract: Any = None) -> list[dict[str, Any]]:
        """The args of the `name` events a receipt holds."""
        from web3.logs import DISCARD
        return [dict(e["args"]) for e in (contract or self.market).events[name]().process_receipt(receipt, errors=DISCARD)]

    # ------------------------------------------------------------------ the jobs, folded from the market's logs
    def jobs(self) -> dict[int, dict[str, Any]]:
        """job id -> {"job": current struct (Solidity field names), "status", "node_id"}, rebuilt from the logs."""
        out: dict[int, dict[str, Any]] = {}
        logs = self.w3.eth.get_logs({"address": self.market.address, "fromBlock": self.deployment.deployed_block,
                                     "toBlock": "latest"})
        for lg in logs:
            name = self._events.get("0x" + bytes(lg["topics"][0]).hex())
            if name not in AFTER:
                continue
            a = dict(self.market.events[name]().process_log(lg)["args"])
            jid = a["jobId"]
            if name in ("JobPosted", "OrderTaken"):
                out[jid] = {"job": unpack_job(a["job"]), "node_id": a.get("nodeId")}
            j = out[jid]["job"]
            if name == "JobClaimed":
                j.update(node=a["node"], deadline=a["deliverBy"])
                out[jid]["node_id"] = a["nodeId"]
            elif name == "JobHandedBack":
                j.update(node=a["node"], deadline=a["claimBy"])  # the hand-back's operator stays named
            elif name == "JobDelivered":
                j["deadline"] = a["reviewUntil"]
            out[jid]["status"] = AFTER[name]
        return out

    def job(self, job_id: int) -> dict[str, Any]:
        return self.jobs()[job_id]

    def struct(self, job_id: int) -> tuple:
        j = self.job(job_id)["job"]
        return tuple(j[f] for f in JOB_FIELDS)

    def reusable_key(self) -> int:
        """The slot of one of the customer's finished jobs that still holds it (0 when there is none)."""
        jobs = self.jobs()
        holder: dict[int, int] = {}
        for jid in sorted(jobs):
            holder[jobs[jid]["job"]["key"]] = jid
        done = [jid for jid in holder.values() if jobs[jid]["status"] in TERMINAL
                and jobs[jid]["job"]["customer"] == self.customer]
        return jobs[self.rng.choice(done)]["job"]["key"] if done else 0

    # ------------------------------------------------------------------ set-up
    def setup_shop(self) -> None:
        """A staked shop with a node, and the customer's standing allowance to the market: set up again whenever a
        rollback or revert took any of it away."""
        if self.node_id is None or self.registry.functions.nodeCount().call() < self.node_id:
            self.stake(self.shop, 2_000 * FAB)
            self.node_id = self.register_node(self.shop)
        self.allow()

    def allow(self) -> None:
        """The customer's standing allowance to the market (again, if a fork dropped the approval)."""
        if self.usd_token.functions.allowance(self.customer, self.market.address).call() < 10**29:
            self.send(self.usd_token.functions.approve(self.market.address, 10**30), self.customer)

    def stake(self, who: str, amount: int) -> None:
        self.send(self.fab.functions.approve(self.registry.address, amount), who)
        self.send(self.registry.functions.stake(amount), who)

    def register_node(self, who: str) -> int:
        r = self.send(self.registry.functions.registerNode(
            int(ProcessKind.FDM), int(Material.PLA), [200, 200, 200], b"\x22" * 32,
            self.cid_bytes(b"node %s" % who.encode())), who)
        return self.emitted(r, "NodeRegistered", self.registry)[0]["nodeId"]

    def request_unbond(self, who: str, amount: int) -> None:
        self.send(self.registry.functions.requestUnbond(amount), who)

    def withdraw_stake(self, who: str) -> None:
        self.send(self.registry.functions.withdraw(), who)

    # ------------------------------------------------------------------ market actions
    def deposit(self, amount: int | None = None) -> None:
        self.send(self.market.functions.deposit(self.usd, amount or self.rng.randint(1, 50) * USD), self.customer)

    def post(self, amount: int | None = None, *, reuse: bool = False, target_node: int = 0, design_id: int = 0,
             collateral: int | None = None) -> int:
        amount = amount or self.rng.randint(1, 30) * USD
        if collateral is None:
            collateral = self.market.functions.collateralBounds(self.usd, amount).call()[0]
        spec = self.cid_bytes(b"spec %d" % self.rng.getrandbits(32))
        self.allow()
        r = self.send(self.market.functions.post(self.usd, amount, spec, design_id, self.now() + DAY, DAY, collateral,
                                                 target_node, self.reusable_key() if reuse else 0), self.customer)
        return self.emitted(r, "JobPosted")[0]["jobId"]

    def claim(self, job_id: int, node_id: int | None = None, who: str | None = None) -> None:
        self.send(self.market.functions.claim(job_id, self.struct(job_id), node_id or self.node_id), who or self.shop)

    def hand_back(self, job_id: int) -> dict[str, Any]:
        r = self.send(self.market.functions.handBack(job_id, self.struct(job_id)), self.job(job_id)["job"]["node"])
        return self.emitted(r, "JobHandedBack")[0]

    def deliver(self, job_id: int) -> None:
        self.send(self.market.functions.deliver(job_id, self.struct(job_id), self.cid_bytes(b"proof %d" % job_id)),
                  self.job(job_id)["job"]["node"])

    def accept(self, job_id: int) -> None:
        self.send(self.market.functions.accept(job_id, self.struct(job_id)), self.customer)

    def settle(self, job_id: int) -> None:
        self.send(self.market.functions.settle(job_id, self.struct(job_id)), self.stranger)

    def cancel(self, job_id: int) -> None:
        self.send(self.market.functions.cancel(job_id, self.struct(job_id)), self.customer)

    def expire(self, job_id: int) -> dict[str, Any]:
        r = self.send(self.market.functions.expire(job_id, self.struct(job_id)), self.stranger)
        return (self.emitted(r, "JobExpired") or self.emitted(r, "JobCancelled"))[0]

    def dispute(self, job_id: int) -> None:
        self.send(self.market.functions.dispute(job_id, self.struct(job_id), self.cid_bytes(b"reason %d" % job_id)),
                  self.customer)

    def rule(self, job_id: int, refund_bps: int, slash_bps: int) -> None:
        judge = self.market.functions.disputeOf(job_id).call()[0]
        self.send(self.market.functions.rule(job_id, self.struct(job_id), refund_bps, slash_bps), judge)

    def appeal(self, job_id: int, who: str) -> None:
        self.send(self.market.functions.appeal(job_id, self.struct(job_id)), who)

    def finalize(self, job_id: int) -> dict[str, Any] | None:
        r = self.send(self.market.functions.finalize(job_id, self.struct(job_id)), self.stranger)
        found = self.emitted(r, "JobResolved")
        return found[0] if found else None

    def order(self, amount: int, *, nonce: int | None = None, target_node: int = 0) -> tuple[tuple, bytes]:
        """A signed order of the customer's (the EIP-712 digest from the market, signed with the customer's key)."""
        if nonce is None:
            nonce, self.nonce = self.nonce, self.nonce + 1
        collateral = self.market.functions.collateralBounds(self.usd, amount).call()[0]
        order = (self.customer, self.usd, amount, collateral, 0, DAY, target_node, self.now() + DAY, nonce,
                 self.market.functions.orderCounter(self.customer).call(),
                 self.cid_bytes(b"order spec %d" % self.rng.getrandbits(32)))
        digest = self.market.functions.orderDigest(order).call()
        return order, bytes(Account.unsafe_sign_hash(digest, self.customer_key).signature)

    def take(self, amount: int | None = None, *, nonce: int | None = None, reuse: bool = False,
             who: str | None = None, node_id: int | None = None) -> int:
        order, signature = self.order(amount or self.rng.randint(1, 30) * USD, nonce=nonce)
        self.allow()
        r = self.send(self.market.functions.take(order, signature, node_id or self.node_id,
                                                 self.reusable_key() if reuse else 0), who or self.shop)
        return self.emitted(r, "OrderTaken")[0]["jobId"]

    def cancel_order(self, nonce: int) -> None:
        self.send(self.market.functions.cancelOrder(nonce), self.customer)

    def increment_counter(self) -> None:
        self.send(self.market.functions.incrementCounter(), self.customer)

    def withdraw(self, who: str, token: str | None = None) -> None:
        self.send(self.market.functions.withdraw(token or self.usd, who), who)

    def mint_design(self, data: bytes, royalty_bps: int, who: str | None = None) -> int:
        """Mint the design of content `data` (its metadata document alongside) to `who` (the designer); its id."""
        r = self.send(self.designs.functions.mint(self.cid_bytes(data), self.cid_bytes(b"metadata of " + data),
                                                  royalty_bps), who or self.designer)
        return self.emitted(r, "DesignMinted", self.designs)[0]["tokenId"]

    # ------------------------------------------------------------------ the design economy
    def allow_usd(self, who: str, spender: str) -> None:
        """`who`'s standing fUSD allowance to `spender` (again, if a fork dropped it)."""
        if self.usd_token.functions.allowance(who, spender).call() < 10**29:
            self.send(self.usd_token.functions.approve(spender, 10**30), who)

    def approve_collection(self, who: str, collection: Any) -> None:
        """`who` lets the design market move its designs or licences."""
        if not collection.functions.isApprovedForAll(who, self.design_market.address).call():
            self.send(collection.functions.setApprovalForAll(self.design_market.address, True), who)

    def design_order(self, maker: str, token_id: int, price: int, *, side: int = 0, asset: int = 0,
                     amount: int = 1, nonce: int = 0, creator: str | None = None) -> tuple[tuple, bytes]:
        """A signed design-market order of `maker` (side 0 listing, 1 offer; asset 0 design, 1 licence; with
        `creator`, an offer on any of its designs): the EIP-712 digest from the market, signed with the key."""
        counter = self.design_market.functions.counterOf(maker).call()
        order = (maker, side, asset, 1 if creator else 0, 0 if creator else token_id, creator or ZERO, self.usd,
                 price, amount, self.now() + DAY, nonce, counter)
        digest = self.design_market.functions.orderHash(order).call()
        return order, bytes(Account.unsafe_sign_hash(digest, self.keys[maker]).signature)

    def fill(self, order: tuple, signature: bytes, taker: str, units: int = 1, token_id: int = 0) -> dict[str, Any]:
        """`taker` fills `units` of a signed order (approvals made as needed); the OrderFilled args."""
        maker, side, asset = order[0], order[1], order[2]
        seller, buyer = (maker, taker) if side == 0 else (taker, maker)
        self.allow_usd(buyer, self.design_market.address)
        self.approve_collection(seller, self.designs if asset == 0 else self.licences)
        r = self.send(self.design_market.functions.fill(order, signature, units, token_id), taker)
        return self.emitted(r, "OrderFilled", self.design_market)[0]

    def cancel_design_orders(self, maker: str, nonces: list[int]) -> None:
        self.send(self.design_market.functions.cancel(nonces), maker)

    def increment_design_counter(self, maker: str) -> None:
        self.send(self.design_market.functions.incrementCounter(), maker)

    def set_licence_terms(self, design_id: int, owner: str, per_print: int, block_size: int = 0,
                          block_price: int = 0, max_prints: int = 0) -> None:
        self.send(self.licences.functions.setTerms(design_id, self.usd, per_print, block_size, block_price,
                                                   max_prints), owner)

    def buy_licences(self, design_id: int, buyer: str, prints: int, to: str | None = None) -> int:
        """`buyer` buys `prints` licences (for `to`); the cost."""
        _token, cost, _fee = self.licences.functions.quote(design_id, prints).call()
        self.allow_usd(buyer, self.licences.address)
        self.send(self.licences.functions.buy(design_id, prints, to or buyer, self.usd, cost), buyer)
        return cost

    def takedown(self, design_id: int, by: str | None = None) -> None:
        """The DAO (its timelock, impersonated) or the moderator takes a design down."""
        self.send(self.designs.functions.takedown(design_id, self.cid_bytes(b"copied %d" % design_id)),
                  by or self.timelock)

    def post_bounty(self, poster: str, amount: int, *, approvers: tuple[str, ...] = (), quorum: int = 0,
                    evaluator: str = ZERO, days: int = 7, sponsor_bps: int = 0, design_bps: int = 0) -> int:
        terms = (self.usd, self.cid_bytes(b"brief %d" % self.rng.getrandbits(32)), self.now() + days * DAY,
                 list(approvers), quorum, evaluator, sponsor_bps, design_bps)
        self.allow_usd(poster, self.board.address)
        r = self.send(self.board.functions.post(terms, amount), poster)
        bounty_id = self.emitted(r, "BountyPosted", self.board)[0]["id"]
        self.bounty_terms[bounty_id] = terms
        return bounty_id

    def fund_bounty(self, bounty_id: int, sponsor: str, amount: int) -> None:
        terms_hash = self.board.functions.bountyOf(bounty_id).call()[-1]
        self.allow_usd(sponsor, self.board.address)
        self.send(self.board.functions.fund(bounty_id, amount, terms_hash), sponsor)

    def extend_bounty(self, bounty_id: int, days: int) -> None:
        terms = self.bounty_terms[bounty_id]
        deadline = terms[2] + days * DAY
        self.send(self.board.functions.extendDeadline(bounty_id, terms, deadline), self.board.functions.bountyOf(
            bounty_id).call()[0])
        self.bounty_terms[bounty_id] = (*terms[:2], deadline, *terms[3:])

    def submit(self, bounty_id: int, who: str, data: bytes) -> int:
        r = self.send(self.board.functions.submit(bounty_id, self.cid_bytes(data)), who)
        return self.emitted(r, "SubmissionAdded", self.board)[0]["submissionId"]

    def award(self, bounty_id: int, submission_id: int, amount: int, approver: str) -> None:
        self.send(self.board.functions.award(bounty_id, submission_id, amount), approver)

    def revoke_approval(self, bounty_id: int, submission_id: int, amount: int, approver: str) -> None:
        self.send(self.board.functions.revokeApproval(bounty_id, submission_id, amount), approver)

    def award_by_score(self, bounty_id: int, submission_id: int, score: int, payout_bps: int) -> None:
        """The bounty's validator-score evaluator awards `payout_bps` of the pot on the dev validator's signature."""
        evaluator = self._contract("ValidatorScoreEvaluator")
        digest = evaluator.functions.scoreDigest(bounty_id, submission_id, score, payout_bps).call()
        signature = bytes(Account.unsafe_sign_hash(digest, self.keys[self.validator]).signature)
        data = abi_encode(["uint256", "uint16", "address[]", "bytes[]"],
                          [score, payout_bps, [self.validator], [signature]])
        self.send(self.board.functions.awardByEvaluator(bounty_id, submission_id, data), self.stranger)

    def refund_bounty(self, bounty_id: int, sponsor: str) -> None:
        self.send(self.board.functions.refund(bounty_id), sponsor)

    def withdraw_awards(self, who: str) -> None:
        self.send(self.board.functions.withdraw(self.usd), who)

    def mint_winner(self, bounty_id: int, submission_id: int, who: str) -> int:
        r = self.send(self.board.functions.mintWinner(bounty_id, submission_id,
                                                      self.cid_bytes(b"winner %d/%d" % (bounty_id, submission_id))),
                      who)
        return self.emitted(r, "WinnerMinted", self.board)[0]["tokenId"]

    # ------------------------------------------------------------------ views
    def balance(self, token: str, who: str) -> int:
        return self.market.functions.balanceOf(token, who).call()

    def status_of(self, job_id: int) -> int:
        return self.market.functions.statusOf(job_id, self.struct(job_id)).call()

    def stake_of(self, who: str) -> tuple[int, int, int, int]:
        return tuple(self.registry.functions.stakeOf(who).call())

    # ------------------------------------------------------------------ random activity
    def by_status(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for jid, j in sorted(self.jobs().items()):
            out.setdefault(j["status"], []).append(jid)
        return out

    def random_action(self) -> str:
        """One random marketplace action (a transaction or a few)."""
        self.setup_shop()
        choice = self.rng.choice(["deposit", "post", "post", "reuse", "claim", "hand_back", "deliver", "accept",
                                  "cancel", "take", "cancel_order", "mint", "withdraw"])
        by = self.by_status()
        pick = self.rng.choice
        # A handed-back job still names the operator that gave it back: only jobs never claimed are claimed here.
        fresh = [j for j in by.get("open", []) if self.job(j)["job"]["node"] == ZERO]
        if choice == "claim" and fresh:
            self.claim(pick(fresh))
        elif choice == "hand_back" and by.get("claimed"):
            self.hand_back(pick(by["claimed"]))
        elif choice == "deliver" and by.get("claimed"):
            self.deliver(pick(by["claimed"]))
        elif choice == "accept" and by.get("delivered"):
            self.accept(pick(by["delivered"]))
        elif choice == "cancel" and by.get("open"):
            self.cancel(pick(by["open"]))
        elif choice == "take":
            self.take(reuse=self.rng.random() < 0.5)
        elif choice == "cancel_order":
            self.cancel_order(self.nonce)
            self.nonce += 1
        elif choice == "mint":
            self.mint_design(b"design %d" % self.rng.getrandbits(32), 500)
        elif choice == "withdraw" and self.balance(self.usd, self.customer):
            self.withdraw(self.customer)
        elif choice == "deposit":
            self.deposit()
        elif choice == "reuse":
            self.post(reuse=True)
        else:
            self.post()
            choice = "post"
        return choice

    def deposit_request(self, amount: int) -> dict[str, Any]:
        """An unsigned deposit call anvil signs itself (dev accounts are unlocked): for anvil_reorg."""
        data = self.market.encode_abi("deposit", [self.usd, amount])
        return {"from": self.customer, "to": self.market.address, "data": data, "gas": hex(200_000)}

    # ------------------------------------------------------------------ chain surgery
    def mine(self, n: int = 1) -> None:
        self.rpc("anvil_mine", [hex(n)])

    def advance(self, seconds: int) -> None:
        """Move the chain's clock forward and mine a block at the new time."""
        self.rpc("evm_increaseTime", [seconds])
        self.mine()

    def reorg(self, depth: int, replacements: int = 1) -> None:
        """Replace the last `depth` blocks; `replacements` deposits land in the new branch."""
        txs = [[self.deposit_request((i + 1) * USD + self.rng.randint(1, 999)), self.rng.randrange(depth)]
               for i in range(replacements)]
        self.rpc("anvil_reorg", [depth, txs])

    def rollback(self, depth: int) -> None:
        self.rpc("anvil_rollback", [depth])

    # ------------------------------------------------------------------ the DAO
    def delegate(self, who: str, to: str, source: str = "fab") -> None:
        """`who` delegates its FAB votes (source fab) or its staked FAB's votes (source stake) to `to`."""
        self.send((self.fab if source == "fab" else self.registry).functions.delegate(to), who)

    def propose(self, actions: list[tuple[str, bytes]], description: str, who: str | None = None) -> int:
        """A proposal of calls (target, calldata) without value; its id."""
        targets = [t for t, _ in actions]
        r = self.send(self.governor.functions.propose(targets, [0] * len(actions), [d for _, d in actions],
                                                      description), who or self.deployer)
        return self.emitted(r, "ProposalCreated", self.governor)[0]["proposalId"]

    def _proposal_args(self, actions: list[tuple[str, bytes]], description: str) -> tuple:
        return ([t for t, _ in actions], [0] * len(actions), [d for _, d in actions], keccak(text=description))

    def vote(self, pid: int, who: str, support: int, reason: str = "", params: bytes = b"") -> None:
        fn = self.governor.functions
        call = fn.castVoteWithReasonAndParams(pid, support, reason, params) if params else \
            fn.castVoteWithReason(pid, support, reason) if reason else fn.castVote(pid, support)
        self.send(call, who)

    def queue(self, actions: list[tuple[str, bytes]], description: str) -> None:
        self.send(self.governor.functions.queue(*self._proposal_args(actions, description)), self.stranger)

    def execute(self, actions: list[tuple[str, bytes]], description: str) -> None:
        self.send(self.governor.functions.execute(*self._proposal_args(actions, description)), self.stranger)

    def cancel_proposal(self, actions: list[tuple[str, bytes]], description: str, who: str | None = None) -> None:
        self.send(self.governor.functions.cancel(*self._proposal_args(actions, description)), who or self.deployer)

    def pass_proposal(self, actions: list[tuple[str, bytes]], description: str, who: str | None = None) -> int:
        """Propose, vote it through with the deployer's votes, queue, wait out the timelock and execute."""
        settings = self.deployment.governance
        pid = self.propose(actions, description, who)
        self.advance(settings.voting_delay + 1)
        self.vote(pid, self.deployer, 1)
        self.advance(settings.voting_period + 1)
        self.queue(actions, description)
        self.advance(settings.timelock_delay + 1)
        self.execute(actions, description)
        return pid

    def calldata(self, contract: Any, fn: str, *args: Any) -> bytes:
        return bytes.fromhex(contract.encode_abi(fn, list(args))[2:])
