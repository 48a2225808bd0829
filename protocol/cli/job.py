"""`fabrica job …`: post, follow and settle fabrication jobs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..config import Settings
from ..errors import FabricaValueError
from ..storage.cid import Cid
from ..types import Job, JobRecord, JobSpec, JobStatus, SpecFile, format_units
from .dispute import open_ as dispute_open
from .inputs import NonceBook
from .inputs import check_out as _check_out
from .inputs import duration as _duration
from .inputs import units as _units
from .inputs import write_new as _write_new
from .dispute import rule as dispute_rule
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

if TYPE_CHECKING:  # web3 is imported when a command connects (common.client), not for `fabrica job --help`
    from ..client import Fabrica

app = typer.Typer(help="Fabrication jobs: post with escrow, claim, deliver, accept, dispute.", no_args_is_help=True)
JobIdArg = Annotated[int, typer.Argument(help="job id")]


def record_json(fab: Fabrica, r: JobRecord) -> dict:
    """A job as JSON, with amounts also in token units, times also as dates, the collateral's bounds and the
    dispute's live state."""
    from ..display import format_time

    decimals = fab.token_decimals(r.job.token)
    data = jsonable(r)
    data["amount_units"] = format_units(r.job.amount, decimals)
    data["target_node"] = r.job.target_node or None
    data["deadline_utc"] = format_time(r.job.deadline)
    data["collateral_fab"] = format_units(r.job.collateral, 18)
    low, high = fab.collateral_bounds(r.job.token, r.job.amount)
    data["collateral_bounds_fab"] = [format_units(low, 18), format_units(high, 18)]
    if r.claimed_at is not None:
        data["claimed_at_utc"] = format_time(r.claimed_at)
    if r.status == JobStatus.DISPUTED:  # the chain's own view of the dispute (events fold to the same)
        dispute = fab.dispute_of(r.job_id)
        data["dispute"] = {**jsonable(dispute), "deadline_utc": format_time(dispute.deadline)}
    return data


SpecFilesOpt = Annotated[list[Path] | None, typer.Option("--file", "-f", help="part file(s): STL, STEP, G-code…")]
SpecOpt = Annotated[Path | None, typer.Option(help="a JobSpec JSON file instead of --file/--title…")]
SpecCidOpt = Annotated[str | None, typer.Option(help="CID of a spec already in content storage")]
TitleOpt = Annotated[str, typer.Option(help="what to make")]
ProcessOpt = Annotated[str, typer.Option(help="FDM, SLA, SLS, CNC_MILL, LASER_CUT…")]
MaterialOpt = Annotated[str, typer.Option(help="PLA, PETG, ALUMINIUM_6061…")]
QuantityOpt = Annotated[int, typer.Option(min=1)]
AmountOpt = Annotated[str, typer.Option(help="payment in token units, e.g. 25.50")]
TokenOpt = Annotated[str, typer.Option(help="payment token symbol or address")]
WindowOpt = Annotated[str, typer.Option(help="time from claim to delivery (e.g. 3d)")]
CollateralOpt = Annotated[str | None, typer.Option(
    help="FAB the claiming node locks [default: the minimum the market allows for the amount]")]
DesignOpt = Annotated[str, typer.Option(help="the design it fabricates, by id or content CID: its owner earns a "
                                               "royalty, or a licence you hold is used (0: none)")]
TargetOpt = Annotated[int, typer.Option(help="the only node that may claim (0: any node)")]


@dataclass
class _Spec:
    """A job's spec, checked but not stored yet: its CID (once known), the bytes to store, part files to store."""

    cid: str
    to_store: bytes
    parts: list[tuple[Path, str]]

    def store(self, store) -> str:
        """Store the parts and the spec; the spec's CID."""
        from ..errors import FabricaError

        for path, expected in self.parts:
            if str(store.add(path)) != expected:  # the spec names the CID computed while checking the file
                raise FabricaError(f"--file {path} changed while the job was being prepared; try again")
        return str(store.add(self.to_store)) if self.to_store else self.cid


