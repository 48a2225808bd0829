"""Fixtures for the content-store tests: Kubo's deterministic test data and a fake Kubo RPC.

Kubo cannot be installed or run here, so ``FakeKubo`` stands in for it: a real HTTP server
on 127.0.0.1 that implements the RPC endpoints the adapter uses (add, block/get, block/stat,
block/rm, cat, pin/add, pin/rm, pin/ls, version) with Kubo's request and response shapes,
backed by a ``LocalContentStore``. It can be told to tamper with what it serves, or to
answer ``add`` with a wrong CID, to check that the adapter trusts nothing it receives.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fabrica.protocol.errors import FabricaError
from fabrica.protocol.storage import Cid, LocalContentStore
from fabrica.protocol.storage.errors import ContentNotFoundError


class KuboRandom:
    """Kubo's test data: ChaCha20 keystream, key = sha256(seed), 12-byte zero nonce.

    Matches kubo test/cli/testutils/random_deterministic.go (DeterministicRandomReaderBytes)
    and js-ipfs-unixfs packages/ipfs-unixfs-importer/test/helpers/deterministic.ts.
    """

    def __init__(self, size: int, seed: str):
        from Crypto.Cipher import ChaCha20  # pycryptodome, pinned in requirements.lock

        self._cipher = ChaCha20.new(key=hashlib.sha256(seed.encode()).digest(), nonce=bytes(12))
        self._remaining = size

    def read(self, size: int = -1) -> bytes:
        """Return the next ``size`` bytes of the stream (all that is left if negative)."""
        n = self._remaining if size < 0 else min(size, self._remaining)
        self._remaining -= n
        return self._cipher.encrypt(bytes(n))


@pytest.fixture
def kubo_random() -> Callable[[int, str], KuboRandom]:
    """Factory for Kubo's deterministic pseudo-random readers (pycryptodome is a pinned dev dependency)."""
    return KuboRandom


def _parse_multipart(body: bytes, content_type: str) -> list[bytes]:
    boundary = None
    for part in content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"').encode()
    if boundary is None:
        raise ValueError("multipart request without boundary")
    files = []
    for section in body.split(b"--" + boundary)[1:]:
        if section.startswith(b"--"):
            break
        _headers, _, payload = section.partition(b"\r\n\r\n")
        files.append(payload[:-2] if payload.endswith(b"\r\n") else payload)
    return files


class FakeKubo(ThreadingHTTPServer):
    """A loopback HTTP server speaking the subset of Kubo's RPC API the adapter uses."""

    daemon_threads = True

    def __init__(self, store: LocalContentStore):
        super().__init__(("127.0.0.1", 0), _KuboHandler)
        self.store = store
        self.tamper = False  # flip a byte in every block and cat answer
        self.wrong_add_cid: str | None = None  # answer add with this CID instead
        self.fail_next: str | None = None  # answer the next command with this Kubo error
        self.calls: list[tuple[str, dict[str, list[str]]]] = []

    @property
    def url(self) -> str:
        """The RPC base URL, like http://127.0.0.1:5001."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _KuboHandler(BaseHTTPRequestHandler):
    server: FakeKubo

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, message: str, status: int = 500) -> None:
        body = json.dumps({"Message": message, "Code": 0, "Type": "error"}).encode()
        self._send(status, body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        self._send(405, b"405 - Method Not Allowed", "text/plain")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.calls.append((url.path, query))
        body = self._read_body()
        command = url.path.removeprefix("/api/v0/")
        handler = getattr(self, "cmd_" + command.replace("/", "_"), None)
        if not url.path.startswith("/api/v0/") or handler is None:
            self._send(404, b"404 page not found", "text/plain")
            return
        if self.server.fail_next is not None:
            message, self.server.fail_next = self.server.fail_next, None
            self._error(message)
            return
        try:
            handler(query, body)
        except ContentNotFoundError as exc:
            self._error(f"block was not found locally (offline): ipld: could not find {exc.cid}")
        except FabricaError as exc:
            self._error(str(exc))

    def _arg(self, query: dict[str, list[str]]) -> Cid:
        return Cid.parse(query["arg"][0])

    def _flag(self, query: dict[str, list[str]], name: str, default: bool) -> bool:
        return query.get(name, [str(default).lower()])[0] == "true"

    def _maybe_tamper(self, data: bytes) -> bytes:
        if self.server.tamper:
            return bytes([data[0] ^ 0x01]) + data[1:] if data else b"\x00"
        return data

    def cmd_version(self, query: dict[str, list[str]], body: bytes) -> None:
        self._send(200, json.dumps({"Version": "0.0.0-fake", "Commit": "", "Repo": "16"}).encode())

    def cmd_add(self, query: dict[str, list[str]], body: bytes) -> None:
        files = _parse_multipart(body, self.headers["Content-Type"])
        chunker = query.get("chunker", ["size-262144"])[0]
        raw = query.get("raw-leaves", [None])[0]
        cid = self.server.store.add(
            files[0],
            cid_version=int(query.get("cid-version", ["0"])[0]),
            raw_leaves=None if raw is None else raw == "true",
            chunk_size=int(chunker.removeprefix("size-")),
            max_links=int(query.get("max-file-links", ["174"])[0]),
            hash_function=query.get("hash", ["sha2-256"])[0],
            pin=self._flag(query, "pin", True),
        )
        answer = self.server.wrong_add_cid or str(cid)
        line = json.dumps({"Name": "file", "Hash": answer, "Size": str(len(files[0]))})
        self._send(200, (line + "\n").encode())

    def cmd_cat(self, query: dict[str, list[str]], body: bytes) -> None:
        data = self.server.store.get(self._arg(query))
        self._send(200, self._maybe_tamper(data), "text/plain")

    def cmd_block_get(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        path = self.server.store.block_path(cid)
        if not path.is_file():
            raise ContentNotFoundError("missing", cid=cid)
        self._send(200, self._maybe_tamper(path.read_bytes()), "text/plain")

    def cmd_block_stat(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        path = self.server.store.block_path(cid)
        if not path.is_file():
            raise ContentNotFoundError("missing", cid=cid)
        self._send(200, json.dumps({"Key": str(cid), "Size": path.stat().st_size}).encode())

    def cmd_block_rm(self, query: dict[str, list[str]], body: bytes) -> None:
        lines = []
        for arg in query.get("arg", []):
            cid = Cid.parse(arg)
            Path(self.server.store.block_path(cid)).unlink(missing_ok=True)
            lines.append(json.dumps({"Hash": arg}))
        self._send(200, ("\n".join(lines) + "\n").encode())

    def cmd_pin_add(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        self.server.store.pin(cid)
        self._send(200, json.dumps({"Pins": [str(cid)]}).encode())

    def cmd_pin_rm(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        if not self.server.store.is_pinned(cid):
            self._error("not pinned or pinned indirectly")
            return
        self.server.store.unpin(cid)
        self._send(200, json.dumps({"Pins": [str(cid)]}).encode())

    def cmd_pin_ls(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        if not self.server.store.is_pinned(cid):
            self._error(f"path '{cid}' is not pinned")
            return
        self._send(200, json.dumps({"Keys": {str(cid): {"Type": "recursive"}}}).encode())


@pytest.fixture
def fake_kubo(tmp_path: Path) -> Iterator[FakeKubo]:
    """A running fake Kubo RPC server on loopback, backed by a fresh local store."""
    server = FakeKubo(LocalContentStore(tmp_path / "kubo-repo", fsync=False))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
