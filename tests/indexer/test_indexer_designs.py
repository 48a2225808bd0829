"""The design economy in the index, against a real anvil, on SQLite and PostgreSQL: designs (256-bit ids) minted,
sold, taken down, appealed, restored and upheld; design-market listings and offers (a creator's own sale, a resale
paying the royalty, an offer on any design of a creator, licence editions filled in parts), cancelled nonces and
counters; fabrication licences sold per print and by the block, moved singly and in batches, consumed by jobs and
given back; royalties of sales and of jobs settled or resolved; bounties decided by a quorum of approvers (with a
revoked approval and one left pending) or by the validator-score evaluator, an extended deadline, early and late
refunds, a withdrawal and a minted winner; then forks across all of it. After each, the index equals a fresh one
from genesis and the contracts' own views agree with it; corrupting the index makes them disagree.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fabrica.indexer.cli import app
from fabrica.indexer.read import ReadModel
from fabrica.indexer.schema import bounties, bounty_contributions, design_sales, designs, licence_balances
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.indexer.verify import check_chain
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.storage.cid import Cid
from indexer_testkit import DAY, USD, ZERO, ChainDriver, assert_index_is_the_chain
from typer.testing import CliRunner

CFG = IndexerConfig(confirmations=2, max_reorg_depth=64, initial_range=5)


@pytest.fixture(scope="module")
def economy(chain: ChainDriver) -> dict[str, object]:
    """One run through the design economy's paths; returns what the tests look up."""
    c, out = chain, {}
    guardian = dev_account(DEV_ROLES["guardian"]).address  # the devnet's moderator
    a = out["a"] = c.mint_design(b"bracket A", 700)
    b = out["b"] = c.mint_design(b"hinge B", 500)
    cc = out["c"] = c.mint_design(b"clip C", 1_000)
    d = out["d"] = c.mint_design(b"copied D", 0, who=c.collector)
    # The creator sells A: its own royalty is part of its proceeds (no royalty paid).
    order, sig = c.design_order(c.designer, a, 50 * USD, nonce=0)
    out["first_sale"] = c.fill(order, sig, c.collector)
    # The collector sells A's licences per print and by the block of 10; the customer buys 12 (a block and 2).
    c.set_licence_terms(a, c.collector, 2 * USD, 10, 15 * USD, 100)
    out["licence_cost"] = c.buy_licences(a, c.customer, 12)
    # Jobs for C pay its royalty (the customer holds no licence of it): one settled, one resolved after a dispute.
    j = out["settled"] = c.post(20 * USD, design_id=cc)
    c.claim(j)
    c.deliver(j)
    c.accept(j)
    j = out["resolved"] = c.post(10 * USD, design_id=cc)
    c.claim(j)
    c.deliver(j)
    c.dispute(j)
    c.rule(j, 3_000, 0)
    # Jobs for A consume the customer's licences: one settled, one cancelled (the licence comes back), one refunded
    # in full by a dispute (it comes back when resolved).
    j = out["licensed"] = c.post(8 * USD, design_id=a)
    c.claim(j)
    c.deliver(j)
    c.accept(j)
    j = out["cancelled"] = c.post(design_id=a)
    c.cancel(j)
    j = out["refunded"] = c.post(9 * USD, design_id=a)
    c.claim(j)
    c.deliver(j)
    c.dispute(j)
    c.rule(j, 10_000, 0)
    # C's licences, bought for someone else, and moved with A's in one batch.
    c.set_licence_terms(cc, c.designer, 1 * USD)
    c.buy_licences(cc, c.customer, 3)
    c.buy_licences(cc, c.stranger, 1, to=c.shop)
    c.send(c.licences.functions.safeBatchTransferFrom(c.customer, c.stranger, [a, cc], [1, 2], b""), c.customer)
    c.send(c.licences.functions.safeTransferFrom(c.customer, c.shop, a, 1, b""), c.customer)
    c.send(c.licences.functions.clearTerms(cc), c.designer)  # no more sales; the 4 sold stay counted
    # Licence editions on the market: 3 filled in two parts, 2 at once, 1 of 5.
    order, sig = c.design_order(c.customer, a, 5 * USD, asset=1, amount=3, nonce=10)
    c.fill(order, sig, c.stranger, units=2)
    out["edition"] = c.fill(order, sig, c.stranger, units=1)["orderHash"]
    order, sig = c.design_order(c.customer, a, 4 * USD, asset=1, amount=2, nonce=11)
    c.fill(order, sig, c.shop, units=2)
    order, sig = c.design_order(c.customer, a, 3 * USD, asset=1, amount=5, nonce=12)
    c.fill(order, sig, c.shop, units=1)
    # A resale pays A's royalty to its creator; the collector's licence terms lapse with it.
    order, sig = c.design_order(c.collector, a, 80 * USD, nonce=0)
    out["resale"] = c.fill(order, sig, c.stranger)
    # An offer on any design of the designer's, filled with B (the creator sells: no royalty paid).
    order, sig = c.design_order(c.customer, 0, 30 * USD, side=1, nonce=1, creator=c.designer)
    out["offer"] = c.fill(order, sig, c.designer, token_id=b)
    c.cancel_design_orders(c.designer, [5, 6, 300])
    c.increment_design_counter(c.collector)
    # Takedowns: B appealed by its owner and restored by the DAO; D taken down by the moderator, upheld.
    c.takedown(b)
    c.send(c.designs.functions.appeal(b, c.cid_bytes(b"my own work")), c.customer)
    c.send(c.designs.functions.restore(b), c.timelock)
    c.takedown(d, guardian)
    c.send(c.designs.functions.appeal(d, c.cid_bytes(b"not copied")), c.collector)
    c.send(c.designs.functions.uphold(d), c.timelock)
    # Bounty 1: two approvers must agree; a third sponsor leaves before any submission.
    b1 = out["b1"] = c.post_bounty(c.sponsor, 100 * USD, approvers=(c.sponsor, c.customer), quorum=2,
                                   sponsor_bps=2_000, design_bps=500)
    c.fund_bounty(b1, c.customer, 50 * USD)
    c.fund_bounty(b1, c.collector, 20 * USD)
    c.refund_bounty(b1, c.collector)
    s1 = out["s1"] = c.submit(b1, c.designer, b"part 1")
    s2 = out["s2"] = c.submit(b1, c.shop, b"part 2")
    c.award(b1, s1, 60 * USD, c.sponsor)
    c.revoke_approval(b1, s1, 60 * USD, c.sponsor)
    c.award(b1, s1, 60 * USD, c.sponsor)
    c.award(b1, s1, 60 * USD, c.customer)  # the quorum: paid
    c.award(b1, s2, 30 * USD, c.sponsor)  # left pending
    c.withdraw_awards(c.designer)
    out["winner"] = c.mint_winner(b1, s1, c.designer)
    # Bounty 2: the validator-score evaluator decides; its poster, the only sponsor, extends the deadline.
    evaluator = c.deployment.address("ValidatorScoreEvaluator")
    b2 = out["b2"] = c.post_bounty(c.customer, 40 * USD, evaluator=evaluator)
    c.extend_bounty(b2, 7)
    out["s3"] = s3 = c.submit(b2, c.designer, b"part 3")
    c.award_by_score(b2, s3, 90, 5_000)  # half the pot, not withdrawn
    # The disputes end; after bounty 1's award window its sponsors take back what was not paid, then bounty 2's.
    c.advance(DAY + 1)
    c.finalize(out["resolved"])
    c.finalize(out["refunded"])
    c.advance(14 * DAY)
    c.refund_bounty(b1, c.sponsor)
    c.refund_bounty(b1, c.customer)  # the last one takes the rounding remainder
    c.advance(8 * DAY)
    c.refund_bounty(b2, c.customer)
    # The DAO: a minter named and removed, a currency allowed and refused, the market's fee.
    for call in (c.designs.functions.setMinter(c.stranger, True), c.designs.functions.setMinter(c.stranger, False),
                 c.board.functions.setToken(c.fab.address, True), c.board.functions.setToken(c.fab.address, False),
                 c.design_market.functions.setFeeBps(300)):
        c.send(call, c.timelock)
    return out


