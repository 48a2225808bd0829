"""The read API over the design economy's tables: designs with their licences, sales and royalties; design-market
orders; bounties with their contributions, submissions, approvals and awards.

`DesignReads` is mixed into `fabrica.indexer.read.ReadModel`; callers use that class. Design ids are 256-bit
numbers (the sha-256 digest inside the design's content CID).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.errors import FabricaLookupError, FabricaValueError

from .schema import (bounties, bounty_approvals, bounty_awards, bounty_balances, bounty_contributions,
                     bounty_submissions, currencies, design_cancelled_orders, design_order_counters, design_orders,
                     design_sales, designs, licence_balances, licence_purchases, licence_terms, licence_uses,
                     royalties)

DESIGN_STATES = ("active", "taken_down", "appealed")
ASSETS = ("design", "licence")
ROYALTY_SOURCES = ("sale", "job")
ZERO = "0x" + "00" * 20


def _addr(value: str, name: str) -> str:
    from .read import _addr as check

    return check(value, name)


def _id(value: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 256:
        raise FabricaValueError(f"{name} must be a number from 0 to 2**256 - 1, got {value!r}")
    return value


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise FabricaValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


@dataclass(frozen=True)
class SaleView:
    """One fill on the design market."""

    block_number: int
    log_index: int
    order_hash: str
    maker: str
    taker: str
    side: str  # listing (the maker sold) or offer (the maker bought)
    asset: str  # design or licence
    token_id: int
    units: int
    seller: str
    buyer: str
    currency: str
    total: int
    fee: int
    royalty_receiver: str
    royalty: int  # as the market reported it; part of `proceeds` when the receiver is the seller
    proceeds: int
    tx_hash: str


@dataclass(frozen=True)
class RoyaltyView:
    """A royalty paid: on a design-market fill (to the receiver) or a job's payout (credited in the job market)."""

    block_number: int
    log_index: int
    source: str  # sale or job
    design_id: int
    receiver: str
    token: str
    amount: int
    order_hash: str | None
    job_id: int | None
    tx_hash: str


@dataclass(frozen=True)
class LicenceTermsView:
    design_id: int
    setter: str  # zero once cleared; in force only while the setter owns the design
    token: str
    price_per_print: int
    block_size: int
    block_price: int
    max_prints: int  # 0: no cap
    sold: int
    updated_block: int

    @property
    def cleared(self) -> bool:
        return self.setter == ZERO


@dataclass(frozen=True)
class LicenceHolding:
    design_id: int
    holder: str
    amount: int
    updated_block: int


@dataclass(frozen=True)
class LicencePurchaseView:
    block_number: int
    log_index: int
    design_id: int
    buyer: str
    recipient: str
    prints: int
    token: str
    cost: int
    fee: int
    seller: str
    tx_hash: str


@dataclass(frozen=True)
class LicenceUseView:
    job_id: int
    customer: str
    design_id: int
    used_block: int
    released: bool  # the job ended without a print and the licence went back
    released_block: int | None
    updated_block: int


@dataclass(frozen=True)
class DesignView:
    token_id: int
    creator: str
    owner: str
    royalty_receiver: str
    royalty_bps: int
    cid: str
    metadata_cid: str
    state: str  # active, taken_down, appealed
    licensed: bool
    takedown_reason_cid: str | None
    appeal_evidence_cid: str | None
    minted_block: int
    minted_tx: str
    updated_block: int
    # Filled by `design(id)` only.
    terms: LicenceTermsView | None = None
    holders: tuple[LicenceHolding, ...] = field(default=())
    purchases: tuple[LicencePurchaseView, ...] = field(default=())
    uses: tuple[LicenceUseView, ...] = field(default=())
    sales: tuple[SaleView, ...] = field(default=())
    royalties: tuple[RoyaltyView, ...] = field(default=())


@dataclass(frozen=True)
class DesignOrderView:
    order_hash: str
    maker: str
    side: str
    asset: str
    currency: str
    filled: int  # units filled in all
    fills: int
    first_block: int
    updated_block: int


@dataclass(frozen=True)
class ContributionView:
    bounty_id: int
    sponsor: str
    contribution: int  # as the board counts it (0 after an early refund)
    funded: int  # everything the sponsor put in
    refund: int  # everything it took back
    refunded: bool  # refunded its share after the award window
    updated_block: int


@dataclass(frozen=True)
class SubmissionView:
    bounty_id: int
    submission_id: int
    submitter: str
    cid: str
    awarded: int
    minted: bool
    design_id: int | None
    royalty_receiver: str | None
    submitted_block: int
    updated_block: int


