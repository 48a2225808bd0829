"""The job market v2 in the index, against a real anvil, on SQLite and PostgreSQL: recycled slots, hand-backs,
expiry, disputes with appeals, the default ruling and finalization, signed orders, unbond requests and slashes,
governance, and a reorg across all of them. The devnet is governed by the DAO: the court and owner is the
timelock, which the driver impersonates here (the DAO's own votes are test_indexer_dao.py's). After each, the index equals a fresh one from genesis and the contracts' own views
(statusOf, commitmentAt, balances, stakes, disputes) agree with it; corrupting the index makes them disagree.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fabrica.indexer.cli import app
from fabrica.indexer.read import ReadModel
from fabrica.indexer.schema import disputes, jobs, stakes, unbond_requests
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.indexer.verify import check_chain
from fabrica.protocol.accounts import dev_account
from indexer_testkit import DAY, FAB, USD, ZERO, ChainDriver, assert_index_is_the_chain, chain_problems
from typer.testing import CliRunner

CFG = IndexerConfig(confirmations=2, max_reorg_depth=64, initial_range=5)
MINUTE = 60
HOUR = 3_600


@pytest.fixture(scope="module")
def market(chain: ChainDriver) -> dict[str, int]:
    """One run of every v2 path; returns the ids of the jobs (and nodes) involved."""
    c, ids = chain, {}
    c.deposit(200 * USD)
    # Recycled slots: a cancelled job's slot goes to a later post, a settled job's to a taken order.
    ids["a"] = c.post()
    c.cancel(ids["a"])
    ids["b"] = c.post(reuse=True)
    ids["s1"] = c.post(12 * USD)
    c.claim(ids["s1"])
    c.deliver(ids["s1"])
    c.accept(ids["s1"])
    ids["t_reuse"] = c.take(15 * USD, reuse=True)
    ids["t1"] = c.take(7 * USD)
    c.cancel_order(100)
    c.increment_counter()
    # Hand-backs: free within the hand-back window, a penalty after it. The operator that handed a job back
    # may not claim it again, and nobody may during the re-open cooldown: a second shop takes it an hour later.
    ids["node2"] = _second_shop(c)
    ids["h"] = c.post(30 * USD)
    c.claim(ids["h"], ids["node2"], c.shop2)
    c.hand_back(ids["h"])
    c.advance(HOUR)
    c.claim(ids["h"])
    c.advance(11 * MINUTE)
    ids["h_penalty"] = c.hand_back(ids["h"])["penalty"]
    # Expiry, and an operator whose slash reaches its unbond requests.
    ids["e1"], ids["e2"], ids["u1"] = c.post(), c.post(), c.post()
    c.claim(ids["e1"])
    c.claim(ids["u1"], ids["node2"], c.shop2)
    c.request_unbond(c.shop2, 900 * FAB)
    c.advance(DAY + 1)
    c.request_unbond(c.shop2, 90 * FAB)
    c.request_unbond(c.shop2, 8 * FAB)  # bonded stake left: 2 FAB
    ids["e1_expired"] = c.expire(ids["e1"])["slashed"]
    c.expire(ids["e2"])  # never claimed: cancelled
    c.expire(ids["u1"])  # 5 FAB slashed: 2 bonded, 3 from the newest request
    c.withdraw_stake(c.shop2)  # only the first request is due
    c.withdraw(c.customer, c.fab.address)  # the compensation so far, paid in FAB
    c.send(c.market.functions.withdrawFees(c.fab.address), c.stranger)  # the treasury's share of the slashes
    # Disputes.
    for name in ("d1", "d2", "d3", "d4", "d7"):
        ids[name] = c.post(20 * USD)
        c.claim(ids[name])
        c.deliver(ids[name])
        c.dispute(ids[name])
    c.rule(ids["d1"], 3_000, 2_000)
    c.appeal(ids["d1"], c.shop)
    c.rule(ids["d1"], 6_000, 0)  # the court's final ruling: the node's appeal lost (arbiter's fee, rest to fees)
    c.rule(ids["d7"], 2_000, 0)
    c.appeal(ids["d7"], c.customer)
    c.rule(ids["d7"], 8_000, 500)  # the customer's appeal won: its appeal bond comes back
    c.rule(ids["d3"], 2_000, 5_000)
    c.appeal(ids["d3"], c.customer)
    c.rule(ids["d4"], 10_000, 10_000)
    c.advance(DAY + 1)
    c.finalize(ids["d2"])  # the arbiter was silent: the default ruling (DisputeRuled by no one), appealable
    c.finalize(ids["d3"])  # the court was silent: the arbiter's ruling stands, the appeal bond goes back
    c.finalize(ids["d4"])  # unappealed ruling applied
    c.advance(DAY + 1)
    c.finalize(ids["d2"])  # nobody appealed the default ruling: applied
    # A new arbiter takes only disputes opened after it is active.
    new_arbiter = dev_account(9).address
    c.send(c.market.functions.proposeArbiter(new_arbiter), c.deployment.owner)
    c.advance(2 * DAY + 1)
    c.send(c.market.functions.activateArbiter(), c.stranger)
    for name in ("d5", "d6"):
        ids[name] = c.post(20 * USD)
        c.claim(ids[name])
        c.deliver(ids[name])
        c.dispute(ids[name])
    c.rule(ids["d6"], 4_000, 1_000)  # left open, ruled
    # Jobs aimed at one node.
    ids["target1"] = c.post(target_node=c.node_id)
    ids["target2"] = c.post(target_node=ids["node2"])
    return ids


def _second_shop(c: ChainDriver) -> int:
    c.stake(c.shop2, 1_000 * FAB)
    return c.register_node(c.shop2)


def _synced(db_url: str, chain: ChainDriver, tmp_path: Path) -> Indexer:
    ix = Indexer(db_url, chain.rpc_url, chain.deployment, CFG)
    assert_index_is_the_chain(ix, chain, tmp_path)
    return ix


def test_v2_paths_are_indexed_as_the_chain_has_them(db_url: str, chain: ChainDriver, market: dict[str, int],
                                                    tmp_path: Path) -> None:
    ix = _synced(db_url, chain, tmp_path)
    try:
        read = ReadModel(ix.engine)
        job = read.job
        # Recycled slots: both jobs of a slot are indexed, the newer one holds it.
        a, b = job(market["a"]), job(market["b"])
        assert (a.status, b.status, a.key, b.key) == ("cancelled", "open", market["a"], market["a"])
        assert [j.job_id for j in read.slot_jobs(a.key)] == [b.job_id, a.job_id]
        s1, t_reuse = job(market["s1"]), job(market["t_reuse"])
        assert s1.status == "settled" and (t_reuse.key, t_reuse.status) == (s1.key, "claimed")
        assert job(market["t1"]).key == market["t1"]  # a fresh slot: the job's own id
        # Taken orders: claimed at once by the taker's node, with the order's digest.
        assert t_reuse.node == chain.shop.lower() and t_reuse.node_id == chain.node_id
        assert t_reuse.claimed_at == t_reuse.deadline - DAY == t_reuse.deliver_by - DAY
        assert {o.job_id: o.order_hash for o in read.taken_orders(customer=chain.customer)} == {
            market["t_reuse"]: t_reuse.order_hash, market["t1"]: job(market["t1"]).order_hash}
        assert read.cancelled_nonces(chain.customer) == [100]
        assert read.order_counter(chain.customer) == 1
        # Hand-backs: open again, naming the operator that last handed it back (it may not claim it again), one
        # more hand-back each time, the late one slashed.
        h = job(market["h"])
        assert (h.status, h.node.lower(), h.node_id, h.claimed_at, h.hand_backs) == (
            "open", chain.shop.lower(), None, None, 2)
        assert h.deadline == h.claim_by and market["h_penalty"] == h.collateral // 10 == h.slashed > 0
        assert h.compensation == h.slashed // 2
        assert [e.event for e in h.history] == ["JobPosted", "JobClaimed", "JobHandedBack", "JobClaimed",
                                                "JobHandedBack"]
        # Expiry: refund and the collateral's slash, compensation in FAB; an unclaimed job is cancelled.
        e1 = job(market["e1"])
        assert (e1.status, e1.refund, e1.slashed) == ("expired", e1.amount, market["e1_expired"])
        assert e1.slashed == e1.collateral // 2 and e1.compensation == e1.slashed // 2
        assert (job(market["e2"]).status, job(market["e2"]).refund) == ("cancelled", job(market["e2"]).amount)
        fab = chain.fab.address.lower()
        assert read.balance(fab, chain.customer) == chain.balance(chain.fab.address, chain.customer) > 0
        # The second shop: a slash took its 2 bonded FAB, then 3 FAB of its newest unbond request.
        stake = read.stake(chain.shop2)
        assert stake is not None
        assert (stake.staked, stake.unbonding, stake.locked, stake.slashed, stake.eligible) == (
            0, 95 * FAB, 0, 5 * FAB, False)
        assert [r.amount for r in stake.requests] == [90 * FAB, 5 * FAB]
        assert stake.unbond_at == stake.requests[0].release_at
        assert [(r.release_at,) for r in stake.requests] == [
            (x[1],) for x in chain.registry.functions.unbondRequests(chain.shop2).call()]
        (slash,) = read.slashes(chain.shop2)
        assert (slash.amount, slash.from_staked, slash.from_unbonding) == (5 * FAB, 2 * FAB, 3 * FAB)
        # Disputes.
        d1 = read.dispute(market["d1"])
        assert (d1.stage, d1.refund_bps, d1.slash_bps, d1.appellant, d1.judge, d1.court) == (
            "resolved", 3_000, 2_000, chain.shop.lower(), chain.court.lower(), chain.court.lower())
        assert (d1.final_refund_bps, d1.final_slash_bps, d1.resolved_by) == (6_000, 0, chain.court.lower())
        d2 = read.dispute(market["d2"])
        assert (d2.appellant, d2.resolved_by, d2.final_refund_bps, d2.final_slash_bps, d2.arbiter) == (
            ZERO, ZERO, 5_000, 0, ZERO)  # the market forgets the silent arbiter
        assert [(x.kind, x.arbiter) for x in read.assignments(market["d2"])] == [("assigned", chain.arbiter.lower())]
        d3 = read.dispute(market["d3"])
        assert (d3.appellant, d3.resolved_by, d3.final_refund_bps) == (
            chain.customer.lower(), chain.arbiter.lower(), 2_000)
        assert read.dispute(market["d4"]).resolved_by == chain.arbiter.lower()
        d7 = read.dispute(market["d7"])
        assert (d7.appellant, d7.resolved_by, d7.final_refund_bps, d7.appeal_bond) == (
            chain.customer.lower(), chain.court.lower(), 8_000, job(market["d7"]).bond)
        j3 = job(market["d3"])
        assert (j3.status, j3.refund, j3.slashed) == ("resolved", j3.amount * 2_000 // 10_000, j3.collateral // 2)
        assert [e.event for e in job(market["d2"]).history][-3:] == ["JobDisputed", "DisputeRuled", "JobResolved"]
        d2_ruled = [e for e in job(market["d2"]).history if e.event == "DisputeRuled"][0]
        assert (d2_ruled.args["arbiter"], d2_ruled.args["refundBps"]) == (ZERO, 5_000)
        # d1's node lost its appeal: a fifth of its bond paid the arbiter whose ruling stood.
        fee_bps = read.settings()["params"]["arbiterFeeBps"]
        assert read.balance(chain.usd, chain.arbiter) == job(market["d1"]).bond * fee_bps // 10_000 > 0
        assert [e.event for e in job(market["d1"]).history] == [
            "JobPosted", "JobClaimed", "JobDelivered", "JobDisputed", "DisputeRuled", "DisputeAppealed",
            "JobResolved"]  # the court's ruling is final: it resolves the job at once
        new_arbiter = dev_account(9).address.lower()
        d5, d6 = read.dispute(market["d5"]), read.dispute(market["d6"])
        assert (d5.stage, d5.judge, d5.arbiter) == ("awaiting_arbiter", new_arbiter, new_arbiter)
        assert (d6.stage, d6.refund_bps, d6.slash_bps) == ("ruled", 4_000, 1_000)
        assert {d.job_id for d in read.disputes(judge=new_arbiter)} == {market["d5"], market["d6"]}
        assert read.settings()["arbiter"] == new_arbiter and "pending_arbiter" not in read.settings()
        # Targeted jobs: only their node may claim them.
        claimable = {j.job_id for j in read.open_jobs_for_node(chain.node_id, now=chain.now())}
        assert market["target1"] in claimable and market["target2"] not in claimable
        assert job(market["target2"]).target_node == market["node2"]
        # The second shop is not eligible (its bonded stake is below the minimum): nothing is claimable for it.
        assert read.open_jobs_for_node(market["node2"], now=chain.now()) == []
    finally:
        ix.engine.dispose()
        ix.close()


def _corrupt(db_url: str, table: sa.Table, where: sa.ColumnElement, **values: object) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(where).values(**values))
    engine.dispose()


def test_verify_names_what_the_chain_disagrees_with(db_url: str, chain: ChainDriver, market: dict[str, int],
                                                   tmp_path: Path) -> None:
    """Each corruption of the read model is reported by the contracts' views, by name."""
    ix = _synced(db_url, chain, tmp_path)
    ix.engine.dispose()
    ix.close()
    a, b = market["a"], market["b"]
    _corrupt(db_url, jobs, jobs.c.job_id == a, status="open")  # an ended job whose slot was recycled
    _corrupt(db_url, jobs, jobs.c.job_id == b, deadline=1)  # the slot's holder, with a wrong struct
    _corrupt(db_url, disputes, disputes.c.job_id == market["d6"], refund_bps=1)
    _corrupt(db_url, stakes, stakes.c.operator == chain.shop2.lower(), unbonding=1)
    _corrupt(db_url, unbond_requests, unbond_requests.c.operator == chain.shop2.lower(), release_at=7)
    engine = sa.create_engine(db_url)
    found = {(d.table, d.row[0], d.row[1]) for d in check_chain(engine, chain.rpc_url, chain.deployment, chain.head)}
    engine.dispose()
    op = chain.shop2.lower()
    assert found == {
        ("jobs", a, "status"), ("jobs", b, "statusOf"), ("jobs", b, f"commitmentAt({a})"),
        ("disputes", market["d6"], "disputeOf"), ("stakes", op, "stakeOf"), ("stakes", op, "unbondRequests"),
    }, found


