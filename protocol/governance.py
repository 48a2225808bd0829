"""`Dao`: the SDK for Fabrica's DAO (FabGovernor + FabTimelock) — delegate, propose readable actions, vote
(directly or by signature), queue, execute, cancel, and read proposals back from the chain.

Built on a `Fabrica` client (its connection, account and `_send`), so errors, gas and receipts behave as in
the rest of the SDK. Nothing is stored off chain: a proposal's actions and description come back from its
`ProposalCreated` log, its id is the governor's `hashProposal`, its state and tally are the governor's.
"""
from __future__ import annotations

import enum
import json
import shlex
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError

from .artifacts import abi
from .chain_errors import ContractError, decode_revert, make_error
from .client import Fabrica, TxResult
from .deployment import RATE_ONE, TokenTerms
from .display import format_duration, format_fab, format_time
from .errors import FabricaError, FabricaLookupError, FabricaValueError
from .storage.cid import Cid
from .types import DisputeStage, format_units, to_units

FAB_DECIMALS = 18
UINT256_MAX = (1 << 256) - 1


class ProposalState(enum.IntEnum):
    """Mirror of OpenZeppelin's `IGovernor.ProposalState`."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


class Support(enum.IntEnum):
    """A vote's choice (GovernorCountingSimple's `support`)."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2

    @classmethod
    def parse(cls, text: str | int | Support) -> Support:
        """'for', 'against', 'abstain' (or 1, 0, 2) -> Support."""
        if isinstance(text, Support):
            return text
        word = str(text).strip().lower()
        names = {"for": cls.FOR, "yes": cls.FOR, "1": cls.FOR, "against": cls.AGAINST, "no": cls.AGAINST,
                 "0": cls.AGAINST, "abstain": cls.ABSTAIN, "2": cls.ABSTAIN}
        if word not in names:
            raise FabricaValueError(f"vote {text!r}: choose for, against or abstain")
        return names[word]


# TimelockController.OperationState, for TimelockUnexpectedOperationState's bitmap.
OPERATION_STATES = ("Unset", "Waiting", "Ready", "Done")

# What to do next for each governor and timelock error people meet (the arguments carry the numbers).
GOVERNANCE_HINTS = {
    "GovernorNonexistentProposal": "no proposal has this id on this governor; `fabrica dao proposals` lists them",
    "GovernorUnexpectedProposalState": "the proposal is not in a state that allows this",
    "GovernorInsufficientProposerVotes": (
        "proposing needs at least the proposal threshold in votes at the last second: delegate your FAB to "
        "yourself first (`fabrica dao delegate`), or ask a delegate who holds enough to propose"
    ),
    "GovernorAlreadyCastVote": "this account has voted on this proposal already; votes cannot be changed",
    "GovernorInvalidSignature": "the ballot is not signed by the voter over this proposal, choice and nonce",
    "GovernorOnlyProposer": "only the proposer may cancel, and only before voting starts",
    "GovernorUnableToCancel": "only the proposer may cancel, and only while the proposal is pending",
    "GovernorInvalidProposalLength": "targets, values and calldatas must have the same, non-zero length",
    "GovernorRestrictedProposer": "the description names another proposer (#proposer=…)",
    "GovernorInvalidVoteType": "vote for, against or abstain",
    "TimelockUnexpectedOperationState": "the timelock delay has not passed yet, or the operation is not scheduled",
    "TimelockInsufficientDelay": "the timelock needs a longer delay",
    "ERC5805FutureLookup": "that time is not in the past yet: votes are known only for past timepoints",
}


def _state_names(bitmap: int | bytes, names: tuple[str, ...] | type[enum.IntEnum]) -> str:
    """An OpenZeppelin state bitmap (bit i = state i; a bytes32) as 'Succeeded or Queued'."""
    if isinstance(bitmap, bytes):
        bitmap = int.from_bytes(bitmap, "big")
    labels = [m.name.title() for m in names] if isinstance(names, type) else list(names)
    chosen = [label for i, label in enumerate(labels) if bitmap >> i & 1]
    return " or ".join(chosen) or "none"


@dataclass(frozen=True)
class Action:
    """One call the timelock makes when a proposal executes, with what it does in words."""

    target: str
    value: int
    calldata: bytes
    summary: str = ""


@dataclass(frozen=True)
class Proposal:
    """A proposal as its `ProposalCreated` log recorded it."""

    id: int
    proposer: str
    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str
    vote_start: int
    vote_end: int
    block_number: int
    tx_hash: str

    @property
    def description_hash(self) -> bytes:
        """keccak256 of the description, as queue/execute/cancel take it."""
        return keccak(text=self.description)

    @property
    def title(self) -> str:
        """The description's first line (without a Markdown heading mark)."""
        first = self.description.strip().splitlines()[0] if self.description.strip() else ""
        return first.lstrip("# ").strip()