@dataclass(frozen=True)
class ApprovalView:
    """Pending approvals of one award (cleared once the quorum executed it)."""

    bounty_id: int
    submission_id: int
    amount: int
    approvers: list[str]
    updated_block: int


@dataclass(frozen=True)
class AwardView:
    block_number: int
    log_index: int
    bounty_id: int
    submission_id: int
    submitter: str
    amount: int
    decided_by: str
    tx_hash: str


@dataclass(frozen=True)
class BountyView:
    bounty_id: int
    poster: str
    token: str
    brief_cid: str
    deadline: int
    approvers: list[str]
    quorum: int  # 0: the evaluator decides
    evaluator: str
    sponsor_royalty_bps: int
    design_royalty_bps: int
    terms_hash: str
    contributed: int
    paid: int
    refunded: int
    sponsors: int
    refunds: int
    submissions: int
    posted_block: int
    posted_tx: str
    updated_block: int
    # Filled by `bounty(id)` only.
    contributions: tuple[ContributionView, ...] = field(default=())
    entries: tuple[SubmissionView, ...] = field(default=())
    approvals: tuple[ApprovalView, ...] = field(default=())
    awards: tuple[AwardView, ...] = field(default=())

    @property
    def pot(self) -> int:
        """What the bounty holds now: contributed, less paid out and refunded (awards draw on it)."""
        return self.contributed - self.paid - self.refunded


@dataclass(frozen=True)
class CurrencyView:
    contract: str  # DesignMarket, FabricationLicences or BountyBoard
    token: str
    allowed: bool
    updated_block: int


def _newest(t: sa.Table) -> tuple[Any, Any]:
    return t.c.block_number.desc(), t.c.log_index.desc()


