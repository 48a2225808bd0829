"""The role matrix, exhaustively: every declared endpoint, called by every kind of identity, on resources whose
owners the test sets up on the real devnet. Allowed callers never get 401/403; others always do (401 without a
session, 403 with one), and every 403 is audited.

Role holders are established on chain and read back by the gateway through the index; the expectation below
is computed from the test's own knowledge of who did what, not from the gateway's code."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from fabrica.gateway import schema as gws
from fabrica.gateway.roles import STAFF, matrix
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from gateway_testkit import app_client, index, sign_in

CUSTOMER = dev_account(DEV_ROLES["customer"])
SHOP = dev_account(DEV_ROLES["shop"])
DESIGNER = dev_account(DEV_ROLES["designer"])
ARBITER = dev_account(DEV_ROLES["arbiter"])
DAO_MEMBER = dev_account(6)  # granted a timelock role below
STRANGER = dev_account(7)
VIEWER, OPERATOR, ADMIN = dev_account(9), dev_account(10), dev_account(11)
IDENTITIES = {"anonymous": None, "customer": CUSTOMER, "shop": SHOP, "designer": DESIGNER, "arbiter": ARBITER,
              "dao_member": DAO_MEMBER, "stranger": STRANGER, "viewer": VIEWER, "operator": OPERATOR,
              "admin": ADMIN}
# Who holds each resource-free or resource role for the resources the paths name (set up in `world`).
HOLDERS = {
    "public": set(IDENTITIES),
    "account": set(IDENTITIES) - {"anonymous"},
    "customer": {"customer"},
    "node_operator": {"shop"},
    "design_owner": {"designer"},
    "arbiter": {"arbiter"},
    "dao": {"dao_member"},
    "viewer": {"viewer", "operator", "admin"},
    "operator": {"operator", "admin"},
    "admin": {"admin"},
}


@pytest.fixture(scope="module")
def world(chain, devnet, tmp_path_factory):
    """A claimed job, a design, a bounty and a timelock role on chain; the gateway over their index."""
    rpc_url, deployment, home = devnet
    job_id = chain.post()
    chain.claim(job_id)
    design_id = chain.mint_design(b"rbac bracket", 500)
    timelock = chain.w3.eth.contract(address=chain.timelock, abi=[
        {"type": "function", "name": "grantRole", "stateMutability": "nonpayable",
         "inputs": [{"name": "role", "type": "bytes32"}, {"name": "account", "type": "address"}], "outputs": []},
        {"type": "function", "name": "CANCELLER_ROLE", "stateMutability": "view", "inputs": [],
         "outputs": [{"name": "", "type": "bytes32"}]}])
    chain.send(timelock.functions.grantRole(timelock.functions.CANCELLER_ROLE().call(), DAO_MEMBER.address),
               chain.timelock)
    url = f"sqlite:///{tmp_path_factory.mktemp('rbac') / 'index.db'}"
    index(url, rpc_url, deployment)
    admins = {VIEWER.address: "viewer", OPERATOR.address: "operator", ADMIN.address: "admin"}
    with app_client(url, home, rpc_url, admins=admins, rate_per_ip=10_000, burst_per_ip=10_000,
                    rate_per_address=10_000, burst_per_address=10_000) as client:
        tokens = {}
        for name, acct in IDENTITIES.items():
            if acct is not None:
                tokens[name] = sign_in(client, acct.key)["access_token"]
        client.cookies.clear()
        yield client, tokens, {"job_id": job_id, "node_id": chain.node_id, "design_id": design_id,
                               "account": CUSTOMER.address, "bounty_id": 1, "proposal_id": 1,
                               "cid": "QmQvrBYvNs6wft5EZpy1YB7KfA52ui3LXLXGBjyxdueiDy",
                               "order_hash": "0x" + "ab" * 32, "contract": "JobMarket", "function": "deposit"}


def _fill(path: str, params: dict) -> str:
    for name, value in params.items():
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, f"no value for a parameter of {path}"
    return path


def test_every_endpoint_declares_roles(world) -> None:
    client, _tokens, _params = world
    rows = matrix(client.app)
    assert len(rows) >= 40
    undeclared = [(r.path, sorted(r.methods or ())) for r in _api_routes(client.app) if r.path.startswith("/v1")
                  and not any(p == r.path for _m, p, _r in rows)]
    assert undeclared == []


def _api_routes(app):
    from fabrica.gateway.roles import _walk

    return [r for r in _walk(app.routes) if hasattr(r, "methods") or r.__class__.__name__ == "APIWebSocketRoute"]


def test_role_matrix_exhaustively(world) -> None:
    client, tokens, params = world
    failures = []
    checked = 0
    # Endpoints that end sessions (sign-out, revocation) run last, each call with a session of its own.
    ending = ("/v1/auth/logout", "/v1/admin/sessions/{account}/revoke")
    rows = sorted(matrix(client.app), key=lambda r: r[1] in ending)
    for method, path, roles in rows:
        if method == "WS":
            continue
        url = _fill(path, params)
        allowed = set().union(*(HOLDERS[r] for r in roles))
        for who in IDENTITIES:
            token = tokens.get(who)
            if path in ending and token:
                token = sign_in(client, IDENTITIES[who].key)["access_token"]
                client.cookies.clear()
            headers = {"authorization": f"Bearer {token}"} if token else {}
            kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            r = client.request(method, url, headers=headers, **kwargs)
            checked += 1
            code = r.json().get("error") if r.headers.get("content-type", "").startswith("application/json") \
                and isinstance(r.json(), dict) else None
            # A role refusal is 401 sign_in_required or 403 role_denied; other 401s (a bad refresh token sent to
            # /v1/auth/refresh) are the endpoint's own answer to an allowed caller.
            denied = code in ("sign_in_required", "role_denied")
            if who in allowed and denied:
                failures.append(f"{who} refused {r.status_code} on {method} {path} (roles {roles}): {r.text[:120]}")
            if who not in allowed:
                want = (401, "sign_in_required") if who == "anonymous" else (403, "role_denied")
                if (r.status_code, code) != want:
                    failures.append(f"{who} got {r.status_code} {code} (want {want}) on {method} {path} ({roles})")
    assert failures == [], "\n".join(failures)
    assert checked >= 400


def test_denials_are_audited(world) -> None:
    client, _tokens, _params = world
    tokens = {who: sign_in(client, IDENTITIES[who].key)["access_token"] for who in ("stranger", "operator")}
    client.cookies.clear()
    r = client.get("/v1/admin/audit", headers={"authorization": f"Bearer {tokens['stranger']}"})
    assert r.status_code == 403 and r.json()["error"] == "role_denied"
    with client.app.state.gw.engine.connect() as conn:
        row = conn.execute(sa.select(gws.audit_log).where(gws.audit_log.c.event == "role_denied")
                           .order_by(gws.audit_log.c.id.desc())).mappings().first()
    assert row["address"] == STRANGER.address and row["detail"]["path"] == "/v1/admin/audit"
    audit = client.get("/v1/admin/audit", headers={"authorization": f"Bearer {tokens['operator']}"}).json()
    assert any(item["event"] == "role_denied" and item["address"] == STRANGER.address for item in audit["items"])


def test_staff_roles_nest(world) -> None:
    assert STAFF == ("viewer", "operator", "admin")
    client, _tokens, _params = world
    tokens = {who: sign_in(client, IDENTITIES[who].key)["access_token"]
              for who in ("viewer", "operator", "admin", "arbiter", "dao_member", "stranger")}
    client.cookies.clear()
    roles = {who: client.get("/v1/auth/me", headers={"authorization": f"Bearer {tokens[who]}"}).json()["roles"]
             for who in ("viewer", "operator", "admin", "arbiter", "dao_member", "stranger")}
    assert roles["viewer"] == ["account", "viewer"]
    assert roles["operator"] == ["account", "viewer", "operator"]
    assert roles["admin"] == ["account", "viewer", "operator", "admin"]
    assert roles["arbiter"] == ["account", "arbiter"] and roles["dao_member"] == ["account", "dao"]
    assert roles["stranger"] == ["account"]


def test_admin_revocation_ends_sessions_and_is_audited(world) -> None:
    client, _tokens, _params = world
    tokens = {"admin": sign_in(client, ADMIN.key)["access_token"]}
    fresh = sign_in(client, STRANGER.key)["access_token"]
    client.cookies.clear()
    r = client.post(f"/v1/admin/sessions/{STRANGER.address}/revoke", headers={"authorization": f"Bearer {tokens['admin']}"})
    assert r.status_code == 200 and r.json()["revoked"] >= 1
    assert client.get("/v1/auth/me", headers={"authorization": f"Bearer {fresh}"}).status_code == 401
    events = client.get("/v1/admin/audit?event=admin_revoke_sessions",
                        headers={"authorization": f"Bearer {tokens['admin']}"}).json()["items"]
    assert events and events[0]["detail"]["target"] == STRANGER.address
