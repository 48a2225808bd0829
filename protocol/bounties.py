"""`Bounties`: the SDK for design bounties (BountyBoard) — post a brief with a pot, fund it beside other sponsors,
submit designs by CID, award (a quorum of approvers, or the bounty's evaluator), refund, withdraw, mint the winner.

Built on a `Fabrica` client. A bounty's terms come back from its `BountyPosted` log (and any `DeadlineExtended`),
and are checked against the hash the board stores before a sponsor funds them: a sponsor always funds exactly
the terms it was shown.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from eth_utils import to_checksum_address

from .chain_errors import make_error
from .client import Fabrica, TxResult
from .errors import FabricaLookupError, FabricaValueError
from .storage.cid import Cid

BRIEF_SCHEMA = "fabrica.bounty-brief/1"
ZERO = "0x" + "00" * 20


def bounty_brief(*, title: str, description: str = "", material: str = "", process: str = "",
                 bounding_box_mm: tuple[float, float, float] | None = None, load_cases: list[dict[str, Any]] | None = None,
                 constraints: list[str] | None = None) -> bytes:
    """A bounty's brief (what the design must do), canonical JSON bytes to store by CID."""
    if not title.strip():
        raise FabricaValueError("a bounty brief needs a title")
    doc: dict[str, Any] = {"schema": BRIEF_SCHEMA, "title": title.strip(), "description": description}
    if material:
        doc["material"] = material
    if process:
        doc["process"] = process
    if bounding_box_mm is not None:
        if len(bounding_box_mm) != 3 or any(not v > 0 for v in bounding_box_mm):
            raise FabricaValueError(f"bounding box {bounding_box_mm}: three positive sizes in mm (x, y, z)")
        doc["bounding_box_mm"] = [float(v) for v in bounding_box_mm]
    if load_cases:
        doc["load_cases"] = load_cases
    if constraints:
        doc["constraints"] = constraints
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class BountyTerms:
    """What a bounty's poster published and every sponsor funds by hash (`IBountyBoard.BountyTerms`)."""

    token: str
    brief_cid: str
    deadline: int
    approvers: tuple[str, ...] = ()
    quorum: int = 0
    evaluator: str = ZERO
    sponsor_royalty_bps: int = 0
    design_royalty_bps: int = 0

    def to_abi(self) -> tuple:
        """The struct as the tuple web3 encodes."""
        return (to_checksum_address(self.token), Cid.parse(self.brief_cid).to_bytes(), self.deadline,
                [to_checksum_address(a) for a in self.approvers], self.quorum, to_checksum_address(self.evaluator),
                self.sponsor_royalty_bps, self.design_royalty_bps)

    @classmethod
    def from_abi(cls, t: Any) -> BountyTerms:
        """Terms from a decoded struct (a tuple or web3's named mapping)."""
        get = (lambda k, i: t[k]) if isinstance(t, dict) else (lambda k, i: t[i])
        return cls(token=get("token", 0), brief_cid=str(Cid.parse(bytes(get("briefCid", 1)))),
                   deadline=get("deadline", 2), approvers=tuple(get("approvers", 3)), quorum=get("quorum", 4),
                   evaluator=get("evaluator", 5), sponsor_royalty_bps=get("sponsorRoyaltyBps", 6),
                   design_royalty_bps=get("designRoyaltyBps", 7))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready terms."""
        return {"token": self.token, "brief_cid": self.brief_cid, "deadline": self.deadline,
                "approvers": list(self.approvers), "quorum": self.quorum, "evaluator": self.evaluator,
                "sponsor_royalty_bps": self.sponsor_royalty_bps, "design_royalty_bps": self.design_royalty_bps}


@dataclass(frozen=True)
class Submission:
    """A design submitted to a bounty."""

    id: int
    submitter: str
    cid: str
    awarded: bool
    minted: bool


@dataclass(frozen=True)
class Bounty:
    """A bounty: its terms, its pot and who put what in, its submissions."""

    id: int
    poster: str
    terms: BountyTerms
    terms_hash: str
    contributed: int
    paid: int
    refunded: int
    pot: int
    contributions: dict[str, int] = field(default_factory=dict)
    submissions: list[Submission] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (amounts in base units as decimal strings)."""
        return {"id": self.id, "poster": self.poster, "terms": self.terms.to_json(), "terms_hash": self.terms_hash,
                "contributed": str(self.contributed), "paid": str(self.paid), "refunded": str(self.refunded),
                "pot": str(self.pot), "contributions": {k: str(v) for k, v in self.contributions.items()},
                "submissions": [{"id": s.id, "submitter": s.submitter, "cid": s.cid, "awarded": s.awarded,
                                 "minted": s.minted} for s in self.submissions]}


