"""`fabrica job …`: post, follow and settle fabrication jobs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..client import Fabrica
from ..config import Settings, parse_duration
from ..errors import FabricaValueError
from ..storage.cid import Cid
from ..types import JobRecord, JobSpec, JobStatus, SpecFile, format_units, to_units
from .common import (
    AccountOpt,
    HomeOpt,
    JsonOpt,
    RpcOpt,
    client,
    console,
    jsonable,
    print_tx,
    run,
    settings,
)

app = typer.Typer(help="Fabrication jobs: post with escrow, claim, deliver, accept, dispute.", no_args_is_help=True)
JobIdArg = Annotated[int, typer.Argument(help="job id")]


def record_json(fab: Fabrica, r: JobRecord) -> dict:
    """A job as JSON, with amounts also in token units."""
    decimals = fab.token_decimals(r.job.token)
    data = jsonable(r)
    data["amount_units"] = format_units(r.job.amount, decimals)
    return data


@app.command()
def post(
    files: Annotated[list[Path] | None, typer.Option("--file", "-f", help="part file(s): STL, STEP, G-code…")] = None,
    spec: Annotated[Path | None, typer.Option(help="a JobSpec JSON file instead of --file/--title…")] = None,
    spec_cid: Annotated[str | None, typer.Option(help="CID of a spec already in content storage")] = None,
    title: Annotated[str, typer.Option(help="what to make")] = "part",
    process: Annotated[str, typer.Option(help="FDM, SLA, SLS, CNC_MILL, LASER_CUT…")] = "FDM",
    material: Annotated[str, typer.Option(help="PLA, PETG, ALUMINIUM_6061…")] = "PLA",
    quantity: Annotated[int, typer.Option(min=1)] = 1,
    amount: Annotated[str, typer.Option(help="payment in token units, e.g. 25.50")] = "",
    token: Annotated[str, typer.Option(help="payment token symbol or address")] = "fUSD",
    claim_within: Annotated[str, typer.Option(help="how long nodes may claim (e.g. 1d)")] = "1d",
    delivery_window: Annotated[str, typer.Option(help="time from claim to delivery (e.g. 3d)")] = "3d",
    collateral: Annotated[str, typer.Option(help="FAB the claiming node locks")] = "10",
    design: Annotated[int, typer.Option(help="DesignNFT id whose owner earns a royalty (0: none)")] = 0,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Post a job: store its spec by CID and escrow the payment."""

    def body() -> None:
        if not amount:
            raise FabricaValueError("--amount is required (payment in token units, e.g. 25)")
        fab = client(rpc_url, home, account)
        store = settings(rpc_url, home, account).content_store()
        cid = spec_cid
        if cid is not None:
            Cid.parse(cid)
        elif spec is not None:
            job_spec = JobSpec.model_validate_json(spec.read_bytes())
            cid = str(store.add(job_spec.to_json_bytes()))
        else:
            if not files:
                raise FabricaValueError("give --file (one or more part files), --spec FILE or --spec-cid CID")
            spec_files = []
            for f in files:
                if not f.is_file():
                    raise FabricaValueError(f"--file {f}: no such file")
                spec_files.append(SpecFile(cid=str(store.add(f)), name=f.name, size=f.stat().st_size))
            job_spec = JobSpec(title=title, process=process, material=material, quantity=quantity, files=spec_files)
            cid = str(store.add(job_spec.to_json_bytes()))
        token_address = fab.deployment.token(token)
        units = to_units(amount, fab.token_decimals(token_address))
        result = fab.post_job(
            token=token_address, amount=units, spec_cid=cid, design_id=design,
            claim_by=fab.now() + parse_duration(claim_within), delivery_window=parse_duration(delivery_window),
            collateral=to_units(collateral, 18),
        )
        print_tx("job posted", result, json_out, {"job_id": result.value, "spec_cid": cid})

    run(body)


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="only jobs in this status (open, claimed…)")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer's jobs")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
) -> None:
    """List jobs rebuilt from chain events."""

    def body() -> None:
        fab = client(rpc_url, home, None, need_account=False)
        wanted = None
        if status:
            try:
                wanted = JobStatus[status.upper()]
            except KeyError:
                raise FabricaValueError(f"--status {status!r}: use one of {', '.join(s.name.lower() for s in JobStatus)}") from None
        records = fab.jobs(status=wanted, customer=customer)
        if json_out:
            print(json.dumps([record_json(fab, r) for r in records]))
            return
        table = Table("id", "status", "amount", "customer", "node", "spec")
        for r in records:
            table.add_row(str(r.job_id), r.status.name.lower(), format_units(r.job.amount, fab.token_decimals(r.job.token)),
                          r.job.customer[:10] + "…", (r.job.node[:10] + "…") if int(r.job.node, 16) else "-", r.spec_cid)
        console.print(table)

    run(body)