def _synced(db_url: str, chain: ChainDriver, tmp_path: Path) -> Indexer:
    ix = Indexer(db_url, chain.rpc_url, chain.deployment, CFG)
    assert_index_is_the_chain(ix, chain, tmp_path)
    return ix


def test_design_economy_is_indexed_as_the_chain_has_it(db_url: str, chain: ChainDriver, economy: dict,
                                                       tmp_path: Path) -> None:
    c, e = chain, economy
    usd, designer = c.usd.lower(), c.designer.lower()
    ix = _synced(db_url, chain, tmp_path)
    try:
        read = ReadModel(ix.engine)
        # Designs: 256-bit ids (the digest inside the CID), owner, creator, receiver, state.
        found = {d.token_id: d for d in read.designs()}
        assert set(found) == {e["a"], e["b"], e["c"], e["d"], e["winner"]}
        assert max(found) >= 2**128
        a = read.design(e["a"])
        assert (a.creator, a.owner, a.royalty_receiver, a.royalty_bps, a.state, a.licensed) == (
            designer, c.stranger.lower(), designer, 700, "active", True)
        assert Cid.parse(a.cid).digest == e["a"].to_bytes(32, "big")
        assert [d.token_id for d in read.designs(creator=c.collector)] == [e["d"]]
        assert read.design(e["b"]).state == "active" and read.design(e["b"]).owner == c.customer.lower()
        dd = read.design(e["d"])
        assert (dd.state, dd.takedown_reason_cid, dd.appeal_evidence_cid) == (
            "taken_down", c.cid(b"copied %d" % e["d"]), c.cid(b"not copied"))
        assert [x.token_id for x in read.designs(state="taken_down")] == [e["d"]]
        winner = read.design(e["winner"])
        sub1 = read.bounty(e["b1"]).entries[0]
        assert (winner.creator, winner.royalty_bps, winner.cid) == (designer, 500, c.cid(b"part 1"))
        assert winner.royalty_receiver == sub1.royalty_receiver != designer  # a split with the sponsors
        assert (sub1.minted, sub1.design_id) == (True, e["winner"])
        # Sales: the creator's own royalty is part of its proceeds; a resale pays it.
        first, resale, offer = e["first_sale"], e["resale"], e["offer"]
        sales = {(s.block_number, s.log_index): s for s in a.sales}
        assert len(a.sales) == 6  # 2 of the design, 4 licence fills
        by_hash = {s.order_hash: s for s in read.sales(limit=1000)}
        s = by_hash["0x" + bytes(first["orderHash"]).hex()]
        assert (s.side, s.asset, s.seller, s.buyer, s.royalty_receiver) == (
            "listing", "design", designer, c.collector.lower(), designer)
        assert s.proceeds == s.total - s.fee and s.royalty == first["royalty"] > 0
        s = by_hash["0x" + bytes(resale["orderHash"]).hex()]
        assert s.proceeds == s.total - s.fee - s.royalty and s.royalty == resale["royalty"] > 0
        s = by_hash["0x" + bytes(offer["orderHash"]).hex()]
        assert (s.side, s.maker, s.taker, s.seller, s.buyer, s.token_id) == (
            "offer", c.customer.lower(), designer, designer, c.customer.lower(), e["b"])
        assert len(sales) == 6 and len(read.sales(account=c.shop)) == 2 and len(read.sales(asset="licence")) == 4
        # Royalties: every licence fill and the resale (sales), the two jobs for C (settled, resolved).
        paid = read.royalties(receiver=designer)
        assert {r.source for r in paid} == {"sale", "job"}
        jobs = {r.job_id: r.amount for r in paid if r.source == "job"}
        assert jobs == {e["settled"]: read.job(e["settled"]).royalty_paid,
                        e["resolved"]: read.job(e["resolved"]).royalty_paid}
        assert all(v > 0 for v in jobs.values())
        assert read.job(e["resolved"]).royalty_paid < read.job(e["resolved"]).royalty  # 30 % refunded
        sale_royalties = [r for r in paid if r.source == "sale"]
        assert len(sale_royalties) == 5 and all(r.design_id == e["a"] for r in sale_royalties)
        assert read.royalty_totals(designer) == {usd: sum(r.amount for r in paid)}
        assert read.royalties(design_id=e["b"]) == []  # the offer's seller was B's creator
        # Licences: terms (lapsed with the resale), purchases, holdings, uses.
        terms = read.licence_terms(e["a"])
        assert terms is not None and (terms.setter, terms.sold, terms.block_size) == (c.collector.lower(), 12, 10)
        assert a.purchases[0].cost == e["licence_cost"] == 15 * USD + 2 * 2 * USD
        bought = read.licence_purchases(design_id=e["c"])
        assert [(p.buyer, p.recipient, p.prints) for p in bought] == [
            (c.stranger.lower(), c.shop.lower(), 1), (c.customer.lower(), c.customer.lower(), 3)]
        for holder in (c.customer, c.stranger, c.shop):
            for design in (e["a"], e["c"]):
                assert read.licences_held(holder, design) == c.licences.functions.balanceOf(holder, design).call()
        assert read.licences_held(c.customer, e["a"]) == 12 - 1 - 1 - 1 - 3 - 2 - 1  # used once, moved, sold 6
        uses = {u.job_id: u.released for u in read.licence_uses(customer=c.customer)}
        assert uses == {e["licensed"]: False, e["cancelled"]: True, e["refunded"]: True}
        assert read.job(e["licensed"]).royalty_receiver == c.licences.address.lower()
        # Orders: the edition filled in two parts, cancelled nonces, a counter.
        edition = read.design_order("0x" + bytes(e["edition"]).hex())
        assert (edition.filled, edition.fills, edition.asset) == (3, 2, "licence")
        assert read.design_cancelled_nonces(c.designer) == [5, 6, 300]
        assert read.design_order_counter(c.collector) == 1 and read.design_order_counter(c.designer) == 0
        # Bounty 1: the pot's accounting, every sponsor's part, submissions, the pending approval, the award.
        b1 = read.bounty(e["b1"])
        assert (b1.contributed, b1.paid, b1.refunded, b1.pot, b1.sponsors, b1.refunds, b1.submissions) == (
            150 * USD, 60 * USD, 90 * USD, 0, 2, 2, 2)
        parts = {x.sponsor: (x.funded, x.contribution, x.refund, x.refunded) for x in b1.contributions}
        assert parts == {c.sponsor.lower(): (100 * USD, 100 * USD, 60 * USD, True),
                         c.customer.lower(): (50 * USD, 50 * USD, 30 * USD, True),
                         c.collector.lower(): (20 * USD, 0, 20 * USD, False)}
        assert [(s.submission_id, s.awarded) for s in b1.entries] == [(e["s1"], 60 * USD), (e["s2"], 0)]
        assert [(x.submission_id, x.amount, x.approvers) for x in b1.approvals] == [
            (e["s2"], 30 * USD, [c.sponsor.lower()])]
        assert [(x.amount, x.decided_by) for x in b1.awards] == [(60 * USD, c.customer.lower())]
        assert (b1.quorum, b1.approvers, b1.evaluator) == (2, [c.sponsor.lower(), c.customer.lower()], ZERO)
        b2 = read.bounty(e["b2"])
        assert b2.terms_hash == "0x" + bytes(c.board.functions.bountyOf(e["b2"]).call()[-1]).hex()
        assert b2.deadline == c.bounty_terms[e["b2"]][2]
        assert (b2.paid, b2.refunded, b2.awards[0].decided_by) == (20 * USD, 20 * USD, c.stranger.lower())
        assert read.bounty_balance(c.usd, c.designer) == 20 * USD == c.board.functions.balanceOf(
            c.usd, c.designer).call()
        assert [x.bounty_id for x in read.bounties(sponsor=c.collector)] == [e["b1"]]
        assert [x.bounty_id for x in read.bounties()] == [e["b2"], e["b1"]]
        assert [(x.bounty_id, x.refunded) for x in read.contributions(c.customer)] == [(e["b1"], True),
                                                                                     (e["b2"], True)]
        # Governance of the design contracts; currencies; token metadata for amounts in units.
        named = read.settings()
        assert named["DesignNFT.minters"] == [c.board.address.lower()]
        assert named["DesignNFT.moderator"] == dev_account(DEV_ROLES["guardian"]).address.lower()
        assert named["ValidatorScoreEvaluator.validators"] == [c.validator.lower()]
        assert named["DesignMarket.owner"] == c.timelock.lower()
        assert named["DesignMarket.fee_bps"] == 300
        assert {(x.contract, x.token, x.allowed) for x in read.currencies()} >= {
            ("DesignMarket", usd, True), ("FabricationLicences", usd, True), ("BountyBoard", usd, True),
            ("BountyBoard", c.fab.address.lower(), False)}
        cleared = read.licence_terms(e["c"])
        assert cleared is not None and cleared.cleared and (cleared.sold, cleared.price_per_print) == (4, 0)
        # Derived tables rebuild from the raw events alone.
        snap = _snapshot(ix)
        ix.rebuild()
        assert _snapshot(ix) == snap
    finally:
        ix.engine.dispose()
        ix.close()


