"""Property-based fuzzing of every operation in the gateway's OpenAPI document (schemathesis): generated
requests — valid and invalid — never get a 5xx from a real gateway over a real PostgreSQL index of the devnet,
anonymous and signed in as staff."""
from __future__ import annotations

import httpx
import pytest
import schemathesis
from fabrica.protocol.accounts import dev_account
from gateway_testkit import GatewayProcess, index, sign_in
from hypothesis import HealthCheck, settings

ADMIN = dev_account(11)


@pytest.fixture(scope="module")
def served(devnet, chain, tmp_path_factory):
    """The gateway as `fabrica gateway serve` over a PostgreSQL index with a job, a design and a bounty."""
    from gateway_testkit import drop_schema, pg_schema_url

    rpc_url, deployment, home = devnet
    job = chain.post()
    chain.claim(job)
    chain.mint_design(b"fuzz part", 300)
    schema, url = pg_schema_url()
    index(url, rpc_url, deployment)
    env = {"FABRICA_GATEWAY_ADMINS": f"{ADMIN.address}=admin", "FABRICA_GATEWAY_RATE_PER_IP": "100000",
           "FABRICA_GATEWAY_BURST_PER_IP": "100000", "FABRICA_GATEWAY_RATE_PER_ADDRESS": "100000",
           "FABRICA_GATEWAY_BURST_PER_ADDRESS": "100000"}
    try:
        with GatewayProcess(url, home, rpc_url, env=env) as gw:
            client = httpx.Client(base_url=gw.url)
            token = sign_in(client, ADMIN.key)["access_token"]
            yield gw, token
    finally:
        drop_schema(schema)


@pytest.fixture(scope="module")
def api_schema(served):
    gw, _token = served
    return schemathesis.openapi.from_url(gw.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.exclude(path="/v1/auth/logout").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, served) -> None:
    _gw, token = served
    for headers in ({}, {"authorization": f"Bearer {token}"}):
        response = case.call(headers=headers, timeout=30)
        assert response.status_code < 500, (f"{case.method} {case.formatted_path}: {response.status_code} "
                                            f"{response.text[:300]}\n{_gw.log_path.read_text()[-3000:]}")