@dataclass
class ProposalStatus:
    """Where a proposal stands: its state, dates, tally, quorum and (optionally) one voter's weight."""

    proposal: Proposal
    state: ProposalState
    snapshot: int
    deadline: int
    eta: int | None
    votes_for: int
    votes_against: int
    votes_abstain: int
    quorum: int
    quorum_final: bool  # False while the snapshot is in the future: quorum then is today's supply estimate
    actions: list[str] = field(default_factory=list)
    voter: str | None = None
    voter_weight: int | None = None  # None while the snapshot is in the future
    has_voted: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The status as plain JSON: amounts in FAB, times as dates (and Unix seconds)."""
        p = self.proposal
        out: dict[str, Any] = {
            "proposal_id": str(p.id), "state": self.state.name.lower(), "proposer": p.proposer, "title": p.title,
            "description": p.description, "actions": self.actions,
            "snapshot": self.snapshot, "snapshot_utc": format_time(self.snapshot),
            "deadline": self.deadline, "deadline_utc": format_time(self.deadline),
            "eta": self.eta, "eta_utc": format_time(self.eta) if self.eta else None,
            "votes": {"for": format_units(self.votes_for, FAB_DECIMALS),
                      "against": format_units(self.votes_against, FAB_DECIMALS),
                      "abstain": format_units(self.votes_abstain, FAB_DECIMALS)},
            "quorum": format_units(self.quorum, FAB_DECIMALS), "quorum_final": self.quorum_final,
            "quorum_reached": self.votes_for + self.votes_abstain >= self.quorum,
        }
        if self.voter is not None:
            out["voter"] = {"address": self.voter, "has_voted": self.has_voted,
                            "weight": None if self.voter_weight is None else format_units(self.voter_weight, 18)}
        return out


@dataclass(frozen=True)
class Ballot:
    """A vote signed off chain (EIP-712 `Ballot`) that anyone may submit with `castVoteBySig`."""

    proposal_id: int
    support: Support
    voter: str
    nonce: int
    signature: str

    def to_json(self) -> dict[str, Any]:
        """The ballot as JSON (what `fabrica dao vote --sign-only` writes)."""
        return {"proposal_id": str(self.proposal_id), "support": self.support.name.lower(), "voter": self.voter,
                "nonce": self.nonce, "signature": self.signature}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ballot:
        """A ballot read back from its JSON form."""
        try:
            return cls(proposal_id=parse_proposal_id(str(data["proposal_id"])), support=Support.parse(data["support"]),
                       voter=address(str(data["voter"]), "ballot voter"), nonce=int(data["nonce"]),
                       signature=str(data["signature"]))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, FabricaError):
                raise
            raise FabricaValueError(f"ballot: expected proposal_id, support, voter, nonce and signature ({exc})") from None


@dataclass(frozen=True)
class VotingPower:
    """An account's votes: delegated FAB plus staked FAB (each as its delegate receives them)."""

    account: str
    token_votes: int
    stake_votes: int
    timepoint: int | None = None  # None: now

    @property
    def total(self) -> int:
        """Votes the governor counts."""
        return self.token_votes + self.stake_votes


def address(value: str, what: str) -> str:
    """`value` as a checksummed address, or a clear error naming `what` it was for."""
    try:
        text = value.strip()
        if not (text.startswith("0x") and len(text) == 42):
            raise ValueError
        return to_checksum_address(text)
    except (ValueError, TypeError, AttributeError):
        raise FabricaValueError(f"{what} {value!r} is not an address: expected 0x and 40 hex characters") from None


def parse_proposal_id(text: str) -> int:
    """A proposal id in decimal or 0x hex (as `fabrica dao proposals` prints it)."""
    try:
        value = int(text.strip(), 0) if text.strip().lower().startswith("0x") else int(text.strip())
    except (ValueError, AttributeError):
        raise FabricaValueError(f"proposal id {text!r} is not a number (decimal, or 0x hex)") from None
    if not 0 <= value <= UINT256_MAX:
        raise FabricaValueError(f"proposal id {text!r} is out of range (a uint256)")
    return value


