"""Signed node telemetry against the real devnet and its index, on SQLite and PostgreSQL: a batch signed by the
node's operator is stored and read back by the operator, the job's customer and staff (never a stranger or an
anonymous caller); forged, foreign, replayed, stale, oversized and too frequent batches are refused and audited.

Batches are built and signed here by hand from the documented format (canonical JSON with numbers in fixed
integer units, EIP-191 over its sha256, eth_account as the signer), independently of fabrica.protocol.telemetry.
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.messages import encode_defunct
from fabrica.gateway import schema as gws
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from gateway_testkit import app_client, index, sign_in

SHOP = dev_account(DEV_ROLES["shop"])
CUSTOMER = dev_account(DEV_ROLES["customer"])
SHOP2 = dev_account(6)
STRANGER = dev_account(7)
VIEWER = dev_account(9)
FAB = 10**18


def canonical(batch: dict[str, Any]) -> bytes:
    """The canonical bytes as the format documents them: ms, centidegrees, 1/10,000; sorted, compact, UTF-8."""
    def n(v: float | None, k: int) -> int | None:
        return None if v is None else round(v * k)

    temps = ("hotend", "hotend_target", "bed", "bed_target")
    body = {**batch, "operator": batch["operator"].lower(), "sent_at": n(batch["sent_at"], 1000),
            "samples": [{"t": n(s["t"], 1000), "state": s.get("state"), **{f: n(s.get(f), 100) for f in temps},
                         **{f: n(s.get(f), 10_000) for f in ("hotend_duty", "bed_duty", "progress")},
                         "job_id": s.get("job_id"), "error": s.get("error")} for s in batch.get("samples", [])],
            "logs": [{"t": n(x["t"], 1000), "level": x.get("level", "info"), "line": x["line"],
                      "job_id": x.get("job_id")} for x in batch.get("logs", [])]}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(key: Any, batch: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(canonical(batch)).digest()
    return {"batch": batch, "signature": "0x" + bytes(Account.sign_message(encode_defunct(primitive=digest),
                                                                            key).signature).hex()}


def batch(node_id: int, seq: int, *, operator: str = SHOP.address, job_id: int | None = None, n: int = 3,
          logs: int = 2, t0: float | None = None, **over: Any) -> dict[str, Any]:
    """A batch of `n` samples a second apart ending now, and `logs` log lines."""
    t0 = round(time.time() - max(n, logs), 3) if t0 is None else t0
    samples = [{"t": t0 + i, "state": "printing", "hotend": 214.5 + i, "hotend_target": 215.0, "bed": 59.75,
                "bed_target": 60.0, "hotend_duty": 0.5039, "bed_duty": 0.25, "progress": round(i / max(n, 1), 4),
                "job_id": job_id, "error": None} for i in range(n)]
    lines = [{"t": t0 + i, "level": "info", "line": f"line {i} ✓", "job_id": job_id} for i in range(logs)]
    return {"schema": "fabrica.telemetry/1", "chain_id": 31337, "node_id": node_id, "operator": operator,
            "machine": "vp-1", "seq": seq, "sent_at": round(time.time(), 3), "samples": samples, "logs": lines, **over}


def post(client: Any, body: dict[str, Any], node_id: int | None = None) -> Any:
    nid = body["batch"]["node_id"] if node_id is None else node_id
    return client.post(f"/v1/nodes/{nid}/telemetry", json=body)


@pytest.fixture(scope="module")
def world(chain) -> dict[str, int]:
    """The dev shop's node with a job claimed by it; SHOP2 with an active node and one out of service."""
    job_id = chain.post()
    chain.claim(job_id)
    chain.stake(SHOP2.address, 2_000 * FAB)
    other = chain.register_node(SHOP2.address)
    retired = chain.register_node(SHOP2.address)
    chain.send(chain.registry.functions.setNodeActive(retired, False), SHOP2.address)
    return {"node": chain.node_id, "job": job_id, "other": other, "retired": retired}


@pytest.fixture
def gateway(db_url, devnet, world):
    rpc_url, deployment, home = devnet
    index(db_url, rpc_url, deployment)
    with app_client(db_url, home, rpc_url, admins={VIEWER.address: "viewer"}, telemetry_rate=1.0,
                    telemetry_max_samples=50, telemetry_max_logs=20) as client:
        yield client