def _spec(files: list[Path] | None, spec: Path | None, spec_cid: str | None, title: str, process: str,
          material: str, quantity: int, store) -> _Spec:
    """The spec from exactly one of --file, --spec, --spec-cid, checked (nothing stored yet)."""
    sources = [name for name, given in (("--file", files), ("--spec", spec), ("--spec-cid", spec_cid)) if given]
    if len(sources) != 1:
        raise FabricaValueError("give exactly one of --file (part files), --spec FILE or --spec-cid CID"
                                + (f", not {' and '.join(sources)}" if sources else ""))
    if spec_cid is not None:
        return _Spec(_stored_spec(spec_cid, store), b"", [])
    if spec is not None:
        return _Spec("", _read_spec(spec, store).to_json_bytes(), [])
    job_spec = _spec_from_files(files or [], title, process, material, quantity)
    return _Spec("", job_spec.to_json_bytes(), [(f, sf.cid) for f, sf in zip(files or [], job_spec.files)])


def _terms(fab: Fabrica, token: str, amount: str, collateral: str | None, design: str,
           target_node: int) -> tuple[str, int, int | None, int]:
    """--token, --amount and --collateral in base units (collateral None: the minimum), and --design's id, checked
    for form."""
    from ..chain_errors import make_error
    from ..designs import parse_design

    if not amount:
        raise FabricaValueError("--amount is required (payment in token units, e.g. 25)")
    token_address = fab.deployment.token(token)
    if not fab.market.functions.isTokenAllowed(token_address).call():
        known = ", ".join(fab.deployment.payment_tokens) or "none in the manifest"
        raise make_error("JobMarket__TokenNotAllowed", (token_address,), f"--token: pay with one of: {known}")
    units = _units("--amount", amount, fab.token_decimals(token_address))
    collateral_units = _units("--collateral", collateral, 18) if collateral is not None else None
    try:
        design_id = parse_design(design, allow_none=True)
    except FabricaValueError as exc:
        raise FabricaValueError(f"--design: {exc}") from None
    if not 0 <= target_node < 1 << 64:
        raise FabricaValueError(f"--target-node {target_node}: a node id (see `fabrica node list`), or 0 for any node")
    return token_address, units, collateral_units, design_id


def _collateral_note(fab: Fabrica, token: str, amount: int, collateral: int) -> dict:
    """The collateral chosen and the bounds it was chosen from, in FAB."""
    low, high = fab.collateral_bounds(token, amount)
    return {"collateral": format_units(collateral, 18), "collateral_bounds": [format_units(low, 18),
                                                                              format_units(high, 18)]}