class DesignReads:
    """Queries over the design economy's tables (needs `_rows` from ReadModel)."""

    def _rows(self, query: sa.Select) -> list[dict[str, Any]]:  # pragma: no cover - ReadModel's
        raise NotImplementedError

    # ------------------------------------------------------------------ designs
    def designs(self, *, creator: str | None = None, owner: str | None = None, state: str | None = None,
                limit: int = 100, offset: int = 0) -> list[DesignView]:
        """Designs, newest first, optionally by creator, current owner or state."""
        q = sa.select(designs)
        if creator is not None:
            q = q.where(designs.c.creator == _addr(creator, "creator"))
        if owner is not None:
            q = q.where(designs.c.owner == _addr(owner, "owner"))
        if state is not None:
            q = q.where(designs.c.state == _choice(state, DESIGN_STATES, "state"))
        q = q.order_by(designs.c.minted_block.desc(), designs.c.token_id).limit(limit).offset(offset)
        return [DesignView(**r) for r in self._rows(q)]

    def design(self, token_id: int) -> DesignView:
        """Design `token_id` with its licence terms, holders, purchases and uses, its sales and royalties paid."""
        rows = self._rows(sa.select(designs).where(designs.c.token_id == _id(token_id, "design id")))
        if not rows:
            raise FabricaLookupError(f"no design {token_id} in the index")
        return DesignView(**rows[0], terms=self.licence_terms(token_id), holders=tuple(self.licence_holdings(
            design_id=token_id)), purchases=tuple(reversed(self.licence_purchases(design_id=token_id))),
            uses=tuple(self.licence_uses(design_id=token_id)),
            sales=tuple(reversed(self.sales(design_id=token_id, limit=10_000))),
            royalties=tuple(reversed(self.royalties(design_id=token_id, limit=10_000))))

    def design_cids(self, ids: Iterable[int]) -> dict[int, str]:
        """The content CID of each of `ids` the index knows."""
        wanted = sorted({_id(i, "design id") for i in ids})
        if not wanted:
            return {}
        rows = self._rows(sa.select(designs.c.token_id, designs.c.cid).where(designs.c.token_id.in_(wanted)))
        return {r["token_id"]: r["cid"] for r in rows}

    # ------------------------------------------------------------------ sales, orders, royalties
    def sales(self, *, design_id: int | None = None, account: str | None = None, asset: str | None = None,
              limit: int = 100, offset: int = 0) -> list[SaleView]:
        """Design-market fills, newest first, optionally of one design, with `account` as seller or buyer, or of
        one asset (design or licence)."""
        q = sa.select(design_sales)
        if design_id is not None:
            q = q.where(design_sales.c.token_id == _id(design_id, "design id"))
        if account is not None:
            who = _addr(account, "account")
            q = q.where(sa.or_(design_sales.c.seller == who, design_sales.c.buyer == who))
        if asset is not None:
            q = q.where(design_sales.c.asset == _choice(asset, ASSETS, "asset"))
        q = q.order_by(*_newest(design_sales)).limit(limit).offset(offset)
        return [SaleView(**r) for r in self._rows(q)]

    def design_order(self, order_hash: str) -> DesignOrderView:
        """A design-market order that filled at least once, by its EIP-712 digest."""
        rows = self._rows(sa.select(design_orders).where(design_orders.c.order_hash == order_hash.lower()))
        if not rows:
            raise FabricaLookupError(f"no fill of order {order_hash} in the index")
        return DesignOrderView(**rows[0])

    def design_orders(self, *, maker: str | None = None) -> list[DesignOrderView]:
        """Orders that filled at least once, most recently filled first."""
        q = sa.select(design_orders).order_by(design_orders.c.updated_block.desc(), design_orders.c.order_hash)
        if maker is not None:
            q = q.where(design_orders.c.maker == _addr(maker, "maker"))
        return [DesignOrderView(**r) for r in self._rows(q)]

    def design_cancelled_nonces(self, maker: str) -> list[int]:
        """Design-market order nonces `maker` cancelled, ascending."""
        rows = self._rows(sa.select(design_cancelled_orders.c.nonce).where(
            design_cancelled_orders.c.maker == _addr(maker, "maker")))
        return sorted(r["nonce"] for r in rows)

    def design_order_counter(self, maker: str) -> int:
        """`maker`'s design-market counter (orders signed with another one never fill)."""
        rows = self._rows(sa.select(design_order_counters.c.counter).where(
            design_order_counters.c.maker == _addr(maker, "maker")))
        return rows[0]["counter"] if rows else 0

    def royalties(self, *, receiver: str | None = None, design_id: int | None = None, source: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[RoyaltyView]:
        """Royalties paid, newest first, optionally to one receiver, for one design, or from sales or jobs."""
        q = sa.select(royalties)
        if receiver is not None:
            q = q.where(royalties.c.receiver == _addr(receiver, "receiver"))
        if design_id is not None:
            q = q.where(royalties.c.design_id == _id(design_id, "design id"))
        if source is not None:
            q = q.where(royalties.c.source == _choice(source, ROYALTY_SOURCES, "source"))
        q = q.order_by(*_newest(royalties)).limit(limit).offset(offset)
        return [RoyaltyView(**r) for r in self._rows(q)]

    def royalty_totals(self, receiver: str) -> dict[str, int]:
        """Royalties ever paid to `receiver`, per token."""
        out: dict[str, int] = {}
        for r in self._rows(sa.select(royalties.c.token, royalties.c.amount).where(
                royalties.c.receiver == _addr(receiver, "receiver"))):
            out[r["token"]] = out.get(r["token"], 0) + r["amount"]
        return out

    # ------------------------------------------------------------------ licences
    def licence_terms(self, design_id: int) -> LicenceTermsView | None:
        """The design's licence terms as last set (None when never set)."""
        rows = self._rows(sa.select(licence_terms).where(licence_terms.c.design_id == _id(design_id, "design id")))
        return LicenceTermsView(**rows[0]) if rows else None

    def licence_holdings(self, *, holder: str | None = None, design_id: int | None = None) -> list[LicenceHolding]:
        """Licence units held (none listed at zero), by holder or design."""
        q = sa.select(licence_balances).order_by(licence_balances.c.design_id, licence_balances.c.holder)
        if holder is not None:
            q = q.where(licence_balances.c.holder == _addr(holder, "holder"))
        if design_id is not None:
            q = q.where(licence_balances.c.design_id == _id(design_id, "design id"))
        return [LicenceHolding(**r) for r in self._rows(q)]

    def licences_held(self, holder: str, design_id: int) -> int:
        """How many licences of `design_id` `holder` holds."""
        found = self.licence_holdings(holder=holder, design_id=design_id)
        return found[0].amount if found else 0

    def licence_purchases(self, *, design_id: int | None = None, buyer: str | None = None,
                          limit: int = 100) -> list[LicencePurchaseView]:
        """Licence purchases, newest first."""
        q = sa.select(licence_purchases)
        if design_id is not None:
            q = q.where(licence_purchases.c.design_id == _id(design_id, "design id"))
        if buyer is not None:
            q = q.where(licence_purchases.c.buyer == _addr(buyer, "buyer"))
        return [LicencePurchaseView(**r) for r in self._rows(q.order_by(*_newest(licence_purchases)).limit(limit))]

    def licence_uses(self, *, customer: str | None = None, design_id: int | None = None) -> list[LicenceUseView]:
        """Jobs that consumed a licence instead of paying the royalty, by job id."""
        q = sa.select(licence_uses).order_by(licence_uses.c.job_id)
        if customer is not None:
            q = q.where(licence_uses.c.customer == _addr(customer, "customer"))
        if design_id is not None:
            q = q.where(licence_uses.c.design_id == _id(design_id, "design id"))
        return [LicenceUseView(**r) for r in self._rows(q)]

    def currencies(self, *, contract: str | None = None) -> list[CurrencyView]:
        """The tokens the design market, the licences and the bounty board accept (and refused ones)."""
        q = sa.select(currencies).order_by(currencies.c.contract, currencies.c.token)
        if contract is not None:
            q = q.where(currencies.c.contract == contract)
        return [CurrencyView(**r) for r in self._rows(q)]

    # ------------------------------------------------------------------ bounties
    def bounties(self, *, poster: str | None = None, sponsor: str | None = None, limit: int = 100,
                 offset: int = 0) -> list[BountyView]:
        """Bounties, newest first, optionally posted by `poster` or funded by `sponsor`."""
        q = sa.select(bounties)
        if poster is not None:
            q = q.where(bounties.c.poster == _addr(poster, "poster"))
        if sponsor is not None:
            funded = sa.select(bounty_contributions.c.bounty_id).where(
                bounty_contributions.c.sponsor == _addr(sponsor, "sponsor"))
            q = q.where(bounties.c.bounty_id.in_(funded))
        q = q.order_by(bounties.c.bounty_id.desc()).limit(limit).offset(offset)
        return [BountyView(**r) for r in self._rows(q)]

    def bounty(self, bounty_id: int) -> BountyView:
        """Bounty `bounty_id` with its contributions, submissions, pending approvals and awards."""
        rows = self._rows(sa.select(bounties).where(bounties.c.bounty_id == bounty_id))
        if not rows:
            raise FabricaLookupError(f"no bounty {bounty_id} in the index")
        contributions = self._rows(sa.select(bounty_contributions).where(bounty_contributions.c.bounty_id == bounty_id)
                                   .order_by(bounty_contributions.c.sponsor))
        entries = self._rows(sa.select(bounty_submissions).where(bounty_submissions.c.bounty_id == bounty_id)
                             .order_by(bounty_submissions.c.submission_id))
        pending = self._rows(sa.select(bounty_approvals).where(bounty_approvals.c.bounty_id == bounty_id)
                             .order_by(bounty_approvals.c.submission_id, bounty_approvals.c.updated_block))
        awards = self._rows(sa.select(bounty_awards).where(bounty_awards.c.bounty_id == bounty_id)
                            .order_by(bounty_awards.c.block_number, bounty_awards.c.log_index))
        return BountyView(**rows[0], contributions=tuple(ContributionView(**c) for c in contributions),
                          entries=tuple(SubmissionView(**s) for s in entries),
                          approvals=tuple(ApprovalView(**a) for a in pending),
                          awards=tuple(AwardView(**a) for a in awards))

    def contributions(self, sponsor: str) -> list[ContributionView]:
        """`sponsor`'s contributions, by bounty."""
        q = (sa.select(bounty_contributions).where(bounty_contributions.c.sponsor == _addr(sponsor, "sponsor"))
             .order_by(bounty_contributions.c.bounty_id))
        return [ContributionView(**r) for r in self._rows(q)]

    def submissions(self, *, submitter: str | None = None) -> list[SubmissionView]:
        """Submissions to bounties (optionally one submitter's), by bounty and submission id."""
        q = sa.select(bounty_submissions).order_by(bounty_submissions.c.bounty_id, bounty_submissions.c.submission_id)
        if submitter is not None:
            q = q.where(bounty_submissions.c.submitter == _addr(submitter, "submitter"))
        return [SubmissionView(**r) for r in self._rows(q)]

    def bounty_balance(self, token: str, account: str) -> int:
        """Awards `account` may withdraw from the bounty board in `token` (0 when none)."""
        rows = self._rows(sa.select(bounty_balances.c.amount).where(
            bounty_balances.c.token == _addr(token, "token"), bounty_balances.c.account == _addr(account, "account")))
        return rows[0]["amount"] if rows else 0
