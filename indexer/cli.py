"""`fabrica indexer run|sync|verify|status|jobs|job|disputes|stakes|proposals|proposal|designs|design|sales|
bounties|bounty`: follow the chain into SQL, catch up once, check the index, or read it (the DAO's commands live in
`cli_dao`, the design economy's in `cli_design`).

Registered through the `fabrica.cli` entry-point group (fabrica.protocol never imports the indexer).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from fabrica.protocol.config import load_settings
from fabrica.protocol.errors import FabricaConnectionError, FabricaError

if TYPE_CHECKING:  # SQLAlchemy, web3 and the sync engine load when a command runs, not for `fabrica --help`
    from fabrica.protocol.deployment import Deployment

    from .read import DisputeView, JobView, ReadModel
    from .sync import Indexer, Metrics

T = TypeVar("T")
app = typer.Typer(help="Mirror Fabrica contract events into SQL (reorg-safe).", no_args_is_help=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="database URL [env FABRICA_INDEXER_DB, default sqlite:///<home>/index.db]")]
RpcOpt = Annotated[str | None, typer.Option("--rpc", "--rpc-url", help="JSON-RPC URL [env FABRICA_RPC_URL]")]
HomeOpt = Annotated[str | None, typer.Option("--home", help="state directory with deployments/ [env FABRICA_HOME]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
ConfOpt = Annotated[int, typer.Option("--confirmations", min=0, help="blocks below head fetched with ranged getLogs")]
DepthOpt = Annotated[int, typer.Option("--max-reorg-depth", min=1, help="deepest fork followed; deeper halts")]


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def _db(db: str | None, home: str | None = None, *, create: bool = True) -> str:
    """The database URL: --db, then FABRICA_INDEXER_DB, then a SQLite file in the Fabrica home.

    Writers (`create`) make a SQLite file's folder; readers refuse a file that is not there rather than
    leave an empty database behind.
    """
    from .errors import DatabaseError

    url = _db_url(db, home)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = url[len("sqlite:///"):].split("?", 1)[0]
        if not create:
            if not path or not os.path.isfile(path):
                raise DatabaseError(f"no index at {path or url}: run `fabrica indexer sync --db {url}` first")
            _check_sqlite_index(path, url)
        elif path and os.path.dirname(path):
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder for {path}: {exc.strerror or exc}") from None
    return url


def _check_sqlite_index(path: str, url: str) -> None:
    """Before a reader opens a SQLite file: it must be SQLite and hold the index, found without writing to it.

    (The engine turns on WAL, which would rewrite somebody else's database; with a -wal file beside it a writer
    is at work and the engine reads it as usual.)
    """
    import sqlite3
    from urllib.parse import quote

    from .errors import DatabaseError

    with open(path, "rb") as f:
        header = f.read(16)
    if header and header != b"SQLite format 3\x00":
        raise DatabaseError(f"{path} is not a SQLite database: give the index's file in --db")
    if os.path.exists(f"{path}-wal"):
        return
    try:
        con = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?immutable=1", uri=True)
        try:
            found = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoint'").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read {path}: {exc}") from None
    if found is None:
        raise DatabaseError(f"{path} holds no index yet: run `fabrica indexer sync --db {url}` first")


def _db_url(db: str | None, home: str | None) -> str:
    """The database URL, checked: a malformed URL or an unsupported backend is one clear line, before any I/O."""
    from .db import normalize_url
    from .errors import DatabaseError

    if db is not None and not db.strip():  # an empty --db must not quietly mean the default database
        raise DatabaseError("--db is empty: give sqlite:///PATH or postgresql://USER@HOST:PORT/DB, or leave it out")
    url = db or os.environ.get("FABRICA_INDEXER_DB") or f"sqlite:///{load_settings(home=home).home / 'index.db'}"
    normalize_url(url)
    return url


def _db_failures() -> tuple[type[BaseException], ...]:
    """The database driver's errors (refused connection, missing table…), told as one line by `_fail_db`."""
    import sqlalchemy.exc

    return (sqlalchemy.exc.DBAPIError,)


def _fail_db(db: str | None, home: str | None, exc: Exception) -> None:
    from .db import describe_db_error

    _fail(describe_db_error(db or os.environ.get("FABRICA_INDEXER_DB") or "the index database", exc))


def _deployment(rpc_url: str | None, home: str | None) -> tuple[str, Deployment]:
    if rpc_url is not None and not rpc_url.strip():  # not the default node: the user meant some node
        raise FabricaError("--rpc is empty: give the JSON-RPC URL of an Ethereum node, e.g. http://127.0.0.1:8545")
    s = load_settings(rpc_url=rpc_url, home=home)
    from fabrica.protocol.deployment import Deployment
    from web3 import Web3

    try:
        chain_id = Web3(Web3.HTTPProvider(s.rpc_url, request_kwargs={"timeout": 10})).eth.chain_id
    except Exception as exc:
        raise FabricaConnectionError(f"cannot reach an Ethereum node at {s.rpc_url} ({exc.__class__.__name__})") from None
    return s.rpc_url, Deployment.load(s.deployments_dir, chain_id)


