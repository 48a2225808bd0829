"""`fabrica content …`: add, fetch and compute IPFS CIDs with the local store or a Kubo node."""
from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer
from fabrica.protocol.errors import FabricaError
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.storage.errors import InvalidCidError, InvalidKeyError
from fabrica.protocol.storage.unixfs import compute_cid
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # `content cid` must not pay for httpx, PyNaCl or pydantic: the other commands import them
    from fabrica.protocol.storage.store import ContentStore

app = typer.Typer(help="Content-addressed storage (IPFS CIDs)", no_args_is_help=True)

_err = Console(stderr=True, highlight=False, soft_wrap=True)
_PROGRESS_THRESHOLD = 16 * 1024 * 1024

FileArg = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="file to import"),
]
CidVersionOpt = Annotated[
    int,
    typer.Option(
        "--cid-version",
        min=0,
        max=1,
        help="0: CIDv0 'Qm…' (Kubo's default); 1: CIDv1 'baf…' with raw leaves",
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        file_okay=False,
        help="local content directory (env FABRICA_CONTENT_DIR; default <home>/content, home from FABRICA_HOME or .fabrica)",
    ),
]
KuboOpt = Annotated[
    str | None,
    typer.Option(
        "--kubo",
        help="use a Kubo node's RPC API, e.g. http://127.0.0.1:5001 (env FABRICA_KUBO_URL)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]


def default_store_dir() -> Path:
    """The local store directory: $FABRICA_CONTENT_DIR, else `<home>/content` as every other command uses."""
    from fabrica.protocol.config import load_settings

    env = os.environ.get("FABRICA_CONTENT_DIR")
    return Path(env) if env else load_settings().content_dir


def open_store(store: Path | None, kubo: str | None) -> tuple[ContentStore, str]:
    """Build the store the flags (then environment) ask for, and a label for output."""
    from fabrica.protocol.config import load_settings
    from fabrica.protocol.storage.kubo import KuboContentStore
    from fabrica.protocol.storage.store import LocalContentStore

    if store is not None and kubo is not None:
        raise typer.BadParameter("pass either --store DIR or --kubo URL, not both",
                                 param_hint="--store / --kubo")
    if kubo is None and store is None:
        kubo = load_settings().kubo_url  # FABRICA_KUBO_URL or fabrica.toml, like the job commands
    if kubo is not None:
        return KuboContentStore(kubo), f"kubo:{kubo}"
    directory = store if store is not None else default_store_dir()
    return LocalContentStore(directory), f"local:{directory}"


@contextmanager
def _opened(store: Path | None, kubo: str | None) -> Iterator[tuple[ContentStore, str]]:
    """``open_store`` as a context manager that closes a Kubo client afterwards."""
    target, label = open_store(store, kubo)
    try:
        yield target, label
    finally:
        close = getattr(target, "close", None)
        if close is not None:
            close()


def _run(body: Callable[[], None]) -> None:
    """Run a command body; Fabrica and OS errors become one clear line and exit code 1."""
    try:
        body()
    except FabricaError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except OSError as exc:
        detail = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        _err.print(f"[red]error:[/red] {escape(detail)}")
        raise typer.Exit(1) from None


def _emit(as_json: bool, cid: Cid, fields: dict[str, Any]) -> None:
    if as_json:
        typer.echo(json.dumps({"cid": str(cid), **fields}))
    else:
        typer.echo(str(cid))


class _ProgressReader:
    """Wraps a binary file and advances a progress bar as it is read."""

    def __init__(self, handle: BinaryIO, advance: Callable[[int], None]):
        self._handle = handle
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._advance(len(data))
        return data


def _with_progress(path: Path, label: str, work: Callable[[Any], Cid]) -> Cid:
    """Run ``work`` on the file, with a progress bar on a terminal for large files."""
    size = path.stat().st_size
    if size < _PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return work(path)
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=_err, transient=True) as progress, open(path, "rb") as f:
        task = progress.add_task(label, total=size)
        return work(_ProgressReader(f, lambda n: progress.advance(task, n)))


def _parse_cid(text: str) -> Cid:
    value = text.strip()
    for prefix in ("/ipfs/", "ipfs://"):
        if value.startswith(prefix):
            value = value[len(prefix):].split("/", 1)[0]
    try:
        return Cid.parse(value)
    except InvalidCidError as exc:
        raise typer.BadParameter(str(exc), param_hint="CID") from None


@app.command("add")
def add(
    file: FileArg,
    cid_version: CidVersionOpt = 0,
    store: StoreOpt = None,
    kubo: KuboOpt = None,
    seal_to: Annotated[
        str | None,
        typer.Option("--seal-to", help="seal to this node X25519 public key (64 hex chars) first"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add FILE to the content store and print its CID."""
    public_key = None
    if seal_to is not None:
        from fabrica.protocol.storage.sealing import key_from_hex

        try:
            public_key = key_from_hex(seal_to, what="public key")
        except InvalidKeyError as exc:
            raise typer.BadParameter(str(exc), param_hint="--seal-to") from None

    def body() -> None:
        with _opened(store, kubo) as (target, label):
            _add(target, label, file, cid_version, public_key, as_json)

    _run(body)


def _add(target: ContentStore, label: str, file: Path, cid_version: int,
         public_key: bytes | None, as_json: bool) -> None:
    from fabrica.protocol.storage.kubo import KuboContentStore
    from fabrica.protocol.storage.sealing import seal

    fields: dict[str, Any] = {"cid_version": cid_version, "file": str(file), "store": label}
    if public_key is not None:
        plaintext = file.read_bytes()  # sealed boxes are not streamable: whole file in memory
        sealed = seal(plaintext, public_key)
        cid = target.add(sealed, cid_version=cid_version)
        fields |= {"size": len(sealed), "sealed": True, "sealed_to": public_key.hex(),
                   "plaintext_size": len(plaintext)}
    elif isinstance(target, KuboContentStore):
        cid = target.add(file, cid_version=cid_version)  # streamed from disk twice, no spool
        fields |= {"size": file.stat().st_size, "sealed": False}
    else:
        cid = _with_progress(file, "adding", lambda src: target.add(src, cid_version=cid_version))
        fields |= {"size": file.stat().st_size, "sealed": False}
    _emit(as_json, cid, fields)


@app.command("get")
def get(
    cid: Annotated[str, typer.Argument(help="CID to fetch (Qm… or b…)")],
    file: Annotated[
        Path | None,
        typer.Argument(dir_okay=False, show_default=False,
                       help="write the content to FILE (replaced only once fully verified); default: stdout"),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", dir_okay=False,
                     help="write the content to FILE, like the FILE argument"),
    ] = None,
    store: StoreOpt = None,
    kubo: KuboOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch CID, verify every block against it, and write the content to stdout or FILE."""
    parsed = _parse_cid(cid)
    if file is not None and output is not None and file != output:
        raise typer.BadParameter(f"FILE {file} and -o {output} name two outputs; give one", param_hint="FILE / -o")
    output = output if output is not None else file
    if output is not None and output.is_dir():
        raise typer.BadParameter(f"{output} is a folder; name the file to write", param_hint="FILE")
    if output is not None and not (output.parent if str(output.parent) else Path(".")).is_dir():
        raise typer.BadParameter(f"folder {output.parent} does not exist; create it first", param_hint="FILE")

    def body() -> None:
        with _opened(store, kubo) as (target, label):
            _get(target, label, parsed, output, as_json)

    _run(body)


def _get(target: ContentStore, label: str, cid: Cid, output: Path | None, as_json: bool) -> None:
    if output is not None:
        size = _write_atomically(output, target.iter(cid))
        if as_json:
            typer.echo(json.dumps({"cid": str(cid), "path": str(output), "size": size,
                                   "store": label}))
        return
    data = target.get(cid)  # the whole content is verified before anything is printed
    if as_json:
        typer.echo(json.dumps({"cid": str(cid), "size": len(data), "store": label,
                               "content_base64": base64.b64encode(data).decode("ascii")}))
    else:
        stdout = typer.get_binary_stream("stdout")
        stdout.write(data)
        stdout.flush()


def _write_atomically(path: Path, chunks: Iterator[bytes]) -> int:
    """Stream ``chunks`` into a temporary file beside ``path`` and rename it into place."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


@app.command("cid")
def cid(
    file: FileArg,
    cid_version: CidVersionOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Compute FILE's CID exactly as `ipfs add` would, without storing anything."""

    def body() -> None:
        computed = _with_progress(file, "hashing", lambda src: compute_cid(src, cid_version))
        _emit(as_json, computed, {"cid_version": cid_version, "file": str(file),
                                  "size": file.stat().st_size})

    _run(body)
