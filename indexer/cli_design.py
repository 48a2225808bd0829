"""`fabrica indexer designs|design ID|sales|bounties|bounty ID`: the design economy from the index — designs with
their licences, sales and royalties, design-market fills, bounties with their pots, sponsors, submissions and awards.
Amounts in token units (where the indexer read the token's metadata), times as dates.

Registered on `fabrica.indexer.cli.app` when that module loads. A design is named by its id (decimal or 0x hex)
or by its content CID.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from fabrica.protocol.errors import FabricaError

from .cli import ZERO, DbOpt, HomeOpt, JsonOpt, LimitOpt, _fail, _pct, _print_json, _read, _Units, _when, app

if TYPE_CHECKING:
    from .read import ReadModel
    from .read_design import BountyView, DesignView, SaleView

AddressOpt = Annotated[str | None, typer.Option("--account", help="only sales this address sold or bought")]


def _design_id(text: str) -> int:
    """A design id from a decimal id, a 0x hex id or the design's content CID; a bad one is one line, exit 1."""
    from fabrica.protocol.designs import parse_design

    try:
        return parse_design(text)
    except FabricaError as exc:
        _fail(exc)
    raise AssertionError("unreachable: _fail exits")


def _state(d: DesignView) -> str:
    return {"active": "active", "taken_down": "taken down", "appealed": "appealed"}.get(d.state, d.state)


def _design_line(d: DesignView) -> str:
    licensed = "  licensed" if d.licensed else ""
    return (f"design {d.cid}  {_state(d):<10}  owner {d.owner}  creator {d.creator}  royalty {_pct(d.royalty_bps)}"
            f"{licensed}  minted in block {d.minted_block}")


def _sale_line(s: SaleView, units: _Units, cids: dict[int, str]) -> str:
    what = f"design {cids.get(s.token_id, s.token_id)}" if s.asset == "design" else \
        f"{s.units} licence(s) of design {cids.get(s.token_id, s.token_id)}"
    royalty = "no royalty" if not s.royalty else (
        f"royalty {units(s.royalty, s.currency)} to {s.royalty_receiver}"
        + (" (the seller: part of its proceeds)" if s.royalty_receiver == s.seller else ""))
    return (f"block {s.block_number}  {s.side:<7}  {what}: {s.seller} -> {s.buyer} for {units(s.total, s.currency)}  "
            f"fee {units(s.fee, s.currency)}  {royalty}  seller got {units(s.proceeds, s.currency)}")


def _bounty_line(b: BountyView, units: _Units) -> str:
    return (f"bounty {b.bounty_id}  pot {units(b.pot, b.token)}  contributed {units(b.contributed, b.token)}  "
            f"paid {units(b.paid, b.token)}  refunded {units(b.refunded, b.token)}  sponsors {b.sponsors}  "
            f"submissions {b.submissions}  deadline {_when(b.deadline)}  brief {b.brief_cid}")


def _bounty_json(b: BountyView) -> dict[str, object]:
    """A bounty's fields with its pot (contributed - paid - refunded), as `bountyOf` and `potOf` tell them."""
    import dataclasses

    return {**dataclasses.asdict(b), "pot": b.pot}


@app.command("designs")
def designs_cmd(db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
                creator: Annotated[str | None, typer.Option("--creator", help="only this creator's designs")] = None,
                owner: Annotated[str | None, typer.Option("--owner", help="only designs this address holds")] = None,
                state: Annotated[str | None, typer.Option(
                    "--state", help="active, taken_down or appealed")] = None,
                limit: LimitOpt = 100) -> None:
    """Designs from the index, newest first: content CID, state, owner, creator, royalty."""
    found = _read(db, home, lambda read: read.designs(creator=creator, owner=owner, state=state, limit=limit))
    if json_out:
        _print_json(found)
        return
    for d in found:
        typer.echo(_design_line(d))
    typer.echo(f"{len(found)} design(s)")


