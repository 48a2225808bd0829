"""Content through the gateway: uploads sniffed by their bytes (STL, 3MF, G-code, JSON) get the CID that
`fabrica content add` computes; wrong, mistyped, empty and oversized uploads get a 4xx naming what is wrong;
downloads are verified block by block and a corrupted block is never served."""
from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.demo import box_stl
from fabrica.protocol.storage.store import LocalContentStore
from gateway_testkit import app_client, index, sign_in

CUSTOMER = dev_account(DEV_ROLES["customer"])


@pytest.fixture(scope="module")
def client(devnet, tmp_path_factory):
    rpc_url, deployment, home = devnet
    url = f"sqlite:///{tmp_path_factory.mktemp('content') / 'index.db'}"
    index(url, rpc_url, deployment)
    with app_client(url, home, rpc_url, max_upload_bytes=2_000_000) as c:
        sign_in(c, CUSTOMER.key)
        yield c


def three_mf() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("3D/3dmodel.model", '<?xml version="1.0"?><model unit="millimeter"><resources/></model>')
    return buf.getvalue()


ASCII_STL = b"solid cube\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 0 1 0\n" \
            b"  endloop\n endfacet\nendsolid cube\n"
GCODE = b"; sliced\nG28\nG1 X10 Y10 Z0.2 F3000\nM104 S200\nG1 X20 E1.5\nM84\n"
SAMPLES = {"stl": box_stl(20, 10, 5), "3mf": three_mf(), "gcode": GCODE, "json": json.dumps({"title": "x"}).encode()}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_upload_returns_the_cid_fabrica_computes_and_download_returns_the_bytes(client, kind, tmp_path) -> None:
    data = SAMPLES[kind]
    # Sent under a misleading name and media type: the kind comes from the bytes.
    r = client.post("/v1/content", files={"file": ("notes.txt", data, "text/plain")})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = str(LocalContentStore(tmp_path / "independent").add(data))
    assert body["cid"] == expected and body["kind"] == kind and body["size"] == len(data)
    got = client.get(f"/v1/content/{body['cid']}")
    assert got.status_code == 200 and got.content == data
    assert got.headers["etag"] == f'"{expected}"'


def test_ascii_stl_and_cidv1(client, tmp_path) -> None:
    r = client.post("/v1/content", files={"file": ("cube.stl", ASCII_STL)}, data={"cid_version": "1"})
    assert r.status_code == 200 and r.json()["kind"] == "stl"
    assert r.json()["cid"] == str(LocalContentStore(tmp_path / "i").add(ASCII_STL, cid_version=1))


def test_mistyped_uploads_are_refused(client) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    r = client.post("/v1/content", files={"file": ("part.stl", png, "model/stl")})
    assert r.status_code == 415 and "not an STL, 3MF, G-code or JSON" in r.json()["detail"]
    truncated = box_stl(20, 10, 5)[:-7]  # a binary STL whose triangle count disagrees with its size
    assert client.post("/v1/content", files={"file": ("part.stl", truncated)}).status_code == 415
    r = client.post("/v1/content", files={"file": ("part.stl", GCODE)}, data={"kind": "stl"})
    assert r.status_code == 415 and "content is gcode" in r.json()["detail"]
    assert client.post("/v1/content", files={"file": ("x", GCODE)}, data={"kind": "exe"}).status_code == 400
    r = client.post("/v1/content", files={"file": ("empty.stl", b"")})
    assert r.status_code == 400 and "empty" in r.json()["detail"]


def test_oversized_uploads_are_refused(client) -> None:
    big = b"G1 X1\n" * 400_000  # 2.4 MB of G-code, over the 2 MB limit configured above
    r = client.post("/v1/content", files={"file": ("big.gcode", big)})
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_upload_needs_a_session(client) -> None:
    saved = dict(client.cookies)
    client.cookies.clear()
    try:
        assert client.post("/v1/content", files={"file": ("a.gcode", GCODE)}).status_code == 401
    finally:
        for k, v in saved.items():
            client.cookies.set(k, v)


def test_download_refuses_bad_unknown_and_corrupt_content(client, devnet) -> None:
    assert client.get("/v1/content/not-a-cid").status_code == 422
    assert client.get("/v1/content/QmNotReallyACidButLongEnough").status_code == 400
    unknown = str(LocalContentStore(devnet[2] / "elsewhere").add(b"never uploaded here"))
    assert client.get(f"/v1/content/{unknown}").status_code == 404
    data = b"G1 X5\n" * 10 + struct.pack("<I", 7)  # small: one block
    cid = client.post("/v1/content", files={"file": ("c.gcode", b"G28\nG1 X1\n" * 5)}).json()["cid"]
    store = client.app.state.gw.content_store()
    path = store.block_path(cid)
    path.write_bytes(path.read_bytes().replace(b"X1", b"X9"))  # bit rot on disk
    r = client.get(f"/v1/content/{cid}")
    assert r.status_code == 404 and "corrupt" in r.json()["detail"]
    assert data  # the block above was rewritten, not this buffer
