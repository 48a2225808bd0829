"""The DAO in the index, against a real anvil, on SQLite and PostgreSQL: delegations (FAB and staked FAB), a
proposal voted for, against and abstaining with a late-quorum extension, queued and executed by the timelock
(unpause, panel change, manifest), a cancelled proposal, the guardian's pause, a silent arbiter's default ruling
appealed to the DAO and ruled by a party's proposal, a reassignment after the arbiter left the panel, and a fork
across governance events. After each, the index equals a fresh one and the contracts' views agree with it.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fabrica.indexer.cli import app
from fabrica.indexer.read import ReadModel
from fabrica.indexer.schema import arbiters, delegates, proposals, settings
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.indexer.verify import check_chain, verify
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from indexer_testkit import DAY, FAB, USD, ZERO, ChainDriver, assert_index_is_the_chain
from typer.testing import CliRunner

CFG = IndexerConfig(confirmations=2, max_reorg_depth=64, initial_range=5)


@pytest.fixture(scope="module")
def dao(chain: ChainDriver) -> dict[str, object]:
    """One run through the DAO's paths; returns what the tests look up."""
    c, out = chain, {}
    gov = c.deployment.governance
    assert gov is not None and c.governor is not None and c.panel is not None
    guardian = dev_account(DEV_ROLES["guardian"]).address
    newcomer = dev_account(9).address
    manifests = c._contract("ManifestRegistry")
    # Votes: the deployer and the customer vote their own FAB, the designer lends its FAB to the customer, the
    # shop votes its staked FAB.
    c.delegate(c.deployer, c.deployer)
    c.delegate(c.customer, c.customer)
    c.delegate(c.designer, c.customer)
    c.delegate(c.shop, c.shop, "stake")
    # Two disputes with the dev arbiter (the panel's only member): one it leaves silent, one it will leave.
    c.deposit(100 * USD)
    out["silent"] = c.post(20 * USD)
    c.claim(out["silent"])
    c.deliver(out["silent"])
    c.dispute(out["silent"])
    c.advance(DAY + 1)
    c.finalize(out["silent"])  # the default ruling, 50 % refund
    c.send(c.usd_token.functions.approve(c.market.address, 10**30), c.shop)  # for the appeal bond
    c.appeal(out["silent"], c.shop)  # to the DAO
    # The other opens now, so the panel change below lands within its 1-day deadline (past it, the case could
    # no longer be reassigned: only the default ruling would move it).
    out["moved"] = c.post(20 * USD)
    c.claim(out["moved"])
    c.deliver(out["moved"])
    c.dispute(out["moved"])
    # The guardian pauses new jobs; the DAO unpauses, swaps the panel's member and publishes a manifest.
    c.send(c.market.functions.setPaused(True), guardian)
    out["cid"] = c.cid(b"manifest v1")
    actions = [(c.market.address, c.calldata(c.market, "setPaused", False)),
               (c.panel.address, c.calldata(c.panel, "appoint", newcomer)),
               (c.panel.address, c.calldata(c.panel, "remove", c.arbiter)),
               (manifests.address, c.calldata(manifests, "publish", c.cid_bytes(b"manifest v1")))]
    description = "Unpause, appoint a new arbiter in place of the old one, publish manifest v1"
    out["main"] = pid = c.propose(actions, description)
    c.advance(gov.voting_delay + 1)
    c.vote(pid, c.customer, 0, "too soon")
    c.vote(pid, c.shop, 2, "no opinion", params=b"\x01")
    c.advance(gov.voting_period - 30)
    c.vote(pid, c.deployer, 1)  # quorum reached in the last minute: the vote is extended
    c.advance(gov.vote_extension + 1)
    c.queue(actions, description)
    c.advance(gov.timelock_delay + 1)
    c.execute(actions, description)
    c.send(c.market.functions.reassign(out["moved"], c.struct(out["moved"])), c.stranger)
    # A proposal its proposer cancels while pending.
    spare = [(c.market.address, c.calldata(c.market, "setPaused", True))]
    out["cancelled"] = c.propose(spare, "Pause for no reason")
    c.cancel_proposal(spare, "Pause for no reason")
    # The appeal: the customer (a party, below the threshold) proposes the court's ruling; the DAO passes it.
    ruling = [(c.market.address, c.calldata(c.market, "rule", out["silent"], c.struct(out["silent"]), 7_000, 0))]
    out["court"] = c.pass_proposal(ruling, "Appeal of the default ruling: 70 % refund", c.customer)
    # Voting power moves: the designer takes its delegation back; the guardian pauses again.
    c.delegate(c.designer, c.designer)
    c.send(c.market.functions.setPaused(True), guardian)
    out["newcomer"] = newcomer
    return out


def _synced(db_url: str, chain: ChainDriver, tmp_path: Path) -> Indexer:
    ix = Indexer(db_url, chain.rpc_url, chain.deployment, CFG)
    assert_index_is_the_chain(ix, chain, tmp_path)
    return ix


