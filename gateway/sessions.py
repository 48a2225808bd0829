"""Sessions after sign-in: a short-lived access token (HMAC-signed, sent as an HTTP-only cookie or a bearer
header) and a refresh token that rotates on every use and is stored only as its hash.

Tokens are `base64url(payload).base64url(hmac-sha256)`; the key is shared by every worker through the
database (or given in configuration), so any worker accepts a token another issued.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as pysecrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import schema
from .errors import Unauthorized

ACCESS_COOKIE = "fabrica_session"
REFRESH_COOKIE = "fabrica_refresh"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(engine: Engine, configured: str | None) -> bytes:
    """The token key: the configured one, else the database's (created once, shared by all workers)."""
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    with engine.begin() as conn:
        row = conn.execute(sa.select(schema.secrets.c.secret).where(schema.secrets.c.id == 1)).first()
        if row is None:
            fresh = pysecrets.token_hex(32)
            try:
                with conn.begin_nested():
                    conn.execute(schema.secrets.insert().values(id=1, secret=fresh))
            except sa.exc.IntegrityError:
                pass  # another worker created it first: use theirs
            row = conn.execute(sa.select(schema.secrets.c.secret).where(schema.secrets.c.id == 1)).first()
    return bytes.fromhex(row[0])


@dataclass(frozen=True)
class AccessToken:
    address: str
    session_id: str
    expires_at: float


class TokenSigner:
    """Issues and checks access tokens with one HMAC key."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def issue(self, address: str, session_id: str, ttl_s: int, now: float | None = None) -> tuple[str, float]:
        """A signed access token for `address` in `session_id`, and its expiry time."""
        exp = (time.time() if now is None else now) + ttl_s
        body = _b64(json.dumps({"sub": address, "sid": session_id, "exp": round(exp, 3)},
                               separators=(",", ":")).encode())
        mac = _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest())
        return f"{body}.{mac}", exp

    def check(self, token: str, now: float | None = None) -> AccessToken:
        """The session a token carries, or Unauthorized saying why not."""
        body, sep, mac = token.partition(".")
        if not sep or len(token) > 1024:
            raise Unauthorized("session token is malformed: sign in again", code="bad_token")
        want = _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(want, mac):
            raise Unauthorized("session token signature is invalid: sign in again", code="bad_token")
        try:
            data = json.loads(_unb64(body))
            address, sid, exp = str(data["sub"]), str(data["sid"]), float(data["exp"])
        except (ValueError, KeyError, TypeError):
            raise Unauthorized("session token is malformed: sign in again", code="bad_token") from None
        if exp <= (time.time() if now is None else now):
            raise Unauthorized("session expired: refresh it or sign in again", code="token_expired")
        return AccessToken(address, sid, exp)


def refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """Sign-in sessions and single-use nonces in the gateway's tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def new_nonce(self, ttl_s: int, ip: str | None) -> tuple[str, float]:
        """A fresh single-use nonce and when it expires."""
        nonce = pysecrets.token_urlsafe(24).replace("-", "a").replace("_", "b")[:24]
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(schema.nonces.delete().where(schema.nonces.c.expires_at < now - 3600))
            conn.execute(schema.nonces.insert().values(nonce=nonce, issued_at=now, expires_at=now + ttl_s, ip=ip))
        return nonce, now + ttl_s

    def spend_nonce(self, nonce: str) -> None:
        """Mark `nonce` used, atomically; refuses an unknown, expired or already used one."""
        now = time.time()
        with self.engine.begin() as conn:
            done = conn.execute(schema.nonces.update()
                                .where(schema.nonces.c.nonce == nonce, schema.nonces.c.used_at.is_(None),
                                       schema.nonces.c.expires_at >= now)
                                .values(used_at=now)).rowcount
            if done == 1:
                return
            row = conn.execute(sa.select(schema.nonces).where(schema.nonces.c.nonce == nonce)).mappings().first()
        if row is None:
            raise Unauthorized("nonce was not issued by this gateway: get one from /v1/auth/nonce", code="siwe_refused")
        if row["used_at"] is not None:
            raise Unauthorized("nonce already used: this message was replayed; sign a new one", code="siwe_refused")
        raise Unauthorized("nonce expired: get a new one from /v1/auth/nonce", code="siwe_refused")

    def open(self, address: str, chain_id: int, ttl_s: int) -> tuple[str, str, float]:
        """A new session for `address`: its id, refresh token and refresh expiry."""
        sid, token, now = pysecrets.token_hex(16), pysecrets.token_urlsafe(32), time.time()
        with self.engine.begin() as conn:
            conn.execute(schema.sessions.insert().values(
                session_id=sid, address=address, chain_id=chain_id, refresh_hash=refresh_hash(token),
                created_at=now, refreshed_at=now, expires_at=now + ttl_s, revoked=False))
        return sid, token, now + ttl_s

    def rotate(self, token: str, ttl_s: int) -> tuple[str, str, str, float]:
        """Spend refresh `token`: (address, session id, new refresh token, its expiry); a reused one revokes the
        session (it leaked: someone else rotated it first)."""
        now, new = time.time(), pysecrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(schema.sessions)
                               .where(schema.sessions.c.refresh_hash == refresh_hash(token))).mappings().first()
            if row is None:
                raise Unauthorized("refresh token unknown or already used: sign in again", code="bad_refresh")
            if row["revoked"] or row["expires_at"] < now:
                raise Unauthorized("session ended: sign in again", code="bad_refresh")
            done = conn.execute(schema.sessions.update()
                                .where(schema.sessions.c.session_id == row["session_id"],
                                       schema.sessions.c.refresh_hash == refresh_hash(token))
                                .values(refresh_hash=refresh_hash(new), refreshed_at=now,
                                        expires_at=now + ttl_s)).rowcount
            if done != 1:
                raise Unauthorized("refresh token already used: sign in again", code="bad_refresh")
        return row["address"], row["session_id"], new, now + ttl_s

    def active(self, session_id: str) -> bool:
        """Whether a session is still open (not revoked, refresh not expired)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.sessions.c.revoked, schema.sessions.c.expires_at)
                               .where(schema.sessions.c.session_id == session_id)).first()
        return row is not None and not row[0] and row[1] >= time.time()

    def revoke(self, *, session_id: str | None = None, address: str | None = None) -> int:
        """End one session, or every session of an address; returns how many."""
        q = schema.sessions.update().values(revoked=True)
        q = q.where(schema.sessions.c.session_id == session_id) if session_id else \
            q.where(sa.func.lower(schema.sessions.c.address) == (address or "").lower())
        with self.engine.begin() as conn:
            return conn.execute(q).rowcount