@app.command()
def post(
    files: SpecFilesOpt = None, spec: SpecOpt = None, spec_cid: SpecCidOpt = None, title: TitleOpt = "part",
    process: ProcessOpt = "FDM", material: MaterialOpt = "PLA", quantity: QuantityOpt = 1, amount: AmountOpt = "",
    token: TokenOpt = "fUSD",
    claim_within: Annotated[str, typer.Option(help="how long nodes may claim (e.g. 1d)")] = "1d",
    delivery_window: WindowOpt = "3d", collateral: CollateralOpt = None, design: DesignOpt = "0",
    target_node: TargetOpt = 0,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Post a job: store its spec by CID and escrow the payment (a finished job's slot is reused)."""

    def body() -> None:
        if not amount:
            raise FabricaValueError("--amount is required (payment in token units, e.g. 25)")
        claim_secs = _duration("--claim-within", claim_within)
        if claim_secs > MAX_CLAIM_SECONDS:
            raise FabricaValueError(f"--claim-within {claim_within}: nodes may be given at most 365 days to claim")
        window = _duration("--delivery-window", delivery_window)
        s = settings(rpc_url, home, account)
        fab = client(rpc_url, home, account)
        store = s.content_store()
        # Everything is checked before anything is stored or sent: a bad post must leave no trace.
        job_spec = _spec(files, spec, spec_cid, title, process, material, quantity, store)
        token_address, units, collateral_units, design_id = _terms(fab, token, amount, collateral, design,
                                                                   target_node)
        post_args = dict(token=token_address, amount=units, claim_by=fab.now() + claim_secs, delivery_window=window,
                         collateral=collateral_units, design_id=design_id, target_node=target_node)
        post_args["collateral"] = fab.check_post(**post_args)
        cid = job_spec.store(store)
        result = fab.post_job(spec_cid=cid, **post_args)
        extra = {"job_id": result.value, "spec_cid": cid, "key": Job.from_event(result.event("JobPosted").args["job"]).key,
                 **_collateral_note(fab, token_address, units, post_args["collateral"])}
        print_tx("job posted", result, json_out, extra)
        if not json_out:
            bounds = extra["collateral_bounds"]
            console.print(f"    collateral {extra['collateral']} FAB (the market allows {bounds[0]}–{bounds[1]} FAB "
                          f"for this amount; --collateral sets it)")

    run(body)


@app.command()
def order(
    out: Annotated[Path, typer.Option("--out", "-o", help="where to write the order (JSON)")],
    files: SpecFilesOpt = None, spec: SpecOpt = None, spec_cid: SpecCidOpt = None, title: TitleOpt = "part",
    process: ProcessOpt = "FDM", material: MaterialOpt = "PLA", quantity: QuantityOpt = 1, amount: AmountOpt = "",
    token: TokenOpt = "fUSD",
    expiry: Annotated[str, typer.Option(help="how long shops may take the order (e.g. 1d)")] = "1d",
    delivery_window: WindowOpt = "3d", collateral: CollateralOpt = None, design: DesignOpt = "0",
    target_node: TargetOpt = 0,
    sign: Annotated[bool, typer.Option("--sign", help="sign it now with --account's key")] = False,
    permit: Annotated[bool, typer.Option("--permit", help="with --sign: also sign an ERC-2612 permit for the "
                                                          "payment, so the shop needs no prior approval")] = False,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Write a signed-order file: a shop takes it (`job take`) and claims in one transaction; nothing is sent now."""

    def body() -> None:
        from ..display import format_time
        from ..orders import OrderFile

        if permit and not sign:
            raise FabricaValueError("--permit needs --sign: the permit is signed with the same local key")
        expiry_secs = _duration("--expiry", expiry)
        if expiry_secs > MAX_CLAIM_SECONDS:
            raise FabricaValueError(f"--expiry {expiry}: an order can be open for at most 365 days")
        window = _duration("--delivery-window", delivery_window)
        _check_out(out)
        s = settings(rpc_url, home, account)
        fab = client(rpc_url, home, account)
        store = s.content_store()
        job_spec = _spec(files, spec, spec_cid, title, process, material, quantity, store)
        token_address, units, collateral_units, design_id = _terms(fab, token, amount, collateral, design,
                                                                   target_node)
        # The spec CID is needed to build the order: compute it without storing, store only once all is checked.
        cid = job_spec.cid or str(_compute_cid(job_spec.to_store))
        nonces = NonceBook(s.home, fab.deployment.chain_id, fab.market.address, fab.address)
        built = fab.build_order(token_address, units, cid, delivery_window=window, expiry=fab.now() + expiry_secs,
                                collateral=collateral_units, design_id=design_id, target_node=target_node,
                                nonce=fab.next_order_nonce(at_least=nonces.next()))
        signature = fab.sign_order(built) if sign else None
        signed_permit = fab.sign_permit(token_address, units, built.expiry) if permit else None
        file = OrderFile.create(built, fab.deployment.chain_id, fab.market.address, signature, signed_permit)
        if job_spec.store(store) != cid:
            raise FabricaValueError("the spec's CID changed while the order was written; try again")
        _write_new(out, file.to_json())
        nonces.used(built.nonce)
        data = {"action": "order written", "out": str(out), "nonce": built.nonce, "digest": file.digest,
                "signed": signature is not None, "permit": signed_permit is not None, "spec_cid": cid,
                "expiry_utc": format_time(built.expiry), **_collateral_note(fab, token_address, units,
                                                                           built.collateral)}
        if json_out:
            print(json.dumps(data))
            return
        console.print(f"[green]✓[/green] order {built.nonce} written to {out} (valid until {data['expiry_utc']}, "
                      f"collateral {data['collateral']} FAB, digest {file.digest})")
        if signature is None:
            console.print("    sign it: rerun with --sign (this account's key), or sign the file's typedData with "
                          "eth_signTypedData_v4 in a wallet and hand the shop the signature")
        console.print(f"    a shop takes it with `fabrica job take {out} --node N"
                      f"{'' if signature else ' --signature 0x…'}`; cancel it with `fabrica job cancel-order "
                      f"{built.nonce}`")
        if not signed_permit:
            console.print("    the payment comes from your market deposit, then your wallet through an approval of "
                          "the market: `fabrica account deposit` it first, or order with --sign --permit")

    run(body)


@app.command()
def take(
    order_file: Annotated[Path, typer.Argument(help="the order file `fabrica job order` wrote")],
    node: Annotated[int, typer.Option("--node", help="your node id")],
    signature: Annotated[str | None, typer.Option(help="the customer's signature (0x…) [default: the file's]")] = None,
    rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False,
) -> None:
    """Take a signed order for one of your nodes: the job is created claimed, its collateral locked."""

    def body() -> None:
        from ..orders import OrderFile

        if node <= 0:
            raise FabricaValueError(f"--node {node}: node ids start at 1; see `fabrica node list`")
        file = OrderFile.read(order_file)
        given = signature if signature is not None else file.signature
        if given is None:
            raise FabricaValueError(f"order file {order_file} is not signed: pass the customer's --signature 0x…, "
                                    "or have the customer write it with `fabrica job order --sign`")
        fab = client(rpc_url, home, account)
        if (file.chain_id, file.market) != (fab.deployment.chain_id, fab.market.address):
            raise FabricaValueError(f"order file {order_file} is for market {file.market} on chain {file.chain_id}, "
                                    f"not this market {fab.market.address} on chain {fab.deployment.chain_id}")
        result = fab.take_order(file.order, given, node, permit=file.permit)
        print_tx("order taken", result, json_out, {"job_id": result.value, "nonce": file.order.nonce})

    run(body)


@app.command("cancel-order")
def cancel_order(nonce: Annotated[int, typer.Argument(help="the order's nonce (in its file)")],
                 rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
                 json_out: JsonOpt = False) -> None:
    """Cancel your signed orders with this nonce (customer)."""
    run(lambda: print_tx("order cancelled", client(rpc_url, home, account).cancel_order(nonce), json_out,
                         {"nonce": nonce}))


@app.command("cancel-all-orders")
def cancel_all_orders(rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
                      json_out: JsonOpt = False) -> None:
    """Invalidate every order you signed so far (customer): raises your order counter."""
    run(lambda: print_tx("all orders cancelled", client(rpc_url, home, account).increment_order_counter(), json_out))


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
        records = fab.jobs(status=wanted, customer=_address("--customer", customer) if customer else None)
        if json_out:
            print(json.dumps([jsonable(r) | {"amount_units": format_units(r.job.amount, fab.token_decimals(r.job.token))}
                              for r in records]))
            return
        table = Table("id", "status", "amount", "customer", "node", "spec")
        for r in records:
            table.add_row(str(r.job_id), r.status.name.lower(), format_units(r.job.amount, fab.token_decimals(r.job.token)),
                          r.job.customer[:10] + "…", (r.job.node[:10] + "…") if int(r.job.node, 16) else "-", r.spec_cid)
        console.print(table)

    run(body)


@app.command()
def show(job_id: JobIdArg, rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Show one job: status, deadlines (dates), parties, amounts, collateral and its bounds, target node, dispute."""

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
app.command("expire")(_simple("job expired", "expire_job", "End a job past its deadline (anyone): refund; a missed "
                              "delivery also slashes collateral and compensates the customer in FAB."))
app.command("hand-back")(_simple("job handed back", "hand_back_job", "Give a claimed job back (its node): free "
                                 "within the hand-back window, else a share of the collateral is slashed."))
app.command("appeal")(_simple("ruling appealed", "appeal_job", "Appeal the ruling to the appeal court, the DAO "
                              "(customer or node), posting the job's bond (= `fabrica dispute appeal`)."))
app.command("finalize")(_simple("dispute finalized", "finalize_dispute", "Move a dispute past its deadline (anyone): "
                                "a silent arbiter's to the default ruling (appealable), a ruling to its payout."))


@app.command()
def claim(job_id: JobIdArg, node: Annotated[int, typer.Option("--node", help="your node id")],
          rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Claim an open job for one of your nodes, locking collateral from your stake."""

    def body() -> None:
        if node <= 0:
            raise FabricaValueError(f"--node {node}: node ids start at 1; see `fabrica node list`")
        print_tx("job claimed", client(rpc_url, home, account).claim_job(job_id, node), json_out)

    run(body)


@app.command()
def deliver(job_id: JobIdArg,
            proof: Annotated[str, typer.Option(help="proof file (print log, photo) or its CID")],
            rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Deliver a claimed job with proof of fabrication."""

    def body() -> None:
        fab = client(rpc_url, home, account)
        fab.job(job_id)  # an unknown job fails before the proof is stored
        cid = _cid_or_file("--proof", proof, settings(rpc_url, home, account), "a print log, photo or other proof")
        print_tx("job delivered", fab.deliver_job(job_id, cid), json_out, {"proof_cid": cid})

    run(body)


# The same commands as `fabrica dispute open` and `fabrica dispute rule`, kept here for the job lifecycle's users.
app.command("dispute")(dispute_open)
app.command("rule")(dispute_rule)


@app.command("verify-proof")
def verify_proof(job_id: JobIdArg,
                 dispute_failed: Annotated[bool, typer.Option("--dispute", help="dispute the job (customer) with "
                                                                                "the report when a check fails")] = False,
                 rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
                 json_out: JsonOpt = False) -> None:
    """Check a delivered job's proof against its spec; exit 1 when a check fails."""

    def body() -> None:
        from ..errors import FabricaError

        try:
            from .. import proof
        except ImportError as exc:
            raise FabricaError(f"proof verification is not available in this installation ({exc})") from None
        s = settings(rpc_url, home, account)
        fab = client(rpc_url, home, account, need_account=dispute_failed)
        store = s.content_store()
        report = proof.verify_proof(fab, store, job_id)
        tx = proof.dispute_if_failed(fab, store, report) if dispute_failed else None
        data = report.to_json()
        data = json.loads(data) if isinstance(data, str) else data
        if tx is not None:
            from .common import tx_json

            data["dispute"] = tx_json(tx)
        if json_out:
            print(json.dumps(data))
        else:
            for check in report.checks:
                mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
                console.print(f"{mark} {check.name}: {check.detail}")
            verdict = "[green]proof ok[/green]" if report.ok else "[red]proof failed[/red]"
            console.print(f"{verdict} (job {job_id}, proof {report.proof_cid})")
            if tx is not None:
                console.print(f"    disputed with the report: tx {tx.tx_hash}")
        if not report.ok:
            raise typer.Exit(1)

    run(body)


@app.command()
def watch(dispute_failed: Annotated[bool, typer.Option("--dispute", help="dispute every delivery whose proof "
                                                                       "fails, with the report as the reason")] = False,
          interval: Annotated[float, typer.Option("--interval", min=0.1, help="seconds between looks")] = 30.0,
          once: Annotated[bool, typer.Option("--once", help="look once and exit")] = False,
          rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None,
          json_out: JsonOpt = False) -> None:
    """Verify every delivery to the account as it arrives (and with --dispute, dispute the ones that fail)."""

    def body() -> None:
        import time

        from .. import proof

        s = settings(rpc_url, home, account)
        fab = client(rpc_url, home, account)
        store = s.content_store()
        seen: set[int] = set()
        while True:
            for report, tx in proof.check_deliveries(fab, store, dispute=dispute_failed, seen=seen):
                if json_out:
                    data = json.loads(report.to_json())
                    if tx is not None:
                        from .common import tx_json

                        data["dispute"] = tx_json(tx)
                    print(json.dumps(data), flush=True)
                    continue
                verdict = "[green]proof ok[/green]" if report.ok else "[red]proof failed[/red]: " + "; ".join(
                    f"{c.name}: {c.detail}" for c in report.failed())
                console.print(f"job {report.job_id}: {verdict}")
                if tx is not None:
                    console.print(f"    disputed with the report: tx {tx.tx_hash}")
            if once:
                return
            time.sleep(interval)

    run(body)


def _compute_cid(data: bytes):
    from ..storage.unixfs import compute_cid

    return compute_cid(data)


MAX_CLAIM_SECONDS = 365 * 86400  # JobMarket.MAX_CLAIM_PERIOD


def _address(flag: str, value: str) -> str:
    """An account option as an address: 0x… itself, or a dev role or index (a filter must not match nothing)."""
    import re

    from ..accounts import DEV_ROLES, dev_account

    text = value.strip()
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        return text
    if text in DEV_ROLES:
        return dev_account(DEV_ROLES[text]).address
    if text.isdigit() and int(text) < 20:
        return dev_account(int(text)).address
    raise FabricaValueError(f"{flag} {value!r}: pass an address (0x and 40 hex digits) or a dev role "
                            f"({', '.join(DEV_ROLES)})")


def _validation_message(exc: Exception, source: str) -> str:
    """A pydantic ValidationError as one line: where, which field and which rule."""
    errors = exc.errors()  # type: ignore[attr-defined]
    first = errors[0]
    field = ".".join(str(p) for p in first.get("loc", ()))
    rule = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{source}: field {field}: {rule}{more}" if field else f"{source}: {rule}{more}"


def _flag(kind: type, flag: str, value: str):
    """One process kind or material by name, or an error listing the allowed names."""
    from ..types import parse_flags

    try:
        parsed = parse_flags(kind, value)
    except FabricaValueError as exc:
        raise FabricaValueError(f"{flag}: {exc}") from None
    if int(parsed) == 0 or int(parsed) & (int(parsed) - 1):
        known = ", ".join(m.name for m in kind)
        raise FabricaValueError(f"{flag} {value!r}: a job names exactly one; one of: {known}")
    return parsed


def _spec_from_files(files: list[Path], title: str, process: str, material: str, quantity: int) -> JobSpec:
    """A JobSpec for part files, each checked to be a readable part of its format."""
    from pydantic import ValidationError

    from ..parts import PartFileError, check_part
    from ..storage.unixfs import compute_cid
    from ..types import Material, ProcessKind

    kind = _flag(ProcessKind, "--process", process)
    stock = _flag(Material, "--material", material)
    spec_files = []
    for f in files:
        try:
            info = check_part(f)
        except PartFileError as exc:
            raise PartFileError(f"--file {exc}") from None
        try:
            spec_files.append(SpecFile(cid=str(compute_cid(f)), name=f.name, size=f.stat().st_size, role=info.role))
        except ValidationError as exc:
            raise FabricaValueError(_validation_message(exc, f"--file {f}")) from None
    try:
        spec = JobSpec(title=title, process=kind, material=stock, quantity=quantity, files=spec_files)
    except ValidationError as exc:
        raise FabricaValueError(_validation_message(exc, "job spec").replace("field title", "--title")
                                .replace("field quantity", "--quantity")) from None
    return spec


def _read_spec(path: Path, store) -> JobSpec:
    """A JobSpec JSON file, validated, whose files are all in the content store."""
    from pydantic import ValidationError

    if not path.is_file():
        raise FabricaValueError(f"--spec {path}: file not found; pass a JobSpec JSON file")
    try:
        spec = JobSpec.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise FabricaValueError(_validation_message(exc, f"--spec {path}")) from None
    except FabricaValueError as exc:  # the spec's own cross-field rules
        raise FabricaValueError(f"--spec {path}: {exc}") from None
    _check_files_stored(spec, store, f"--spec {path}")
    return spec


def _stored_spec(value: str, store) -> str:
    """The CID of a JobSpec already in the content store; errors say what is missing or wrong."""
    from pydantic import ValidationError

    from ..errors import FabricaLookupError
    from ..storage.errors import InvalidCidError

    try:
        cid = Cid.parse(value.strip())
    except InvalidCidError as exc:
        raise FabricaValueError(f"--spec-cid {value!r}: {exc}") from None
    if not store.has(cid):
        raise FabricaLookupError(f"--spec-cid {cid}: no such content in {_where(store)}; store the spec first "
                                 "(`fabrica content add spec.json`) or post with --spec FILE or --file PART")
    try:
        spec = JobSpec.from_json_bytes(store.get(cid))
    except ValidationError as exc:
        raise FabricaValueError(_validation_message(exc, f"--spec-cid {cid} is not a JobSpec")) from None
    except FabricaValueError as exc:
        raise FabricaValueError(f"--spec-cid {cid} is not a valid JobSpec: {exc}") from None
    _check_files_stored(spec, store, f"--spec-cid {cid}")
    return str(cid)


def _check_files_stored(spec: JobSpec, store, source: str) -> None:
    from ..errors import FabricaLookupError

    for f in spec.files:
        if not store.has(f.cid):
            raise FabricaLookupError(f"{source}: its file {f.name!r} ({f.cid}) is not in {_where(store)}; add it first "
                                     "with `fabrica content add FILE`")


def _where(store) -> str:
    root = getattr(store, "root", None)
    return f"the local content store at {root}" if root is not None else f"the content store {store!r}"


def _cid_or_file(flag: str, value: str, s: Settings, what: str) -> str:
    """An existing file (stored now) or the CID of content already stored; errors say which was expected."""
    from ..errors import FabricaLookupError
    from ..storage.errors import InvalidCidError

    path = Path(value)
    store = s.content_store()
    if path.is_file():
        if path.stat().st_size == 0:
            raise FabricaValueError(f"{flag} {value!r}: the file is empty; pass {what}")
        return str(store.add(path))
    if path.exists():
        raise FabricaValueError(f"{flag} {value!r}: not a regular file; pass {what} or its CID")
    try:
        cid = Cid.parse(value.strip())
    except InvalidCidError:
        raise FabricaValueError(f"{flag} {value!r}: file not found (and not a CID either); pass an existing file "
                                f"({what}) or the CID of one already stored") from None
    if not store.has(cid):
        raise FabricaLookupError(f"{flag} {cid}: no such content in {_where(store)}; pass the file itself, "
                                 "or add it first with `fabrica content add FILE`")
    return str(cid)