class Bounties:
    """Design bounties through a `Fabrica` client."""

    def __init__(self, fab: Fabrica) -> None:
        if "BountyBoard" not in fab.deployment.contracts:
            raise FabricaLookupError(f"the deployment on chain {fab.deployment.chain_id} has no BountyBoard: redeploy "
                                     "with `fabrica devnet up`")
        self.fab = fab
        self.board = fab.contracts["BountyBoard"]

    def with_account(self, account) -> Bounties:
        """The same handle signing as `account`."""
        return Bounties(self.fab.with_account(account))

    def _word(self, value: int) -> str:
        return "0x" + value.to_bytes(32, "big").hex()

    # ------------------------------------------------------------------------------ reads

    def count(self) -> int:
        """How many bounties were posted (ids are 1..count)."""
        return self.board.functions.bountyCount().call()

    def require(self, bounty_id: int) -> None:
        """Raise a clear lookup error unless bounty `bounty_id` exists."""
        count = self.count()
        if not 0 < bounty_id <= count:
            listed = f"bounties are 1..{count}" if count else "no bounty has been posted yet"
            raise make_error("BountyBoard__UnknownBounty", (bounty_id,), f"{listed}; see `fabrica bounty list`")

    def terms(self, bounty_id: int) -> BountyTerms:
        """Bounty `bounty_id`'s current terms, rebuilt from its logs and checked against the stored hash."""
        self.require(bounty_id)
        return self._terms(bounty_id, bytes(self.board.functions.bountyOf(bounty_id).call()[-1]))

    def _terms(self, bounty_id: int, stored_hash: bytes) -> BountyTerms:
        """The terms in the bounty's logs, checked against `stored_hash` (its `bountyOf(...).termsHash`)."""
        posted = self.fab._logs(self.board, [self.fab._topic("BountyBoard", "BountyPosted"), self._word(bounty_id)])
        if not posted:
            raise FabricaLookupError(f"bounty {bounty_id}: its BountyPosted log is not available from this node")
        terms = BountyTerms.from_abi(posted[0].args["terms"])
        for e in self.fab._logs(self.board, [self.fab._topic("BountyBoard", "DeadlineExtended"),
                                             self._word(bounty_id)]):
            terms = replace(terms, deadline=e.args["deadline"])
        if self.hash_terms(terms) != stored_hash:
            raise FabricaLookupError(f"bounty {bounty_id}: the terms in its logs do not match the hash on chain")
        return terms

    def hash_terms(self, terms: BountyTerms) -> bytes:
        """The hash a sponsor funds (the board's `hashTerms`)."""
        return bytes(self.board.functions.hashTerms(terms.to_abi()).call())

    def bounty(self, bounty_id: int) -> Bounty:
        """Bounty `bounty_id` with its contributions and submissions."""
        self.require(bounty_id)
        v = self.board.functions.bountyOf(bounty_id).call()
        poster, contributed, paid, refunded, terms_hash = v[0], v[10], v[11], v[12], bytes(v[13])
        terms = self._terms(bounty_id, terms_hash)
        sponsors: dict[str, int] = {}
        for e in self.fab._logs(self.board, [self.fab._topic("BountyBoard", "BountyFunded"), self._word(bounty_id)]):
            sponsors[e.args["sponsor"]] = 0
        for sponsor in sponsors:
            sponsors[sponsor] = self.board.functions.contributionOf(bounty_id, sponsor).call()[0]
        subs = []
        for sid in range(1, v[7] + 1):
            submitter, awarded, minted, cid = self.board.functions.submissionOf(bounty_id, sid).call()
            subs.append(Submission(id=sid, submitter=submitter, cid=str(Cid.parse(bytes(cid))), awarded=awarded,
                                   minted=minted))
        return Bounty(id=bounty_id, poster=poster, terms=terms, terms_hash="0x" + terms_hash.hex(),
                      contributed=contributed, paid=paid, refunded=refunded,
                      pot=self.board.functions.potOf(bounty_id).call(), contributions=sponsors, submissions=subs)

    def bounties(self) -> list[Bounty]:
        """Every bounty on this deployment, oldest first."""
        return [self.bounty(i) for i in range(1, self.count() + 1)]

    def awarded_balance(self, token: str, account: str | None = None) -> int:
        """Awards `account` may withdraw in `token`."""
        return self.board.functions.balanceOf(to_checksum_address(token),
                                              to_checksum_address(account or self.fab.address)).call()

    # ------------------------------------------------------------------------------ sponsors

    def check_post(self, terms: BountyTerms, amount: int) -> None:
        """Raise what posting would meet (past deadline, token not allowed, too little in the wallet), sending nothing."""
        if amount < 0:
            raise FabricaValueError("a bounty's funding cannot be negative")
        if terms.deadline <= self.fab.now():
            raise FabricaValueError("the bounty's deadline is already past: give designers time to submit")
        if not self.board.functions.isTokenAllowed(to_checksum_address(terms.token)).call():
            raise make_error("BountyBoard__TokenNotAllowed", (terms.token,), "fund bounties in a token the DAO allows")
        if amount:
            self.fab.check_wallet(terms.token, amount, what="the bounty's first funding")

    def post(self, terms: BountyTerms, amount: int) -> TxResult:
        """Post a bounty under `terms`, funding it with `amount` from the wallet; value = its id."""
        self.check_post(terms, amount)
        return self.fab.pay_from_wallet(
            terms.token, self.board.address, amount,
            lambda: self.fab._send(self.board, "post", terms.to_abi(), amount, value_from="BountyPosted.id"),
            what="the bounty's first funding")

    def fund(self, bounty_id: int, amount: int) -> TxResult:
        """Add `amount` to bounty `bounty_id`, agreeing to its terms as read from the chain; value = what arrived."""
        if amount <= 0:
            raise FabricaValueError("fund a bounty with more than zero")
        terms = self.terms(bounty_id)
        digest = self.hash_terms(terms)
        return self.fab.pay_from_wallet(
            terms.token, self.board.address, amount,
            lambda: self.fab._send(self.board, "fund", bounty_id, amount, digest, value_from="BountyFunded.amount"),
            what=f"funding bounty {bounty_id}")

    def extend_deadline(self, bounty_id: int, new_deadline: int) -> TxResult:
        """Move the deadline later (poster, while no one else has contributed)."""
        return self.fab._send(self.board, "extendDeadline", bounty_id, self.terms(bounty_id).to_abi(), new_deadline)

    def refund(self, bounty_id: int) -> TxResult:
        """Take back what is refundable of this account's contribution; value = the amount."""
        return self.fab._send(self.board, "refund", bounty_id, value_from="ContributionRefunded.amount")

    def refundable(self, bounty_id: int, sponsor: str | None = None) -> int:
        """What `refund` would pay `sponsor` now."""
        return self.board.functions.refundableOf(bounty_id, to_checksum_address(sponsor or self.fab.address)).call()

    # ------------------------------------------------------------------------------ designers and deciders

    def check_open(self, bounty_id: int) -> None:
        """Raise unless bounty `bounty_id` exists and still takes submissions."""
        self.require(bounty_id)
        deadline = self.board.functions.bountyOf(bounty_id).call()[2]
        if self.fab.now() > deadline:
            from .display import format_time

            raise make_error("BountyBoard__DeadlinePassed", (bounty_id, deadline),
                             f"bounty {bounty_id} took submissions until {format_time(deadline)}")

    def submit(self, bounty_id: int, cid: str) -> TxResult:
        """Submit design `cid` to bounty `bounty_id`; value = the submission id."""
        self.check_open(bounty_id)
        return self.fab._send(self.board, "submit", bounty_id, Cid.parse(cid).to_bytes(),
                              value_from="SubmissionAdded.submissionId")

    def award(self, bounty_id: int, submission_id: int, amount: int) -> TxResult:
        """Approve paying `amount` to a submission (approver); the approval reaching the quorum pays it."""
        if amount <= 0:
            raise FabricaValueError("award more than zero")
        return self.fab._send(self.board, "award", bounty_id, submission_id, amount)

    def award_by_evaluator(self, bounty_id: int, submission_id: int, data: bytes) -> TxResult:
        """Ask the bounty's evaluator to decide an award from `data` (e.g. signed validator scores)."""
        return self.fab._send(self.board, "awardByEvaluator", bounty_id, submission_id, data)

    def withdraw(self, token: str) -> TxResult:
        """Withdraw this account's awards in `token`; value = the amount."""
        return self.fab._send(self.board, "withdraw", to_checksum_address(token), value_from="Withdrawn.amount")

    def mint_winner(self, bounty_id: int, submission_id: int, metadata_cid: str) -> TxResult:
        """Mint an awarded submission as a design (its submitter), royalty shared with sponsors if the terms say so."""
        return self.fab._send(self.board, "mintWinner", bounty_id, submission_id, Cid.parse(metadata_cid).to_bytes(),
                              value_from="WinnerMinted.tokenId")


__all__ = ["Bounties", "Bounty", "BountyTerms", "Submission", "bounty_brief"]
