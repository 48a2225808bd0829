"""The production content-store adapter: a Kubo (go-ipfs) node over its HTTP RPC API.

Nothing Kubo returns is trusted. ``add`` computes the CID locally with the same import
options and checks that Kubo agrees; reads fetch raw blocks (``/api/v0/block/get``),
verify each against its CID, and reassemble the UnixFS DAG with this package's reader.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, Self
from urllib.parse import urlsplit

import httpx
from fabrica.protocol.errors import FabricaConnectionError, FabricaTimeoutError
from fabrica.protocol.storage.cid import DAG_PB, Cid
from fabrica.protocol.storage.dagpb import decode_pbnode
from fabrica.protocol.storage.errors import (
    CidMismatchError,
    ContentNotFoundError,
    ContentPinnedError,
    InvalidCidError,
    InvalidDagError,
    KuboError,
)
from fabrica.protocol.storage.store import _check_source, as_cid
from fabrica.protocol.storage.unixfs import (
    BLOCK_SIZE_LIMIT,
    CHUNK_SIZE,
    MAX_LINKS,
    DagReader,
    ImportOptions,
    Source,
    import_blocks,
    iter_file_bytes,
)

__all__ = ["DEFAULT_KUBO_API", "KuboContentStore"]

#: Kubo's default RPC address (``Addresses.API`` = /ip4/127.0.0.1/tcp/5001).
DEFAULT_KUBO_API = "http://127.0.0.1:5001"
#: Streams larger than this are spooled to a temporary file before upload.
_SPOOL_IN_MEMORY = 16 * 1024 * 1024
# Kubo's messages for absent blocks, paths and pins ("not pinned or pinned indirectly").
_NOT_FOUND_HINTS = ("not found", "could not find", "no link named", "not pinned")


class _Tee:
    """A reader that copies what it reads into ``sink``."""

    def __init__(self, source: Any, sink: BinaryIO):
        self._source = source
        self._sink = sink

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if data:
            self._sink.write(data)
        return data


def _root_cid(source: Source, options: ImportOptions) -> Cid:
    root = None
    for block in import_blocks(source, options):
        root = block.cid
    assert root is not None
    return root


class KuboContentStore:
    """Content in a Kubo node, reached over its RPC API at ``api_url``."""

    def __init__(
        self,
        api_url: str = DEFAULT_KUBO_API,
        *,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.Client | None = None,
    ):
        self.api_url = api_url.rstrip("/")
        try:
            parts = urlsplit(self.api_url)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # an unclosed IPv6 bracket, a port that is not a number or out of range
            usable = False
        if not usable:
            raise KuboError(
                f"Kubo API URL {api_url!r} must be http:// or https:// and a host "
                "(for example http://127.0.0.1:5001)"
            )
        self.timeout = timeout
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, headers=dict(headers or {}))

    def __repr__(self) -> str:
        return f"KuboContentStore({self.api_url!r})"

    def close(self) -> None:
        """Close the HTTP client (if this store created it)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP plumbing --

    def _url(self, command: str) -> str:
        return f"{self.api_url}/api/v0/{command}"

    def _request(self, command: str, params: Any = None, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.post(self._url(command), params=params, **kwargs)
        except httpx.TimeoutException as exc:
            raise FabricaTimeoutError(
                f"Kubo at {self.api_url} did not answer {command} within {self.timeout} s; "
                "the content may not be reachable from this node, or raise the timeout"
            ) from exc
        except httpx.HTTPError as exc:
            raise self._connection_error(exc) from exc
        if response.status_code != 200:
            self._raise_for(command, response.status_code, response.content)
        return response

    def _connection_error(self, exc: Exception) -> FabricaConnectionError:
        return FabricaConnectionError(
            f"cannot reach Kubo's RPC API at {self.api_url} ({exc.__class__.__name__}: {exc}). "
            "Start it with `ipfs daemon`, or pass the address from "
            "`ipfs config Addresses.API` (--kubo URL / FABRICA_KUBO_URL)."
        )

    def _raise_for(self, command: str, status: int, body: bytes, cid: Cid | None = None) -> None:
        message = body.decode("utf-8", "replace").strip()
        try:
            decoded = json.loads(message)
            if isinstance(decoded, dict) and "Message" in decoded:
                message = str(decoded["Message"])
        except ValueError:
            pass
        if status in (404, 405):
            raise KuboError(
                f"{self.api_url} answered {command} with HTTP {status}: it is not a Kubo RPC "
                "API (the RPC API is usually port 5001; 8080 is the read-only gateway)"
            )
        if status in (401, 403):
            raise KuboError(
                f"Kubo at {self.api_url} refused {command} (HTTP {status}: {message}); "
                "check API.Authorizations and pass credentials in headers"
            )
        if any(hint in message.lower() for hint in _NOT_FOUND_HINTS):
            raise ContentNotFoundError(
                f"Kubo at {self.api_url} has no {cid or 'content'} ({command}: {message})",
                cid=cid,
            )
        raise KuboError(f"Kubo at {self.api_url} failed {command} (HTTP {status}): {message}")

    # -- node --

    def version(self) -> str:
        """Kubo's version string (from /api/v0/version)."""
        payload = self._request("version").json()
        return str(payload.get("Version", "unknown"))

    # -- ContentStore --

    def add(
        self,
        data: Source,
        *,
        cid_version: int = 0,
        raw_leaves: bool | None = None,
        chunk_size: int = CHUNK_SIZE,
        max_links: int = MAX_LINKS,
        hash_function: str = "sha2-256",
        pin: bool = True,
    ) -> Cid:
        """Add content to Kubo with explicit import options; fail unless Kubo's CID is ours."""
        _check_source(data)
        options = ImportOptions(cid_version, raw_leaves, chunk_size, max_links, hash_function)
        if isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
            expected = _root_cid(payload, options)
            returned = self._upload(payload, options, pin)
        elif isinstance(data, os.PathLike):
            expected = _root_cid(data, options)
            with open(data, "rb") as handle:
                returned = self._upload(handle, options, pin)
        else:
            with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
                expected = _root_cid(_Tee(data, spool), options)  # type: ignore[arg-type]
                spool.seek(0)
                returned = self._upload(spool, options, pin)  # type: ignore[arg-type]
        if returned.to_v1() != expected.to_v1():
            raise CidMismatchError(
                f"Kubo at {self.api_url} stored the content as {returned} but the local importer "
                f"computes {expected} for {options.kubo_params()}; Kubo's Import settings "
                "differ or the upload was altered (the file may have changed while adding)",
                expected=expected,
                actual=returned,
            )
        return expected

    def _upload(self, payload: bytes | BinaryIO, options: ImportOptions, pin: bool) -> Cid:
        params = dict(options.kubo_params())
        params.update({"pin": "true" if pin else "false", "progress": "false",
                       "wrap-with-directory": "false"})
        files = {"file": ("file", payload, "application/octet-stream")}
        response = self._request("add", params, files=files)
        found: str | None = None
        for line in response.text.splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                raise KuboError(f"Kubo's add answer is not JSON lines: {line[:200]!r}") from None
            if isinstance(entry, dict) and entry.get("Message") and entry.get("Type") == "error":
                raise KuboError(f"Kubo at {self.api_url} failed add: {entry['Message']}")
            if isinstance(entry, dict) and entry.get("Hash"):
                found = str(entry["Hash"])
        if found is None:
            raise KuboError(f"Kubo at {self.api_url} answered add without a CID")
        try:
            return Cid.parse(found)
        except InvalidCidError as exc:
            raise KuboError(f"Kubo answered add with an invalid CID {found!r}: {exc}") from None

    def get_block(self, cid: Cid | str, *, offline: bool = False) -> bytes:
        """Fetch one raw block from Kubo and verify it against its CID."""
        cid = as_cid(cid)
        params = {"arg": str(cid)}
        if offline:
            params["offline"] = "true"
        try:
            with self._client.stream("POST", self._url("block/get"), params=params) as response:
                body = bytearray()
                for piece in response.iter_bytes():
                    body += piece
                    if len(body) > BLOCK_SIZE_LIMIT:
                        break
                if response.status_code != 200:
                    self._raise_for("block/get", response.status_code, bytes(body), cid)
        except httpx.TimeoutException as exc:
            raise FabricaTimeoutError(
                f"Kubo at {self.api_url} did not return block {cid} within {self.timeout} s; "
                "no peer may have it"
            ) from exc
        except httpx.HTTPError as exc:
            raise self._connection_error(exc) from exc
        data = bytes(body)
        try:
            cid.verify(data)
        except CidMismatchError as exc:
            raise CidMismatchError(
                f"Kubo at {self.api_url} served block {cid} with bytes that do not match it: {exc}",
                expected=exc.expected,
                actual=exc.actual,
            ) from None
        return data

    def iter(self, cid: Cid | str) -> Iterator[bytes]:
        """Stream the content of ``cid`` from verified blocks (root fetched eagerly)."""
        cid = as_cid(cid)
        root = self.get_block(cid)  # fail here, not on first read, when it is missing
        pending = {cid.multihash: root}

        def get(block_cid: Cid) -> bytes:
            cached = pending.pop(block_cid.multihash, None)
            return cached if cached is not None else self.get_block(block_cid)

        return iter_file_bytes(cid, get, verify=False)  # get_block verifies every block

    def get(self, cid: Cid | str) -> bytes:
        """Return the whole content of ``cid``, every block verified."""
        return b"".join(self.iter(cid))

    def open(self, cid: Cid | str) -> BinaryIO:
        """Open the content of ``cid`` as a buffered, verified, read-only stream."""
        return io.BufferedReader(DagReader(self.iter(cid)))  # type: ignore[return-value]

    def has(self, cid: Cid | str) -> bool:
        """Whether Kubo holds the root block of ``cid`` locally (asked offline)."""
        cid = as_cid(cid)
        try:
            self._request("block/stat", {"arg": str(cid), "offline": "true"})
        except ContentNotFoundError:
            return False
        return True

    # -- pins and removal --

    def pin(self, cid: Cid | str) -> None:
        """Pin ``cid`` recursively in Kubo."""
        cid = as_cid(cid)
        self._request("pin/add", {"arg": str(cid), "recursive": "true"})

    def unpin(self, cid: Cid | str) -> None:
        """Remove the recursive pin on ``cid``; a no-op if it was not pinned."""
        cid = as_cid(cid)
        try:
            self._request("pin/rm", {"arg": str(cid), "recursive": "true"})
        except ContentNotFoundError:
            pass

    def is_pinned(self, cid: Cid | str) -> bool:
        """Whether ``cid`` is pinned recursively in Kubo."""
        cid = as_cid(cid)
        try:
            self._request("pin/ls", {"arg": str(cid), "type": "recursive"})
        except ContentNotFoundError:
            return False
        return True

    def remove(self, cid: Cid | str) -> None:
        """Delete ``cid``'s local blocks from Kubo; blocks other pins need are kept by Kubo."""
        cid = as_cid(cid)
        if self.is_pinned(cid):
            raise ContentPinnedError(f"{cid} is pinned in Kubo; unpin it before removing it")
        if not self.has(cid):
            raise ContentNotFoundError(f"Kubo at {self.api_url} has no {cid} locally", cid=cid)
        args = []
        stack = [cid]
        seen: set[bytes] = set()
        while stack:
            current = stack.pop()
            if current.multihash in seen:
                continue
            seen.add(current.multihash)
            args.append(("arg", str(current)))
            if current.codec != DAG_PB:
                continue
            try:
                node = decode_pbnode(self.get_block(current, offline=True))
            except (ContentNotFoundError, InvalidDagError, CidMismatchError):
                continue
            stack.extend(link.cid for link in node.links)
        # force: ignore blocks already gone; Kubo itself refuses blocks other pins hold.
        self._request("block/rm", [*args, ("force", "true")])