def audited(client: Any) -> list[str]:
    with client.app.state.gw.engine.connect() as conn:
        rows = conn.execute(sa.select(gws.audit_log).where(gws.audit_log.c.event == "telemetry_refused")
                            .order_by(gws.audit_log.c.id)).mappings().all()
    return [r["detail"]["reason"] for r in rows]


def as_(client: Any, acct: Any) -> dict[str, str]:
    token = sign_in(client, acct.key)["access_token"]
    client.cookies.clear()
    return {"authorization": f"Bearer {token}"}


def test_signed_batch_is_stored_and_read_by_its_roles(gateway, world) -> None:
    client = gateway
    from fabrica.gateway.metrics import METRICS

    published: list[tuple[int, dict]] = []
    hub = client.app.state.hub
    real = hub.publish_telemetry
    hub.publish_telemetry = lambda node_id, message: (published.append((node_id, message)), real(node_id, message))
    counted = METRICS.telemetry_samples._value.get()

    sent = batch(world["node"], 7, job_id=world["job"], n=5, logs=3)
    r = post(client, sign(SHOP.key, sent))
    assert r.status_code == 200, r.text
    assert r.json() == {"node_id": world["node"], "seq": 7, "samples": 5, "logs": 3}
    assert METRICS.telemetry_samples._value.get() == counted + 5
    assert published and published[0][0] == world["node"] and len(published[0][1]["samples"]) == 5
    assert published[0][1]["job_ids"] == [world["job"]]
    # Another node's operator tags a sample with this job: it never shows in the job's telemetry.
    assert post(client, sign(SHOP2.key, batch(world["other"], 1, operator=SHOP2.address, job_id=world["job"],
                                              n=2))).status_code == 200

    shop, customer, viewer, stranger = (as_(client, a) for a in (SHOP, CUSTOMER, VIEWER, STRANGER))
    mine = client.get(f"/v1/nodes/{world['node']}/telemetry", headers=shop)
    assert mine.status_code == 200, mine.text
    items = mine.json()["items"]
    assert [s["at"] for s in items] == [s["t"] for s in sent["samples"]]
    first = items[0]
    assert first["hotend"] == 214.5 and first["hotend_target"] == 215.0 and first["bed"] == 59.75
    assert first["hotend_duty"] == 0.5039 and first["bed_duty"] == 0.25 and first["state"] == "printing"
    assert first["job_id"] == world["job"] and first["seq"] == 7 and first["machine"] == "vp-1"
    assert first["at_iso"].endswith("Z") and first["at_iso"][:19] == time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime(first["at"]))
    assert client.get(f"/v1/nodes/{world['node']}/telemetry", headers=viewer).status_code == 200

    job = client.get(f"/v1/jobs/{world['job']}/telemetry", headers=customer)
    assert job.status_code == 200, job.text
    assert job.json()["node_ids"] == [world["node"]] and len(job.json()["items"]) == 5
    logs = client.get(f"/v1/jobs/{world['job']}/logs", headers=customer).json()
    assert [x["line"] for x in logs["items"]] == ["line 0 ✓", "line 1 ✓", "line 2 ✓"]
    assert client.get(f"/v1/jobs/{world['job']}/logs", headers=shop).status_code == 200

    # Paging in twos walks every sample once, in time order; a time range cuts it.
    seen, cursor = [], None
    while True:
        page = client.get(f"/v1/nodes/{world['node']}/telemetry", headers=shop,
                          params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [s["at"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [s["t"] for s in sent["samples"]]
    ranged = client.get(f"/v1/nodes/{world['node']}/telemetry", headers=shop,
                        params={"since": sent["samples"][1]["t"], "until": sent["samples"][3]["t"]}).json()
    assert [s["at"] for s in ranged["items"]] == [sent["samples"][1]["t"], sent["samples"][2]["t"]]

    for path in (f"/v1/nodes/{world['node']}/telemetry", f"/v1/jobs/{world['job']}/telemetry",
                 f"/v1/jobs/{world['job']}/logs"):
        assert client.get(path, headers=stranger).status_code == 403, path
        assert client.get(path).status_code == 401, path
    assert client.get(f"/v1/nodes/{world['node']}/telemetry", headers=customer).status_code == 403


def test_forged_foreign_replayed_stale_and_oversized_batches_are_refused(gateway, world) -> None:
    client = gateway
    node = world["node"]

    def refused(body: dict, status: int, code: str, node_id: int | None = None) -> Any:
        r = post(client, body, node_id)
        assert r.status_code == status and r.json()["error"] == code, (code, r.status_code, r.text)
        return r

    # Forged: a stranger's signature over a batch naming the shop; a signed batch changed after signing.
    refused(sign(STRANGER.key, batch(node, 1)), 401, "bad_signature")
    tampered = sign(SHOP.key, batch(node, 1))
    tampered["batch"]["samples"][0]["hotend"] = 20.0
    refused(tampered, 401, "bad_signature")
    # Foreign: validly signed by another operator, for the shop's node; an out-of-service node.
    refused(sign(SHOP2.key, batch(node, 1, operator=SHOP2.address)), 403, "foreign_node")
    refused(sign(SHOP2.key, batch(world["retired"], 1, operator=SHOP2.address)), 403, "node_inactive")
    # Signed too long ago, in the future, for another chain.
    old = batch(node, 1, sent_at=round(time.time() - 400, 3), t0=round(time.time() - 500, 3))
    refused(sign(SHOP.key, old), 401, "stale_batch")
    refused(sign(SHOP.key, batch(node, 1, sent_at=round(time.time() + 600, 3))), 401, "future_batch")
    refused(sign(SHOP.key, batch(node, 1, chain_id=1)), 401, "wrong_chain")
    # Over the configured batch limits (50 samples, 20 log lines).
    refused(sign(SHOP.key, batch(node, 1, n=51, logs=0)), 413, "batch_too_large")
    refused(sign(SHOP.key, batch(node, 1, n=1, logs=21)), 413, "batch_too_large")
    # Posted to another node's URL; an unknown node.
    refused(sign(SHOP.key, batch(node, 1)), 400, "node_mismatch", node_id=world["other"])
    assert post(client, sign(SHOP.key, batch(999, 1))).status_code == 404

    # Replay: the same batch twice, then a lower number; the gateway says the last one it stored.
    good = sign(SHOP.key, batch(node, 10))
    assert post(client, good).status_code == 200
    r = refused(good, 403, "replayed")
    assert r.headers["x-fabrica-telemetry-seq"] == "10"
    refused(sign(SHOP.key, batch(node, 9)), 403, "replayed")
    assert post(client, sign(SHOP.key, batch(node, 11))).status_code == 200
    with client.app.state.gw.engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(gws.telemetry)
                              .where(gws.telemetry.c.node_id == node)).scalar()
        cursor = conn.execute(sa.select(gws.telemetry_cursor).where(gws.telemetry_cursor.c.node_id == node)
                              ).mappings().one()
    assert stored == 6 and cursor["last_seq"] == 11 and cursor["operator"] == SHOP.address.lower()

    assert audited(client) == ["bad_signature", "bad_signature", "foreign_node", "node_inactive", "stale_batch",
                               "future_batch", "wrong_chain", "batch_too_large", "batch_too_large", "node_mismatch",
                               "replayed", "replayed"]


def test_too_many_batches_per_node_get_429_and_forgeries_do_not_count(gateway, world) -> None:
    client = gateway
    node = world["node"]
    for _ in range(20):  # forgeries never spend the node's budget
        assert post(client, sign(STRANGER.key, batch(node, 1))).status_code == 401
    codes = [post(client, sign(SHOP.key, batch(node, seq, n=1, logs=0))).status_code for seq in range(1, 8)]
    # telemetry_rate 1/s: a burst of 5, then refusals that say when to come back.
    assert codes[:5] == [200] * 5 and 429 in codes[5:], codes
    r = post(client, sign(SHOP.key, batch(node, 50, n=1, logs=0)))
    assert r.status_code == 429 and r.json()["error"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
    # Another node has its own budget.
    assert post(client, sign(SHOP2.key, batch(world["other"], 1, operator=SHOP2.address))).status_code == 200