def _snapshot(ix: Indexer) -> dict[str, list[tuple]]:
    from fabrica.indexer.verify import snapshot

    return snapshot(ix.engine)


def test_design_events_decode_fast_as_eth_abi_does(chain: ChainDriver, economy: dict) -> None:
    from fabrica.indexer.decode import Decoder

    decoder = Decoder(chain.deployment)
    logs = chain.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": decoder.address_list}])
    seen = set()
    for lg in logs:
        fast, slow = decoder.decode(lg), decoder.decode(lg, fast=False)
        assert fast == slow, lg
        seen.add(fast[:2])
    assert {("DesignNFT", n) for n in ("DesignMinted", "Transfer", "DesignTakenDown", "DesignAppealed",
                                       "DesignRestored", "TakedownUpheld", "DesignLicensed", "MinterSet")} <= seen
    assert {("FabricationLicences", n) for n in ("TermsSet", "LicencesBought", "LicenceUsed", "LicenceReleased",
                                                 "TransferSingle", "TransferBatch")} <= seen
    assert {("DesignMarket", n) for n in ("OrderFilled", "OrderCancelled", "CounterIncremented")} <= seen
    assert {("BountyBoard", n) for n in ("BountyPosted", "BountyFunded", "DeadlineExtended", "SubmissionAdded",
                                         "AwardApproved", "AwardApprovalRevoked", "BountyAwarded",
                                         "ContributionRefunded", "Withdrawn", "WinnerMinted")} <= seen