def test_dao_is_indexed_as_the_chain_has_it(db_url: str, chain: ChainDriver, dao: dict, tmp_path: Path) -> None:
    ix = _synced(db_url, chain, tmp_path)
    try:
        read = ReadModel(ix.engine)
        gov = chain.deployment.governance
        main = read.proposal(dao["main"])
        assert [h.event for h in main.history] == ["ProposalCreated", "ProposalExtended", "ProposalQueued",
                                                   "ProposalExecuted"]
        assert (main.status, main.extended, main.proposer) == ("executed", True, chain.deployer.lower())
        assert main.deadline > main.snapshot + gov.voting_period and main.eta is not None
        assert len(main.targets) == len(main.calldatas) == len(main.call_values) == 4
        by_voter = {v.voter: v for v in main.votes}
        assert by_voter[chain.customer.lower()].side == "against"
        assert by_voter[chain.customer.lower()].reason == "too soon"
        assert (by_voter[chain.shop.lower()].side, by_voter[chain.shop.lower()].params) == ("abstain", "0x01")
        assert by_voter[chain.shop.lower()].weight == 2_000 * FAB  # its staked FAB
        assert main.for_votes == by_voter[chain.deployer.lower()].weight > 0
        assert main.against_votes == by_voter[chain.customer.lower()].weight  # its FAB and the designer's
        held = [chain.fab.functions.balanceOf(who).call() for who in (chain.customer, chain.designer)]
        assert main.against_votes == sum(held) > 0
        cancelled = read.proposal(dao["cancelled"])
        assert [h.status for h in cancelled.history] == ["created", "canceled"] and not cancelled.votes
        assert {p.proposal_id for p in read.proposals(status="executed")} == {dao["main"], dao["court"]}
        # Delegations and voting power over time, both sources.
        assert {(d.source, d.delegator, d.delegate) for d in read.delegations(delegate=chain.customer)} == {
            ("fab", chain.customer.lower(), chain.customer.lower())}
        history = read.voting_power(chain.customer, source="fab")
        assert [h.new_votes > h.previous_votes for h in history][:2] == [True, True]
        assert history[-1].new_votes < history[-1].previous_votes  # the designer took its votes back
        assert all(h.timestamp and h.timestamp <= chain.now() for h in history)
        assert read.votes_of(chain.shop) == {"fab": 0, "stake": 2_000 * FAB}
        # The panel, the reassignment, the pause, the manifest.
        newcomer = dao["newcomer"].lower()
        assert [(a.arbiter, a.active) for a in read.arbiters()] == [(chain.arbiter.lower(), False), (newcomer, True)]
        moved = read.assignments(dao["moved"])
        assert [(m.kind, m.previous, m.arbiter) for m in moved] == [
            ("assigned", None, chain.arbiter.lower()), ("reassigned", chain.arbiter.lower(), newcomer)]
        assert read.dispute(dao["moved"]).judge == newcomer
        named = read.settings()
        guardian = dev_account(DEV_ROLES["guardian"]).address.lower()
        assert (named["paused"], named["paused_by"], named["guardian"]) == (True, guardian, guardian)
        assert named["governor.voting_period"] == gov.voting_period
        assert named["timelock.min_delay"] == gov.timelock_delay
        assert [(m.version, m.cid) for m in read.manifests()] == [(1, dao["cid"])]
        # The appeal of the default ruling, ruled by the DAO: the shop lost, its bond went to the fees (no arbiter
        # to pay: the silent one is owed nothing).
        silent = read.dispute(dao["silent"])
        assert (silent.stage, silent.arbiter, silent.appellant, silent.resolved_by, silent.final_refund_bps) == (
            "resolved", ZERO, chain.shop.lower(), chain.timelock.lower(), 7_000)
        assert [e.event for e in read.job(dao["silent"]).history][-4:] == [
            "JobDisputed", "DisputeRuled", "DisputeAppealed", "JobResolved"]
        assert read.proposal(dao["court"]).proposer == chain.customer.lower()
        # The deployer holds no timelock role; the governor proposes and cancels.
        with ix.engine.connect() as conn:
            holders = {r.account for r in conn.execute(sa.text("select account from roles"))}
        assert chain.deployer.lower() not in holders and chain.governor.address.lower() in holders
    finally:
        ix.engine.dispose()
        ix.close()


def test_verify_reports_no_difference(db_url: str, chain: ChainDriver, dao: dict, tmp_path: Path) -> None:
    """`verify` (a fresh index of the chain, then the contracts' views) finds nothing to report."""
    with Indexer(db_url, chain.rpc_url, chain.deployment, IndexerConfig(confirmations=0)) as ix:
        ix.sync()
        assert verify(ix.engine, chain.rpc_url, chain.deployment) == []
        ix.engine.dispose()


def _corrupt(db_url: str, table: sa.Table, where: sa.ColumnElement, **values: object) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(where).values(**values))
    engine.dispose()


