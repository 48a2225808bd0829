"""The read API over the DAO's tables: proposals with their votes and history, delegations, voting power over
time, the arbiter panel, dispute assignments and manifest versions.

`DaoReads` is mixed into `fabrica.indexer.read.ReadModel`; callers use that class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fabrica.protocol.errors import FabricaLookupError, FabricaValueError

from .schema import (arbiters, delegates, delegations, dispute_assignments, manifests, proposal_history, proposals,
                     votes, voting_power)

PROPOSAL_STATUSES = ("created", "queued", "executed", "canceled")
VOTE_SOURCES = ("fab", "stake")
SUPPORT = ("against", "for", "abstain")


def _addr(value: str, name: str) -> str:
    from .read import _addr as check

    return check(value, name)


@dataclass(frozen=True)
class VoteView:
    proposal_id: int
    voter: str
    support: int  # 0 against, 1 for, 2 abstain
    weight: int
    reason: str
    params: str | None
    block_number: int
    log_index: int
    tx_hash: str

    @property
    def side(self) -> str:
        """against, for or abstain."""
        return SUPPORT[self.support]


@dataclass(frozen=True)
class ProposalEvent:
    event: str
    status: str
    block_number: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class ProposalView:
    proposal_id: int
    proposer: str
    targets: list[str]
    call_values: list[int]
    calldatas: list[str]
    description: str
    snapshot: int  # votes are read at this time
    deadline: int  # end of the vote, late-quorum extensions included
    extended: bool
    eta: int | None  # when the timelock lets it run (once queued)
    status: str  # created, queued, executed or canceled (the chain's state also depends on the clock and quorum)
    for_votes: int
    against_votes: int
    abstain_votes: int
    created_block: int
    created_tx: str
    updated_block: int
    history: tuple[ProposalEvent, ...] = field(default=())
    votes: tuple[VoteView, ...] = field(default=())

    @property
    def title(self) -> str:
        """The description's first line."""
        return self.description.strip().splitlines()[0] if self.description.strip() else ""


@dataclass(frozen=True)
class DelegationView:
    source: str  # fab or stake
    delegator: str
    delegate: str
    updated_block: int


@dataclass(frozen=True)
class VotingPowerView:
    source: str
    delegate: str
    block_number: int
    log_index: int
    timestamp: int | None
    previous_votes: int
    new_votes: int


@dataclass(frozen=True)
class ArbiterView:
    arbiter: str
    active: bool
    appointed_block: int
    removed_block: int | None
    updated_block: int


@dataclass(frozen=True)
class AssignmentView:
    job_id: int
    kind: str  # assigned (at opening) or reassigned (the arbiter left the panel)
    previous: str | None
    arbiter: str
    rule_by: int
    block_number: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class ManifestView:
    version: int
    cid: str
    published_block: int
    tx_hash: str
    updated_block: int


class DaoReads:
    """Queries over the DAO's tables (needs `_rows` from ReadModel)."""

    def _rows(self, query: sa.Select) -> list[dict[str, Any]]:  # pragma: no cover - ReadModel's
        raise NotImplementedError

    def proposals(self, *, status: str | None = None, proposer: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[ProposalView]:
        """Proposals, newest first, optionally by lifecycle status or proposer."""
        q = sa.select(proposals)
        if status is not None:
            if status not in PROPOSAL_STATUSES:
                raise FabricaValueError(f"status must be one of {', '.join(PROPOSAL_STATUSES)}, got {status!r}")
            q = q.where(proposals.c.status == status)
        if proposer is not None:
            q = q.where(proposals.c.proposer == _addr(proposer, "proposer"))
        q = q.order_by(proposals.c.created_block.desc(), proposals.c.proposal_id).limit(limit).offset(offset)
        return [ProposalView(**r) for r in self._rows(q)]

    def proposal(self, proposal_id: int) -> ProposalView:
        """Proposal `proposal_id` with its lifecycle history and votes, in chain order."""
        rows = self._rows(sa.select(proposals).where(proposals.c.proposal_id == proposal_id))
        if not rows:
            raise FabricaLookupError(f"no proposal {proposal_id} in the index")
        history = self._rows(sa.select(proposal_history).where(proposal_history.c.proposal_id == proposal_id)
                             .order_by(proposal_history.c.block_number, proposal_history.c.log_index))
        cast = self._rows(sa.select(votes).where(votes.c.proposal_id == proposal_id)
                          .order_by(votes.c.block_number, votes.c.log_index))
        return ProposalView(**rows[0], history=tuple(
            ProposalEvent(**{k: v for k, v in h.items() if k != "proposal_id"}) for h in history),
            votes=tuple(VoteView(**v) for v in cast))

    def votes(self, *, voter: str | None = None) -> list[VoteView]:
        """Votes in chain order, optionally of one voter."""
        q = sa.select(votes).order_by(votes.c.block_number, votes.c.log_index)
        if voter is not None:
            q = q.where(votes.c.voter == _addr(voter, "voter"))
        return [VoteView(**r) for r in self._rows(q)]

    def delegations(self, *, source: str | None = None, delegate: str | None = None) -> list[DelegationView]:
        """Who delegates to whom, per source of votes (fab: FAB held, stake: FAB staked)."""
        q = sa.select(delegations).order_by(delegations.c.source, delegations.c.delegator)
        if source is not None:
            q = q.where(delegations.c.source == _source(source))
        if delegate is not None:
            q = q.where(delegations.c.delegate == _addr(delegate, "delegate"))
        return [DelegationView(**r) for r in self._rows(q)]

    def votes_of(self, delegate: str) -> dict[str, int]:
        """`delegate`'s current votes per source (0 where none)."""
        rows = self._rows(sa.select(delegates).where(delegates.c.delegate == _addr(delegate, "delegate")))
        found = {r["source"]: r["votes"] for r in rows}
        return {s: found.get(s, 0) for s in VOTE_SOURCES}

    def voting_power(self, delegate: str, *, source: str | None = None) -> list[VotingPowerView]:
        """Every change of `delegate`'s votes, in chain order."""
        q = (sa.select(voting_power).where(voting_power.c.delegate == _addr(delegate, "delegate"))
             .order_by(voting_power.c.block_number, voting_power.c.log_index))
        if source is not None:
            q = q.where(voting_power.c.source == _source(source))
        return [VotingPowerView(**r) for r in self._rows(q)]

    def arbiters(self, *, active: bool | None = None) -> list[ArbiterView]:
        """The arbiter panel's members (with those removed, inactive)."""
        q = sa.select(arbiters).order_by(arbiters.c.appointed_block, arbiters.c.arbiter)
        if active is not None:
            q = q.where(arbiters.c.active == active)
        return [ArbiterView(**r) for r in self._rows(q)]

    def assignments(self, job_id: int) -> list[AssignmentView]:
        """The arbiters dispute `job_id` was given, in chain order."""
        q = (sa.select(dispute_assignments).where(dispute_assignments.c.job_id == job_id)
             .order_by(dispute_assignments.c.block_number, dispute_assignments.c.log_index))
        return [AssignmentView(**r) for r in self._rows(q)]

    def manifests(self) -> list[ManifestView]:
        """Published manifest versions, oldest first."""
        return [ManifestView(**r) for r in self._rows(sa.select(manifests).order_by(manifests.c.version))]


def _source(source: str) -> str:
    if source not in VOTE_SOURCES:
        raise FabricaValueError(f"source must be one of {', '.join(VOTE_SOURCES)}, got {source!r}")
    return source
