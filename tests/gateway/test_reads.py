"""The /v1 read endpoints against the read model they serve, on SQLite and PostgreSQL: filters, cursor paging
(every job exactly once), job detail with spec and history, nodes with stake and reputation, designs, bounties,
accounts and statistics; bad parameters get a 4xx naming them."""
from __future__ import annotations

import pytest
from fabrica.indexer.read import ReadModel
from fabrica.protocol.demo import box_stl
from fabrica.protocol.types import JobSpec, Material, ProcessKind, SpecFile
from gateway_testkit import app_client, index

DAY = 86_400
USD = 10**6


def post_spec(chain, material: Material, size: tuple[float, float, float], amount: int = 5 * USD) -> int:
    """Post a job whose spec is a real JobSpec document in the shared content store."""
    part = chain.cid(box_stl(*size))
    spec = JobSpec(title=f"{material.name} bracket", process=ProcessKind.FDM, material=material,
                   files=[SpecFile(cid=part, name="bracket.stl")], bounding_box_mm=size)
    spec_bytes = chain.cid_bytes(spec.model_dump_json().encode())
    collateral = chain.market.functions.collateralBounds(chain.usd, amount).call()[0]
    chain.allow()
    r = chain.send(chain.market.functions.post(chain.usd, amount, spec_bytes, 0, chain.now() + DAY, DAY, collateral,
                                               0, 0), chain.customer)
    return chain.emitted(r, "JobPosted")[0]["jobId"]


@pytest.fixture(scope="module")
def world(chain):
    """Jobs in several states with real specs, a design, a bounty."""
    made = {"pla": [post_spec(chain, Material.PLA, (20, 20, 10)) for _ in range(4)],
            "petg": [post_spec(chain, Material.PETG, (30, 10, 10)) for _ in range(3)],
            "huge": [post_spec(chain, Material.PLA, (900, 900, 900))],
            "plain": [chain.post() for _ in range(5)]}
    claimed = made["pla"][0]
    chain.claim(claimed)
    chain.deliver(claimed)
    chain.accept(claimed)
    chain.claim(made["petg"][0])
    made["design"] = chain.mint_design(b"reads part", 400)
    return made


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request, world, devnet, tmp_path_factory):
    from gateway_testkit import drop_schema, pg_schema_url

    rpc_url, deployment, home = devnet
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reads') / 'index.db'}"
    else:
        schema, url = pg_schema_url()
    try:
        index(url, rpc_url, deployment)
        with app_client(url, home, rpc_url, rate_per_ip=10_000, burst_per_ip=10_000) as c:
            c.app.state.gw.after_index_change()  # what the stream's hub does on each index change
            yield c, ReadModel(c.app.state.gw.engine)
    finally:
        if schema:
            drop_schema(schema)