def _corrupt(db_url: str, table: sa.Table, where: sa.ColumnElement, **values: object) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        assert conn.execute(sa.update(table).where(where).values(**values)).rowcount == 1
    engine.dispose()


def test_verify_names_what_the_design_contracts_disagree_with(db_url: str, chain: ChainDriver, economy: dict,
                                                              tmp_path: Path) -> None:
    c, e = chain, economy
    ix = _synced(db_url, chain, tmp_path)
    ix.engine.dispose()
    ix.close()
    _corrupt(db_url, designs, designs.c.token_id == e["a"], owner=c.customer.lower())
    _corrupt(db_url, designs, designs.c.token_id == e["b"], state="appealed")
    _corrupt(db_url, bounties, bounties.c.bounty_id == e["b1"], paid=str(61 * USD))
    _corrupt(db_url, bounty_contributions, sa.and_(bounty_contributions.c.bounty_id == e["b1"],
                                                   bounty_contributions.c.sponsor == c.sponsor.lower()),
             refunded=False)
    _corrupt(db_url, licence_balances, sa.and_(licence_balances.c.design_id == e["a"],
                                               licence_balances.c.holder == c.shop.lower()), amount="7")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # an edition's fills, one short
        conn.execute(sa.update(sa.table("design_orders", sa.column("order_hash"), sa.column("filled")))
                     .where(sa.column("order_hash") == "0x" + bytes(e["edition"]).hex()).values(filled="2"))
    found = {(d.table, d.row[-3]) for d in check_chain(engine, c.rpc_url, c.deployment, c.head)}
    engine.dispose()
    assert found == {("designs", "designOf (owner, creator, royalty receiver, royalty, state)"),
                     ("bounties", "bountyOf"), ("bounty_contributions", "contributionOf"),
                     ("licence_balances", "balanceOf"), ("design_orders", "filled")}, found