class _Progress:
    """A one-line progress report on stderr, at most every `every` seconds."""

    def __init__(self, quiet: bool, every: float = 1.0) -> None:
        self.quiet = quiet
        self.every = every
        self.last = 0.0
        self.started = time.monotonic()

    def __call__(self, m: Metrics, force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not force and now - self.last < self.every):
            return
        self.last = now
        rate = m.events_written / max(now - self.started, 1e-9)
        print(f"block {m.tip:,}/{m.head:,}  lag {m.head_lag_blocks} blocks ({m.head_lag_seconds:.0f}s)  "
              f"events {m.events_written:,} ({rate:,.0f}/s)  rows {m.rows_written:,}  reorgs {m.reorgs}",
              file=sys.stderr, flush=True)


def _open(db: str | None, rpc_url: str | None, home: str | None, confirmations: int, depth: int,
          progress: _Progress | None) -> Indexer:
    from .sync import Indexer, IndexerConfig

    _db_url(db, home)  # a bad --db fails before the chain is asked anything
    rpc, deployment = _deployment(rpc_url, home)
    cfg = IndexerConfig(confirmations=confirmations, max_reorg_depth=depth)
    return Indexer(_db(db, home), rpc, deployment, cfg, progress=progress)


@app.command("sync")
def sync_cmd(db: DbOpt = None, rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
             confirmations: ConfOpt = 12, max_reorg_depth: DepthOpt = 64) -> None:
    """Catch up to the chain head and exit."""
    progress = _Progress(quiet=json_out)
    try:
        with _open(db, rpc_url, home, confirmations, max_reorg_depth, progress) as ix:
            m = ix.sync()
    except FabricaError as exc:
        _fail(exc)
    except _db_failures() as exc:
        _fail_db(db, home, exc)
    if json_out:
        print(json.dumps(m.as_dict()))
    else:
        progress(m, force=True)
        typer.echo(f"synced to block {m.tip}: {m.events_written} events, {m.rows_written} rows written")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> None:
    """Stop like Ctrl-C on SIGTERM too (service managers send it; a background job may ignore SIGINT)."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


@app.command("run")
def run_cmd(db: DbOpt = None, rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
            confirmations: ConfOpt = 12, max_reorg_depth: DepthOpt = 64,
            poll: Annotated[float, typer.Option("--poll", help="seconds between head polls")] = 1.0) -> None:
    """Follow the chain head until interrupted (Ctrl-C or SIGTERM); prints metrics as it goes."""
    progress = _Progress(quiet=json_out, every=5.0)
    if not 0 < poll < float("inf"):
        _fail(FabricaError(f"--poll must be a positive number of seconds, got {poll}"))
    _stop_on_sigterm()
    try:
        with _open(db, rpc_url, home, confirmations, max_reorg_depth, progress) as ix:
            ix.config.poll_interval = poll
            if json_out:
                ix.notifier.subscribe(lambda n: print(json.dumps({"notification": n.as_dict(),
                                                                  "metrics": ix.metrics.as_dict()}), flush=True))
            try:
                ix.run()
            except KeyboardInterrupt:
                pass
    except FabricaError as exc:
        _fail(exc)
    except _db_failures() as exc:
        _fail_db(db, home, exc)


@app.command("verify")
def verify_cmd(db: DbOpt = None, rpc_url: RpcOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Re-derive the read model from the chain into a scratch database; report every differing row."""
    from .db import make_engine
    from .read import ReadModel
    from .verify import verify

    try:
        engine = make_engine(_db(db, home, create=False))
        try:
            status = _status(engine, ReadModel)  # the database first: no index needs no node
            if status is None:
                raise FabricaError("the database holds no index yet: run `fabrica indexer sync` first")
            rpc, deployment = _deployment(rpc_url, home)
            diffs = verify(engine, rpc, deployment, until=status.block_number)
        finally:
            engine.dispose()
    except FabricaError as exc:
        _fail(exc)
    except _db_failures() as exc:
        _fail_db(db, home, exc)
    if json_out:
        print(json.dumps({"block": status.block_number, "differences": [
            {"table": d.table, "kind": d.kind, "row": list(d.row)} for d in diffs]}, default=str))
    else:
        for d in diffs:
            typer.echo(str(d))
        typer.echo(f"{len(diffs)} difference(s) up to block {status.block_number}")
    if diffs:
        raise typer.Exit(1)