def _all_pages(c, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        body = c.get("/v1/jobs", params=q).json()
        out += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return out


def test_cursor_paging_lists_every_job_once_newest_first(client) -> None:
    c, read = client
    pages = _all_pages(c, limit=3)
    ids = [j["job_id"] for j in pages]
    truth = [j.job_id for j in read.jobs(limit=10_000)]
    assert sorted(ids, reverse=True) == ids and sorted(ids) == sorted(truth) and len(set(ids)) == len(ids)
    first = c.get("/v1/jobs").json()
    assert first["block"] == read.status().block_number and len(first["items"]) == min(50, len(truth))


def test_filters_match_the_read_model(client, world, chain) -> None:
    c, read = client
    for status in ("open", "claimed", "settled"):
        got = {j["job_id"] for j in _all_pages(c, status=status)}
        assert got == {j.job_id for j in read.jobs(status=status, limit=10_000)} and got
    mine = _all_pages(c, customer=chain.customer.lower())
    assert {j["job_id"] for j in mine} == {j.job_id for j in read.jobs(customer=chain.customer, limit=10_000)}
    by_node = {j["job_id"] for j in _all_pages(c, node_id=chain.node_id)}
    assert world["pla"][0] in by_node and world["petg"][0] in by_node
    assert {j["job_id"] for j in _all_pages(c, node=chain.shop)} == by_node
    petg = {j["job_id"] for j in _all_pages(c, material="petg")}
    assert petg == set(world["petg"])
    pla = _all_pages(c, material="PLA", process="FDM")
    assert {j["job_id"] for j in pla} == set(world["pla"] + world["huge"])
    assert all(j["material"] == "PLA" and j["title"] == "PLA bracket" for j in pla)


def test_amounts_are_strings_and_match_the_chain(client, world, chain) -> None:
    c, _read = client
    job = c.get(f"/v1/jobs/{world['pla'][1]}").json()
    onchain = chain.job(world["pla"][1])
    assert isinstance(job["amount"], str) and int(job["amount"]) == 5 * USD
    assert int(job["collateral"]) == onchain["collateral"] if "collateral" in onchain else True
    assert job["spec"]["material"] == "PLA" and job["spec"]["size_x"] == 20
    assert [h["event"] for h in job["history"]][0] == "JobPosted"
    settled = c.get(f"/v1/jobs/{world['pla'][0]}").json()
    assert settled["status"] == "settled" and [h["event"] for h in settled["history"]][-1] in ("JobAccepted", "JobSettled")


def test_open_jobs_for_a_node_respect_its_capabilities(client, world, chain) -> None:
    c, _read = client
    node = c.get(f"/v1/nodes/{chain.node_id}").json()
    open_ids = {j["job_id"] for j in c.get(f"/v1/nodes/{chain.node_id}/open-jobs?limit=100").json()["items"]}
    assert world["huge"][0] not in open_ids  # 900 mm does not fit its build volume
    assert set(world["pla"][1:]) <= open_ids
    wants_petg = "PETG" in node["material_names"]
    assert (set(world["petg"][1:]) <= open_ids) == wants_petg


def test_node_reputation_counts_its_jobs(client, world, chain) -> None:
    c, read = client
    node = c.get(f"/v1/nodes/{chain.node_id}").json()
    rep = node["reputation"]
    mine = read.jobs(limit=10_000)
    claimed = [j for j in mine if j.node_id == chain.node_id]
    assert rep["claimed"] == len(claimed)
    assert rep["settled"] == sum(1 for j in claimed if j.status == "settled") >= 1
    assert rep["in_progress"] == sum(1 for j in claimed if j.status == "claimed") >= 1
    assert int(node["stake"]["staked"]) > 0 and node["process_names"]


def test_designs_accounts_and_stats(client, world, chain) -> None:
    c, read = client
    d = c.get(f"/v1/designs/{world['design']}").json()
    assert d["token_id"] == str(world["design"]) and d["creator"].lower() == chain.designer.lower()
    assert any(x["token_id"] == str(world["design"]) for x in c.get("/v1/designs?limit=100").json()["items"])
    acct = c.get(f"/v1/accounts/{chain.customer}").json()
    assert acct["jobs_as_customer"] == len(read.jobs(customer=chain.customer, limit=10_000))
    assert acct["wallet"] is not None and int(acct["wallet"]["fUSD"]) == chain.usd_token.functions.balanceOf(chain.customer).call()
    stats = c.get("/v1/stats").json()
    assert stats["jobs"]["total"] == len(read.jobs(limit=10_000))
    assert stats["jobs"]["by_status"]["settled"] >= 1 and stats["nodes_active"] >= 1


def test_bad_parameters_are_4xx_naming_them(client) -> None:
    c, _read = client
    cases = {"/v1/jobs?status=lost": "status", "/v1/jobs?customer=0x123": "customer",
             "/v1/jobs?material=unobtainium": "material", "/v1/jobs?cursor=garbage!": "cursor",
             "/v1/accounts/bob": "account"}
    for url, word in cases.items():
        r = c.get(url)
        assert 400 <= r.status_code < 500 and word in r.text.lower(), (url, r.text)
    assert c.get("/v1/jobs?limit=1000").status_code == 422
    assert c.get("/v1/jobs/999999").status_code == 404
    assert c.get("/v1/nodes/424242").status_code == 404
    assert c.get(f"/v1/designs/{2**256}").status_code in (400, 422)
