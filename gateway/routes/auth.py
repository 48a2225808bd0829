"""Sign-In with Ethereum: a single-use nonce, the signed EIP-4361 message checked, a session as an HTTP-only
cookie and a bearer token, refresh with rotation, sign-out."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ..errors import Unauthorized
from ..roles import Principal, allow, _holds
from ..sessions import ACCESS_COOKIE, REFRESH_COOKIE
from ..siwe import SiweError, SiweMessage, check_fields, check_signature, now_utc
from .common import gw_of

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])


class VerifyBody(BaseModel):
    message: str = Field(max_length=8192, description="the EIP-4361 message exactly as signed")
    signature: str = Field(max_length=8194, description="the personal_sign signature, 0x-hex")


class RefreshBody(BaseModel):
    refresh_token: str | None = Field(None, max_length=128, description="omit to use the refresh cookie")


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _rid(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _set_cookies(response: Response, gw: Any, access: str, refresh: str) -> None:
    secure = gw.config.secure_cookies
    response.set_cookie(ACCESS_COOKIE, access, max_age=gw.config.session_ttl_s, httponly=True, secure=secure,
                        samesite="strict", path="/")
    response.set_cookie(REFRESH_COOKIE, refresh, max_age=gw.config.refresh_ttl_s, httponly=True, secure=secure,
                        samesite="strict", path="/v1/auth")


@router.get("/nonce", dependencies=[allow("public")])
def nonce(request: Request) -> dict[str, Any]:
    """A fresh single-use nonce for a SIWE message, the fields the message must carry, and when it expires."""
    gw = gw_of(request)
    value, expires = gw.sessions.new_nonce(gw.config.nonce_ttl_s, _ip(request))
    return {"nonce": value, "expires_at": expires, "domain": gw.config.domain, "uri": gw.config.public_url,
            "chain_id": gw.chain_id, "version": "1"}


def _contract_check(gw: Any) -> Any:
    def check(addr: str, digest: bytes, signature: bytes) -> bool:
        from ..siwe import ERC1271_MAGIC

        w3 = gw.web3
        try:
            if not w3.eth.get_code(addr):
                return False
            fn = w3.eth.contract(address=addr, abi=[{
                "type": "function", "name": "isValidSignature", "stateMutability": "view",
                "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
                "outputs": [{"name": "", "type": "bytes4"}]}]).functions.isValidSignature(digest, signature)
            return bytes(fn.call()) == ERC1271_MAGIC
        except Exception:  # a reverting or absent wallet accepts nothing
            return False
    return check


@router.post("/verify", dependencies=[allow("public")])
def verify(request: Request, body: VerifyBody, response: Response) -> dict[str, Any]:
    """Check a signed SIWE message and open a session (cookie and bearer token); 401 with the reason otherwise."""
    gw = gw_of(request)
    try:
        msg = SiweMessage.parse(body.message)
        check_fields(msg, domain=gw.config.domain, origin=gw.config.public_url, chain_id=gw.chain_id,
                     now=now_utc(), skew_s=gw.config.clock_skew_s, max_age_s=gw.config.nonce_ttl_s)
        signer = check_signature(body.message, msg, body.signature, _contract_check(gw))
        gw.sessions.spend_nonce(msg.nonce)
    except Unauthorized as exc:
        gw.audit.record("sign_in_failed", address=_claimed(body.message), ip=_ip(request), request_id=_rid(request),
                        reason=exc.detail)
        raise
    gw.address_limiter.take(signer, "sign-ins")
    sid, refresh, refresh_exp = gw.sessions.open(signer, msg.chain_id, gw.config.refresh_ttl_s)
    access, exp = gw.tokens.issue(signer, sid, gw.config.session_ttl_s)
    _set_cookies(response, gw, access, refresh)
    gw.audit.record("sign_in", address=signer, ip=_ip(request), request_id=_rid(request), session=sid)
    return {"address": signer, "access_token": access, "token_type": "bearer", "expires_at": exp,
            "refresh_token": refresh, "refresh_expires_at": refresh_exp}


def _claimed(message: str) -> str | None:
    lines = message.split("\n") if isinstance(message, str) else []
    return lines[1][:42] if len(lines) > 1 and lines[1].startswith("0x") else None


@router.post("/refresh", dependencies=[allow("public")])
def refresh(request: Request, response: Response, body: RefreshBody | None = None) -> dict[str, Any]:
    """Trade a refresh token (body or cookie) for a new access token and a new refresh token."""
    gw = gw_of(request)
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Unauthorized("no refresh token: send it in the body or the refresh cookie", code="bad_refresh")
    try:
        addr, sid, new, new_exp = gw.sessions.rotate(token, gw.config.refresh_ttl_s)
    except Unauthorized as exc:
        gw.audit.record("refresh_refused", ip=_ip(request), request_id=_rid(request), reason=exc.detail)
        raise
    access, exp = gw.tokens.issue(addr, sid, gw.config.session_ttl_s)
    _set_cookies(response, gw, access, new)
    return {"address": addr, "access_token": access, "token_type": "bearer", "expires_at": exp,
            "refresh_token": new, "refresh_expires_at": new_exp}


@router.post("/logout", dependencies=[allow("account")])
def logout(request: Request, response: Response) -> dict[str, Any]:
    """End this session (its tokens stop working on every worker)."""
    gw = gw_of(request)
    who: Principal = request.state.principal
    gw.sessions.revoke(session_id=who.session_id)
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/v1/auth")
    gw.audit.record("sign_out", address=who.address, ip=_ip(request), request_id=_rid(request))
    return {"signed_out": True}


@router.get("/me", dependencies=[allow("account")])
async def me(request: Request) -> dict[str, Any]:
    """The signed-in address and the roles it holds without a resource (arbiter, dao, staff)."""
    gw = gw_of(request)
    who: Principal = request.state.principal

    def roles() -> list[str]:
        return ["account"] + [r for r in ("arbiter", "dao", "viewer", "operator", "admin") if _holds(r, who, request)]

    return {"address": who.address, "roles": await run_in_threadpool(roles),
            "staff": gw.config.admins.get(who.address)}


__all__ = ["router", "SiweError"]