@app.command("status")
def status_cmd(db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Where the index stands: checkpoint block, reorgs seen, rows written."""
    from .db import make_engine
    from .read import ReadModel

    try:
        engine = make_engine(_db(db, home, create=False))
        try:
            status = _status(engine, ReadModel)
        finally:
            engine.dispose()
    except FabricaError as exc:
        _fail(exc)
    except _db_failures() as exc:
        _fail_db(db, home, exc)
    if status is None:
        _fail(FabricaError("the database holds no index yet: run `fabrica indexer sync` first"))
    if json_out:
        print(json.dumps(status.__dict__))
    else:
        typer.echo(f"chain {status.chain_id} block {status.block_number} ({status.block_hash})  "
                   f"reorgs {status.reorgs}  rows {status.rows_written}")


def _status(engine: object, read_model: type) -> object:
    """The checkpoint, or None for a database without the indexer's tables (reads never migrate)."""
    import sqlalchemy as sa

    if not sa.inspect(engine).has_table("checkpoint"):
        return None
    return read_model(engine).status()


# ---------------------------------------------------------------------------------------------- read commands
StatusOpt = Annotated[str | None, typer.Option(
    "--status", help="open, claimed, delivered, disputed, settled, resolved, cancelled or expired")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="at most this many rows")]
ZERO = "0x" + "00" * 20


def _read(db: str | None, home: str | None, query: Callable[[ReadModel], T]) -> T:
    """`query` run on the read model of an existing index (never created nor migrated by a reader); any refusal is
    one line and exit 1."""
    from .db import make_engine
    from .read import ReadModel

    try:
        engine = make_engine(_db(db, home, create=False))
        try:
            if _status(engine, ReadModel) is None:
                raise FabricaError("the database holds no index yet: run `fabrica indexer sync` first")
            return query(ReadModel(engine))
        finally:
            engine.dispose()
    except FabricaError as exc:
        _fail(exc)
    except _db_failures() as exc:
        _fail_db(db, home, exc)
    raise AssertionError("unreachable: _fail exits")


def _print_json(value: object) -> None:
    import dataclasses

    def plain(v: object) -> object:
        return dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v

    print(json.dumps([plain(v) for v in value] if isinstance(value, list) else plain(value), default=str))


class _Units:
    """Amounts in token units, from the token metadata the indexer read (base units and the address otherwise)."""

    def __init__(self, read: ReadModel) -> None:
        self.tokens = read.tokens()

    def __call__(self, value: int | None, token: str) -> str:
        from fabrica.protocol.display import format_amount

        if value is None:
            return "-"
        if token in self.tokens:
            symbol, decimals = self.tokens[token]
            return format_amount(value, decimals, symbol)
        return f"{value} base units of {token}"


def _fab(value: int) -> str:
    from fabrica.protocol.display import format_fab

    return format_fab(value)


def _when(ts: int | None) -> str:
    from fabrica.protocol.display import format_time

    return "-" if not ts else format_time(ts)


def _pct(bps: int | None) -> str:
    return "-" if bps is None else f"{bps / 100:g} %"


def _job_line(j: JobView, units: _Units) -> str:
    target = f"node {j.target_node} only" if j.target_node else "any node"
    node = f"node {j.node_id}" if j.node_id is not None else target
    return (f"job {j.job_id}  {j.status:<9}  {units(j.amount, j.token)}  collateral {_fab(j.collateral)}  {node}  "
            f"slot {j.key}  deadline {_when(j.deadline)}")


def _dispute_line(d: DisputeView) -> str:
    if d.stage == "resolved":
        by = "the default ruling" if d.resolved_by == ZERO else d.resolved_by
        return (f"dispute of job {d.job_id}: resolved by {by}: {_pct(d.final_refund_bps)} refund, "
                f"{_pct(d.final_slash_bps)} slash")
    if d.stage == "awaiting_arbiter":
        ruling = "no ruling yet"
    elif d.arbiter == ZERO:  # the market forgets a silent arbiter when the default ruling applies
        ruling = f"default ruling (the arbiter was silent) {_pct(d.refund_bps)} refund, {_pct(d.slash_bps)} slash"
    else:
        ruling = f"arbiter ruled {_pct(d.refund_bps)} refund, {_pct(d.slash_bps)} slash"
    if d.stage == "appealed":
        ruling += f"; appealed by {d.appellant}"
    return f"dispute of job {d.job_id}: {d.stage}  judge {d.judge}  deadline {_when(d.deadline)}  {ruling}"


