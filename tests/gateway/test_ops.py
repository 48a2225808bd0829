"""Operations at the edge, over HTTP on loopback: rate limits per IP and per address (429 with Retry-After),
body size limits, CORS for the dApp's origin only, security headers, request ids, structured JSON logs,
readiness that follows the index's lag, and Prometheus metrics."""
from __future__ import annotations

import json

import httpx
import pytest
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from gateway_testkit import GatewayProcess, app_client, index, sign_in

CUSTOMER = dev_account(DEV_ROLES["customer"])
DAPP = "https://app.fabrica.example"


@pytest.fixture(scope="module")
def indexed(devnet, tmp_path_factory):
    rpc_url, deployment, home = devnet
    url = f"sqlite:///{tmp_path_factory.mktemp('ops') / 'index.db'}"
    index(url, rpc_url, deployment)
    return url


def test_ip_rate_limit_answers_429_with_retry_after(indexed, devnet) -> None:
    rpc_url, _d, home = devnet
    with app_client(indexed, home, rpc_url, rate_per_ip=1, burst_per_ip=5) as c:
        codes = [c.get("/v1/stats").status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and 429 in codes[5:]
        r = c.get("/v1/stats")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"] == "rate_limited" and "retry in" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200  # probes are never limited


def test_address_rate_limit_counts_a_signed_in_wallet_across_ips(indexed, devnet) -> None:
    rpc_url, _d, home = devnet
    with app_client(indexed, home, rpc_url, rate_per_address=1, burst_per_address=3) as c:
        token = sign_in(c, CUSTOMER.key)["access_token"]
        c.cookies.clear()
        codes = [c.get("/v1/auth/me", headers={"authorization": f"Bearer {token}"}).status_code for _ in range(6)]
        assert 429 in codes
        assert c.get("/v1/stats").status_code == 200  # anonymous reads from the same IP are not the wallet's


def test_body_size_limit(indexed, devnet) -> None:
    rpc_url, _d, home = devnet
    with app_client(indexed, home, rpc_url, max_body_bytes=2048) as c:
        r = c.post("/v1/auth/verify", content=b'{"message": "' + b"a" * 5000 + b'", "signature": "0x00"}',
                   headers={"content-type": "application/json"})
        assert r.status_code == 413 and "limit" in r.json()["detail"]

        def chunks():  # no Content-Length: the edge counts what arrives
            yield b'{"message": "'
            for _ in range(10):
                yield b"a" * 1000
            yield b'", "signature": "0x00"}'

        r = c.post("/v1/auth/verify", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_cors_only_for_the_dapps_origin_and_security_headers(indexed, devnet) -> None:
    rpc_url, _d, home = devnet
    with app_client(indexed, home, rpc_url, cors_origins=(DAPP,)) as c:
        ok = c.get("/v1/stats", headers={"origin": DAPP})
        assert ok.headers["access-control-allow-origin"] == DAPP
        assert ok.headers["access-control-allow-credentials"] == "true"
        evil = c.get("/v1/stats", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers
        pre = c.options("/v1/content", headers={"origin": "https://evil.example", "access-control-request-method": "POST"})
        assert pre.status_code == 400 and "access-control-allow-origin" not in pre.headers
        for h in ("x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy"):
            assert h in ok.headers
        assert ok.headers["x-content-type-options"] == "nosniff"
        assert c.get("/v1/stats", headers={"x-request-id": "abc123"}).headers["x-request-id"] == "abc123"
        assert len(ok.headers["x-request-id"]) == 32


def test_wildcard_cors_is_refused_by_configuration() -> None:
    from fabrica.gateway.config import GatewayConfig

    with pytest.raises(ValueError, match="wildcard"):
        GatewayConfig(cors_origins=("*",))


def test_served_process_logs_json_with_request_ids_and_readiness_follows_lag(devnet, chain, tmp_path) -> None:
    rpc_url, deployment, home = devnet
    url = f"sqlite:///{tmp_path / 'index.db'}"
    index(url, rpc_url, deployment)
    env = {"FABRICA_GATEWAY_MAX_LAG_BLOCKS": "3"}
    gw = GatewayProcess(url, home, rpc_url, env=env, access_log=True)
    try:
        ready = httpx.get(gw.url + "/readyz").json()
        assert ready["ready"] and ready["lag_blocks"] == 0
        chain.mine(10)
        lagging = httpx.get(gw.url + "/readyz")
        assert lagging.status_code == 503 and "behind" in " ".join(lagging.json()["problems"])
        index(url, rpc_url, deployment)
        assert httpx.get(gw.url + "/readyz").status_code == 200
        metrics = httpx.get(gw.url + "/metrics").text
        assert "fabrica_gateway_request_seconds_bucket" in metrics and "fabrica_gateway_ws_clients" in metrics
        assert "fabrica_gateway_indexer_lag_blocks" in metrics
    finally:
        gw.stop()
    lines = [json.loads(x) for x in gw.log_path.read_text().splitlines() if x.startswith("{")]
    assert lines and all("ts" in x and "level" in x for x in lines)
    served = [x for x in lines if x.get("msg") == "request" and x.get("path") == "/readyz"]
    assert len(served) == 3 and {x["status"] for x in served} == {200, 503}
    assert all(len(x["request_id"]) == 32 and x["ms"] >= 0 for x in served)



def test_the_dapp_is_served_precompressed_to_clients_that_accept_gzip(indexed, devnet, tmp_path) -> None:
    import gzip

    rpc_url, _d, home = devnet
    web = tmp_path / "dist"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>dApp</title>")
    script = b"console.log('fabrica');" * 200
    (web / "assets" / "index-abc.js").write_bytes(script)
    (web / "assets" / "index-abc.js.gz").write_bytes(gzip.compress(script, 9))
    with app_client(indexed, home, rpc_url, web_dir=str(web)) as c:
        zipped = c.get("/assets/index-abc.js", headers={"accept-encoding": "gzip"})
        assert zipped.status_code == 200 and zipped.headers["content-encoding"] == "gzip"
        assert zipped.content == script  # httpx decodes it: the bytes are the script's
        assert int(zipped.headers["content-length"]) < len(script) / 5
        assert "immutable" in zipped.headers["cache-control"]
        plain = c.get("/assets/index-abc.js", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == script
        assert c.get("/").text.startswith("<!doctype html>")
        assert c.get("/v1/stats").status_code == 200  # the API still wins over the static mount