def test_reorg_across_v2_events(db_url: str, chain: ChainDriver, market: dict[str, int], tmp_path: Path) -> None:
    """Hand-back, expiry slash into unbond requests, a dispute with an appeal, a taken order and a recycled slot all
    land in the blocks a fork replaces; the index rolls them back and ends equal to the chain."""
    c = chain
    ix = _synced(db_url, chain, tmp_path)
    try:
        start = c.head
        done = c.post()
        c.cancel(done)
        c.post(reuse=True)  # recycles `done`'s slot
        j = c.post(20 * USD)
        c.claim(j)
        c.advance(11 * MINUTE)
        c.hand_back(j)  # with a penalty
        c.take(9 * USD)
        d = c.post(20 * USD)
        c.claim(d)
        c.deliver(d)
        c.dispute(d)
        c.rule(d, 1_000, 3_000)
        c.appeal(d, c.customer)
        c.stake(c.shop2, 1_000 * FAB)
        x = c.post()
        c.claim(x, market["node2"], c.shop2)
        c.request_unbond(c.shop2, 999 * FAB)
        c.advance(DAY + 1)
        c.expire(x)  # slashes into the unbond request
        ix.sync()
        assert read_status(ix, d) == "disputed" and read_status(ix, x) == "expired"
        depth = c.head - start
        c.reorg(depth, replacements=3)
        assert_index_is_the_chain(ix, c, tmp_path)
        assert ix.metrics.reorgs == 1
        assert read_status(ix, d) is None and read_status(ix, x) is None  # those jobs are gone with the fork
        # The same kind of activity again on the new branch, then a rollback into the middle of it.
        y = c.post(20 * USD)
        c.claim(y)
        c.hand_back(y)
        c.take(11 * USD, reuse=True)
        c.request_unbond(c.shop, 10 * FAB)
        ix.sync()
        c.rollback(3)
        assert_index_is_the_chain(ix, c, tmp_path)
        # A snapshot revert over a dispute's finalization.
        snap = c.rpc("evm_snapshot", [])
        z = c.post(20 * USD)
        c.claim(z)
        c.deliver(z)
        c.dispute(z)
        c.advance(DAY + 1)
        c.finalize(z)
        ix.sync()
        assert c.rpc("evm_revert", [snap]) is True
        c.deposit(3 * USD)
        assert_index_is_the_chain(ix, c, tmp_path)
        assert ix.metrics.reorgs == 3
    finally:
        ix.engine.dispose()
        ix.close()


