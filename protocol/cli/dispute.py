"""`fabrica dispute …`: open, rule, appeal, finalize and follow a job's dispute, with evidence by CID."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import FabricaValueError
from ..types import ZERO_ADDRESS, DisputeStage, JobStatus, format_units, to_units
from .common import AccountOpt, HomeOpt, JsonOpt, RpcOpt, client, console, jsonable, print_tx, run, settings

if TYPE_CHECKING:  # web3 is imported when a command connects (common.client), not for `--help`
    from ..client import Fabrica
    from ..types import JobRecord

app = typer.Typer(help="Disputes: open, rule (arbiter), appeal to the DAO, finalize, reassign, evidence, show.",
                  no_args_is_help=True)
JobIdArg = Annotated[int, typer.Argument(help="the disputed job's id")]
BpsOpt = Annotated[int, typer.Option(help="basis points, 0-10000")]


@app.command("open")
def open_(job_id: JobIdArg,
          reason: Annotated[str, typer.Option(help="file explaining the dispute (or its CID)")],
          rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Dispute a delivery during its review window (customer), posting the job's bond (= `fabrica job dispute`)."""
    from .job import _cid_or_file

    def body() -> None:
        fab = client(rpc_url, home, account)
        fab.job(job_id)  # an unknown job fails before the reason is stored
        cid = _cid_or_file("--reason", reason, settings(rpc_url, home, account), "a file explaining the dispute")
        print_tx("job disputed", fab.dispute_job(job_id, cid), json_out, {"reason_cid": cid})

    run(body)