def _camel(name: str) -> str:
    """fee_bps -> feeBps (market parameters by either spelling)."""
    head, *rest = name.strip().split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class Dao:
    """Fabrica's DAO through a `Fabrica` client: its account delegates, proposes, votes, queues and executes."""

    def __init__(self, fab: Fabrica) -> None:
        self.fab = fab
        self.w3 = fab.w3
        deployment = fab.deployment
        if deployment.governance is None or "FabGovernor" not in deployment.contracts:
            raise FabricaLookupError(
                f"the deployment on chain {deployment.chain_id} has no DAO (no FabGovernor in its manifest): an "
                f"owner account ({deployment.owner}) governs it directly")
        self.governor = self._contract("FabGovernor")
        self.timelock = self._contract("FabTimelock")
        self.panel = self._contract("ArbiterPanel")
        self.manifests = self._contract("ManifestRegistry")

    def _contract(self, name: str) -> Contract:
        return self.w3.eth.contract(address=self.fab.deployment.address(name), abi=abi(name))

    def with_account(self, account) -> Dao:
        """The same DAO handle signing as `account`."""
        return Dao(self.fab.with_account(account))

    @property
    def treasury(self) -> str:
        """The timelock: owner of every contract and holder of the treasury."""
        return self.timelock.address

    # ------------------------------------------------------------------------------ plumbing

    def _send(self, contract: Contract, fn: str, *args: Any, proposal: Proposal | None = None) -> TxResult:
        """`Fabrica._send` with governor and timelock errors explained."""
        try:
            return self.fab._send(contract, fn, *args)
        except ContractError as err:
            raise self._explain(err, proposal) from None

    def _read(self, fn: Any, *args: Any, block: int | str = "latest") -> Any:
        """A view call whose custom errors surface like a transaction's."""
        try:
            return fn(*args).call(block_identifier=block)
        except (ContractCustomError, ContractLogicError) as exc:
            raise self._explain(_revert_error(exc)) from None

    def _explain(self, err: ContractError, proposal: Proposal | None = None) -> ContractError:
        """A governor or timelock error with its states named and what to do next."""
        name = err.error_name
        a = err.args_by_name
        if name == "GovernorUnexpectedProposalState":
            current = ProposalState(a["current"]).name.title()
            expected = _state_names(a["expectedStates"], ProposalState)
            hint = f"proposal {a['proposalId']} is {current}; this needs it {expected}"
            return err.with_hint(hint, shown={"current": current, "expectedStates": expected})
        if name == "TimelockUnexpectedOperationState":
            expected = _state_names(a["expectedStates"], OPERATION_STATES)
            hint = GOVERNANCE_HINTS[name]
            if proposal is not None:
                eta = self.governor.functions.proposalEta(proposal.id).call()
                if eta:
                    hint = (f"the timelock delay has not passed: proposal {proposal.id} can be executed from "
                            f"{format_time(eta)} (now {format_time(self.fab.now())})")
            return err.with_hint(hint, shown={"expectedStates": expected})
        if name == "GovernorUnableToCancel":
            state = self.state(a["proposalId"]).name.title()
            return err.with_hint(f"proposal {a['proposalId']} is {state}: only its proposer may cancel it, and only "
                                 "while it is Pending (before voting opens)")
        if name == "GovernorInsufficientProposerVotes":
            shown = {"votes": format_fab(a["votes"]), "threshold": format_fab(a["threshold"])}
            return err.with_hint(GOVERNANCE_HINTS[name], shown=shown)
        if name in GOVERNANCE_HINTS and not err.hint:
            return err.with_hint(GOVERNANCE_HINTS[name])
        return err

    # --------------------------------------------------------------------------------- votes

    def delegate(self, to: str | None = None) -> list[TxResult]:
        """Delegate the account's FAB votes and staked-FAB votes to `to` (default: itself).

        FAB and staked FAB are two vote sources (FabToken, NodeRegistry); each is delegated where it differs.
        """
        me = self.fab.address
        target = me if to is None else address(to, "delegate")
        out = []
        for contract in (self.fab.fab, self.fab.registry):
            if contract.functions.delegates(me).call() != target:
                out.append(self._send(contract, "delegate", target))
        return out

    def delegates(self, account: str) -> tuple[str, str]:
        """Whom `account` delegates its FAB and its staked FAB to (zero address: nobody yet)."""
        who = address(account, "account")
        return self.fab.fab.functions.delegates(who).call(), self.fab.registry.functions.delegates(who).call()

    def voting_power(self, account: str, timepoint: int | None = None) -> VotingPower:
        """Votes of `account` now, or at a past `timepoint` (Unix seconds: the governor's clock)."""
        who = address(account, "account")
        if timepoint is None:
            return VotingPower(who, self.fab.fab.functions.getVotes(who).call(),
                               self.fab.registry.functions.getVotes(who).call())
        now = self.clock()
        if timepoint >= now:
            raise FabricaValueError(f"timepoint {format_time(timepoint)}: votes are known only for times before the "
                                    f"chain's clock ({format_time(now)})")
        return VotingPower(who, self._read(self.fab.fab.functions.getPastVotes, who, timepoint),
                           self._read(self.fab.registry.functions.getPastVotes, who, timepoint), timepoint)

    def clock(self) -> int:
        """The governor's clock: the latest block's timestamp (ERC-6372 `timestamp` mode)."""
        return self.governor.functions.clock().call()

    # ------------------------------------------------------------------------------ actions

    def params_action(self, changes: dict[str, int | str]) -> Action:
        """One `setParams` call changing the named market parameters (the rest as they are now).

        Names are the Solidity ones or snake_case (fee_bps). Windows take seconds or durations (3600, 1h, 2d);
        minCollateral takes FAB; every other parameter basis points.
        """
        from .config import parse_duration

        if not changes:
            raise FabricaValueError("no market parameter to change")
        params = self.fab.market_params()
        for raw_name, raw in changes.items():
            name = _camel(raw_name)
            if name not in params:
                raise FabricaValueError(f"market parameter {raw_name!r} does not exist; known: {', '.join(params)}")
            text = str(raw).strip()
            if name.endswith("Window"):
                value = parse_duration(text) if not text.lstrip("-").isdigit() else int(text)
            elif name == "minCollateral":
                value = to_units(text, FAB_DECIMALS)
            else:
                try:
                    value = int(text)
                except ValueError:
                    raise FabricaValueError(f"{name}={raw!r}: basis points are a whole number (250 = 2.5 %)") from None
            if value < 0:
                raise FabricaValueError(f"{name}={raw!r}: a market parameter cannot be negative")
            if name.endswith("Bps") and value > 10_000:
                raise FabricaValueError(f"{name}={raw!r}: basis points run from 0 to 10000 (250 = 2.5 %)")
            params[name] = value
        return self._action(self.fab.market, "setParams", tuple(params.values()))

    def fee_action(self, fee_bps: int) -> Action:
        """Change the market fee to `fee_bps` basis points (setParams with every other parameter kept)."""
        return self.params_action({"feeBps": fee_bps})

    def allow_token_action(self, token: str, *, min_rate: int | None = None, max_rate: int | None = None,
                           min_fab: Decimal | str | None = None, max_fab: Decimal | str | None = None) -> Action:
        """Allow payment `token` with collateral rates: raw 1e18 rates, or FAB per whole token (default 0.01 to
        10 FAB per whole token, the devnet dollar's terms)."""
        token = address(token, "token")
        if (min_rate is None) != (max_rate is None):
            raise FabricaValueError("give both --min-rate and --max-rate (FAB wei per base unit, 1e18 fixed point)")
        if min_rate is not None and (min_fab is not None or max_fab is not None):
            raise FabricaValueError("give either raw rates (--min-rate/--max-rate) or FAB per token (--min-fab/--max-fab)")
        if min_rate is None:
            decimals = self.fab.token_decimals(token)
            low, high = Decimal(str(min_fab if min_fab is not None else "0.01")), Decimal(str(max_fab or 10))
            if low <= 0 or high < low:
                raise FabricaValueError(f"collateral per token {low}..{high} FAB: the minimum must be positive and "
                                        "the maximum at least as high")
            terms = TokenTerms.per_unit(decimals, low, high)
        else:
            if not 0 < min_rate <= max_rate:  # type: ignore[operator]
                raise FabricaValueError(f"rates {min_rate}..{max_rate}: the minimum must be positive and the maximum "
                                        "at least as high")
            terms = TokenTerms(min_collateral_rate=min_rate, max_collateral_rate=max_rate)  # type: ignore[arg-type]
        return self._action(self.fab.market, "setTokenTerms", token, terms.to_abi())

    def forbid_token_action(self, token: str) -> Action:
        """Remove payment `token` from the allowlist (jobs already escrowed in it finish as they are)."""
        return self._action(self.fab.market, "setTokenTerms", address(token, "token"), (False, 0, 0))

    def spend_action(self, token: str, amount: Decimal | str | int, to: str) -> Action:
        """Pay `amount` (in token units: '1000' FAB, '12.5' fUSD) of `token` (address, FAB or a payment token's
        symbol) from the treasury to `to`."""
        token_address = self.token_address(token)
        recipient = address(to, "recipient")
        if int(recipient, 16) == 0:
            raise FabricaValueError("recipient is the zero address; pass the address that should receive the tokens")
        if not _is_number(amount):
            raise FabricaValueError(f"spend amount {amount!r} is not a number (token units, e.g. 1000 or 12.5)")
        if Decimal(str(amount).strip()) <= 0:
            raise FabricaValueError(f"spend amount {amount}: pay a positive amount (token units)")
        units = to_units(str(amount).strip(), self.fab.token_decimals(token_address))
        return self._action(self.fab.erc20(token_address), "transfer", recipient, units)

    def token_address(self, token: str) -> str:
        """An ERC-20 by address, 'FAB', or a payment token symbol of the manifest."""
        if token.strip().upper() == "FAB":
            return self.fab.fab.address
        if token.strip() in self.fab.deployment.payment_tokens:
            return self.fab.deployment.payment_tokens[token.strip()]
        known = ", ".join(["FAB", *self.fab.deployment.payment_tokens])
        if not token.strip().startswith("0x"):
            raise FabricaValueError(f"token {token!r}: give an address or one of {known}")
        return address(token, "token")

    def appoint_arbiter_action(self, arbiter: str) -> Action:
        """Add `arbiter` to the ArbiterPanel."""
        who = address(arbiter, "arbiter")
        if self.panel.functions.isArbiter(who).call():
            raise make_error("ArbiterPanel__AlreadyArbiter", (who,), f"{who} sits on the arbiter panel already")
        return self._action(self.panel, "appoint", who)

    def remove_arbiter_action(self, arbiter: str) -> Action:
        """Remove `arbiter` from the ArbiterPanel (its open disputes can be reassigned)."""
        who = address(arbiter, "arbiter")
        if not self.panel.functions.isArbiter(who).call():
            members = ", ".join(self.panel.functions.arbiters().call()) or "none"
            raise make_error("ArbiterPanel__NotArbiter", (who,), f"{who} is not on the arbiter panel (members: {members})")
        return self._action(self.panel, "remove", who)

    def pause_action(self, paused: bool = True) -> Action:
        """Pause new jobs (withdrawals and running jobs' transitions keep working), or resume them."""
        return self._action(self.fab.market, "setPaused", paused)

    def guardian_action(self, guardian: str) -> Action:
        """Make `guardian` the account that may pause new jobs in an emergency (zero address: none)."""
        return self._action(self.fab.market, "setGuardian", address(guardian, "guardian"))

    def manifest_action(self, cid: str) -> Action:
        """Publish a new deployment manifest by CID in the ManifestRegistry."""
        try:
            parsed = Cid.parse(cid.strip())
        except Exception as exc:
            raise FabricaValueError(f"manifest CID {cid!r}: {exc}") from None
        return self._action(self.manifests, "publish", parsed.to_bytes())

    def ruling_action(self, job_id: int, refund_bps: int, slash_bps: int) -> Action:
        """The appeal court's ruling on appealed job `job_id`: refund `refund_bps` of the payment, slash
        `slash_bps` of the collateral (a party to the dispute may propose it without the threshold)."""
        for name, v in (("refund_bps", refund_bps), ("slash_bps", slash_bps)):
            if not 0 <= v <= 10_000:
                raise FabricaValueError(f"{name} must be between 0 and 10000 (basis points), got {v}")
        record = self.fab.job(job_id)
        dispute = self.fab.dispute_of(job_id)
        if dispute.stage != DisputeStage.APPEALED or dispute.judge != self.treasury:
            raise make_error("JobMarket__WrongDisputeStage", (job_id, int(dispute.stage)),
                             f"job {job_id}'s dispute is not before the DAO (stage {dispute.stage.name}): only an "
                             "appealed ruling is the DAO's to decide")
        return self._action(self.fab.market, "rule", job_id, record.job.to_abi(), refund_bps, slash_bps)

    def call_action(self, target: str, signature: str, args: list[str] | tuple[str, ...] = (),
                    value: int = 0) -> Action:
        """A raw call: `target` (address or contract name), a signature like 'setPaused(bool)', and its
        arguments as text (numbers, true/false, 0x hex, JSON for arrays and tuples)."""
        to = self._target(target)
        name, _, rest = signature.strip().partition("(")
        if not name or not rest.endswith(")"):
            raise FabricaValueError(f"call signature {signature!r} must look like name(type,type)")
        types = _split_types(rest[:-1])
        if len(types) != len(args):
            raise FabricaValueError(f"{signature} takes {len(types)} argument(s), got {len(args)}")
        values = [_parse_arg(t, a) for t, a in zip(types, args)]
        canonical = f"{name}({','.join(types)})"
        try:
            data = function_signature_to_4byte_selector(canonical) + abi_encode(types, values)
        except Exception as exc:
            raise FabricaValueError(f"{canonical}: the arguments do not fit the types ({exc})") from None
        return self._described(Action(to, value, data))

    def calldata_action(self, target: str, calldata: str, value: int = 0) -> Action:
        """A raw call with ready calldata (0x hex) to `target` (address or contract name)."""
        to = self._target(target)
        text = calldata.strip()
        try:
            data = bytes.fromhex(text.removeprefix("0x"))
        except ValueError:
            raise FabricaValueError(f"calldata {calldata!r} is not hex (0x…)") from None
        if len(data) < 4:
            raise FabricaValueError(f"calldata {calldata!r} is shorter than a 4-byte function selector")
        return self._described(Action(to, value, data))

    def _target(self, target: str) -> str:
        if target.strip() in self.fab.deployment.contracts:
            return self.fab.deployment.contracts[target.strip()]
        return address(target, "call target")

    def _action(self, contract: Contract, fn: str, *args: Any) -> Action:
        data = bytes.fromhex(contract.encode_abi(fn, args=list(args))[2:])
        return self._described(Action(contract.address, 0, data))

    def _described(self, action: Action) -> Action:
        return Action(action.target, action.value, action.calldata, self.describe(action.target, action.value,
                                                                                  action.calldata))

    # ------------------------------------------------------------------------------ describing

    def describe(self, target: str, value: int, calldata: bytes, *, block: int | str = "latest") -> str:
        """One action in words, decoded with the artifacts' ABIs ('set feeBps 250 -> 300', 'pay 10 FAB …').

        `block` is when to read the state it changes (for a recorded proposal: the block before it)."""
        target = to_checksum_address(target)
        names = {a: n for n, a in self.fab.deployment.contracts.items()}
        name = names.get(target)
        tokens = {a: s for s, a in self.fab.deployment.payment_tokens.items()}
        extra = f" (sending {format_units(value, 18)} ETH)" if value else ""
        contract = (self.w3.eth.contract(address=target, abi=abi(name)) if name
                    else self.fab.erc20(target) if target in tokens else None)
        if contract is None or len(calldata) < 4:
            return f"call {target} with {_hex(calldata)}{extra}"
        try:
            fn, args = contract.decode_function_input(calldata)
        except Exception:
            return f"call {name or tokens.get(target)} ({target}) with {_hex(calldata)}{extra}"
        return self._words(name or "ERC20", target, fn.fn_name, dict(args), block) + extra

    def _words(self, name: str, target: str, fn: str, args: dict[str, Any], block: int | str) -> str:
        if fn == "setParams":
            names = list(self.fab.market_params())
            new = dict(zip(names, args["p"])) if not isinstance(args["p"], dict) else dict(args["p"])
            try:
                old = dict(zip(names, self.fab.market.functions.params().call(block_identifier=block)))
            except Exception:
                old = {}
            changed = [f"{k} {_param(k, old[k])} -> {_param(k, v)}" for k, v in new.items() if old.get(k) != v]
            return "market: set " + (", ".join(changed) if changed else "parameters (unchanged)")
        if fn == "setTokenTerms":
            token, terms = args["token"], args["terms"]
            allowed, low, high = terms if isinstance(terms, tuple) else (terms["allowed"], terms["minCollateralRate"],
                                                                         terms["maxCollateralRate"])
            label = self._token_label(token)
            if not allowed:
                return f"market: forbid payment token {label}"
            try:
                decimals = self.fab.token_decimals(token)
                per = lambda r: format_units(r * 10**decimals // RATE_ONE, 18)  # noqa: E731 - FAB per whole token
                return f"market: allow payment token {label} (collateral {per(low)}..{per(high)} FAB per token)"
            except Exception:
                return f"market: allow payment token {label} (collateral rates {low}..{high})"
        if fn == "transfer" and "amount" in args or fn == "transfer" and "value" in args:
            amount = args.get("value", args.get("amount"))
            to = args.get("to")
            try:
                shown = self.fab.format_amount(target, amount)
            except Exception:
                shown = f"{amount} base units of {target}"
            return f"treasury: pay {shown} to {to}"
        if name == "ArbiterPanel" and fn in ("appoint", "remove"):
            return f"arbiter panel: {fn} {args['arbiter']}"
        if fn == "setPaused":
            return "market: pause new jobs" if args["paused_"] else "market: resume new jobs (unpause)"
        if fn == "setGuardian":
            return f"market: set the guardian to {args['guardian_']}"
        if name == "ManifestRegistry" and fn == "publish":
            try:
                return f"manifest registry: publish manifest {Cid.parse(bytes(args['cid']))}"
            except Exception:
                return f"manifest registry: publish {_hex(bytes(args['cid']))}"
        if fn == "rule":
            return (f"market: rule on appealed job {args['jobId']}: refund {args['refundBps'] / 100:g} % of the payment, "
                    f"slash {args['slashBps'] / 100:g} % of the collateral")
        shown = ", ".join(f"{k}={_plain_arg(v)}" for k, v in args.items())
        return f"{name}.{fn}({shown})"

    def _token_label(self, token: str) -> str:
        try:
            return f"{self.fab.token_symbol(token)} ({token})"
        except Exception:
            return token

    # ----------------------------------------------------------------------------- lifecycle

    def check_action(self, action: Action) -> None:
        """Simulate `action` as the timelock would make it now; raise the error it would fail with."""
        try:
            self.w3.eth.call({"from": self.treasury, "to": action.target, "data": action.calldata,
                              "value": action.value})
        except (ContractCustomError, ContractLogicError) as exc:
            err = _revert_error(exc)
            raise type(err)(err.values, f"action '{action.summary}' would fail when the timelock executes it "
                                        f"({err.hint or 'reverted'}); fix the action, or skip this check (--no-check, check=False) if the state will differ by then",
                            err.shown) from None

    def propose(self, actions: list[Action], description: str | None = None, *, check: bool = True) -> Proposal:
        """Propose `actions` (each simulated from the timelock first, unless `check` is False); the proposal
        as recorded (its id, and the times its vote opens and closes)."""
        if not actions:
            raise FabricaValueError("a proposal needs at least one action")
        if check:
            for action in actions:
                self.check_action(action)
        text = description if description and description.strip() else default_description(actions)
        targets = [a.target for a in actions]
        values = [a.value for a in actions]
        datas = [a.calldata for a in actions]
        proposal_id = self.governor.functions.hashProposal(targets, values, datas, keccak(text=text)).call()
        if self._exists(proposal_id):
            state = self.state(proposal_id)
            raise make_error("GovernorUnexpectedProposalState", (proposal_id, int(state), bytes(32)),
                             f"a proposal with these actions and this description exists already (id {proposal_id}, "
                             f"{state.name.lower()}): change the description to propose it again",
                             shown={"current": state.name.title(), "expectedStates": "none"})
        result = self._send(self.governor, "propose", targets, values, datas, text)
        return self._from_event(result.event("ProposalCreated").args, result.block_number, result.tx_hash)

    def vote(self, proposal_id: int, support: Support | str, reason: str = "") -> TxResult:
        """Cast the account's vote (for, against, abstain), with an optional reason."""
        choice = Support.parse(support)
        self.proposal(proposal_id)  # an unknown id is a clear lookup error, not a revert
        if reason:
            return self._send(self.governor, "castVoteWithReason", proposal_id, int(choice), reason)
        return self._send(self.governor, "castVote", proposal_id, int(choice))

    def sign_ballot(self, proposal_id: int, support: Support | str) -> Ballot:
        """The account's vote signed locally (EIP-712 Ballot); anyone may submit it (`cast_ballot`)."""
        choice = Support.parse(support)
        self.proposal(proposal_id)
        voter = self.fab.address
        nonce = self.governor.functions.nonces(voter).call()
        _fields, name, version, chain_id, verifying, _salt, _ext = self.governor.functions.eip712Domain().call()
        payload = {
            "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                       {"name": "chainId", "type": "uint256"},
                                       {"name": "verifyingContract", "type": "address"}],
                      "Ballot": [{"name": "proposalId", "type": "uint256"}, {"name": "support", "type": "uint8"},
                                 {"name": "voter", "type": "address"}, {"name": "nonce", "type": "uint256"}]},
            "primaryType": "Ballot",
            "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying},
            "message": {"proposalId": proposal_id, "support": int(choice), "voter": voter, "nonce": nonce},
        }
        signed = self.fab.account.sign_typed_data(full_message=payload)  # type: ignore[union-attr]
        return Ballot(proposal_id, choice, voter, nonce, "0x" + bytes(signed.signature).hex())

    def cast_ballot(self, ballot: Ballot) -> TxResult:
        """Submit a signed ballot with `castVoteBySig`, paying the gas from the account (anyone may)."""
        self.proposal(ballot.proposal_id)
        current = self.governor.functions.nonces(ballot.voter).call()
        if current != ballot.nonce:
            raise make_error("InvalidAccountNonce", (ballot.voter, current),
                             f"the ballot was signed with nonce {ballot.nonce}, the voter's nonce is now {current}: "
                             "it was used or superseded; sign a new ballot")
        try:
            sig = bytes.fromhex(ballot.signature.removeprefix("0x"))
        except ValueError:
            raise FabricaValueError(f"ballot signature {ballot.signature!r} is not hex") from None
        return self._send(self.governor, "castVoteBySig", ballot.proposal_id, int(ballot.support), ballot.voter, sig)

    def queue(self, proposal_id: int) -> TxResult:
        """Queue a succeeded proposal in the timelock (it becomes executable after the delay)."""
        p = self.proposal(proposal_id)
        return self._send(self.governor, "queue", p.targets, p.values, p.calldatas, p.description_hash, proposal=p)

    def execute(self, proposal_id: int) -> TxResult:
        """Execute a queued proposal whose timelock delay has passed (anyone may)."""
        p = self.proposal(proposal_id)
        return self._send(self.governor, "execute", p.targets, p.values, p.calldatas, p.description_hash, proposal=p)

    def cancel(self, proposal_id: int) -> TxResult:
        """Cancel a proposal (its proposer, while it is still pending)."""
        p = self.proposal(proposal_id)
        return self._send(self.governor, "cancel", p.targets, p.values, p.calldatas, p.description_hash, proposal=p)

    # --------------------------------------------------------------------------------- reads

    def _created_logs(self) -> list[dict[str, Any]]:
        event = self.governor.events.ProposalCreated()
        topic = "0x" + bytes(keccak(text=_event_signature(event.abi))).hex()
        logs = self.w3.eth.get_logs({"address": self.governor.address, "topics": [topic],
                                     "fromBlock": self.fab.deployment.deployed_block, "toBlock": "latest"})
        return [event.process_log(log) for log in logs]

    def _from_event(self, args: dict[str, Any], block: int, tx_hash: str) -> Proposal:
        return Proposal(
            id=args["proposalId"], proposer=args["proposer"], targets=[to_checksum_address(t) for t in args["targets"]],
            values=list(args["values"]), calldatas=[bytes(c) for c in args["calldatas"]],
            description=args["description"], vote_start=args["voteStart"], vote_end=args["voteEnd"],
            block_number=block, tx_hash=tx_hash if tx_hash.startswith("0x") else "0x" + tx_hash)

    def proposals(self, state: ProposalState | None = None) -> list[Proposal]:
        """Every proposal made on this governor (from its ProposalCreated logs), oldest first."""
        out = [self._from_event(dict(e["args"]), e["blockNumber"], bytes(e["transactionHash"]).hex())
               for e in self._created_logs()]
        if state is not None:
            out = [p for p in out if self.state(p.id) == state]
        return out

    def proposal(self, proposal_id: int) -> Proposal:
        """The proposal `proposal_id` as created, or a clear error when this governor has none."""
        for p in self.proposals():
            if p.id == proposal_id:
                return p
        count = len(self.proposals())
        raise make_error("GovernorNonexistentProposal", (proposal_id,),
                         f"no proposal {proposal_id} on the governor {self.governor.address} "
                         f"({count} proposal(s) so far; `fabrica dao proposals` lists them)")

    def _exists(self, proposal_id: int) -> bool:
        return self.governor.functions.proposalSnapshot(proposal_id).call() != 0

    def state(self, proposal_id: int) -> ProposalState:
        """The governor's state of a proposal."""
        return ProposalState(self._read(self.governor.functions.state, proposal_id))

    def actions(self, proposal: Proposal) -> list[str]:
        """A recorded proposal's actions in words, read against the state just before it was made."""
        block = max(proposal.block_number - 1, 0)
        return [self.describe(t, v, c, block=block) for t, v, c in zip(proposal.targets, proposal.values,
                                                                      proposal.calldatas)]

    def status(self, proposal_id: int, voter: str | None = None) -> ProposalStatus:
        """State, dates, tally, quorum and (with `voter`) that voter's weight and whether it voted."""
        p = self.proposal(proposal_id)
        g = self.governor.functions
        state = self.state(proposal_id)
        snapshot, deadline = g.proposalSnapshot(proposal_id).call(), g.proposalDeadline(proposal_id).call()
        eta = g.proposalEta(proposal_id).call() or None
        against, votes_for, abstain = g.proposalVotes(proposal_id).call()
        now = self.clock()
        final = snapshot < now
        if final:
            quorum = g.quorum(snapshot).call()
        else:  # the snapshot is ahead: today's supply is the best estimate
            quorum = self.fab.fab.functions.totalSupply().call() * g.quorumNumerator().call() \
                // g.quorumDenominator().call()
        status = ProposalStatus(p, state, snapshot, deadline, eta, votes_for, against, abstain, quorum, final,
                                self.actions(p))
        if voter is not None:
            who = address(voter, "voter")
            status.voter = who
            status.has_voted = g.hasVoted(proposal_id, who).call()
            status.voter_weight = g.getVotes(who, snapshot).call() if final else None
        return status