@app.command("design")
def design_cmd(design: Annotated[str, typer.Argument(help="the design's id (decimal or 0x hex) or content CID")],
               db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """One design from the index: its rights and state, licence terms, holders and uses, sales and royalties."""
    token_id = _design_id(design)

    def query(read: ReadModel) -> tuple[DesignView, _Units]:
        return read.design(token_id), _Units(read)

    d, u = _read(db, home, query)
    if json_out:
        _print_json(d)
        return
    typer.echo(_design_line(d))
    typer.echo(f"  id {d.token_id}")
    typer.echo(f"  metadata {d.metadata_cid}  royalty to {d.royalty_receiver}  minted in tx {d.minted_tx}")
    if d.state != "active":
        appeal = ""
        if d.appeal_evidence_cid:
            verdict = "pending" if d.state == "appealed" else "rejected: the takedown stands"
            appeal = f"; appealed with {d.appeal_evidence_cid} ({verdict})"
        typer.echo(f"  taken down: reason {d.takedown_reason_cid or '-'}{appeal}")
    t = d.terms
    if t is None or t.cleared:
        typer.echo("  no licence terms" + (f" ({t.sold} licence(s) sold before)" if t and t.sold else ""))
    else:
        prices = [f"{u(t.price_per_print, t.token)} per print"] if t.price_per_print or not t.block_size else []
        if t.block_size:
            prices.append(f"{u(t.block_price, t.token)} per block of {t.block_size}")
        cap = f" of at most {t.max_prints}" if t.max_prints else ""
        stale = "" if t.setter == d.owner else f" (set by {t.setter}, a former owner: not in force)"
        typer.echo(f"  licences: {', '.join(prices)}; {t.sold} sold{cap}{stale}")
    for h in d.holders:
        typer.echo(f"  licences held: {h.amount} by {h.holder}")
    for p in d.purchases:
        typer.echo(f"  block {p.block_number}  {p.buyer} bought {p.prints} licence(s) for {u(p.cost, p.token)} "
                   f"(fee {u(p.fee, p.token)}) from {p.seller}" + (f" for {p.recipient}" if p.recipient != p.buyer else ""))
    for use in d.uses:
        typer.echo(f"  job {use.job_id} of {use.customer} used a licence"
                   + (f" (given back in block {use.released_block})" if use.released else ""))
    cids = {d.token_id: d.cid}
    for s in d.sales:
        typer.echo("  " + _sale_line(s, u, cids))
    for r in d.royalties:
        where = f"job {r.job_id}" if r.source == "job" else f"sale (order {r.order_hash})"
        typer.echo(f"  block {r.block_number}  royalty {u(r.amount, r.token)} to {r.receiver} from {where}")
    typer.echo(f"  {len(d.sales)} sale(s), {len(d.royalties)} royalty payment(s)")


@app.command("sales")
def sales_cmd(db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
              design: Annotated[str | None, typer.Option(
                  "--design", help="only this design's (id, 0x id or content CID)")] = None,
              account: AddressOpt = None,
              asset: Annotated[str | None, typer.Option("--asset", help="design or licence")] = None,
              limit: LimitOpt = 100) -> None:
    """Design-market fills from the index, newest first: who sold what to whom, the fee and the royalty."""
    design_id = None if design is None else _design_id(design)

    def query(read: ReadModel) -> tuple[list[SaleView], _Units, dict[int, str]]:
        found = read.sales(design_id=design_id, account=account, asset=asset, limit=limit)
        return found, _Units(read), read.design_cids(s.token_id for s in found)

    found, units, cids = _read(db, home, query)
    if json_out:
        _print_json(found)
        return
    for s in found:
        typer.echo(_sale_line(s, units, cids))
    typer.echo(f"{len(found)} sale(s)")


@app.command("bounties")
def bounties_cmd(db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
                 poster: Annotated[str | None, typer.Option("--poster", help="only bounties this address posted")] = None,
                 sponsor: Annotated[str | None, typer.Option("--sponsor", help="only bounties this address funded")] = None,
                 limit: LimitOpt = 100) -> None:
    """Bounties from the index, newest first: the pot (contributed, paid, refunded), sponsors, submissions, deadline."""
    found, units = _read(db, home, lambda read: (read.bounties(poster=poster, sponsor=sponsor, limit=limit),
                                                 _Units(read)))
    if json_out:
        _print_json([_bounty_json(b) for b in found])
        return
    for b in found:
        typer.echo(_bounty_line(b, units))
    typer.echo(f"{len(found)} bounty(ies)")


@app.command("bounty")
def bounty_cmd(bounty_id: Annotated[int, typer.Argument(min=1, help="the bounty id")], db: DbOpt = None,
               home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """One bounty from the index: its terms, pot, every sponsor's part, submissions, pending approvals and awards."""
    def query(read: ReadModel) -> tuple[BountyView, _Units]:
        return read.bounty(bounty_id), _Units(read)

    b, u = _read(db, home, query)
    if json_out:
        _print_json(_bounty_json(b))
        return
    typer.echo(_bounty_line(b, u))
    typer.echo(f"  posted by {b.poster} in block {b.posted_block} (tx {b.posted_tx})  terms hash {b.terms_hash}")
    if b.evaluator != ZERO:
        typer.echo(f"  decided by the evaluator contract {b.evaluator}")
    else:
        typer.echo(f"  decided by {b.quorum} of {len(b.approvers)} approver(s): {', '.join(b.approvers)}")
    typer.echo(f"  winner's royalty {_pct(b.design_royalty_bps)}, of which {_pct(b.sponsor_royalty_bps)} to the "
               "sponsors")
    for c in b.contributions:
        back = f", took back {u(c.refund, b.token)}" if c.refund else ""
        typer.echo(f"  sponsor {c.sponsor}: put in {u(c.funded, b.token)}, counts {u(c.contribution, b.token)}{back}"
                   + (" (refunded after the deadline)" if c.refunded else ""))
    for s in b.entries:
        minted = f"  minted as design {s.design_id}" if s.minted else ""
        typer.echo(f"  submission {s.submission_id} by {s.submitter}: {s.cid}  awarded {u(s.awarded, b.token)}{minted}")
    for a in b.approvals:
        typer.echo(f"  pending: {len(a.approvers)} of {b.quorum} approval(s) to pay {u(a.amount, b.token)} to "
                   f"submission {a.submission_id} ({', '.join(a.approvers)})")
    for a in b.awards:
        typer.echo(f"  block {a.block_number}  awarded {u(a.amount, b.token)} to submission {a.submission_id} "
                   f"({a.submitter}), decided by {a.decided_by}")
