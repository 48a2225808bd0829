"""`Fabrica`: the SDK client over web3.py — one typed method per contract action, decoded events back."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    MismatchedABI,
    TimeExhausted,
    Web3RPCError,
    Web3ValidationError,
)

from .artifacts import abi, canonical_type
from .chain_errors import ContractError, decode_revert, make_error
from .deployment import Deployment, TokenTerms
from .display import format_amount, format_fab, format_time
from .errors import (
    FabricaConnectionError,
    FabricaError,
    FabricaLookupError,
    FabricaTimeoutError,
    FabricaValueError,
)
from .gas import gas_limit
from .job_history import CREATING_EVENTS, JOB_EVENTS, fold_jobs
from .orders import Order, Permit, parse_signature, permit_typed_data, recover_signer
from .storage.cid import Cid
from .types import (
    ZERO_ADDRESS,
    DisputeInfo,
    DisputeStage,
    Evidence,
    Job,
    JobRecord,
    JobStatus,
    Material,
    Node,
    ProcessKind,
    Stake,
    format_units,
)

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
UINT40_MAX = (1 << 40) - 1
UINT64_MAX = (1 << 64) - 1
UINT96_MAX = (1 << 96) - 1
MAX_CLAIM_PERIOD = 365 * 86400  # JobMarket.MAX_CLAIM_PERIOD
MAX_DELIVERY_WINDOW = 365 * 86400  # JobMarket.MAX_DELIVERY_WINDOW
MAX_REUSE_CANDIDATES = 8  # finished jobs whose slot post_job checks (one read each) before taking a fresh one
MAX_NONCE_PROBES = 1024  # nonceUsed reads next_order_nonce makes before giving up
LOG_TOPIC_BATCH = 200  # job ids per eth_getLogs topic list


@dataclass(frozen=True)
class Event:
    """A decoded contract event."""

    contract: str
    name: str
    args: dict[str, Any]
    block_number: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: hash, gas used, decoded events and the value the action produced."""

    tx_hash: str
    gas_used: int
    block_number: int
    events: list[Event] = field(default_factory=list)
    value: Any = None

    def event(self, name: str) -> Event:
        """The first event called `name`, or a clear error."""
        for e in self.events:
            if e.name == name:
                return e
        raise FabricaLookupError(f"transaction {self.tx_hash} emitted no {name}")


def cid_bytes(cid: str | Cid) -> bytes:
    """Binary form of a CID string as contracts take it (validates it first)."""
    return (cid if isinstance(cid, Cid) else Cid.parse(cid)).to_bytes()



