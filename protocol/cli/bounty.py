"""`fabrica bounty …`: fund designs that do not exist yet — post a brief with a pot, fund, submit, award, refund."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..errors import FabricaValueError
from .common import AccountOpt, HomeOpt, JsonOpt, RpcOpt, client, console, print_tx, run, settings
from .inputs import duration, units

if TYPE_CHECKING:
    from ..bounties import Bounties, Bounty

app = typer.Typer(help="Design bounties: sponsors fund a brief, designers and miners submit, approvers award.",
                  no_args_is_help=True)

BountyArg = Annotated[int, typer.Argument(help="the bounty's id (see `fabrica bounty list`)")]


def _bounties(rpc_url: str | None, home: str | None, account: str | None, *, need_account: bool = True) -> Bounties:
    from ..bounties import Bounties

    return Bounties(client(rpc_url, home, account, need_account=need_account))


def _compute_cid(data: bytes):
    from ..storage.unixfs import compute_cid

    return compute_cid(data)


def _amount(b: Bounties, bounty_id: int, text: str, flag: str = "--amount") -> int:
    token = b.terms(bounty_id).token
    return units(flag, text, b.fab.token_decimals(token))


@app.command()
def post(
    amount: Annotated[str, typer.Option(help="your funding, in token units (e.g. 200)")],
    brief: Annotated[str | None, typer.Option(help="the brief: a JSON/text file (stored now) or its CID")] = None,
    title: Annotated[str, typer.Option(help="without --brief: the brief's title")] = "",
    description: Annotated[str, typer.Option(help="without --brief: what the design must do")] = "",
    material: Annotated[str, typer.Option(help="without --brief: the material (e.g. PETG)")] = "",
    bbox: Annotated[str | None, typer.Option(help="without --brief: bounding box in mm, XxYxZ (e.g. 80x40x20)")] = None,
    deadline: Annotated[str, typer.Option(help="submissions close after this long (e.g. 14d)")] = "14d",
    approver: Annotated[list[str] | None, typer.Option(help="an approver's address (repeat; default: you)")] = None,
    quorum: Annotated[int, typer.Option(help="approvals an award needs (default: all approvers)")] = 0,
    evaluator: Annotated[str | None, typer.Option(help="an evaluator contract that decides instead")] = None,
    sponsor_royalty_bps: Annotated[int, typer.Option(help="share of the winner's royalty for the sponsors")] = 0,
    design_royalty_bps: Annotated[int, typer.Option(help="the minted winner's royalty")] = 500,
    token: Annotated[str, typer.Option(help="currency (symbol or address)")] = "fUSD",
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Post a bounty: a brief stored by CID, a pot in an allowed token, who decides, and until when."""

    def body() -> None:
        from ..bounties import ZERO, BountyTerms, bounty_brief
        from ..orders import _checksum
        from .job import _cid_or_file

        s = settings(rpc_url, home, account)
        b = _bounties(rpc_url, home, account)
        try:
            approvers = tuple(_checksum(a) for a in (approver or ([] if evaluator else [b.fab.address])))
            judge = _checksum(evaluator) if evaluator else ZERO
        except ValueError as exc:
            raise FabricaValueError(f"--approver/--evaluator: {exc}") from None
        token_address = b.fab.deployment.token(token)
        funding = units("--amount", amount, b.fab.token_decimals(token_address))
        seconds = duration("--deadline", deadline)
        doc = None
        if brief is None:
            box = None
            if bbox:
                try:
                    box = tuple(float(v) for v in bbox.lower().split("x"))
                except ValueError:
                    raise FabricaValueError(f"--bbox {bbox!r}: sizes in mm as XxYxZ, e.g. 80x40x20") from None
            doc = bounty_brief(title=title, description=description, material=material,
                               bounding_box_mm=box)  # type: ignore[arg-type]
        # Everything is checked against the chain with a stand-in brief CID before the brief is stored.
        probe = BountyTerms(token=token_address, brief_cid=str(_compute_cid(doc or b"brief")),
                            deadline=b.fab.now() + seconds, approvers=approvers,
                            quorum=0 if evaluator else (quorum or len(approvers)), evaluator=judge,
                            sponsor_royalty_bps=sponsor_royalty_bps, design_royalty_bps=design_royalty_bps)
        b.check_post(probe, funding)
        brief_cid = _cid_or_file("--brief", brief, s, "the bounty's brief") if brief is not None \
            else str(s.content_store().add(doc))
        result = b.post(replace(probe, brief_cid=brief_cid), funding)
        print_tx("bounty posted", result, json_out, {"bounty_id": result.value, "brief_cid": brief_cid})

    run(body)


