"""The read API and the `fabrica indexer` CLI over a real anvil, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fabrica.indexer.cli import app
from fabrica.indexer.read import ReadModel
from fabrica.indexer.schema import balances
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.protocol.errors import FabricaLookupError, FabricaValueError
from indexer_testkit import USD, ChainDriver
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def scenario(chain: ChainDriver) -> dict[str, int]:
    """Jobs in several states, a design, market balances."""
    c = chain
    c.deposit(100 * USD)
    ids = {"design": c.mint_design(b"a bracket", 700)}
    ids.update({name: c.post() for name in ("open", "claimed", "cancelled")})
    ids["settled"] = c.post(20 * USD, design_id=ids["design"])
    c.claim(ids["claimed"])
    c.claim(ids["settled"])
    c.deliver(ids["settled"])
    c.accept(ids["settled"])
    c.cancel(ids["cancelled"])
    return ids


def test_read_api(db_url: str, chain: ChainDriver, scenario: dict[str, int]) -> None:
    with Indexer(db_url, chain.rpc_url, chain.deployment, IndexerConfig(confirmations=2)) as ix:
        ix.sync()
        read = ReadModel(ix.engine)
        # Job by id with history; its row is the job's current struct, which the market confirms.
        jobs = chain.jobs()
        for name in ("open", "claimed", "settled", "cancelled"):
            job_id = scenario[name]
            view, truth = read.job(job_id), jobs[job_id]
            assert view.status == truth["status"] == name
            j = truth["job"]
            assert (view.amount, view.collateral, view.deadline, view.key, view.target_node) == (
                j["amount"], j["collateral"], j["deadline"], j["key"], j["targetNode"])
            assert view.customer == j["customer"].lower() and view.node == j["node"].lower()
            assert chain.status_of(job_id) == ("none", "open", "claimed", "delivered", "disputed", "settled",
                                               "resolved", "cancelled", "expired").index(view.status)
        settled = read.job(scenario["settled"])
        assert [h.event for h in settled.history] == ["JobPosted", "JobClaimed", "JobDelivered", "JobSettled"]
        assert [h.status for h in settled.history] == ["open", "claimed", "delivered", "settled"]
        # JobSettled carries no amounts: the payout is the market's arithmetic on the job's terms.
        fee = settled.amount * settled.fee_bps // 10_000
        assert settled.royalty == settled.amount * 700 // 10_000 and settled.royalty_receiver == chain.designer.lower()
        assert (settled.fee, settled.royalty_paid, settled.node_payout, settled.accepted) == (
            fee, settled.royalty, settled.amount - fee - settled.royalty, True)
        assert read.job(scenario["claimed"]).claimed_at == read.job(scenario["claimed"]).deadline - 86_400
        with pytest.raises(FabricaLookupError, match="no job 99999"):
            read.job(99_999)
        # A customer's jobs (any address case), newest first.
        mine = read.customer_jobs(chain.customer.upper().replace("0X", "0x"))
        assert [j.job_id for j in mine] == sorted(jobs, reverse=True)
        with pytest.raises(FabricaValueError, match="customer must be"):
            read.customer_jobs("bob")
        # Open jobs the node may claim: open, still claimable, within the operator's free stake.
        open_ids = {jid for jid, j in jobs.items() if j["status"] == "open"}
        claimable = read.open_jobs_for_node(chain.node_id, now=chain.now())
        assert {j.job_id for j in claimable} == open_ids and scenario["open"] in open_ids
        assert read.open_jobs_for_node(chain.node_id, now=chain.now() + 10 * 86_400) == []
        # Nodes, stakes, balances, fees, designs agree with the contracts.
        node = read.node(chain.node_id)
        on_chain = chain.registry.functions.nodeOf(chain.node_id).call()
        assert node.operator == on_chain[0].lower() and node.active is on_chain[3]
        assert [n.node_id for n in read.nodes(operator=chain.shop)] == [chain.node_id]
        stake, truth = read.stake(chain.shop), chain.stake_of(chain.shop)
        assert stake is not None and (stake.staked, stake.locked, stake.unbonding, stake.unbond_at) == truth
        assert stake.eligible and stake.requests == ()
        for who in (chain.customer, chain.shop, chain.designer):
            assert read.balance(chain.usd, who) == chain.balance(chain.usd, who)
        assert read.balance(chain.usd, chain.designer) == settled.royalty  # the design's royalty was credited
        assert read.fees().get(chain.usd.lower(), 0) == chain.market.functions.feesOf(chain.usd).call() > 0
        # Governance state from the deployment's events.
        settings = read.settings()
        # The market's arbiter is the DAO's panel, whose member rules; the court is the timelock.
        assert settings["arbiter"] == chain.deployment.arbiter.lower() and settings["appeal_court"] == chain.court.lower()
        assert [a.arbiter for a in read.arbiters(active=True)] == [chain.arbiter.lower()]
        assert settings["params"]["feeBps"] == settled.fee_bps
        terms = {t.token: t for t in read.token_terms()}
        assert terms[chain.usd.lower()].allowed
        assert read.tokens()[chain.usd.lower()] == ("fUSD", 6) and read.tokens()[chain.fab.address.lower()][0] == "FAB"
        design = read.design(scenario["design"])
        assert design.owner == chain.designer.lower() and design.royalty_bps == 700
        status = read.status()
        assert status is not None and status.block_number == chain.head
        ix.engine.dispose()


def test_cli_sync_verify_status(db_url: str, chain: ChainDriver, devnet: tuple, scenario: dict[str, int]) -> None:
    _rpc, _dep, home = devnet
    runner = CliRunner()
    common = ["--db", db_url, "--rpc", chain.rpc_url, "--home", str(home)]
    out = runner.invoke(app, ["sync", *common, "--json", "--confirmations", "2"])
    assert out.exit_code == 0, out.output
    metrics = json.loads(out.stdout.strip().splitlines()[-1])
    assert metrics["tip"] == chain.head and metrics["head_lag_blocks"] == 0 and metrics["events_written"] > 0
    out = runner.invoke(app, ["status", "--db", db_url, "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["block_number"] == chain.head
    out = runner.invoke(app, ["verify", *common])
    assert out.exit_code == 0, out.output
    assert "0 difference(s)" in out.stdout
    # Corrupt one derived row: verify names it and fails.
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.update(balances).where(balances.c.account == chain.customer.lower())
                     .values(amount="1"))
    engine.dispose()
    out = runner.invoke(app, ["verify", *common, "--json"])
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    kinds = sorted((d["table"], d["kind"]) for d in report["differences"])
    # The fresh index disagrees, and so does the market's balanceOf.
    assert kinds == [("balances", "chain"), ("balances", "missing"), ("balances", "unexpected")]
    (on_chain,) = [d["row"] for d in report["differences"] if d["kind"] == "chain"]
    assert on_chain == [chain.usd.lower(), chain.customer.lower(), "balanceOf", 1,
                        chain.balance(chain.usd, chain.customer)]


def test_cli_errors_are_clear(tmp_path: Path, devnet: tuple) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["status", "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert out.exit_code == 1
    out = runner.invoke(app, ["sync", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--rpc", "http://127.0.0.1:9",
                              "--home", str(tmp_path)])
    assert out.exit_code == 1 and "cannot reach" in out.output


def test_cli_run_follows_head_until_interrupted(chain: ChainDriver, devnet: tuple, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    _rpc, _dep, home = devnet
    db = f"sqlite:///{tmp_path / 'run.db'}"
    cmd = [sys.executable, "-c", "from fabrica.indexer.cli import app; app()", "run", "--db", db,
           "--rpc", chain.rpc_url, "--home", str(home), "--json", "--confirmations", "1", "--poll", "0.1"]
    chain.deposit()  # the head block has an event, so catching up ends with a notification for it
    # stderr (progress, one line per poll) goes to a file: an unread pipe would fill and block the process.
    errors = open(tmp_path / "run.stderr", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        assert proc.stdout is not None
        head = chain.head
        while True:  # catching up: one notification per committed batch, with the metrics
            line = json.loads(proc.stdout.readline())
            assert line["notification"]["kind"] == "events"
            if line["notification"]["block"] == head:
                break
        chain.deposit()  # a new block while it runs
        line = json.loads(proc.stdout.readline())
        assert line["notification"]["block"] == chain.head and line["metrics"]["head_lag_blocks"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)  # SIGINT may be ignored: CI can run us as a background job
        try:
            proc.communicate(timeout=60)  # drains stdout so the process can finish writing and exit
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("indexer run did not stop on SIGTERM: " + (tmp_path / "run.stderr").read_text()[-3000:])
        finally:
            errors.close()
    assert proc.returncode == 0, (tmp_path / "run.stderr").read_text()[-3000:]
    assert ReadModel(db).status().block_number == chain.head  # type: ignore[union-attr]