class Fabrica:
    """A connection to one Fabrica deployment, optionally with an account that signs transactions."""

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        account: LocalAccount | None = None,
        *,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.account = account
        self.receipt_timeout = receipt_timeout
        self.contracts: dict[str, Contract] = {
            name: w3.eth.contract(address=addr, abi=abi(name)) for name, addr in deployment.contracts.items()
        }
        self._by_address = {addr.lower(): name for name, addr in deployment.contracts.items()}
        # Several contracts emit events with one signature (OrderCancelled of both markets, the ERC-20 and ERC-721
        # Transfer): a topic names an event, the log's address says whose ABI decodes it.
        self._topics: dict[bytes, tuple[str, str]] = {}
        self._event_topics: dict[tuple[str, str], bytes] = {}
        for name, contract in self.contracts.items():
            for ev in contract.abi:
                if ev.get("type") == "event":
                    sig = f"{ev['name']}({','.join(canonical_type(i) for i in ev['inputs'])})"
                    topic = bytes(Web3.keccak(text=sig))
                    self._topics[topic] = (name, ev["name"])
                    self._event_topics[(name, ev["name"])] = topic
        self._issued_nonce = 0  # the next order nonce this client may hand out (build_order raises it)

    # ------------------------------------------------------------------------------ connection

    @classmethod
    def connect(
        cls,
        rpc_url: str = DEFAULT_RPC_URL,
        *,
        deployments_dir: Path | None = None,
        deployment: Deployment | None = None,
        account: LocalAccount | None = None,
        timeout: float = 30.0,
    ) -> Fabrica:
        """Connect to `rpc_url` and load the deployment manifest for its chain id."""
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        try:
            chain_id = w3.eth.chain_id
        except Exception as exc:
            raise FabricaConnectionError(
                f"cannot reach an Ethereum node at {rpc_url} ({exc.__class__.__name__}). "
                "Start one with `fabrica devnet up` or pass --rpc-url."
            ) from None
        if deployment is None:
            deployment = Deployment.load(deployments_dir or Path(".fabrica/deployments"), chain_id)
        elif deployment.chain_id != chain_id:
            raise FabricaValueError(f"deployment is for chain {deployment.chain_id} but {rpc_url} is {chain_id}")
        market = deployment.contracts.get("JobMarket")
        # A manifest outlives the chain it describes (a restarted anvil is empty): say so before any call
        # fails to decode an empty answer.
        if market is not None and not w3.eth.get_code(market):
            hint = "run `fabrica devnet up`" if chain_id == 31337 else "deploy Fabrica there or pass the right --rpc-url"
            raise FabricaLookupError(
                f"no Fabrica contracts at {market} on chain {chain_id} ({rpc_url}): the deployment manifest is "
                f"stale (the chain was restarted or reset); {hint}"
            )
        return cls(w3, deployment, account)

    def with_account(self, account: LocalAccount) -> Fabrica:
        """The same connection signing as `account`."""
        return Fabrica(self.w3, self.deployment, account, receipt_timeout=self.receipt_timeout)

    @property
    def address(self) -> str:
        """The signing account's address."""
        if self.account is None:
            raise FabricaValueError("this action needs an account: pass --account (dev role, index or keystore)")
        return self.account.address

    @property
    def market(self) -> Contract:
        return self.contracts["JobMarket"]

    @property
    def registry(self) -> Contract:
        return self.contracts["NodeRegistry"]

    @property
    def fab(self) -> Contract:
        return self.contracts["FabToken"]

    def erc20(self, token: str) -> Contract:
        """An ERC-20 contract handle (uses the TestStablecoin ABI's ERC-20 part)."""
        return self.w3.eth.contract(address=to_checksum_address(token), abi=abi("TestStablecoin"))

    # --------------------------------------------------------------------------- transactions

    def _send(self, contract: Contract, fn_name: str, *args: Any, value_from: str | None = None) -> TxResult:
        """Sign, send and wait for a call; custom errors surface as ContractError subclasses."""
        sender = self.address
        try:
            fn = getattr(contract.functions, fn_name)(*args)
        except (Web3ValidationError, MismatchedABI) as exc:
            # An argument that does not fit the ABI type (a negative id, an amount past uint96…).
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            # web3 lists every argument; the one that does not fit is what a user needs to read.
            reason = next((line for line in lines if "not compatible" in line), lines[0] if lines else type(exc).__name__)
            raise FabricaValueError(f"{fn_name}: an argument does not fit the contract's types: {reason}") from None
        try:
            tx = fn.build_transaction(
                {"from": sender, "nonce": self.w3.eth.get_transaction_count(sender, "pending"),
                 "chainId": self.deployment.chain_id}
            )
        except (ContractCustomError, ContractLogicError) as exc:
            raise self._explain(_contract_error(exc)) from None
        except Web3RPCError as exc:
            raise self._refused(sender, fn_name, exc) from None
        tx["gas"] = gas_limit(tx["gas"])  # estimated against the latest block: see fabrica.protocol.gas
        signed = self.account.sign_transaction(tx)  # type: ignore[union-attr]
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Web3RPCError as exc:
            raise self._refused(sender, fn_name, exc) from None
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout, poll_latency=0.05
            )
        except TimeExhausted:
            raise FabricaTimeoutError(
                f"transaction {tx_hash.hex()} was not mined within {self.receipt_timeout:.0f}s; "
                "check the node, then look it up by hash"
            ) from None
        if receipt["status"] != 1:
            # Replay the call at the failed block to recover the revert data.
            try:
                fn.call({"from": sender}, block_identifier=receipt["blockNumber"])
            except (ContractCustomError, ContractLogicError) as exc:
                raise self._explain(_contract_error(exc)) from None
            raise FabricaError(f"transaction {tx_hash.hex()} reverted")
        events = self.decode_logs(receipt["logs"])
        result = TxResult(
            tx_hash="0x" + bytes(tx_hash).hex(),
            gas_used=receipt["gasUsed"],
            block_number=receipt["blockNumber"],
            events=events,
        )
        if value_from:
            name, arg = value_from.split(".")
            return TxResult(**{**result.__dict__, "value": result.event(name).args[arg]})
        return result

    def _explain(self, err: ContractError) -> ContractError:
        """Show payment-token amounts of an error that names its token in that token's units."""
        token = err.args_by_name.get("token")
        amounts = [k for k in ("requested", "received") if k in err.args_by_name]
        if not token or not amounts:
            return err
        try:
            return err.with_hint(shown={k: self.format_amount(token, err.args_by_name[k]) for k in amounts})
        except Exception:  # not an ERC-20 we can read: the base units stand
            return err

    def _refused(self, sender: str, fn_name: str, exc: Web3RPCError) -> FabricaError:
        """The node's refusal of a transaction as one clear error (no gas money is the one people meet)."""
        message = exc.rpc_response.get("error", {}).get("message") if exc.rpc_response else None
        message = str(message or exc.message or exc)
        if "insufficient funds" in message.lower():
            eth = format_units(self.w3.eth.get_balance(sender), 18)
            return FabricaValueError(
                f"account {sender} has {eth} ETH for gas on chain {self.deployment.chain_id}, too little to send "
                f"{fn_name}: send it some ETH first (on the devnet, every dev account holds ETH: --account customer…)"
            )
        return FabricaError(f"the node at {self.w3.provider.endpoint_uri} refused {fn_name} from {sender}: {message}")

    def decode_logs(self, logs: Iterable[Any]) -> list[Event]:
        """Decode the logs our contracts emitted (others are skipped)."""
        out = []
        for log in logs:
            if not log["topics"]:
                continue
            key = self._topics.get(bytes(log["topics"][0]))
            if key is None:
                continue
            contract_name, event_name = key
            addr_name = self._by_address.get(log["address"].lower())
            if addr_name is None:
                continue
            contract = self.contracts[addr_name]
            decoded = getattr(contract.events, event_name)().process_log(log)
            out.append(
                Event(
                    contract=addr_name,
                    name=event_name,
                    args=_plain(dict(decoded["args"])),
                    block_number=log["blockNumber"],
                    log_index=log["logIndex"],
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                )
            )
        return out

    # -------------------------------------------------------------------------------- tokens

    def approve(self, token: str, spender: str, amount: int) -> TxResult:
        """Approve `spender` to move `amount` of `token` from the account."""
        return self._send(self.erc20(token), "approve", to_checksum_address(spender), amount)

    def format_amount(self, token: str, value: int) -> str:
        """`value` base units of `token` as '12.5 fUSD'."""
        return format_amount(value, self.token_decimals(token), self.token_symbol(token))

    def pay_from_wallet(self, token: str, spender: str, needed: int, send: Callable[[], TxResult], *,
                        what: str, held_elsewhere: int = 0) -> TxResult:
        """Run `send`, a call through which `spender` pulls `needed` of `token` from the wallet.

        The wallet's balance is checked first (a clear error in token units, no transaction). The
        allowance is raised to exactly `needed` only when it is lower, and set back to what it was if
        `send` fails, so a failed call never leaves `spender` able to move the wallet's tokens later.
        `held_elsewhere` (e.g. a market deposit the call also draws on) is only shown in the message.
        """
        if needed <= 0:
            return send()
        self.check_wallet(token, needed, what=what, held_elsewhere=held_elsewhere)
        previous = self.erc20(token).functions.allowance(self.address, to_checksum_address(spender)).call()
        if previous >= needed:
            return send()
        self.approve(token, spender, needed)
        try:
            return send()
        except BaseException as exc:
            self._restore_allowance(token, spender, previous, exc)
            raise

    def check_wallet(self, token: str, needed: int, *, what: str, held_elsewhere: int = 0) -> None:
        """Raise ERC20InsufficientBalance (in token units, before any transaction) unless the wallet holds `needed`."""
        balance = self.erc20(token).functions.balanceOf(self.address).call()
        if balance >= needed:
            return
        extra = f" besides the {self.format_amount(token, held_elsewhere)} deposited" if held_elsewhere else ""
        raise make_error(
            "ERC20InsufficientBalance", (self.address, balance, needed),
            f"{what} needs {self.format_amount(token, needed)} from the wallet{extra}, which holds "
            f"{self.format_amount(token, balance)}: top up the wallet or pay less",
            shown={"balance": self.format_amount(token, balance), "needed": self.format_amount(token, needed)},
        )

    def _restore_allowance(self, token: str, spender: str, previous: int, cause: BaseException) -> None:
        try:
            self.approve(token, spender, previous)
        except Exception as exc:  # the original failure matters more; still say what is left behind
            raise FabricaError(
                f"{cause}; and the approval of {spender} to spend {self.token_symbol(token)} could not be set back to "
                f"{self.format_amount(token, previous)} ({exc.__class__.__name__}): approve it again once the node "
                "answers"
            ) from cause

    def ensure_allowance(self, token: str, spender: str, amount: int) -> TxResult | None:
        """Approve `spender` for `amount` if the current allowance is lower."""
        current = self.erc20(token).functions.allowance(self.address, spender).call()
        if current >= amount:
            return None
        return self.approve(token, spender, amount)

    def token_balance(self, token: str, account: str) -> int:
        """ERC-20 balance of `account`."""
        return self.erc20(token).functions.balanceOf(to_checksum_address(account)).call()

    def token_decimals(self, token: str) -> int:
        """ERC-20 decimals."""
        return self.erc20(token).functions.decimals().call()

    def token_symbol(self, token: str) -> str:
        """ERC-20 symbol."""
        return self.erc20(token).functions.symbol().call()

    # -------------------------------------------------------------------------------- market rules

    def market_params(self) -> dict[str, int]:
        """Current market parameters, by their Solidity names (feeBps, reviewWindow, handBackWindow…)."""
        values = self.market.functions.params().call()
        names = [c["name"] for c in _output_components(self.market, "params")]
        return dict(zip(names, values))

    def token_terms(self, token: str) -> TokenTerms:
        """A payment token's terms: whether it is allowed and its collateral rates."""
        t = self.market.functions.tokenTerms(_address(token, "payment token")).call()
        return TokenTerms(allowed=t[0], min_collateral_rate=t[1], max_collateral_rate=t[2])

    def collateral_bounds(self, token: str, amount: int) -> tuple[int, int]:
        """The FAB collateral range (min, max) a job paying `amount` base units of `token` may ask for."""
        if not 0 <= amount <= UINT96_MAX:
            raise FabricaValueError(f"amount {amount} base units must be between 0 and 2^96 - 1")
        low, high = self.market.functions.collateralBounds(_address(token, "payment token"), amount).call()
        return low, high

    def min_stake(self) -> int:
        """The bonded FAB an operator needs for its nodes to claim."""
        return self.registry.functions.minStake().call()

    def paused(self) -> bool:
        """Whether the market refuses new jobs (posts and taken orders); nothing else ever stops."""
        return self.market.functions.paused().call()

    def guardian(self) -> str:
        """The account that may pause new jobs in an emergency (the zero address: none)."""
        return self.market.functions.guardian().call()

    def pause(self) -> TxResult:
        """Refuse new jobs (the guardian, or the owner): withdrawals and every running job keep working."""
        return self._set_paused(True)

    def unpause(self) -> TxResult:
        """Accept new jobs again (the owner only: under the DAO, a governance proposal calls `setPaused(false)`)."""
        return self._set_paused(False)

    def _set_paused(self, paused: bool) -> TxResult:
        owner, guardian = self.market.functions.owner().call(), self.guardian()
        me = self.address
        if me != owner and (me != guardian or not paused):
            how = ("only the owner unpauses" if me == guardian else
                   f"the guardian ({guardian}) may pause and the owner ({owner}) pause or unpause")
            dao = " — the owner is the DAO's timelock: propose it (`fabrica dao propose`)" if self.w3.eth.get_code(
                owner) else ""
            raise make_error("JobMarket__NotGuardian", (me,), f"{how}{dao}")
        return self._send(self.market, "setPaused", paused)

    def _check_not_paused(self) -> None:
        """Raise JobMarket__Paused (with who to ask) before any transaction when new jobs are refused."""
        if self.paused():
            raise make_error(
                "JobMarket__Paused", (),
                "the market is paused: new jobs (posts, taken orders) are refused until governance unpauses it; "
                "withdrawals, deliveries, disputes and every running job keep working")

    # -------------------------------------------------------------------------------- market

    def deposit(self, token: str, amount: int) -> TxResult:
        """Deposit `amount` of `token` into the market balance that posts draw from (approves exactly, as needed)."""
        token = to_checksum_address(token)
        if amount <= 0:
            raise FabricaValueError(f"deposit amount must be positive, got {self.format_amount(token, max(amount, 0))}")
        return self.pay_from_wallet(
            token, self.market.address, amount, lambda: self._send(self.market, "deposit", token, amount),
            what=f"depositing {self.format_amount(token, amount)}",
        )

    def post_job(
        self,
        token: str,
        amount: int,
        spec_cid: str,
        *,
        claim_by: int,
        delivery_window: int,
        design_id: int = 0,
        collateral: int | None = None,
        target_node: int = 0,
        reuse: bool = True,
    ) -> TxResult:
        """Post a job, escrowing `amount` (from the market balance, pulling any shortfall); value = job id.

        `collateral` defaults to the minimum of `collateral_bounds`; `target_node` reserves the job for one node.
        With `reuse`, the job is stored in the slot of one of the account's finished jobs (5 000 gas instead of
        22 100 for a fresh slot). Every rule the market enforces is checked first with reads (`check_post`), and
        the shortfall is pulled with an exact approval that is set back if the post fails (`pay_from_wallet`).
        """
        token = _address(token, "payment token")
        spec = cid_bytes(spec_cid)  # validate before any transaction (approve) is sent
        collateral = self.check_post(token=token, amount=amount, claim_by=claim_by, delivery_window=delivery_window,
                                     collateral=collateral, design_id=design_id, target_node=target_node)
        key = self.reusable_key() if reuse else 0
        deposited = self.market.functions.balanceOf(token, self.address).call()
        return self.pay_from_wallet(
            token, self.market.address, amount - deposited,
            lambda: self._send(self.market, "post", token, amount, spec, design_id, claim_by, delivery_window,
                               collateral, target_node, key, value_from="JobPosted.jobId"),
            what="posting the job", held_elsewhere=max(deposited, 0),
        )

    def check_post(self, *, token: str, amount: int, claim_by: int, delivery_window: int,
                   collateral: int | None = None, design_id: int = 0, target_node: int = 0) -> int:
        """Raise the error the market would revert a post with, before any transaction; returns the collateral
        (the minimum of the bounds when `collateral` is None)."""
        token = _address(token, "payment token")
        self._check_not_paused()
        now = self.now()
        if not now < claim_by <= now + MAX_CLAIM_PERIOD:
            raise make_error("JobMarket__InvalidClaimDeadline", (claim_by, now))
        collateral = self.check_terms(token=token, amount=amount, delivery_window=delivery_window,
                                      collateral=collateral, design_id=design_id, target_node=target_node)
        if self.account is not None:  # the escrow comes from the deposit first, then the wallet
            deposited = self.market.functions.balanceOf(token, self.address).call()
            if amount > deposited:
                self.check_wallet(token, amount - deposited, held_elsewhere=deposited, what="posting the job")
        return collateral

    def check_terms(self, *, token: str, amount: int, delivery_window: int, collateral: int | None = None,
                    design_id: int = 0, target_node: int = 0) -> int:
        """The market's rules for a job's terms (posted or ordered), checked with reads; returns the collateral.

        Each failure is the contract error the market would revert with (same class, same arguments).
        """
        if not self.market.functions.isTokenAllowed(token).call():
            known = ", ".join(self.deployment.payment_tokens) or "none in the manifest"
            raise make_error("JobMarket__TokenNotAllowed", (token,), f"pay with one of: {known}")
        if amount <= 0:
            raise FabricaValueError(f"amount must be positive, got {amount}")
        if amount > UINT96_MAX:
            raise FabricaValueError(f"amount {amount} base units is above the market's limit of 2^96 - 1")
        params = self.market_params()
        low = params["minDeliveryWindow"]
        if not low <= delivery_window <= MAX_DELIVERY_WINDOW:
            raise make_error("JobMarket__InvalidDeliveryWindow", (delivery_window, low, MAX_DELIVERY_WINDOW))
        minimum, maximum = self.collateral_bounds(token, amount)
        if collateral is None:
            collateral = minimum
        if not minimum <= collateral <= maximum:
            raise make_error("JobMarket__CollateralOutOfBounds", (collateral, minimum, maximum),
                             f"for {self.format_amount(token, amount)} a job asks for {format_fab(minimum)} to "
                             f"{format_fab(maximum)} of collateral (`--collateral`; leave it out for the minimum)")
        if design_id:
            self.check_design(design_id)
        if target_node:
            count = self.registry.functions.nodeCount().call()
            if not 0 < target_node <= min(count, UINT64_MAX):
                raise make_error("JobMarket__UnknownNode", (target_node,),
                                 f"no node {target_node} to reserve the job for (nodes are 1..{count}; "
                                 "`fabrica node list`), or 0 for any node")
        return collateral

    def check_design(self, design_id: int) -> None:
        """Raise Licences__UnknownDesign unless DesignNFT `design_id` exists (designs are never burned)."""
        if not 0 < design_id < 1 << 256 or not self.contracts["DesignNFT"].functions.exists(design_id).call():
            raise make_error("Licences__UnknownDesign", (design_id,),
                             "no design has this id; pass a minted design's id (`fabrica design ls`), or 0 for none")

    def reusable_key(self, *, as_node: bool = False) -> int:
        """The storage key of one of the account's finished jobs whose slot still holds it, else 0 (a fresh slot).

        Posting (or, `as_node`, taking an order) into it rewrites a used slot for 5 000 gas instead of 22 100.
        """
        mine = self.jobs(node=self.address) if as_node else self.jobs(customer=self.address)
        finished = sorted((r for r in mine if r.status.is_terminal), key=lambda r: r.job_id, reverse=True)
        for record in finished[:MAX_REUSE_CANDIDATES]:
            stored = bytes(self.market.functions.commitmentAt(record.job.key).call())
            if stored == record.job.commitment(record.job_id, record.status):
                return record.job.key
        return 0

    def cancel_job(self, job_id: int) -> TxResult:
        """Cancel an open job; the escrow is credited back to the customer's market balance."""
        return self._send(self.market, "cancel", job_id, self._job_struct(job_id))

    def claim_job(self, job_id: int, node_id: int) -> TxResult:
        """Claim an open job for node `node_id`, locking the job's collateral from the account's stake."""
        struct = self._job_struct(job_id)
        try:
            return self._send(self.market, "claim", job_id, struct, node_id)
        except ContractError as exc:
            raise self._explain_node(exc, node_id) from None

    def hand_back_job(self, job_id: int) -> TxResult:
        """Give a claimed job back before its deadline (free within the hand-back window, else a penalty)."""
        return self._send(self.market, "handBack", job_id, self._job_struct(job_id))

    def deliver_job(self, job_id: int, proof_cid: str) -> TxResult:
        """Deliver a claimed job with the CID of its proof (print log, photos)."""
        proof = cid_bytes(proof_cid)
        return self._send(self.market, "deliver", job_id, self._job_struct(job_id), proof)

    def accept_job(self, job_id: int) -> TxResult:
        """Accept a delivery: credits node, treasury and royalty receiver."""
        return self._send(self.market, "accept", job_id, self._job_struct(job_id))

    def settle_job(self, job_id: int) -> TxResult:
        """Settle a delivery in the node's favour after the review window (anyone may call)."""
        return self._send(self.market, "settle", job_id, self._job_struct(job_id))

    def expire_job(self, job_id: int) -> TxResult:
        """End a job past its deadline (anyone): an open job is refunded; a claimed one is refunded and the
        customer compensated in FAB from the node's slashed collateral."""
        return self._send(self.market, "expire", job_id, self._job_struct(job_id))

    # ------------------------------------------------------------------------------- disputes

    def dispute_job(self, job_id: int, reason_cid: str) -> TxResult:
        """Dispute a delivery during the review window, posting the bond fixed at post."""
        reason = cid_bytes(reason_cid)  # validate before any transaction (approve) is sent
        record = self.job(job_id)
        # The market's own checks, made with reads so that no bond approval is sent for a dispute it refuses.
        if record.status != JobStatus.DELIVERED:
            raise make_error("JobMarket__WrongStatus", (job_id, int(record.status), int(JobStatus.DELIVERED)))
        if record.job.customer != self.address:
            raise make_error("JobMarket__NotCustomer", (job_id, self.address, record.job.customer))
        now = self.now()
        if now >= record.job.deadline:  # the next block is later than the latest
            raise make_error("JobMarket__DeadlinePassed", (job_id, record.job.deadline, now),
                             "the review window is over: disputes are no longer possible")
        return self._pay_bond(record, "dispute", lambda: self._send(self.market, "dispute", job_id,
                                                                   record.job.to_abi(), reason))

    def rule_dispute(self, job_id: int, refund_bps: int, slash_bps: int) -> TxResult:
        """The dispute's judge rules: refund `refund_bps` of the payment, slash `slash_bps` of the collateral.

        The judge is whoever `dispute_of(job_id).judge` names: the panel member the dispute was assigned to (its
        ruling can be appealed), then, once appealed, the appeal court, the DAO's timelock, whose final ruling
        only a governance proposal can make (`fabrica dao propose`).
        """
        for name, v in (("refund_bps", refund_bps), ("slash_bps", slash_bps)):
            if not 0 <= v <= 10_000:
                raise FabricaValueError(f"{name} must be between 0 and 10000 (basis points), got {v}")
        struct = self._job_struct(job_id)
        dispute = self.dispute_of(job_id)
        judge = dispute.judge
        if int(judge, 16) and judge != self.address and self.w3.eth.get_code(judge):
            # A contract judges (the DAO): no account can sign its ruling; say how it is made instead of reverting.
            raise make_error("JobMarket__NotJudge", (job_id, self.address, judge),
                             f"the appeal court {judge} is the DAO's timelock: its ruling is a governance proposal "
                             "(a party of the dispute may propose it: `fabrica dao propose`), voted and executed")
        panel = self.arbiter_panel()
        # The market checks the deadline first (past it, the estimate below reverts with DeadlinePassed); before
        # it, it refuses an arbiter governance removed from the panel, even on its own case.
        if (judge == self.address and dispute.stage == DisputeStage.AWAITING_ARBITER and panel is not None
                and self.now() < dispute.deadline and not panel.functions.isArbiter(self.address).call()):
            raise make_error("JobMarket__NotJudge", (job_id, self.address, ZERO_ADDRESS),
                             "you no longer sit on the arbiter panel: the case waits for anyone to reassign it "
                             "(`fabrica dispute reassign`) or, after its deadline, for the default ruling")
        return self._send(self.market, "rule", job_id, struct, refund_bps, slash_bps)

    def appeal_job(self, job_id: int) -> TxResult:
        """Customer or node appeals the ruling (the arbiter's or the default) to the appeal court, the DAO, posting
        the job's bond (`appeal_bond`)."""
        record = self.job(job_id)
        if record.status != JobStatus.DISPUTED:
            raise make_error("JobMarket__WrongStatus", (job_id, int(record.status), int(JobStatus.DISPUTED)))
        if self.address not in (record.job.customer, record.job.node):
            raise make_error("JobMarket__NotParty", (job_id, self.address))
        dispute = self.dispute_of(job_id)
        if dispute.stage != DisputeStage.RULED:
            raise make_error("JobMarket__WrongDisputeStage", (job_id, int(dispute.stage)),
                             "only a ruling (the arbiter's, or the default one) can be appealed, once it was made")
        now = self.now()
        if now >= dispute.deadline:
            raise make_error("JobMarket__DeadlinePassed", (job_id, dispute.deadline, now),
                             "the appeal window is over: anyone may now finalize the ruling (`fabrica dispute finalize`)")
        return self._pay_bond(record, "appeal", lambda: self._send(self.market, "appeal", job_id, record.job.to_abi()))

    def appeal_bond(self, job_id: int) -> int:
        """The bond an appeal of job `job_id` posts, in the job's token base units (fixed when the job was posted)."""
        return self.job(job_id).job.bond

    def finalize_dispute(self, job_id: int) -> TxResult:
        """Move a dispute whose deadline passed (anyone): a silent arbiter's to the default ruling (half the payment
        back, no slash; either side may still appeal it), an unappealed ruling or one the court left unanswered to
        its payout."""
        return self._send(self.market, "finalize", job_id, self._job_struct(job_id))

    def reassign_dispute(self, job_id: int) -> TxResult:
        """Give a dispute whose assigned arbiter left the panel a new arbiter and a fresh deadline (anyone)."""
        record = self.job(job_id)
        if record.status != JobStatus.DISPUTED:
            raise make_error("JobMarket__WrongStatus", (job_id, int(record.status), int(JobStatus.DISPUTED)))
        dispute = self.dispute_of(job_id)
        panel = self.arbiter_panel()
        now = self.now()
        if now >= dispute.deadline:  # the next block is later than the latest; the market checks this first
            raise make_error("JobMarket__DeadlinePassed", (job_id, dispute.deadline, now),
                             "the dispute's deadline passed: it can no longer be reassigned; anyone may now "
                             "finalize it (`fabrica dispute finalize`)")
        if dispute.stage != DisputeStage.AWAITING_ARBITER:
            raise make_error("JobMarket__NotReassignable", (job_id, dispute.judge),
                             f"the dispute is {dispute.stage.name}: only one awaiting its arbiter can be reassigned")
        if panel is None:
            raise make_error("JobMarket__NotReassignable", (job_id, dispute.judge),
                             "the market's arbiter is one account, not a panel: there is nobody to reassign to")
        if int(dispute.judge, 16) and panel.functions.isArbiter(dispute.judge).call():
            raise make_error("JobMarket__NotReassignable", (job_id, dispute.judge),
                             f"{dispute.judge} still sits on the arbiter panel and judges the case until "
                             f"{format_time(dispute.deadline)}; after that anyone applies the default ruling")
        return self._send(self.market, "reassign", job_id, record.job.to_abi())

    def dispute_of(self, job_id: int) -> DisputeInfo:
        """A dispute's live state on chain (stage NONE when the job is not disputed)."""
        d = self.market.functions.disputeOf(job_id).call()
        return DisputeInfo(judge=d[0], deadline=d[1], stage=DisputeStage(d[2]), refund_bps=d[3], slash_bps=d[4],
                           appellant=d[5], arbiter=d[6])

    def arbiter_panel(self) -> Contract | None:
        """The ArbiterPanel the market assigns disputes from, or None when its arbiter is a single account."""
        arbiter = self.market.functions.arbiter().call()
        panel = self.deployment.contracts.get("ArbiterPanel")
        if panel is not None and arbiter == panel:
            return self.contracts["ArbiterPanel"]
        return None

    def arbiters(self) -> list[str]:
        """The panel's members (the market's arbiter alone when it is an account)."""
        panel = self.arbiter_panel()
        if panel is None:
            return [self.market.functions.arbiter().call()]
        return list(panel.functions.arbiters().call())

    def submit_evidence(self, job_id: int, evidence: str | bytes | Path, *, store: Any = None) -> TxResult:
        """Put evidence on record for job `job_id`'s dispute (ArbiterPanel.submitEvidence); value = its CID.

        `evidence` is the CID of content already stored, or a document (bytes or a file) that is added to
        `store` (a content store) first, so that the arbiter and token holders can read what the CID names.
        """
        panel = self.arbiter_panel()
        if panel is None:
            raise FabricaLookupError("this deployment's arbiter is one account, not an ArbiterPanel: there is no "
                                     "evidence record (send the arbiter the document's CID directly)")
        record = self.job(job_id)  # an unknown job fails before anything is stored or sent
        if record.dispute is None:
            raise make_error("JobMarket__WrongStatus", (job_id, int(record.status), int(JobStatus.DISPUTED)),
                             "job was never disputed: evidence belongs to a dispute (`fabrica dispute open`)")
        cid = _as_cid(evidence) if isinstance(evidence, str) else None
        if cid is None:
            if store is None:
                raise FabricaValueError("a document needs a content store to be added to (pass store=…), or pass "
                                        "the CID of one already stored")
            cid = str(store.add(Path(evidence) if isinstance(evidence, str) else evidence))
        result = self._send(panel, "submitEvidence", job_id, cid_bytes(cid))
        return TxResult(**{**result.__dict__, "value": cid})

    def evidence_of(self, job_id: int) -> list[Evidence]:
        """Every piece of evidence submitted for job `job_id`'s dispute, oldest first (from the panel's logs)."""
        panel = self.arbiter_panel()
        if panel is None:
            return []
        events = self._logs(panel, [self._topic("ArbiterPanel", "EvidenceSubmitted"), _word(job_id)])
        times: dict[int, int] = {}
        out = []
        for e in sorted(events, key=lambda e: (e.block_number, e.log_index)):
            if e.block_number not in times:
                times[e.block_number] = int(self.w3.eth.get_block(e.block_number)["timestamp"])
            out.append(Evidence(job_id=job_id, party=e.args["party"], cid=str(Cid.parse(e.args["cid"])),
                                block_number=e.block_number, tx_hash=e.tx_hash, timestamp=times[e.block_number]))
        return out

    def _pay_bond(self, record: JobRecord, what: str, send: Callable[[], TxResult]) -> TxResult:
        token, bond = record.job.token, record.job.bond
        deposited = self.market.functions.balanceOf(token, self.address).call()
        return self.pay_from_wallet(token, self.market.address, bond - deposited, send,
                                    what=f"the {what} bond of job {record.job_id}", held_elsewhere=max(deposited, 0))

    # --------------------------------------------------------------------------- signed orders

    def build_order(self, token: str, amount: int, spec_cid: str, *, delivery_window: int, expiry: int,
                    collateral: int | None = None, design_id: int = 0, target_node: int = 0,
                    nonce: int | None = None) -> Order:
        """An order for the account to sign, checked against the market's rules like a post.

        The nonce is `next_order_nonce()` unless given; the counter is the account's current order counter.
        """
        token = _address(token, "payment token")
        cid = str(Cid.parse(spec_cid))
        collateral = self.check_terms(token=token, amount=amount, delivery_window=delivery_window,
                                      collateral=collateral, design_id=design_id, target_node=target_node)
        now = self.now()
        if not now < expiry <= UINT40_MAX:
            raise make_error("JobMarket__OrderExpired", (expiry, now), "an order's expiry must be in the future")
        # The payment comes from the deposit, then the wallet, when a shop takes the order: it must be there.
        deposited = self.market.functions.balanceOf(token, self.address).call()
        if amount > deposited:
            self.check_wallet(token, amount - deposited, held_elsewhere=deposited, what="the order")
        if nonce is None:
            nonce = self.next_order_nonce()
        elif self.order_nonce_used(self.address, nonce):
            raise make_error("JobMarket__OrderNonceUsed", (self.address, nonce), "pick an unused nonce")
        order = Order(customer=self.address, token=token, amount=amount, collateral=collateral, design_id=design_id,
                      delivery_window=delivery_window, target_node=target_node, expiry=expiry, nonce=nonce,
                      counter=self.order_counter(self.address), spec_cid=cid)
        self._issued_nonce = max(self._issued_nonce, nonce + 1)
        return order

    def sign_order(self, order: Order) -> str:
        """The account's EIP-712 signature of `order` ("0x…", 65 bytes) with its local key."""
        if order.customer != self.address:
            raise FabricaValueError(f"the order is {order.customer}'s; only its customer can sign it, "
                                    f"not {self.address}")
        signed = self.account.sign_typed_data(  # type: ignore[union-attr]
            full_message=order.typed_data(self.deployment.chain_id, self.market.address))
        return "0x" + bytes(signed.signature).hex()

    def sign_permit(self, token: str, value: int, deadline: int) -> Permit:
        """An ERC-2612 permit, signed by the account, letting the market pull `value` of `token` until `deadline`."""
        erc20 = self.erc20(_address(token, "payment token"))
        try:
            _fields, name, version, chain_id, verifying, _salt, _ext = erc20.functions.eip712Domain().call()
            nonce = erc20.functions.nonces(self.address).call()
        except (ContractLogicError, ContractCustomError, MismatchedABI, ValueError):
            raise FabricaValueError(f"token {erc20.address} does not support ERC-2612 permits; deposit or approve "
                                    "instead") from None
        payload = permit_typed_data(name=name, version=version, chain_id=chain_id, token=verifying,
                                    owner=self.address, spender=self.market.address, value=value, nonce=nonce,
                                    deadline=deadline)
        signed = self.account.sign_typed_data(full_message=payload)  # type: ignore[union-attr]
        return Permit(value=value, deadline=deadline, v=signed.v, r="0x" + signed.r.to_bytes(32, "big").hex(),
                      s="0x" + signed.s.to_bytes(32, "big").hex())

    def check_order(self, order: Order, signature: str | bytes, node_id: int, *, permit: Permit | None = None) -> bytes:
        """Raise the error `take` would revert with (and say why), with reads only; returns the signature bytes."""
        sig = parse_signature(signature) if isinstance(signature, str) else parse_signature("0x" + signature.hex())
        now = self.now()
        if now >= order.expiry:
            raise make_error("JobMarket__OrderExpired", (order.expiry, now))
        current = self.order_counter(order.customer)
        if order.counter != current:
            raise make_error("JobMarket__OrderCounterStale", (order.customer, order.counter, current))
        if self.order_nonce_used(order.customer, order.nonce):
            raise make_error("JobMarket__OrderNonceUsed", (order.customer, order.nonce))
        if order.target_node and order.target_node != node_id:
            raise make_error("JobMarket__NotTargetNode", (0, node_id, order.target_node),
                             f"the customer reserved this order for node {order.target_node}")
        if not self.w3.eth.get_code(order.customer):  # an EOA signs with ECDSA (contract wallets answer ERC-1271)
            signer = recover_signer(order, self.deployment.chain_id, self.market.address, sig)
            if signer != order.customer:
                raise make_error(
                    "JobMarket__InvalidSignature", (order.customer,),
                    f"the signature is {'by ' + signer if signer else 'by no one'}, not by the customer "
                    f"{order.customer}, over this order on market {self.market.address} (chain "
                    f"{self.deployment.chain_id}): sign the order file's typedData again")
        self.check_terms(token=order.token, amount=order.amount, delivery_window=order.delivery_window,
                         collateral=order.collateral, design_id=order.design_id, target_node=order.target_node)
        if permit is None:
            self._check_order_funds(order)
        return sig

    def _check_order_funds(self, order: Order) -> None:
        """The customer's market balance plus what the market may pull from its wallet must cover the payment."""
        token, market = order.token, self.market.address
        deposited = self.market.functions.balanceOf(token, order.customer).call()
        shortfall = order.amount - deposited
        if shortfall <= 0:
            return
        fix = ("the customer deposits it (`fabrica account deposit`) or approves the market, or signs a permit "
               "with the order (`fabrica job order --sign --permit`)")
        allowance = self.erc20(token).functions.allowance(order.customer, market).call()
        if allowance < shortfall:
            raise make_error("ERC20InsufficientAllowance", (market, allowance, shortfall),
                             f"the order pays {self.format_amount(token, order.amount)}; its customer has "
                             f"{self.format_amount(token, deposited)} in the market and lets it pull "
                             f"{self.format_amount(token, allowance)} from the wallet: {fix}",
                             shown={"allowance": self.format_amount(token, allowance),
                                    "needed": self.format_amount(token, shortfall)})
        held = self.token_balance(token, order.customer)
        if held < shortfall:
            raise make_error("ERC20InsufficientBalance", (order.customer, held, shortfall),
                             f"the order's customer holds {self.format_amount(token, held)} besides "
                             f"{self.format_amount(token, deposited)} deposited, less than the order's "
                             f"{self.format_amount(token, order.amount)}",
                             shown={"balance": self.format_amount(token, held),
                                    "needed": self.format_amount(token, shortfall)})

    def take_order(self, order: Order, signature: str | bytes, node_id: int, *, permit: Permit | None = None,
                   reuse: bool = True) -> TxResult:
        """Take a signed order for node `node_id`: the job is created already claimed by the account (its
        collateral locked), the payment drawn from the customer's deposit then wallet; value = job id.

        With `permit` the customer's ERC-2612 permit is applied first. With `reuse` the job goes into the slot
        of one of the account's finished jobs. Everything the market checks is checked first with reads.
        """
        sig = self.check_order(order, signature, node_id, permit=permit)
        self._check_not_paused()
        key = self.reusable_key(as_node=True) if reuse else 0
        args: tuple = (order.to_abi(), sig, node_id, key)
        try:
            if permit is None:
                return self._send(self.market, "take", *args, value_from="OrderTaken.jobId")
            return self._send(self.market, "takeWithPermit", *args, *permit.to_args(), value_from="OrderTaken.jobId")
        except ContractError as exc:
            raise self._explain_node(exc, node_id) from None

    def cancel_order(self, nonce: int) -> TxResult:
        """Cancel the account's signed orders with this nonce."""
        if not 0 <= nonce <= UINT64_MAX:
            raise FabricaValueError(f"an order nonce is between 0 and 2^64 - 1, got {nonce}")
        if self.order_nonce_used(self.address, nonce):
            raise make_error("JobMarket__OrderNonceUsed", (self.address, nonce),
                             "the order with this nonce was already taken or cancelled: nothing to cancel")
        return self._send(self.market, "cancelOrder", nonce)

    def increment_order_counter(self) -> TxResult:
        """Invalidate every order the account signed so far (value = the new counter)."""
        return self._send(self.market, "incrementCounter", value_from="OrderCounterIncremented.counter")

    def order_counter(self, customer: str) -> int:
        """The counter `customer`'s new orders must carry."""
        return self.market.functions.orderCounter(_address(customer, "customer")).call()

    def order_nonce_used(self, customer: str, nonce: int) -> bool:
        """Whether `customer`'s order nonce was used (taken or cancelled)."""
        return self.market.functions.nonceUsed(_address(customer, "customer"), nonce).call()

    def order_digest(self, order: Order) -> bytes:
        """The digest the market computes for `order` (what its customer must have signed)."""
        return bytes(self.market.functions.orderDigest(order.to_abi()).call())

    def next_order_nonce(self, at_least: int = 0) -> int:
        """The lowest unused order nonce of the account from a counter: how many of its orders were taken or
        cancelled (nonces count up from 0), what this client handed out already, and `at_least` (e.g. what the
        CLI issued before); each candidate is checked with `nonceUsed`."""
        me = self.address
        topic = "0x" + bytes(12).hex() + me[2:].lower()
        cancelled = self._logs(self.market, [self._topic("JobMarket", "OrderCancelled"), topic])
        taken = self._logs(self.market, [self._topic("JobMarket", "OrderTaken"), None, topic])
        nonce = max(at_least, len(cancelled) + len(taken), self._issued_nonce)
        for _ in range(MAX_NONCE_PROBES):
            if not self.order_nonce_used(me, nonce):
                return nonce
            nonce += 1
        raise FabricaError(f"no unused order nonce found among {MAX_NONCE_PROBES} after {nonce - MAX_NONCE_PROBES}; "
                           "pass a nonce explicitly")

    # ------------------------------------------------------------------------------------ payouts

    def withdraw(self, token: str, to: str | None = None) -> TxResult:
        """Withdraw the account's market balance of `token` (a payment token, or FAB compensation)."""
        recipient = _address(to, "recipient") if to is not None else self.address
        if int(recipient, 16) == 0:
            raise FabricaValueError("recipient is the zero address; pass the address that should receive the tokens")
        return self._send(self.market, "withdraw", to_checksum_address(token), recipient)

    def withdraw_fees(self, token: str) -> TxResult:
        """Pay accrued protocol fees to the treasury (anyone may call; under the DAO the treasury is its timelock)."""
        return self._send(self.market, "withdrawFees", to_checksum_address(token))

    def market_balance(self, token: str, account: str) -> int:
        """Credited market balance (deposits, refunds, payouts, FAB compensation) of `account`."""
        return self.market.functions.balanceOf(to_checksum_address(token), to_checksum_address(account)).call()

    def fees(self, token: str) -> int:
        """Protocol fees accrued in `token` (FAB: the treasury's share of slashes)."""
        return self.market.functions.feesOf(to_checksum_address(token)).call()

    # ------------------------------------------------------------------------------- registry

    def stake(self, amount: int) -> TxResult:
        """Stake `amount` FAB (wallet checked first; the registry is approved exactly, set back on failure)."""
        if amount <= 0:
            raise FabricaValueError(f"stake amount must be positive, got {format_fab(max(amount, 0))}")
        return self.pay_from_wallet(
            self.fab.address, self.registry.address, amount, lambda: self._send(self.registry, "stake", amount),
            what=f"staking {format_fab(amount)}",
        )

    def request_unbond(self, amount: int) -> TxResult:
        """Start unbonding `amount` of bonded stake; it is released at its own time (UnbondRequested.unbondAt)."""
        if amount <= 0:
            raise FabricaValueError(f"unbond amount must be positive, got {format_fab(max(amount, 0))}")
        return self._send(self.registry, "requestUnbond", amount)

    def withdraw_stake(self) -> TxResult:
        """Withdraw every released unbond request (as far as the collateral the market holds allows)."""
        return self._send(self.registry, "withdraw")

    def register_node(
        self,
        *,
        processes: ProcessKind,
        materials: Material,
        build_volume_mm: tuple[int, int, int],
        encryption_key: bytes,
        metadata_cid: str,
    ) -> TxResult:
        """Register a node; value = node id."""
        return self._send(
            self.registry, "registerNode", int(processes), int(materials), list(build_volume_mm),
            _key32(encryption_key), cid_bytes(metadata_cid), value_from="NodeRegistered.nodeId",
        )

    def update_node(
        self,
        node_id: int,
        *,
        processes: ProcessKind,
        materials: Material,
        build_volume_mm: tuple[int, int, int],
        encryption_key: bytes,
        metadata_cid: str,
    ) -> TxResult:
        """Replace a node's capabilities, key and metadata."""
        return self._send(
            self.registry, "updateNode", node_id, int(processes), int(materials), list(build_volume_mm),
            _key32(encryption_key), cid_bytes(metadata_cid),
        )

    def set_node_active(self, node_id: int, active: bool) -> TxResult:
        """Take a node out of service or back in."""
        return self._send(self.registry, "setNodeActive", node_id, active)

    def stake_of(self, operator: str) -> Stake:
        """An operator's stake: bonded, locked by the market, unbonding, oldest release time."""
        s = self.registry.functions.stakeOf(to_checksum_address(operator)).call()
        return Stake(staked=s[0], locked=s[1], unbonding=s[2], unbond_at=s[3])

    def unbond_requests(self, operator: str) -> list[tuple[int, int]]:
        """An operator's pending unbond requests, oldest first, as (amount, release time)."""
        return [(r[0], r[1]) for r in self.registry.functions.unbondRequests(to_checksum_address(operator)).call()]

    def votes(self, account: str) -> int:
        """Voting power the registry gives `account` for staked FAB (ERC-5805 `getVotes`)."""
        return self.registry.functions.getVotes(to_checksum_address(account)).call()

    def eligible(self, operator: str) -> bool:
        """Whether the registry counts the operator's bonded stake as meeting the minimum (its last EligibilitySet)."""
        topic = "0x" + bytes(12).hex() + to_checksum_address(operator)[2:].lower()
        events = self._logs(self.registry, [self._topic("NodeRegistry", "EligibilitySet"), topic])
        return bool(events[-1].args["eligible"]) if events else False

    def node(self, node_id: int) -> Node:
        """A registered node."""
        if not isinstance(node_id, int) or not 0 < node_id < 1 << 256:
            raise FabricaValueError(f"node id must be a positive integer, got {node_id!r}")
        try:
            n = self.registry.functions.nodeOf(node_id).call()
        except (ContractCustomError, ContractLogicError) as exc:
            raise _contract_error(exc) from None
        return Node(
            node_id=node_id, operator=n[0], processes=ProcessKind(n[1]), materials=Material(n[2]), active=n[3],
            build_volume_mm=(n[4], n[5], n[6]), encryption_key=bytes(n[7]), metadata_cid=str(Cid.parse(bytes(n[8]))),
        )

    def nodes(self) -> list[Node]:
        """Every registered node."""
        return [self.node(i) for i in range(1, self.registry.functions.nodeCount().call() + 1)]

    def _explain_node(self, err: ContractError, node_id: int) -> ContractError:
        """A refused claim's NodeInactive with the reason: the node out of service, or the stake below the minimum."""
        if err.error_name != "JobMarket__NodeInactive":
            return err
        operator, _can_claim, staked = self.registry.functions.claimInfo(node_id).call()
        minimum = self.min_stake()
        if not self.node(node_id).active:
            return err.with_hint(f"node {node_id} is out of service; its operator puts it back in service "
                                 "(Fabrica.set_node_active) before claiming")
        if staked < minimum:
            return err.with_hint(
                f"{operator} has {format_fab(staked)} staked; claiming jobs needs at least {format_fab(minimum)}: "
                f"run `fabrica node stake {format_units(minimum - staked, 18)}` first (the order is stake, "
                "register, claim)")
        return err.with_hint(f"{operator}'s eligibility predates the current minimum stake; anyone may refresh it "
                             "with NodeRegistry.refreshEligibility, then claim again")

    # -------------------------------------------------------------------------------- designs

    def mint_design(self, cid: str, royalty_bps: int, metadata_cid: str | None = None) -> TxResult:
        """Mint the design with content `cid` (this account is its creator and owner); value = its id.

        Without `metadata_cid`, the metadata is the minimal document naming the model (`design_metadata`); the
        caller stores it where the design's readers look (the CLI stores every document it mints)."""
        from .designs import Designs, design_metadata

        if metadata_cid is None:
            from .storage.unixfs import compute_cid

            metadata_cid = str(compute_cid(design_metadata(name=f"design {cid}", model_cid=cid)))
        return Designs(self).mint(cid, royalty_bps, metadata_cid)

    def design_cid(self, design_id: int) -> str | None:
        """The CID design `design_id` was minted for, or None when there is no such design."""
        designs = self.contracts["DesignNFT"]
        if not 0 < design_id < 1 << 256 or not designs.functions.exists(design_id).call():
            return None
        return str(Cid.parse(bytes(designs.functions.cidOf(design_id).call())))

    def design_id_for_cid(self, cid: str) -> int | None:
        """The design minted for content `cid` (in any CID form: a design's id is its digest), or None."""
        from .designs import design_id

        try:
            token_id = design_id(cid)
        except FabricaValueError:
            return None  # not a sha2-256 CID: never a design
        return token_id if self.contracts["DesignNFT"].functions.exists(token_id).call() else None

    # ----------------------------------------------------------------------------------- reads

    def job_count(self) -> int:
        """How many jobs were ever created."""
        return self.market.functions.jobCount().call()

    def job(self, job_id: int) -> JobRecord:
        """Rebuild job `job_id` from its events and check it against the commitment in its storage slot."""
        if not isinstance(job_id, int) or job_id <= 0:
            raise FabricaValueError(f"job id must be a positive integer, got {job_id!r}")
        if job_id >= 1 << 64:  # the market counts jobs in a uint48
            raise FabricaLookupError(f"no job {job_id} on chain {self.deployment.chain_id} (jobs: 1..{self.job_count()})")
        events = self._logs(self.market, [None, _word(job_id)])
        records = fold_jobs(events)
        if job_id not in records:
            raise FabricaLookupError(f"no job {job_id} on chain {self.deployment.chain_id} (jobs: 1..{self.job_count()})")
        record = records[job_id]
        self._check_on_chain(record)
        return record

    def _check_on_chain(self, record: JobRecord) -> None:
        """Raise unless the chain stores this struct in this status, or a later job recycled the finished job's slot."""
        stored = bytes(self.market.functions.commitmentAt(record.job.key).call())
        if stored == record.job.commitment(record.job_id, record.status):
            return
        if record.status.is_terminal and self._slot_recycled(record):
            return  # the finished job's commitment was overwritten: its events are all there is
        raise FabricaError(
            f"job {record.job_id}: events do not reproduce the on-chain commitment (a reorg in progress?); retry"
        )

    def _slot_recycled(self, record: JobRecord) -> bool:
        created = [self._topic("JobMarket", name) for name in CREATING_EVENTS]
        later = self._logs(self.market, [created], from_block=record.updated_block)
        return any(e.args["jobId"] > record.job_id and Job.from_event(e.args["job"]).key == record.job.key
                   for e in later)

    def jobs(self, *, status: JobStatus | None = None, customer: str | None = None,
             node: str | None = None) -> list[JobRecord]:
        """Every job, rebuilt from the market's events, optionally filtered (by customer or node: only their jobs'
        events are read)."""
        customer = _address(customer, "customer") if customer else None
        node = _address(node, "node") if node else None
        if customer or node:
            events = self._events_of(self._job_ids(customer=customer, node=node))
        else:
            events = self._logs(self.market, [[self._topic("JobMarket", n) for n in JOB_EVENTS]])
        out = []
        for record in fold_jobs(events).values():
            if status is not None and record.status != status:
                continue
            if customer and record.job.customer != customer:
                continue
            if node and record.job.node != node:
                continue
            out.append(record)
        return sorted(out, key=lambda r: r.job_id)

    def _job_ids(self, *, customer: str | None, node: str | None) -> set[int]:
        """Ids of the jobs a customer created or a node claimed (from indexed topics: two reads at most)."""
        ids: set[int] = set()
        if customer:
            who = _word(int(customer, 16))
            ids |= {e.args["jobId"] for e in self._logs(
                self.market, [[self._topic("JobMarket", n) for n in CREATING_EVENTS], None, who])}
        if node:
            who = _word(int(node, 16))
            ids |= {e.args["jobId"] for e in self._logs(self.market, [self._topic("JobMarket", "JobClaimed"), None, who])}
            ids |= {e.args["jobId"] for e in self._logs(self.market, [self._topic("JobMarket", "OrderTaken"), None, None,
                                                                      who])}
        return ids

    def _events_of(self, job_ids: set[int]) -> list[Event]:
        """Every job event of the given jobs."""
        out: list[Event] = []
        ordered = sorted(job_ids)
        for i in range(0, len(ordered), LOG_TOPIC_BATCH):
            out += self._logs(self.market, [None, [_word(j) for j in ordered[i:i + LOG_TOPIC_BATCH]]])
        return out

    def _logs(self, contract: Contract, topics: list, *, from_block: int | None = None,
              to_block: int | str = "latest") -> list[Event]:
        """Decoded logs of `contract` matching `topics`, from the deployment's first block."""
        logs = self.w3.eth.get_logs({"address": contract.address, "topics": topics, "toBlock": to_block,
                                     "fromBlock": self.deployment.deployed_block if from_block is None else from_block})
        return self.decode_logs(logs)

    def _topic(self, contract: str, event: str) -> str:
        return "0x" + self._event_topics[(contract, event)].hex()

    def _job_struct(self, job_id: int) -> tuple:
        return self.job(job_id).job.to_abi()

    def now(self) -> int:
        """Timestamp of the latest block (the chain's clock, which devnets can move)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])


def _word(value: int) -> str:
    """An integer as a 32-byte log topic."""
    return "0x" + value.to_bytes(32, "big").hex()


def _contract_error(exc: Exception) -> ContractError:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if data is None and exc.args:
        data = exc.args[-1] if isinstance(exc.args[-1], str) and exc.args[-1].startswith("0x") else None
    err = decode_revert(data)
    if not err.values and str(exc) and "without" in str(err):
        return type(err)((), str(exc))
    return err


def _as_cid(text: str) -> str | None:
    """`text` as a CID string, or None when it is not one (then it names a file)."""
    from .storage.errors import InvalidCidError

    try:
        return str(Cid.parse(text.strip()))
    except InvalidCidError:
        return None


def _address(value: str, what: str) -> str:
    """`value` as a checksummed address, or a clear error naming `what` it was for."""
    try:
        return to_checksum_address(value.strip())
    except (ValueError, TypeError, AttributeError):
        raise FabricaValueError(f"{what} {value!r} is not an address: expected 0x and 40 hex characters") from None


def _output_components(contract: Contract, fn_name: str) -> list[dict[str, Any]]:
    fn = next(e for e in contract.abi if e.get("type") == "function" and e["name"] == fn_name)
    return fn["outputs"][0]["components"]


def _key32(key: bytes) -> bytes:
    if len(key) != 32:
        raise FabricaValueError(f"encryption key must be 32 bytes (X25519 public key), got {len(key)}")
    return key


def _plain(value: Any) -> Any:
    """web3's AttributeDict/HexBytes -> plain dicts, bytes and ints (JSON-friendly once hexed)."""
    if isinstance(value, HexBytes):
        return bytes(value)
    if isinstance(value, dict) or hasattr(value, "keys"):
        return {k: _plain(v) for k, v in dict(value).items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


__all__ = ["DEFAULT_RPC_URL", "ZERO_ADDRESS", "Event", "Fabrica", "TxResult", "cid_bytes"]