def test_reorg_across_design_and_bounty_events(db_url: str, chain: ChainDriver, economy: dict,
                                               tmp_path: Path) -> None:
    """A mint, sales, licences and a bounty land in blocks a fork replaces, then in blocks a revert drops; the index
    follows both."""
    c, e = chain, economy
    ix = _synced(db_url, chain, tmp_path)
    try:
        tag = c.rng.getrandbits(32)
        before = c.head
        new = c.mint_design(b"forked %d" % tag, 300)
        order, sig = c.design_order(c.designer, new, 10 * USD, nonce=400 + tag % 1000)
        c.fill(order, sig, c.customer)
        c.set_licence_terms(new, c.customer, 1 * USD)
        c.buy_licences(new, c.shop, 2)
        bid = c.post_bounty(c.sponsor, 10 * USD, approvers=(c.sponsor,), quorum=1)
        sid = c.submit(bid, c.designer, b"forked part %d" % tag)
        c.award(bid, sid, 4 * USD, c.sponsor)
        c.takedown(e["c"])
        ix.sync()
        read = ReadModel(ix.engine)
        assert read.design(new).owner == c.customer.lower() and read.bounty(bid).paid == 4 * USD
        assert read.design(e["c"]).state == "taken_down"
        c.reorg(c.head - before, replacements=2)  # every block since `before`, replaced by deposits
        assert_index_is_the_chain(ix, c, tmp_path)
        assert ix.metrics.reorgs == 1
        with pytest.raises(Exception, match="no design"):
            read.design(new)
        with pytest.raises(Exception, match="no bounty"):
            read.bounty(bid)
        assert read.design(e["c"]).state == "active" and read.licence_holdings(design_id=new) == []
        # A revert drops a second branch: licences moved and an order cancelled, then another branch.
        snap = c.rpc("evm_snapshot", [])
        c.send(c.licences.functions.safeTransferFrom(c.shop, c.customer, e["c"], 1, b""), c.shop)
        c.cancel_design_orders(c.customer, [77])
        ix.sync()
        assert read.licences_held(c.customer, e["c"]) == c.licences.functions.balanceOf(c.customer, e["c"]).call()
        assert c.rpc("evm_revert", [snap]) is True
        c.increment_design_counter(c.customer)
        assert_index_is_the_chain(ix, c, tmp_path)
        assert ix.metrics.reorgs == 2
        assert read.design_cancelled_nonces(c.customer) == [] and read.design_order_counter(c.customer) >= 1
    finally:
        ix.engine.dispose()
        ix.close()