def test_verify_names_what_the_dao_disagrees_with(db_url: str, chain: ChainDriver, dao: dict,
                                                  tmp_path: Path) -> None:
    ix = _synced(db_url, chain, tmp_path)
    ix.engine.dispose()
    ix.close()
    _corrupt(db_url, proposals, proposals.c.proposal_id == dao["main"], for_votes=1)
    _corrupt(db_url, proposals, proposals.c.proposal_id == dao["cancelled"], status="queued")
    _corrupt(db_url, delegates, delegates.c.delegate == chain.shop.lower(), votes=3)
    _corrupt(db_url, arbiters, arbiters.c.arbiter == chain.arbiter.lower(), active=True)
    _corrupt(db_url, settings, settings.c.name == "paused", value=False)
    engine = sa.create_engine(db_url)
    found = {(d.table, d.row[-3]) for d in check_chain(engine, chain.rpc_url, chain.deployment, chain.head)}
    engine.dispose()
    assert found == {("proposals", "proposalVotes (against, for, abstain)"), ("proposals", "state"),
                     ("delegates", "getVotes"), ("arbiters", "arbiters"), ("settings", "paused")}, found


def test_reorg_across_governance_events(db_url: str, chain: ChainDriver, dao: dict, tmp_path: Path) -> None:
    """Delegations, a proposal with votes and a panel change land in blocks a revert drops; the index follows."""
    c = chain
    ix = _synced(db_url, chain, tmp_path)
    try:
        snap = c.rpc("evm_snapshot", [])
        c.delegate(c.shop, c.customer, "stake")
        actions = [(c.panel.address, c.calldata(c.panel, "appoint", c.stranger))]
        pid = c.pass_proposal(actions, "Appoint the stranger")
        c.delegate(c.customer, c.deployer)
        ix.sync()
        read = ReadModel(ix.engine)
        assert read.proposal(pid).status == "executed" and c.stranger.lower() in {a.arbiter for a in read.arbiters()}
        assert c.rpc("evm_revert", [snap]) is True
        c.delegate(c.customer, c.designer)  # a different branch
        assert_index_is_the_chain(ix, c, tmp_path)
        assert ix.metrics.reorgs == 1
        with pytest.raises(Exception, match="no proposal"):
            read.proposal(pid)
        assert c.stranger.lower() not in {a.arbiter for a in read.arbiters()}
        assert read.delegations(source="stake", delegate=c.shop)[0].delegator == c.shop.lower()
    finally:
        ix.engine.dispose()
        ix.close()


def test_proposal_commands(chain: ChainDriver, devnet: tuple, dao: dict, tmp_path: Path) -> None:
    """`fabrica indexer proposals|proposal ID`: JSON for programs, tallies in FAB and dates for people."""
    _rpc, _dep, home = devnet
    db = f"sqlite:///{tmp_path / 'index.db'}"
    runner = CliRunner()
    out = runner.invoke(app, ["sync", "--db", db, "--rpc", chain.rpc_url, "--home", str(home), "--json"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["proposals", "--db", db, "--status", "canceled", "--json"])
    assert out.exit_code == 0, out.output
    assert [p["proposal_id"] for p in json.loads(out.stdout)] == [dao["cancelled"]]
    out = runner.invoke(app, ["proposal", str(dao["main"]), "--db", db, "--json"])
    p = json.loads(out.stdout)
    assert (p["status"], p["extended"], len(p["votes"]), p["history"][-1]["event"]) == (
        "executed", True, 3, "ProposalExecuted")
    out = runner.invoke(app, ["proposal", str(dao["main"]), "--db", db])
    assert out.exit_code == 0, out.output
    assert "FAB" in out.stdout and "UTC" in out.stdout and "extended" in out.stdout and "too soon" in out.stdout
    out = runner.invoke(app, ["proposals", "--db", db])
    assert "3 proposal(s)" in out.stdout
    for args, says in ((["proposals", "--status", "lost"], "status must be one of"),
                       (["proposal", "12345"], "no proposal 12345")):
        out = runner.invoke(app, [*args, "--db", db])
        assert out.exit_code == 1 and says in out.stderr, out.output


def test_governance_events_decode_fast_as_eth_abi_does(chain: ChainDriver, dao: dict) -> None:
    from fabrica.indexer.decode import Decoder

    decoder = Decoder(chain.deployment)
    logs = chain.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": decoder.address_list}])
    seen = set()
    for lg in logs:
        fast, slow = decoder.decode(lg), decoder.decode(lg, fast=False)
        assert fast == slow, lg
        seen.add(fast[:2])
    assert {("FabGovernor", e) for e in ("ProposalCreated", "VoteCast", "VoteCastWithParams", "ProposalQueued",
                                         "ProposalExecuted", "ProposalCanceled", "ProposalExtended",
                                         "VotingDelaySet", "QuorumNumeratorUpdated")} <= seen
    assert {("JobMarket", "DisputeReassigned"), ("JobMarket", "PausedSet"), ("JobMarket", "GuardianSet"),
            ("ArbiterPanel", "ArbiterAppointed"), ("ArbiterPanel", "ArbiterRemoved"),
            ("ManifestRegistry", "ManifestPublished"), ("FabTimelock", "CallScheduled"),
            ("FabTimelock", "MinDelayChange"), ("FabToken", "DelegateVotesChanged")} <= seen