@app.command()
def fund(
    bounty: BountyArg, amount: Annotated[str, typer.Argument(help="how much to add, in token units")],
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Add to a bounty's pot under the terms it shows now (your contribution is tracked and refundable)."""

    def body() -> None:
        b = _bounties(rpc_url, home, account)
        result = b.fund(bounty, _amount(b, bounty, amount, "AMOUNT"))
        print_tx("bounty funded", result, json_out, {"bounty_id": bounty})

    run(body)


@app.command()
def submit(
    bounty: BountyArg,
    design: Annotated[str, typer.Argument(help="your design: a file (stored now) or its CID")],
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Submit a design to a bounty before its deadline."""

    def body() -> None:
        from .job import _cid_or_file

        b = _bounties(rpc_url, home, account)
        b.check_open(bounty)  # before the design is stored
        cid = _cid_or_file("DESIGN", design, settings(rpc_url, home, account), "your design")
        result = b.submit(bounty, cid)
        print_tx("design submitted", result, json_out, {"bounty_id": bounty, "submission_id": result.value,
                                                         "cid": cid})

    run(body)


@app.command()
def award(
    bounty: BountyArg,
    submission: Annotated[int, typer.Argument(help="the submission's id within the bounty")],
    amount: Annotated[str, typer.Argument(help="how much to pay it, in token units (part of the pot is fine)")],
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Approve an award (approver); the approval that reaches the quorum credits the designer."""

    def body() -> None:
        b = _bounties(rpc_url, home, account)
        result = b.award(bounty, submission, _amount(b, bounty, amount, "AMOUNT"))
        paid = any(e.name == "BountyAwarded" for e in result.events)
        print_tx("award paid" if paid else "award approved (waiting for the quorum)", result, json_out,
                 {"bounty_id": bounty, "submission_id": submission, "paid": paid})

    run(body)


@app.command()
def refund(bounty: BountyArg, rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
           json_out: JsonOpt = False) -> None:
    """Take back your contribution: all of it before any submission, or your share of what was not paid out after
    the deadline and its grace period."""
    run(lambda: print_tx("contribution refunded", _bounties(rpc_url, home, account).refund(bounty), json_out,
                         {"bounty_id": bounty}))


@app.command()
def withdraw(
    token: Annotated[str, typer.Option(help="currency (symbol or address)")] = "fUSD",
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Withdraw the awards you won."""

    def body() -> None:
        b = _bounties(rpc_url, home, account)
        print_tx("awards withdrawn", b.withdraw(b.fab.deployment.token(token)), json_out)

    run(body)


@app.command()
def mint(
    bounty: BountyArg,
    submission: Annotated[int, typer.Argument(help="your awarded submission's id")],
    name: Annotated[str, typer.Option(help="the design's name")] = "",
    description: Annotated[str, typer.Option(help="what it is")] = "",
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Mint your awarded submission as a design (royalty shared with the sponsors when the bounty says so)."""

    def body() -> None:
        from ..designs import design_metadata

        b = _bounties(rpc_url, home, account)
        info = b.bounty(bounty)
        sub = next((s for s in info.submissions if s.id == submission), None)
        if sub is None:
            raise FabricaValueError(f"bounty {bounty} has no submission {submission}")
        meta = design_metadata(name=name or f"bounty {bounty} winner", model_cid=sub.cid, description=description,
                               attributes={"bounty": bounty, "brief": info.terms.brief_cid})
        metadata_cid = str(settings(rpc_url, home, account).content_store().add(meta))
        result = b.mint_winner(bounty, submission, metadata_cid)
        print_tx("winner minted", result, json_out, {"design_id": str(result.value), "metadata_cid": metadata_cid})

    run(body)


def _print_bounty(b: Bounties, info: Bounty) -> None:
    from ..display import format_time

    fab, t = b.fab, info.terms
    amount = lambda v: fab.format_amount(t.token, v)  # noqa: E731
    console.print(f"bounty {info.id} by {info.poster}: pot {amount(info.pot)} (contributed {amount(info.contributed)}, "
                  f"paid {amount(info.paid)}, refunded {amount(info.refunded)})")
    console.print(f"  brief {t.brief_cid}; submissions until {format_time(t.deadline)}")
    judge = f"evaluator {t.evaluator}" if int(t.evaluator, 16) else \
        f"{t.quorum} of {len(t.approvers)} approvers ({', '.join(t.approvers)})"
    console.print(f"  decided by {judge}; winner royalty {t.design_royalty_bps / 100:g} %"
                  f"{f', {t.sponsor_royalty_bps / 100:g} % of it to sponsors' if t.sponsor_royalty_bps else ''}")
    for sponsor, value in info.contributions.items():
        console.print(f"  sponsor {sponsor}: {amount(value)}", style="dim")
    for s in info.submissions:
        flags = " awarded" if s.awarded else ""
        flags += " minted" if s.minted else ""
        console.print(f"  submission {s.id} by {s.submitter}: {s.cid}{flags}", style="dim")


@app.command()
def show(bounty: BountyArg, rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """A bounty: terms, pot, sponsors and submissions."""

    def body() -> None:
        b = _bounties(rpc_url, home, None, need_account=False)
        info = b.bounty(bounty)
        if json_out:
            print(json.dumps(info.to_json()))
            return
        _print_bounty(b, info)

    run(body)


@app.command("list")
def list_bounties(rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """List bounties with their pots and deadlines."""

    def body() -> None:
        from ..display import format_time

        b = _bounties(rpc_url, home, None, need_account=False)
        found = b.bounties()
        if json_out:
            print(json.dumps([i.to_json() for i in found]))
            return
        table = Table("id", "pot", "deadline", "submissions", "sponsors", "brief")
        for i in found:
            table.add_row(str(i.id), b.fab.format_amount(i.terms.token, i.pot), format_time(i.terms.deadline),
                          str(len(i.submissions)), str(len(i.contributions)), i.terms.brief_cid)
        console.print(table if found else "no bounties posted yet")

    run(body)
