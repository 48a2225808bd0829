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
from fabrica.protocol.types import JobStatus
from indexer_testkit import USD, ChainDriver
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def scenario(chain: ChainDriver) -> dict[str, int]:
    """Jobs in several states, a design, market balances."""
    c = chain
    c.deposit(100 * USD)
    ids = {name: c.post() for name in ("open", "claimed", "settled", "cancelled")}
    c.shop.claim_job(ids["claimed"], c.node_id)
    c.shop.claim_job(ids["settled"], c.node_id)
    c.shop.deliver_job(ids["settled"], c.cid(b"proof"))
    c.customer.accept_job(ids["settled"])
    c.customer.cancel_job(ids["cancelled"])
    ids["design"] = c.designer.mint_design(c.cid(b"a bracket"), 700).value
    return ids


def test_read_api(db_url: str, chain: ChainDriver, scenario: dict[str, int]) -> None:
    with Indexer(db_url, chain.rpc_url, chain.deployment, IndexerConfig(confirmations=2)) as ix:
        ix.sync()
        read = ReadModel(ix.engine)
        # Job by id with history, equal to what the SDK rebuilds from the chain.
        for name in ("open", "claimed", "settled", "cancelled"):
            job_id = scenario[name]
            view, record = read.job(job_id), chain.base.job(job_id)
            assert view.status == record.status.name.lower()
            assert (view.amount, view.collateral, view.deadline) == (
                record.job.amount, record.job.collateral, record.job.deadline)
            assert view.customer == record.job.customer.lower() and view.node == record.job.node.lower()
            assert view.spec_cid == record.spec_cid
        settled = read.job(scenario["settled"])
        assert [h.event for h in settled.history] == ["JobPosted", "JobClaimed", "JobDelivered", "JobSettled"]
        assert [h.status for h in settled.history] == ["open", "claimed", "delivered", "settled"]
        with pytest.raises(FabricaLookupError, match="no job 99999"):
            read.job(99_999)
        # A customer's jobs (any address case), newest first.
        mine = read.customer_jobs(chain.customer.address.upper().replace("0X", "0x"))
        assert [j.job_id for j in mine] == sorted({r.job_id for r in chain.base.jobs(customer=chain.customer.address)},
                                                  reverse=True)
        with pytest.raises(FabricaValueError, match="customer must be"):
            read.customer_jobs("bob")
        # Open jobs the node may claim: open, still claimable, within the operator's free stake.
        open_ids = {r.job_id for r in chain.base.jobs(status=JobStatus.OPEN)}
        claimable = read.open_jobs_for_node(chain.node_id, now=chain.base.now())
        assert {j.job_id for j in claimable} == open_ids and scenario["open"] in open_ids
        assert read.open_jobs_for_node(chain.node_id, now=chain.base.now() + 10 * 86_400) == []
        # Nodes, stakes, balances, fees, designs agree with the contracts.
        node = read.node(chain.node_id)
        on_chain = chain.base.node(chain.node_id)
        assert node.operator == on_chain.operator.lower() and node.metadata_cid == on_chain.metadata_cid
        assert [n.node_id for n in read.nodes(operator=chain.shop.address)] == [chain.node_id]
        stake, truth = read.stake(chain.shop.address), chain.base.stake_of(chain.shop.address)
        assert stake is not None and (stake.staked, stake.locked) == (truth.staked, truth.locked)
        for who in (chain.customer.address, chain.shop.address):
            assert read.balance(chain.usd, who) == chain.base.market_balance(chain.usd, who)
        assert read.fees().get(chain.usd.lower(), 0) == chain.base.fees(chain.usd)
        design = read.design(scenario["design"])
        assert design.owner == chain.designer.address.lower() and design.royalty_bps == 700
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
        conn.execute(sa.update(balances).where(balances.c.account == chain.customer.address.lower())
                     .values(amount="1"))
    engine.dispose()
    out = runner.invoke(app, ["verify", *common, "--json"])
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    kinds = sorted((d["table"], d["kind"]) for d in report["differences"])
    assert kinds == [("balances", "missing"), ("balances", "unexpected")]


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
