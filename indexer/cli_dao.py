"""`fabrica indexer proposals|proposal ID`: the DAO's proposals from the index, tallies in FAB and times as dates.

Registered on `fabrica.indexer.cli.app` when that module loads.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from .cli import DbOpt, HomeOpt, JsonOpt, LimitOpt, _fab, _print_json, _read, _when, app

if TYPE_CHECKING:
    from .read import ReadModel
    from .read_dao import ProposalView


def _proposal_line(p: ProposalView) -> str:
    return (f"proposal {p.proposal_id}  {p.status:<8}  for {_fab(p.for_votes)}  against {_fab(p.against_votes)}  "
            f"abstain {_fab(p.abstain_votes)}  voting {_when(p.snapshot)} to {_when(p.deadline)}  {p.title}")


@app.command("proposals")
def proposals_cmd(db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
                  status: Annotated[str | None, typer.Option(
                      "--status", help="created, queued, executed or canceled")] = None,
                  proposer: Annotated[str | None, typer.Option("--proposer", help="only this proposer's")] = None,
                  limit: LimitOpt = 100) -> None:
    """DAO proposals from the index, newest first: lifecycle status, tallies, voting window."""
    found = _read(db, home, lambda read: read.proposals(status=status, proposer=proposer, limit=limit))
    if json_out:
        _print_json(found)
        return
    for p in found:
        typer.echo(_proposal_line(p))
    typer.echo(f"{len(found)} proposal(s)")


@app.command("proposal")
def proposal_cmd(proposal_id: Annotated[int, typer.Argument(min=0, help="the proposal id (decimal)")],
                 db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """One DAO proposal from the index: its actions, voting window, eta, history and every vote."""
    def query(read: ReadModel) -> ProposalView:
        return read.proposal(proposal_id)

    p = _read(db, home, query)
    if json_out:
        _print_json(p)
        return
    typer.echo(_proposal_line(p))
    typer.echo(f"  proposer {p.proposer}  created in block {p.created_block} (tx {p.created_tx})")
    typer.echo(f"  votes read at {_when(p.snapshot)}; voting ends {_when(p.deadline)}"
               + (" (extended: quorum was reached late)" if p.extended else "")
               + (f"; runs from {_when(p.eta)}" if p.eta else ""))
    for target, value, data in zip(p.targets, p.call_values, p.calldatas):
        sent = f"  sending {value} wei" if value else ""
        typer.echo(f"  call {target}  {data[:10]}… ({(len(data) - 2) // 2} bytes){sent}")
    for h in p.history:
        typer.echo(f"  block {h.block_number}  {h.event:<18} -> {h.status:<8}  tx {h.tx_hash}")
    for v in p.votes:
        reason = f"  \"{v.reason}\"" if v.reason else ""
        typer.echo(f"  vote {v.side:<7} {_fab(v.weight)}  by {v.voter}{reason}")
    typer.echo(f"  {len(p.votes)} vote(s)  description: {p.description}")
