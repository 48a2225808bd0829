"""Content storage: upload (multipart, size-limited, kind sniffed from the bytes) returning the CID computed
exactly as `fabrica content add` does, and download by CID with every block verified."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, UploadFile
from fastapi.responses import Response

from ..errors import BadRequest, NotFound, TooLarge, UnsupportedMedia
from ..roles import Principal, allow
from ..sniff import KINDS, MEDIA, sniff
from .common import gw_of

router = APIRouter(prefix="/v1/content", tags=["content"])
CidPath = Annotated[str, Path(min_length=10, max_length=128, pattern=r"^[A-Za-z0-9]+$")]


@router.post("", dependencies=[allow("account")])
async def upload(request: Request, file: UploadFile,
                 kind: Annotated[str | None, Form(description="what the file must be: stl, 3mf, gcode or json")] = None,
                 cid_version: Annotated[int, Form(ge=0, le=1)] = 0) -> dict[str, Any]:
    """Store a part (STL, 3MF), a G-code program or a JSON document; returns its CID, size and sniffed kind."""
    gw = gw_of(request)
    who: Principal = request.state.principal
    gw.address_limiter.take(who.address, "uploads")
    limit = gw.config.max_upload_bytes
    chunks, size = [], 0
    while True:
        chunk = await file.read(1 << 20)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"file over the {limit:,}-byte upload limit")
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise BadRequest("the file is empty")
    found = sniff(data)
    if found == "unknown":
        raise UnsupportedMedia(f"{file.filename or 'the file'} is not an STL, 3MF, G-code or JSON file "
                               "(judged by its content, not its name)")
    if kind is not None:
        if kind not in KINDS:
            raise BadRequest(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if kind != found:
            raise UnsupportedMedia(f"{file.filename or 'the file'} was sent as {kind} but its content is {found}")
    from fastapi.concurrency import run_in_threadpool

    store = gw.content_store()
    cid = await run_in_threadpool(lambda: store.add(data, cid_version=cid_version))
    return {"cid": str(cid), "size": size, "kind": found, "media_type": MEDIA[found], "url": f"/v1/content/{cid}"}


@router.get("/{cid}", dependencies=[allow("public")])
def download(request: Request, cid: CidPath) -> Response:
    """The content of `cid`, every block verified against its hash before it is sent."""
    from fabrica.protocol.storage import Cid
    from fabrica.protocol.storage.errors import ContentError, ContentNotFoundError

    gw = gw_of(request)
    try:
        parsed = Cid.parse(cid)
    except (ValueError, ContentError) as exc:
        raise BadRequest(f"{cid!r} is not a CID: {exc}") from None
    try:
        data = gw.content_store().get(parsed)
    except ContentNotFoundError:
        raise NotFound(f"no content {cid} in this gateway's store") from None
    except ContentError as exc:  # a block that fails its hash: never served
        raise NotFound(f"content {cid} is corrupt in this gateway's store: {exc}") from None
    kind = sniff(data)
    return Response(data, media_type=MEDIA[kind], headers={
        "etag": f'"{cid}"', "cache-control": "public, max-age=31536000, immutable",
        "content-disposition": f'attachment; filename="{cid}.{kind if kind != "unknown" else "bin"}"'})