def read_status(ix: Indexer, job_id: int) -> str | None:
    with ix.engine.connect() as conn:
        return conn.execute(sa.select(jobs.c.status).where(jobs.c.job_id == job_id)).scalar()


def test_read_commands(chain: ChainDriver, devnet: tuple, market: dict[str, int], tmp_path: Path) -> None:
    """`fabrica indexer job|jobs|disputes|stakes`: the new fields in JSON, amounts in units and dates for people."""
    _rpc, _dep, home = devnet
    db = f"sqlite:///{tmp_path / 'index.db'}"
    runner = CliRunner()
    out = runner.invoke(app, ["sync", "--db", db, "--rpc", chain.rpc_url, "--home", str(home), "--json"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["job", str(market["h"]), "--db", db, "--json"])
    assert out.exit_code == 0, out.output
    h = json.loads(out.stdout)
    assert (h["hand_backs"], h["key"], h["target_node"], h["status"]) == (2, market["h"], 0, "open")
    assert [e["event"] for e in h["history"]][-1] == "JobHandedBack"
    out = runner.invoke(app, ["job", str(market["d1"]), "--db", db])
    assert out.exit_code == 0, out.output
    assert "20 fUSD" in out.stdout and "UTC" in out.stdout and "resolved by" in out.stdout
    assert "collateral 10 FAB" in out.stdout
    out = runner.invoke(app, ["job", str(market["a"]), "--db", db])
    assert f"jobs {market['a']}, {market['b']} used it; job {market['b']} holds it now" in out.stdout
    out = runner.invoke(app, ["jobs", "--db", db, "--status", "disputed", "--json"])
    assert out.exit_code == 0, out.output
    assert {j["job_id"] for j in json.loads(out.stdout)} == {market["d5"], market["d6"]}
    out = runner.invoke(app, ["disputes", "--db", db, "--stage", "ruled", "--json"])
    assert [d["job_id"] for d in json.loads(out.stdout)] == [market["d6"]]
    out = runner.invoke(app, ["stakes", "--db", db, "--operator", chain.shop2, "--json"])
    (s,) = json.loads(out.stdout)
    assert [r["amount"] for r in s["requests"]] == [90 * FAB, 5 * FAB]
    out = runner.invoke(app, ["stakes", "--db", db, "--operator", chain.shop2])
    assert "unbond request 90 FAB, released" in out.stdout and "not eligible" in out.stdout
    for args, says in ((["jobs", "--status", "lost"], "status must be one of"),
                       (["disputes", "--judge", "bob"], "judge must be"),
                       (["job", "99999"], "no job 99999"),
                       (["stakes", "--operator", chain.stranger], "never staked")):
        out = runner.invoke(app, [*args, "--db", db])
        assert out.exit_code == 1 and says in out.stderr, out.output


def test_every_event_decodes_fast_as_eth_abi_does(chain: ChainDriver, market: dict[str, int]) -> None:
    """Each v2 event the module emitted (market, module and registry) decodes identically both ways."""
    from fabrica.indexer.decode import Decoder

    decoder = Decoder(chain.deployment)
    logs = chain.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": decoder.address_list}])
    seen = set()
    for lg in logs:
        fast, slow = decoder.decode(lg), decoder.decode(lg, fast=False)
        assert fast == slow, lg
        seen.add(fast[:2])
    market_events = {"JobPosted", "OrderTaken", "JobCancelled", "JobClaimed", "JobHandedBack", "JobDelivered",
                     "JobSettled", "JobExpired", "JobDisputed", "DisputeRuled", "DisputeAppealed", "JobResolved",
                     "Deposited", "Withdrawn", "FeesWithdrawn", "ParamsSet", "TokenTermsSet", "ArbiterProposed",
                     "ArbiterSet", "AppealCourtSet", "TreasurySet", "OrderCancelled", "OrderCounterIncremented"}
    registry_events = {"Staked", "UnbondRequested", "Withdrawn", "Slashed", "EligibilitySet", "MinStakeSet",
                       "UnbondDelaySet", "NodeRegistered", "DelegateChanged", "DelegateVotesChanged"}
    assert {("JobMarket", e) for e in market_events} | {("NodeRegistry", e) for e in registry_events} <= seen


def test_index_agrees_with_chain_after_everything(db_url: str, chain: ChainDriver, market: dict[str, int]) -> None:
    """A plain backfill (no reorg) of the module's whole history: no difference with the contracts' views."""
    with Indexer(db_url, chain.rpc_url, chain.deployment, IndexerConfig(confirmations=0)) as ix:
        ix.sync()
        assert chain_problems(ix, chain) == []
        ix.engine.dispose()
