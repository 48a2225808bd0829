"""`fabrica job …`: post, follow and settle fabrication jobs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

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

if TYPE_CHECKING:  # web3 is imported when a command connects (common.client), not for `fabrica job --help`
    from ..client import Fabrica

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
        from ..chain_errors import make_error
        from ..errors import FabricaError

        if not amount:
            raise FabricaValueError("--amount is required (payment in token units, e.g. 25)")
        sources = [name for name, given in (("--file", files), ("--spec", spec), ("--spec-cid", spec_cid)) if given]
        if len(sources) != 1:
            raise FabricaValueError("give exactly one of --file (part files), --spec FILE or --spec-cid CID"
                                    + (f", not {' and '.join(sources)}" if sources else ""))
        claim_secs = _duration("--claim-within", claim_within)
        if claim_secs > MAX_CLAIM_SECONDS:
            raise FabricaValueError(f"--claim-within {claim_within}: nodes may be given at most 365 days to claim")
        window = _duration("--delivery-window", delivery_window)
        s = settings(rpc_url, home, account)
        fab = client(rpc_url, home, account)
        store = s.content_store()
        # Everything is checked before anything is stored or sent: a bad post must leave no trace.
        parts: list[tuple[Path, str]] = []
        if spec_cid is not None:
            cid, to_store = _stored_spec(spec_cid, store), b""
        elif spec is not None:
            cid, to_store = "", _read_spec(spec, store).to_json_bytes()
        else:
            job_spec = _spec_from_files(files or [], title, process, material, quantity)
            cid, to_store = "", job_spec.to_json_bytes()
            parts = [(f, sf.cid) for f, sf in zip(files or [], job_spec.files)]
        token_address = fab.deployment.token(token)
        if not fab.market.functions.isTokenAllowed(token_address).call():
            known = ", ".join(fab.deployment.payment_tokens) or "none in the manifest"
            raise make_error("JobMarket__TokenNotAllowed", (token_address,), f"--token: pay with one of: {known}")
        units = _units("--amount", amount, fab.token_decimals(token_address))
        collateral_units = _units("--collateral", collateral, 18)
        if design < 0:
            raise FabricaValueError(f"--design {design}: a design id is a positive number, or 0 for none")
        now = fab.now()
        post_args = dict(token=token_address, amount=units, claim_by=now + claim_secs, delivery_window=window,
                         collateral=collateral_units, design_id=design)
        fab.check_post(**post_args)
        for path, expected in parts:
            if str(store.add(path)) != expected:  # the spec names the CID computed while checking the file
                raise FabricaError(f"--file {path} changed while the job was being posted; post again")
        if to_store:
            cid = str(store.add(to_store))
        result = fab.post_job(spec_cid=cid, **post_args)
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
        records = fab.jobs(status=wanted, customer=_address("--customer", customer) if customer else None)
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


@app.command()
def dispute(job_id: JobIdArg,
            reason: Annotated[str, typer.Option(help="file explaining the dispute (or its CID)")],
            rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Dispute a delivery during the review window, posting the bond."""

    def body() -> None:
        fab = client(rpc_url, home, account)
        fab.job(job_id)  # an unknown job fails before the reason is stored
        cid = _cid_or_file("--reason", reason, settings(rpc_url, home, account), "a file explaining the dispute")
        print_tx("job disputed", fab.dispute_job(job_id, cid), json_out, {"reason_cid": cid})

    run(body)


@app.command()
def resolve(job_id: JobIdArg,
            refund_bps: Annotated[int, typer.Option(help="share of the payment refunded to the customer (0-10000)")],
            slash_bps: Annotated[int, typer.Option(help="share of the node's collateral slashed (0-10000)")] = 0,
            rpc_url: RpcOpt = None, home: HomeOpt = None, account: AccountOpt = None, json_out: JsonOpt = False) -> None:
    """Resolve a dispute (arbiter)."""
    run(lambda: print_tx("job resolved", client(rpc_url, home, account).resolve_job(job_id, refund_bps, slash_bps), json_out))


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


def _duration(flag: str, text: str) -> int:
    """A duration option in seconds; errors name the option."""
    try:
        return parse_duration(text)
    except FabricaValueError as exc:
        raise FabricaValueError(f"{flag}: {exc}") from None


def _units(flag: str, text: str, decimals: int) -> int:
    """A token amount option in base units; errors name the option."""
    try:
        return to_units(text, decimals)
    except FabricaValueError as exc:
        raise FabricaValueError(f"{flag}: {exc}") from None


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