def test_design_commands(chain: ChainDriver, devnet: tuple, economy: dict, tmp_path: Path) -> None:
    """`fabrica indexer designs|design|sales|bounties|bounty`: JSON for programs, units and dates for people."""
    c, e = chain, economy
    _rpc, _dep, home = devnet
    db = f"sqlite:///{tmp_path / 'index.db'}"
    runner = CliRunner()
    out = runner.invoke(app, ["sync", "--db", db, "--rpc", c.rpc_url, "--home", str(home), "--json"])
    assert out.exit_code == 0, out.output

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--db", db])
        assert result.exit_code == 0, result.output
        return result.stdout

    listed = json.loads(run("designs", "--json"))
    assert {d["token_id"] for d in listed} >= {e["a"], e["b"], e["c"], e["d"], e["winner"]}
    assert [d["token_id"] for d in json.loads(run("designs", "--creator", c.collector, "--json"))] == [e["d"]]
    assert [d["token_id"] for d in json.loads(run("designs", "--owner", c.stranger.upper().replace("0X", "0x"),
                                                  "--json"))] == [e["a"]]
    text = run("designs", "--state", "taken_down")
    assert "taken down" in text and "1 design(s)" in text
    # One design, named by its id, its 0x id or its content CID.
    a_cid = c.cid(b"bracket A")
    by_id = json.loads(run("design", str(e["a"]), "--json"))
    assert json.loads(run("design", hex(e["a"]), "--json")) == by_id == json.loads(run("design", a_cid, "--json"))
    assert (by_id["cid"], by_id["licensed"], len(by_id["sales"]), by_id["terms"]["sold"]) == (a_cid, True, 6, 12)
    text = run("design", a_cid)
    assert "fUSD" in text and "a former owner: not in force" in text and "used a licence" in text
    assert "royalty" in text and f"id {e['a']}" in text
    # Sales, newest first, filtered.
    sales = json.loads(run("sales", "--json"))
    assert [s["asset"] for s in sales][:2] == ["design", "design"] and len(sales) == 7
    assert {s["token_id"] for s in json.loads(run("sales", "--design", a_cid, "--json"))} == {e["a"]}
    assert len(json.loads(run("sales", "--account", c.shop, "--json"))) == 2
    text = run("sales", "--asset", "licence")
    assert "licence(s) of design " + a_cid in text and "4 sale(s)" in text
    # Bounties.
    found = json.loads(run("bounties", "--json"))
    assert [b["bounty_id"] for b in found] == [e["b2"], e["b1"]]
    one = json.loads(run("bounty", str(e["b1"]), "--json"))
    assert (one["paid"], one["pot"], len(one["contributions"]), len(one["entries"]), len(one["approvals"])) == (
        60 * USD, 0, 3, 2, 1)
    assert found[1]["pot"] == 0 and found[1]["refunded"] == 90 * USD
    text = run("bounty", str(e["b1"]))
    assert "decided by 2 of 2 approver(s)" in text and "pending: 1 of 2" in text and "minted as design" in text
    assert "fUSD" in text and "UTC" in text
    assert "evaluator contract" in run("bounty", str(e["b2"]))
    assert "no licence terms (4 licence(s) sold before)" in run("design", str(e["c"]))
    assert "appealed with" in run("design", str(e["d"])) and "the takedown stands" in run("design", str(e["d"]))
    assert "1 bounty(ies)" in run("bounties", "--poster", c.sponsor)
    # Refusals are one line and exit 1.
    for args, says in ((["design", "12345"], "no design 12345"), (["design", "not-a-cid"], "design 'not-a-cid'"),
                       (["bounty", "999"], "no bounty 999"), (["designs", "--state", "gone"], "state must be one of"),
                       (["sales", "--account", "bob"], "account must be"), (["sales", "--asset", "nft"], "asset must")):
        result = runner.invoke(app, [*args, "--db", db])
        assert result.exit_code == 1 and says in result.stderr, (args, result.output)


def test_token_ids_are_256_bit_in_every_table(db_url: str, chain: ChainDriver, economy: dict,
                                              tmp_path: Path) -> None:
    """Ids above 2**63 (every sha-256 digest but a few) come back exactly from both engines."""
    ix = _synced(db_url, chain, tmp_path)
    try:
        with ix.engine.connect() as conn:
            ids = {int(x) for x in conn.execute(sa.select(design_sales.c.token_id)).scalars()}
        assert economy["a"] in ids and all(x >= 0 for x in ids)
        read = ReadModel(ix.engine)
        assert read.design_cids([economy["a"], economy["b"], 5]) == {
            economy["a"]: chain.cid(b"bracket A"), economy["b"]: chain.cid(b"hinge B")}
    finally:
        ix.engine.dispose()
        ix.close()