def default_description(actions: list[Action]) -> str:
    """A description made of the actions' summaries (first line: the title)."""
    title = actions[0].summary if len(actions) == 1 else f"{len(actions)} actions: " + "; ".join(
        a.summary for a in actions)
    return f"# {title}\n\n" + "\n".join(f"- {a.summary}" for a in actions)


def _event_signature(event_abi: dict[str, Any]) -> str:
    from .artifacts import canonical_type

    return f"{event_abi['name']}({','.join(canonical_type(i) for i in event_abi['inputs'])})"


def _revert_error(exc: Exception) -> ContractError:
    """The custom error inside a web3 revert exception."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if data is None and exc.args and isinstance(exc.args[-1], str) and exc.args[-1].startswith("0x"):
        data = exc.args[-1]
    err = decode_revert(data if isinstance(data, (str, bytes)) else None)
    if not err.values and "without" in str(err):
        return type(err)((), str(exc))
    return err


def _is_number(value: Any) -> bool:
    try:
        return Decimal(str(value).strip()).is_finite()
    except Exception:
        return False


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _plain_arg(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return _hex(bytes(v))
    return str(v)


def _param(name: str, value: int) -> str:
    """A market parameter as people read it: durations, FAB, or basis points as percent."""
    if name.endswith("Window"):
        return format_duration(value)
    if name == "minCollateral":
        return format_fab(value)
    if name.endswith("Bps"):
        return f"{value} bps ({value / 100:g} %)"
    return str(value)


def _split_types(text: str) -> list[str]:
    """'uint256,(address,bool),bytes' -> its top-level types."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _parse_arg(typ: str, text: str) -> Any:
    """A raw call argument from text by its ABI type."""
    t = text.strip()
    try:
        if typ.endswith("]") or typ.startswith("("):
            return _from_json(typ, json.loads(t))
        if typ == "address":
            return address(t, "address argument")
        if typ == "bool":
            if t.lower() not in ("true", "false", "1", "0"):
                raise ValueError("expected true or false")
            return t.lower() in ("true", "1")
        if typ.startswith(("uint", "int")):
            value = int(t, 0)
            if typ.startswith("uint") and value < 0:
                raise ValueError("an unsigned integer cannot be negative")
            return value
        if typ.startswith("bytes"):
            return bytes.fromhex(t.removeprefix("0x"))
        if typ == "string":
            return text
    except FabricaError:
        raise
    except (ValueError, json.JSONDecodeError) as exc:
        raise FabricaValueError(f"argument {text!r} is no {typ}: {exc}") from None
    raise FabricaValueError(f"argument type {typ!r} is not supported in --call; use --calldata")


def _from_json(typ: str, value: Any) -> Any:
    if typ.endswith("]"):
        inner = typ[: typ.rindex("[")]
        return [_from_json(inner, v) for v in value]
    if typ.startswith("("):
        return tuple(_from_json(t, v) for t, v in zip(_split_types(typ[1:-1]), value))
    return _parse_arg(typ, value if isinstance(value, str) else json.dumps(value))


def split_call(text: str) -> tuple[str, str, list[str]]:
    """'TARGET SIG ARG…' (shell-quoted) -> (target, signature, args)."""
    try:
        parts = shlex.split(text)
    except ValueError as exc:
        raise FabricaValueError(f"--call {text!r}: {exc}") from None
    if len(parts) < 2:
        raise FabricaValueError(f"--call {text!r}: expected 'TARGET SIGNATURE [ARG…]', e.g. "
                                "'JobMarket setPaused(bool) true'")
    return parts[0], parts[1], parts[2:]


__all__ = ["Action", "Ballot", "Dao", "Proposal", "ProposalState", "ProposalStatus", "Support", "VotingPower",
           "default_description", "parse_proposal_id", "split_call"]