@app.command()
def rule(job_id: JobIdArg,
         refund_bps: Annotated[int, typer.Option(help="share of the payment refunded to the customer (0-10000)")],
         slash_bps: Annotated[int, typer.Option(help="share of the node's collateral slashed (0-10000)")] = 0,
         rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Rule on a dispute (the arbiter it was assigned to); either side may appeal the ruling to the DAO."""
    run(lambda: print_tx("dispute ruled", client(rpc_url, home, account).rule_dispute(job_id, refund_bps, slash_bps),
                         json_out))


@app.command()
def appeal(job_id: JobIdArg,
           bond: Annotated[str | None, typer.Option(
               help="the appeal bond in token units, as a confirmation: it must equal the job's bond")] = None,
           rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Appeal the ruling to the appeal court, the DAO (customer or node), posting the job's fixed bond."""

    def body() -> None:
        fab = client(rpc_url, home, account)
        token, amount = appeal_bond(fab, job_id, bond)
        shown = fab.format_amount(token, amount)
        if not json_out:
            console.print(f"posting the appeal bond of {shown} (back if the DAO rules for you)")
        result = fab.appeal_job(job_id)
        print_tx("ruling appealed", result, json_out,
                 {"bond": format_units(amount, fab.token_decimals(token)), "bond_token": fab.token_symbol(token)})

    run(body)


def appeal_bond(fab: Fabrica, job_id: int, confirm: str | None) -> tuple[str, int]:
    """The job's token and appeal bond; `confirm` (token units), when given, must equal it."""
    record = fab.job(job_id)
    token, amount = record.job.token, record.job.bond
    if confirm is not None:
        decimals = fab.token_decimals(token)
        try:
            given = to_units(confirm.strip(), decimals)
        except (ValueError, ArithmeticError, FabricaValueError):
            raise FabricaValueError(f"--bond {confirm!r}: not an amount in token units (e.g. "
                                    f"{format_units(amount, decimals)})") from None
        if given != amount:
            raise FabricaValueError(
                f"--bond {confirm}: the appeal bond of job {job_id} is fixed at {fab.format_amount(token, amount)} "
                f"(the dispute bond set when the job was posted), not {fab.format_amount(token, given)}; pass "
                f"--bond {format_units(amount, decimals)} or leave --bond out")
    return token, amount


def _simple(action: str, method: str, doc: str):
    def command(job_id: JobIdArg, rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
                json_out: JsonOpt = False) -> None:
        run(lambda: print_tx(action, getattr(client(rpc_url, home, account), method)(job_id), json_out))

    command.__doc__ = doc
    return command


app.command("finalize")(_simple("dispute finalized", "finalize_dispute", "Move a dispute past its deadline (anyone): "
                                "a silent arbiter's to the default ruling (appealable), a ruling to its payout."))
app.command("reassign")(_simple("dispute reassigned", "reassign_dispute", "Give a dispute whose arbiter left the "
                                "panel a new arbiter and a fresh deadline (anyone)."))


@app.command()
def evidence(job_id: JobIdArg,
             document: Annotated[str, typer.Argument(help="the evidence: a file (stored first) or its CID")],
             rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Put a document on record for a dispute (stored in content storage, then its CID on chain)."""
    from .job import _cid_or_file

    def body() -> None:
        fab = client(rpc_url, home, account)
        record = fab.job(job_id)  # an unknown job fails before the document is stored
        if record.dispute is None:
            raise FabricaValueError(f"job {job_id} was never disputed ({record.status.name.lower()}): evidence "
                                    "belongs to a dispute")
        cid = _cid_or_file("EVIDENCE", document, settings(rpc_url, home, account), "the evidence document")
        print_tx("evidence submitted", fab.submit_evidence(job_id, cid), json_out, {"cid": cid})

    run(body)


@app.command()
def show(job_id: JobIdArg, rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Show a dispute: stage, judge, deadline (a date), ruling, appeal bond, evidence, outcome."""

    def body() -> None:
        fab = client(rpc_url, home, None, need_account=False)
        data = dispute_json(fab, fab.job(job_id))
        if json_out:
            print(json.dumps(data))
            return
        _print(data)

    run(body)


def dispute_json(fab: Fabrica, record: JobRecord) -> dict:
    """A job's dispute as JSON: live state while open (the chain's), what its events left once resolved."""
    from ..display import format_time

    if record.dispute is None:
        raise FabricaValueError(f"job {record.job_id} was never disputed (it is {record.status.name.lower()})")
    live = record.status == JobStatus.DISPUTED
    d = fab.dispute_of(record.job_id) if live else record.dispute
    token = record.job.token
    decimals = fab.token_decimals(token)
    parties = {record.job.customer: "customer", record.job.node: "node"}
    court = fab.market.functions.appealCourt().call()
    data = {
        "job_id": record.job_id, "status": record.status.name, "stage": d.stage.name if live else "RESOLVED",
        "judge": d.judge, "judge_is_court": d.judge == court and d.stage == DisputeStage.APPEALED,
        "arbiter": d.arbiter, "default_ruling": d.default_ruling, "appellant": d.appellant,
        "deadline": d.deadline, "deadline_utc": format_time(d.deadline) if d.deadline else None,
        "refund_bps": d.refund_bps, "slash_bps": d.slash_bps, "reason_cid": record.reason_cid,
        "bond": format_units(record.job.bond, decimals), "token": fab.token_symbol(token),
        "reassignments": record.reassignments, "next": _next(d, live, fab.now()) if live else None,
        "evidence": [{**jsonable(e), "role": parties.get(e.party, "other"), "time_utc": format_time(e.timestamp)}
                     for e in fab.evidence_of(record.job_id)],
        "resolution": jsonable(record.resolution) if record.resolution else None,
    }
    return data


def _next(d, live: bool, now: int) -> str:
    """What can happen to a live dispute now, in words (dates in UTC)."""
    from ..display import format_time

    due = format_time(d.deadline)
    passed = now > d.deadline
    if d.stage == DisputeStage.AWAITING_ARBITER:
        if passed:
            return f"the deadline {due} passed: anyone may apply the default ruling (`fabrica dispute finalize`)"
        if int(d.judge, 16) == 0:
            return "no arbiter could be assigned: anyone may `fabrica dispute reassign` once the panel has one"
        return f"the arbiter {d.judge} rules by {due}; if it does not, the default ruling applies"
    if d.stage == DisputeStage.RULED:
        what = "the default ruling" if d.default_ruling else "the arbiter's ruling"
        return (f"the appeal window closed {due}: anyone may apply {what} (`fabrica dispute finalize`)" if passed
                else f"either side may appeal {what} until {due} (`fabrica dispute appeal`)")
    return (f"the DAO did not rule by {due}: anyone may apply the ruling (`fabrica dispute finalize`)" if passed
            else f"the DAO (appeal court {d.judge}) rules by {due} through a governance proposal")


def _print(data: dict) -> None:
    stage = data["stage"].lower().replace("_", " ")
    console.print(f"job {data['job_id']}: dispute {stage}")
    rows = [("judge", data["judge"] + (" (the DAO's appeal court)" if data["judge_is_court"] else "")),
            ("deadline", data["deadline_utc"] or "-"),
            ("ruling", f"refund {data['refund_bps']} bps, slash {data['slash_bps']} bps"
             + (" (default)" if data["default_ruling"] else "")),
            ("bond", f"{data['bond']} {data['token']}"), ("reason", data["reason_cid"] or "-")]
    if int(data["appellant"], 16):
        rows.append(("appellant", data["appellant"]))
    if data["next"]:
        rows.append(("next", data["next"]))
    for name, value in rows:
        console.print(f"  {name:<10} {value}", highlight=False)
    for e in data["evidence"]:
        console.print(f"  evidence   {e['cid']} by {e['role']} {e['party']} at {e['time_utc']}", highlight=False)
    if data["resolution"]:
        r = data["resolution"]
        by = "the default ruling" if r["by"] == ZERO_ADDRESS else r["by"]
        console.print(f"  resolved   by {by}: refund {r['refund_bps']} bps, slash {r['slash_bps']} bps", highlight=False)