@app.command("jobs")
def jobs_cmd(db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False, status: StatusOpt = None,
             customer: Annotated[str | None, typer.Option("--customer", help="only this customer's jobs")] = None,
             node: Annotated[str | None, typer.Option("--node", help="only jobs claimed by this operator")] = None,
             limit: LimitOpt = 100) -> None:
    """Jobs from the index, newest first."""
    found, units = _read(db, home, lambda read: (
        read.jobs(status=status, customer=customer, node=node, limit=limit), _Units(read)))
    if json_out:
        _print_json(found)
        return
    for j in found:
        typer.echo(_job_line(j, units))
    typer.echo(f"{len(found)} job(s)")


@app.command("job")
def job_cmd(job_id: Annotated[int, typer.Argument(min=1, help="the job id")], db: DbOpt = None,
            home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """One job from the index: its current struct, slot, deadlines, payouts, dispute and history."""
    def query(read: ReadModel) -> tuple[JobView, list[int], _Units]:
        view = read.job(job_id)
        return view, [j.job_id for j in read.slot_jobs(view.key) if j.job_id != job_id], _Units(read)

    v, others, u = _read(db, home, query)
    if json_out:
        _print_json(v)
        return
    typer.echo(_job_line(v, u))
    typer.echo(f"  customer {v.customer}  token {v.token}")
    if others:
        holder = max([v.job_id, *others])
        typer.echo(f"  slot {v.key} recycled: jobs {', '.join(map(str, sorted([v.job_id, *others])))} used it; "
                   f"job {holder} holds it now")
    royalty = f"royalty {u(v.royalty, v.token)} to {v.royalty_receiver}" if v.royalty else "no royalty"
    typer.echo(f"  {royalty}  fee {_pct(v.fee_bps)} ({u(v.expected_fee, v.token)})  dispute bond {u(v.bond, v.token)}")
    typer.echo(f"  claim by {_when(v.claim_by)}  claimed {_when(v.claimed_at)}  deliver by {_when(v.deliver_by)}  "
               f"review until {_when(v.review_until)}  hand-backs {v.hand_backs}")
    typer.echo(f"  spec {v.spec_cid}  design {v.design_id or '-'}  proof {v.proof_cid or '-'}  "
               f"reason {v.reason_cid or '-'}" + (f"  order {v.order_hash}" if v.order_hash else ""))
    paid = [f"{who} {u(amount, v.token)}" for who, amount in (("node", v.node_payout), ("fee", v.fee),
                                                               ("royalty", v.royalty_paid), ("refund", v.refund))
            if amount is not None]
    if paid:
        typer.echo("  paid: " + "  ".join(paid))
    if v.slashed:
        typer.echo(f"  slashed {_fab(v.slashed)}, of which {_fab(v.compensation)} went to the customer")
    if v.dispute is not None:
        typer.echo("  " + _dispute_line(v.dispute))
    for h in v.history:
        typer.echo(f"  block {h.block_number}  {h.event:<16} -> {h.status:<9}  tx {h.tx_hash}")


@app.command("disputes")
def disputes_cmd(db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
                 stage: Annotated[str | None, typer.Option(
                     "--stage", help="awaiting_arbiter, ruled, appealed or resolved")] = None,
                 judge: Annotated[str | None, typer.Option("--judge", help="only disputes this address rules now")] = None,
                 limit: LimitOpt = 100) -> None:
    """Disputes from the index: stage, judge, deadline, rulings, appeals."""
    found = _read(db, home, lambda read: read.disputes(stage=stage, judge=judge, limit=limit))
    if json_out:
        _print_json(found)
        return
    for d in found:
        typer.echo(_dispute_line(d))
    typer.echo(f"{len(found)} dispute(s)")


@app.command("stakes")
def stakes_cmd(db: DbOpt = None, home: HomeOpt = None, json_out: JsonOpt = False,
               operator: Annotated[str | None, typer.Option("--operator", help="only this operator")] = None) -> None:
    """Operators' stakes from the index: bonded, locked, unbonding (each request with its release date), slashed."""
    def query(read: ReadModel) -> list:
        if operator is None:
            return read.stakes()
        one = read.stake(operator)
        if one is None:
            raise FabricaError(f"operator {operator} never staked, as far as the index knows")
        return [one]

    found = _read(db, home, query)
    if json_out:
        _print_json(found)
        return
    for s in found:
        typer.echo(f"{s.operator}  staked {_fab(s.staked)}  locked {_fab(s.locked)}  unbonding {_fab(s.unbonding)}  "
                   f"slashed {_fab(s.slashed)}  {'eligible' if s.eligible else 'not eligible'}")
        for r in s.requests:
            typer.echo(f"  unbond request {_fab(r.amount)}, released {_when(r.release_at)}")


from . import cli_dao  # noqa: E402,F401 - registers the DAO's read commands on `app`
from . import cli_design  # noqa: E402,F401 - registers the design economy's read commands on `app`
