"""Who may call what. Roles come from the chain where it has them — the customer of a job, the operator of a
node, the owner of a design, an arbiter, the DAO's timelock — and from the configured admin list for operations
staff (admin ⊇ operator ⊇ viewer). Every endpoint declares the roles it allows with `allow(...)`; a role tied
to a resource (customer, node_operator, design_owner) is checked against the path's job, node or design, read
from the index — never from anything the client says about itself.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from .errors import Forbidden, NotFound, Unauthorized
from .sessions import ACCESS_COOKIE

# Every role, what it means (the README's matrix is generated from this and the routes' declarations).
ROLES: dict[str, str] = {
    "public": "anyone, signed in or not",
    "account": "any signed-in wallet",
    "customer": "the customer of the job in the path",
    "node_operator": "the operator of the node in the path, or of the node that claimed the job in the path",
    "design_owner": "the current owner of the design in the path",
    "arbiter": "an active member of the arbiter panel, the market's arbiter or its appeal court",
    "dao": "the DAO's timelock, or an account holding one of its roles",
    "viewer": "operations staff with read access (configured admin list)",
    "operator": "operations staff who may also act on sessions (configured admin list)",
    "admin": "operations staff with every right (configured admin list)",
}
STAFF = ("viewer", "operator", "admin")  # each includes the ones before it


@dataclass(frozen=True)
class Principal:
    """The signed-in caller."""

    address: str
    session_id: str

    def staff_rank(self, admins: dict[str, str]) -> int:
        role = admins.get(self.address)
        return STAFF.index(role) + 1 if role in STAFF else 0


def principal(request: Request) -> Principal | None:
    """The caller's session from the bearer header or the session cookie (None when neither is sent)."""
    gw = request.app.state.gw
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else request.cookies.get(ACCESS_COOKIE)
    if not token:
        return None
    tok = gw.tokens.check(token)
    if not gw.sessions.active(tok.session_id):
        raise Unauthorized("session was signed out or revoked: sign in again", code="session_revoked")
    return Principal(tok.address, tok.session_id)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.lower() == b.lower()  # type: ignore[union-attr]


def _path_int(request: Request, name: str) -> int | None:
    raw = request.path_params.get(name)
    if raw is None:
        return None
    try:
        return int(raw, 0) if isinstance(raw, str) else int(raw)
    except ValueError:
        return None


def _holds(role: str, who: Principal, request: Request) -> bool:
    """Whether `who` holds `role` for this request's resource."""
    gw = request.app.state.gw
    read = gw.read
    if role == "account":
        return True
    if role in STAFF:
        return who.staff_rank(gw.config.admins) >= STAFF.index(role) + 1
    try:
        if role == "customer":
            job_id = _path_int(request, "job_id")
            return job_id is not None and _same(read.job(job_id).customer, who.address)
        if role == "node_operator":
            node_id = _path_int(request, "node_id")
            if node_id is not None:
                return _same(read.node(node_id).operator, who.address)
            job_id = _path_int(request, "job_id")
            return job_id is not None and _same(read.job(job_id).node, who.address)
        if role == "design_owner":
            design_id = _path_int(request, "design_id")
            return design_id is not None and _same(read.design(design_id).owner, who.address)
    except LookupError:
        raise NotFound("no such resource in the index") from None
    if role == "arbiter":
        s = read.settings()
        judges = {str(s.get("arbiter", "")).lower(), str(s.get("appeal_court", "")).lower()}
        dep = gw.deployment_or_none()
        if dep is not None:
            judges |= {dep.arbiter.lower(), dep.appeal_court.lower()}
        return who.address.lower() in judges or any(_same(a.arbiter, who.address)
                                                   for a in read.arbiters(active=True))
    if role == "dao":
        dep = gw.deployment_or_none()
        timelock = dep.contracts.get("FabTimelock") if dep is not None else None
        if _same(timelock, who.address):
            return True
        from fabrica.indexer.schema import roles as role_table
        import sqlalchemy as sa

        q = sa.select(role_table.c.account).where(sa.func.lower(role_table.c.account) == who.address.lower())
        return bool(read._rows(q))
    raise ValueError(f"unknown role {role!r}")


def allow(*roles: str) -> Any:
    """A FastAPI dependency letting through callers that hold one of `roles` (the endpoint's declaration)."""
    for r in roles:
        if r not in ROLES:
            raise ValueError(f"unknown role {r!r}; roles: {', '.join(ROLES)}")

    def check(request: Request) -> Principal | None:
        who = principal(request)
        request.state.principal = who
        if who is not None:  # a signed-in wallet has its own budget, whichever IPs it comes from
            request.app.state.gw.address_limiter.take(who.address, "requests")
        if "public" in roles:
            return who
        if who is None:
            raise Unauthorized(f"sign in first (allowed: {', '.join(roles)})", code="sign_in_required")
        if any(_holds(r, who, request) for r in roles):
            return who
        gw = request.app.state.gw
        gw.audit.record("role_denied", address=who.address, ip=request.client.host if request.client else None,
                        request_id=getattr(request.state, "request_id", None), path=request.url.path,
                        method=request.method, allowed=list(roles))
        raise Forbidden(f"{who.address} may not {request.method} {request.url.path}: allowed roles are "
                        f"{', '.join(roles)}", code="role_denied")

    check.roles = roles  # type: ignore[attr-defined]
    return Depends(check)


def roles_of(route: Any) -> tuple[str, ...] | None:
    """The roles an API route declared with `allow` (None for routes that declare none, like the docs)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    for dep in dependant.dependencies:
        found = getattr(dep.call, "roles", None)
        if found is not None:
            return found
    return None


def matrix(app: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path, roles) of every declared API route, for the README table and the RBAC test."""
    out = []
    for route in _walk(getattr(app, "routes", app)):
        roles = roles_of(route)
        if roles is None:
            continue
        for method in sorted(getattr(route, "methods", None) or {"WS"}):
            if method != "HEAD":
                out.append((method, route.path, roles))
    return sorted(out, key=lambda r: (r[1], r[0]))


def _walk(routes: Any) -> Any:
    """Every route, descending into included routers (FastAPI keeps those as their own route objects)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _walk(inner.routes)
        else:
            yield route


Check = Callable[[Request], Principal | None]
