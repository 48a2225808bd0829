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
from .deployment import Deployment
from .display import format_amount, format_fab
from .errors import (
    FabricaConnectionError,
    FabricaError,
    FabricaLookupError,
    FabricaTimeoutError,
    FabricaValueError,
)
from .storage.cid import Cid
from .types import ZERO_ADDRESS, Job, JobRecord, JobStatus, Material, Node, ProcessKind, Stake, format_units

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
UINT96_MAX = (1 << 96) - 1
MAX_CLAIM_PERIOD = 365 * 86400  # JobMarket.MAX_CLAIM_PERIOD
MAX_DELIVERY_WINDOW = 365 * 86400  # JobMarket.MAX_DELIVERY_WINDOW
MARKET_EVENTS_WITH_JOB = (
    "JobPosted", "JobCancelled", "JobClaimed", "JobDelivered", "JobSettled",
    "JobExpired", "JobDisputed", "JobResolved",
)


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
        self._topics: dict[bytes, tuple[str, str]] = {}
        for name, contract in self.contracts.items():
            for ev in contract.abi:
                if ev.get("type") == "event":
                    sig = f"{ev['name']}({','.join(canonical_type(i) for i in ev['inputs'])})"
                    self._topics[bytes(Web3.keccak(text=sig))] = (name, ev["name"])

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
            raise _contract_error(exc) from None
        except Web3RPCError as exc:
            raise self._refused(sender, fn_name, exc) from None
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
                raise _contract_error(exc) from None
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

    def _refused(self, sender: str, fn_name: str, exc: Web3RPCError) -> FabricaError:
        """The node's refusal of a transaction as one clear error (no gas money is the one people meet)."""
        message = exc.rpc_response.get("error", {}).get("message") if exc.rpc_response else None
        message = str(message or exc.message or exc)
        if "insufficient funds" in message.lower():
            eth = format_units(self.w3.eth.get_balance(sender), 18)
            return FabricaValueError(
                f"account {sender} has {eth} ETH for gas on chain {self.deployment.chain_id}, too little to send "
                f"{fn_name}: send it some ETH first (on the devnet, dev accounts 0..9 hold ETH: --account customer…)"
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
        *,
        token: str,
        amount: int,
        spec_cid: str,
        claim_by: int,
        delivery_window: int,
        collateral: int,
        design_id: int = 0,
    ) -> TxResult:
        """Post a job, escrowing `amount` (from the market balance, pulling any shortfall); value = job id.

        Every rule the market enforces is checked first with reads (`check_post`), and the shortfall is
        pulled with an exact approval that is revoked if the post fails (`pay_from_wallet`).
        """
        token = to_checksum_address(token)
        spec = cid_bytes(spec_cid)  # validate before any transaction (approve) is sent
        self.check_post(token=token, amount=amount, claim_by=claim_by, delivery_window=delivery_window,
                        collateral=collateral, design_id=design_id)
        deposited = self.market.functions.balanceOf(token, self.address).call()
        return self.pay_from_wallet(
            token, self.market.address, amount - deposited,
            lambda: self._send(self.market, "post", token, amount, spec, design_id, claim_by, delivery_window,
                               collateral, value_from="JobPosted.jobId"),
            what="posting the job", held_elsewhere=max(deposited, 0),
        )

    def check_post(self, *, token: str, amount: int, claim_by: int, delivery_window: int, collateral: int,
                   design_id: int = 0) -> None:
        """Raise a clear FabricaValueError for a post the market would revert, before any transaction."""
        token = to_checksum_address(token)
        # Each failure is the contract error the post would revert with (same class, same arguments).
        if not self.market.functions.isTokenAllowed(token).call():
            known = ", ".join(self.deployment.payment_tokens) or "none in the manifest"
            raise make_error("JobMarket__TokenNotAllowed", (token,), f"pay with one of: {known}")
        if amount <= 0:
            raise FabricaValueError(f"amount must be positive, got {amount}")
        if amount > UINT96_MAX:
            raise FabricaValueError(f"amount {amount} base units is above the market's limit of 2^96 - 1")
        now = self.now()
        if not now < claim_by <= now + MAX_CLAIM_PERIOD:
            raise make_error("JobMarket__InvalidClaimDeadline", (claim_by, now))
        params = self.market_params()
        low = params["minDeliveryWindow"]
        if not low <= delivery_window <= MAX_DELIVERY_WINDOW:
            raise make_error("JobMarket__InvalidDeliveryWindow", (delivery_window, low, MAX_DELIVERY_WINDOW))
        minimum = params["minCollateral"]
        if collateral < minimum:
            raise make_error("JobMarket__CollateralTooLow", (collateral, minimum))
        if collateral > UINT96_MAX:
            raise FabricaValueError(f"collateral {format_fab(collateral)} is above the market's limit of 2^96 - 1 base units")
        if design_id:
            self.check_design(design_id)
        if self.account is not None:  # the escrow comes from the deposit first, then the wallet
            deposited = self.market.functions.balanceOf(token, self.address).call()
            if amount > deposited:
                self.check_wallet(token, amount - deposited, held_elsewhere=deposited,
                                  what="posting the job")

    def check_design(self, design_id: int) -> None:
        """Raise JobMarket__UnknownDesign unless DesignNFT `design_id` exists (designs are never burned)."""
        count = self.contracts["DesignNFT"].functions.designCount().call()
        if not 0 < design_id <= count:
            listed = f"designs are 1..{count}" if count else "no design has been minted yet"
            raise make_error("JobMarket__UnknownDesign", (design_id,),
                             f"{listed}; pass a minted design's id (`fabrica design mint CID`), or 0 for none")

    def cancel_job(self, job_id: int) -> TxResult:
        """Cancel an open job; the escrow is credited back to the customer's market balance."""
        return self._send(self.market, "cancel", job_id, self._job_struct(job_id))

    def claim_job(self, job_id: int, node_id: int) -> TxResult:
        """Claim an open job for node `node_id`, locking the job's collateral from the account's stake."""
        return self._send(self.market, "claim", job_id, self._job_struct(job_id), node_id)

    def deliver_job(self, job_id: int, proof_cid: str) -> TxResult:
        """Deliver a claimed job with the CID of its proof (print log, photos)."""
        return self._send(self.market, "deliver", job_id, self._job_struct(job_id), cid_bytes(proof_cid))

    def accept_job(self, job_id: int) -> TxResult:
        """Accept a delivery: credits node, treasury and royalty receiver."""
        return self._send(self.market, "accept", job_id, self._job_struct(job_id))

    def settle_job(self, job_id: int) -> TxResult:
        """Settle a delivery in the node's favour after the review window (anyone may call)."""
        return self._send(self.market, "settle", job_id, self._job_struct(job_id))

    def reclaim_job(self, job_id: int) -> TxResult:
        """Reclaim the escrow of a job whose delivery deadline passed; slashes the node's collateral."""
        return self._send(self.market, "reclaim", job_id, self._job_struct(job_id))

    def dispute_job(self, job_id: int, reason_cid: str) -> TxResult:
        """Dispute a delivery during the review window, posting the bond."""
        reason = cid_bytes(reason_cid)  # validate before any transaction (approve) is sent
        record = self.job(job_id)
        # The market's own checks, made with reads so that no bond approval is sent for a dispute it refuses.
        if record.status != JobStatus.DELIVERED:
            raise make_error("JobMarket__WrongStatus", (job_id, int(record.status), int(JobStatus.DELIVERED)))
        if record.job.customer.lower() != self.address.lower():
            raise make_error("JobMarket__NotCustomer", (job_id, self.address, record.job.customer))
        params = self.market_params()
        bond = record.job.amount * params["disputeBondBps"] // 10_000
        deposited = self.market.functions.balanceOf(record.job.token, self.address).call()
        return self.pay_from_wallet(
            record.job.token, self.market.address, bond - deposited,
            lambda: self._send(self.market, "dispute", job_id, record.job.to_abi(), reason),
            what=f"the dispute bond of job {job_id}",
            held_elsewhere=max(deposited, 0),
        )

    def resolve_job(self, job_id: int, refund_bps: int, slash_bps: int) -> TxResult:
        """Arbiter: refund `refund_bps` of the payment to the customer and slash `slash_bps` of collateral."""
        for name, v in (("refund_bps", refund_bps), ("slash_bps", slash_bps)):
            if not 0 <= v <= 10_000:
                raise FabricaValueError(f"{name} must be between 0 and 10000 (basis points), got {v}")
        return self._send(self.market, "resolve", job_id, self._job_struct(job_id), refund_bps, slash_bps)

    def withdraw(self, token: str, to: str | None = None) -> TxResult:
        """Withdraw the account's market balance of `token`."""
        recipient = _address(to, "recipient") if to is not None else self.address
        if int(recipient, 16) == 0:
            raise FabricaValueError("recipient is the zero address; pass the address that should receive the tokens")
        return self._send(self.market, "withdraw", to_checksum_address(token), recipient)

    def withdraw_fees(self, token: str) -> TxResult:
        """Pay accrued protocol fees to the treasury (anyone may call)."""
        return self._send(self.market, "withdrawFees", to_checksum_address(token))

    def market_balance(self, token: str, account: str) -> int:
        """Credited market balance (deposits, refunds, payouts) of `account`."""
        return self.market.functions.balanceOf(to_checksum_address(token), to_checksum_address(account)).call()

    def fees(self, token: str) -> int:
        """Protocol fees accrued in `token`."""
        return self.market.functions.feesOf(to_checksum_address(token)).call()

    def market_params(self) -> dict[str, int]:
        """Current market parameters."""
        values = self.market.functions.params().call()
        names = [c["name"] for c in _output_components(self.market, "params")]
        return dict(zip(names, values))

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
        """Start unbonding `amount` of free stake."""
        if amount <= 0:
            raise FabricaValueError(f"unbond amount must be positive, got {format_fab(max(amount, 0))}")
        return self._send(self.registry, "requestUnbond", amount)

    def withdraw_stake(self) -> TxResult:
        """Withdraw stake whose unbonding delay has passed."""
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
        """An operator's stake."""
        s = self.registry.functions.stakeOf(to_checksum_address(operator)).call()
        return Stake(staked=s[0], locked=s[1], unbonding=s[2], unbond_at=s[3])

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

    # -------------------------------------------------------------------------------- designs

    def mint_design(self, cid: str, royalty_bps: int, to: str | None = None) -> TxResult:
        """Mint a DesignNFT for content `cid` paying `royalty_bps` of each job to its holder; value = id."""
        if not 0 <= royalty_bps <= 10_000:
            raise FabricaValueError(f"royalty_bps must be 0..10000, got {royalty_bps}")
        return self._send(
            self.contracts["DesignNFT"], "mint", to_checksum_address(to or self.address), cid_bytes(cid),
            royalty_bps, value_from="DesignMinted.tokenId",
        )

    # ----------------------------------------------------------------------------------- reads

    def job_count(self) -> int:
        """How many jobs were ever posted."""
        return self.market.functions.jobCount().call()

    def job(self, job_id: int) -> JobRecord:
        """Rebuild job `job_id` from its events and check it against the on-chain commitment."""
        if not isinstance(job_id, int) or job_id <= 0:
            raise FabricaValueError(f"job id must be a positive integer, got {job_id!r}")
        if job_id >= 1 << 64:  # the market counts jobs in a uint64
            raise FabricaLookupError(f"no job {job_id} on chain {self.deployment.chain_id} (jobs: 1..{self.job_count()})")
        logs = self.w3.eth.get_logs(
            {"address": self.market.address, "fromBlock": self.deployment.deployed_block, "toBlock": "latest",
             "topics": [None, "0x" + job_id.to_bytes(32, "big").hex()]}
        )
        records = _fold_jobs(self.decode_logs(logs))
        if job_id not in records:
            raise FabricaLookupError(f"no job {job_id} on chain {self.deployment.chain_id} (jobs: 1..{self.job_count()})")
        record = records[job_id]
        stored = bytes(self.market.functions.commitmentOf(job_id).call())
        # The market clears a settled job's slot (a gas refund); every other status keeps its hash.
        expected = bytes(32) if record.status == JobStatus.SETTLED else record.job.commitment(record.status)
        if stored != expected:
            raise FabricaError(
                f"job {job_id}: events do not reproduce the on-chain commitment (a reorg in progress?); retry"
            )
        return record

    def jobs(self, *, status: JobStatus | None = None, customer: str | None = None,
             node: str | None = None) -> list[JobRecord]:
        """Every job, rebuilt from the market's events, optionally filtered."""
        logs = self.w3.eth.get_logs(
            {"address": self.market.address, "fromBlock": self.deployment.deployed_block, "toBlock": "latest"}
        )
        out = []
        for record in _fold_jobs(self.decode_logs(logs)).values():
            if status is not None and record.status != status:
                continue
            if customer and record.job.customer.lower() != customer.lower():
                continue
            if node and record.job.node.lower() != node.lower():
                continue
            out.append(record)
        return sorted(out, key=lambda r: r.job_id)

    def _job_struct(self, job_id: int) -> tuple:
        return self.job(job_id).job.to_abi()

    def now(self) -> int:
        """Timestamp of the latest block (the chain's clock, which devnets can move)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])


def _fold_jobs(events: list[Event]) -> dict[int, JobRecord]:
    """Apply job events in order to rebuild each job's struct and status."""
    state: dict[int, dict[str, Any]] = {}
    for e in sorted(events, key=lambda e: (e.block_number, e.log_index)):
        if e.name not in MARKET_EVENTS_WITH_JOB:
            continue
        jid = e.args["jobId"]
        if e.name == "JobPosted":
            state[jid] = {
                "job_id": jid, "status": JobStatus.OPEN, "job": Job.from_abi(e.args["job"]),
                "spec_cid": str(Cid.parse(e.args["specCid"])), "design_id": e.args["designId"],
                "posted_block": e.block_number, "updated_block": e.block_number,
            }
            continue
        s = state.get(jid)
        if s is None:
            continue  # history before the manifest's first block; cannot be rebuilt
        job: Job = s["job"]
        s["updated_block"] = e.block_number
        if e.name == "JobClaimed":
            s["job"] = job.model_copy(update={"node": e.args["node"], "deadline": e.args["deliverBy"]})
            s["node_id"] = e.args["nodeId"]
            s["status"] = JobStatus.CLAIMED
        elif e.name == "JobDelivered":
            s["job"] = job.model_copy(update={"deadline": e.args["reviewUntil"]})
            s["proof_cid"] = str(Cid.parse(e.args["proofCid"]))
            s["status"] = JobStatus.DELIVERED
        elif e.name == "JobDisputed":
            s["job"] = job.model_copy(update={"bond": e.args["bond"]})
            s["reason_cid"] = str(Cid.parse(e.args["reasonCid"]))
            s["status"] = JobStatus.DISPUTED
        elif e.name == "JobSettled":
            s["status"] = JobStatus.SETTLED
        elif e.name == "JobResolved":
            s["status"] = JobStatus.RESOLVED
        elif e.name == "JobCancelled":
            s["status"] = JobStatus.CANCELLED
        elif e.name == "JobExpired":
            s["status"] = JobStatus.EXPIRED
    return {jid: JobRecord(**s) for jid, s in state.items()}


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