@app.command()
def show(job_id: JobIdArg, rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Show one job: status, deadlines, parties, amounts, CIDs."""

    def body() -> None:
        fab = client(rpc_url, home, None, need_account=False)
        data = record_json(fab, fab.job(job_id))
        print(json.dumps(data, indent=None if json_out else 2))

    run(body)


def _simple(action: str, method: str, doc: str):
    def command(job_id: JobIdArg, rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
                json_out: JsonOpt = False) -> None:
        run(lambda: print_tx(action, getattr(client(rpc_url, home, account), method)(job_id), json_out))

    command.__doc__ = doc
    return command


app.command("cancel")(_simple("job cancelled", "cancel_job", "Cancel an open job (customer); escrow credited back."))
app.command("accept")(_simple("job accepted", "accept_job", "Accept a delivery (customer): pays node, treasury, designer."))
app.command("settle")(_simple("job settled", "settle_job", "Settle a delivery after the review window (anyone)."))
app.command("reclaim")(_simple("job reclaimed", "reclaim_job", "Reclaim escrow after a missed delivery deadline (customer)."))


@app.command()
def claim(job_id: JobIdArg, node: Annotated[int, typer.Option("--node", help="your node id")],
          rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Claim an open job for one of your nodes, locking collateral from your stake."""
    run(lambda: print_tx("job claimed", client(rpc_url, home, account).claim_job(job_id, node), json_out))


@app.command()
def deliver(job_id: JobIdArg,
            proof: Annotated[str, typer.Option(help="proof file (print log, photo) or its CID")],
            rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Deliver a claimed job with proof of fabrication."""

    def body() -> None:
        cid = _cid_or_file(proof, settings(rpc_url, home, account))
        print_tx("job delivered", client(rpc_url, home, account).deliver_job(job_id, cid), json_out, {"proof_cid": cid})

    run(body)


@app.command()
def dispute(job_id: JobIdArg,
            reason: Annotated[str, typer.Option(help="file explaining the dispute (or its CID)")],
            rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Dispute a delivery during the review window, posting the bond."""

    def body() -> None:
        cid = _cid_or_file(reason, settings(rpc_url, home, account))
        print_tx("job disputed", client(rpc_url, home, account).dispute_job(job_id, cid), json_out, {"reason_cid": cid})

    run(body)


@app.command()
def resolve(job_id: JobIdArg,
            refund_bps: Annotated[int, typer.Option(help="share of the payment refunded to the customer (0-10000)")],
            slash_bps: Annotated[int, typer.Option(help="share of the node's collateral slashed (0-10000)")] = 0,
            rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Resolve a dispute (arbiter)."""
    run(lambda: print_tx("job resolved", client(rpc_url, home, account).resolve_job(job_id, refund_bps, slash_bps), json_out))


def _cid_or_file(value: str, s: Settings) -> str:
    path = Path(value)
    if path.is_file():
        return str(s.content_store().add(path))
    return str(Cid.parse(value))
