"""Sync engine against a real anvil: every reorg shape ends identical to a fresh index from genesis."""
from __future__ import annotations

from pathlib import Path

import pytest
from fabrica.indexer.errors import ReorgTooDeepError, WriterLockError
from fabrica.indexer.notify import Notification
from fabrica.indexer.sync import Indexer, IndexerConfig
from indexer_testkit import ChainDriver, chain_problems, diff, oracle_snapshot, snapshot

CFG = IndexerConfig(confirmations=3, max_reorg_depth=8, initial_range=7)


def open_ix(db_url: str, chain: ChainDriver, cfg: IndexerConfig = CFG, **kw) -> Indexer:
    return Indexer(db_url, chain.rpc_url, chain.deployment, cfg, **kw)


def assert_matches_oracle(ix: Indexer, chain: ChainDriver, tmp_path: Path) -> None:
    head = chain.head
    ix.sync()
    assert ix.metrics.tip == head, (ix.metrics, head)
    problems = diff(snapshot(ix.engine), oracle_snapshot(chain.rpc_url, chain.deployment, tmp_path, head))
    problems += chain_problems(ix, chain)  # and the contracts agree with the index (commitments, balances…)
    assert not problems, "\n".join(problems[:20])


def test_backfill_matches_chain_state(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    for _ in range(6):
        chain.random_action()
    with open_ix(db_url, chain) as ix:
        assert_matches_oracle(ix, chain, tmp_path)
        snap = snapshot(ix.engine)
        # The derived balances and stakes agree with the contracts' own views.
        bal = {(r[0], r[1]): int(r[2]) for r in snap["balances"]}
        cust = chain.customer
        assert bal.get((chain.usd.lower(), cust.lower()), 0) == chain.balance(chain.usd, cust)
        staked, locked, unbonding, _ = chain.stake_of(chain.shop)
        row = next(r for r in snap["stakes"] if r[0] == chain.shop.lower())
        assert (int(row[1]), int(row[2]), int(row[3])) == (staked, locked, unbonding)
        assert chain_problems(ix, chain) == []
        # Replaying adds nothing.
        rows = ix.metrics.rows_written
        ix.sync()
        assert ix.metrics.rows_written == rows
        assert snapshot(ix.engine) == snap
        # Derived tables rebuild from the raw events alone.
        ix.rebuild()
        assert snapshot(ix.engine) == snap
        ix.engine.dispose()


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_anvil_reorg_with_replacements(db_url: str, chain: ChainDriver, tmp_path: Path, depth: int) -> None:
    notes: list[Notification] = []
    with open_ix(db_url, chain) as ix:
        ix.notifier.subscribe(notes.append)
        for _ in range(depth):
            chain.random_action()
        ix.sync()
        before = ix.metrics.tip
        chain.reorg(depth, replacements=2)
        assert_matches_oracle(ix, chain, tmp_path)
        assert ix.metrics.reorgs == 1
        reorgs = [n for n in notes if n.kind == "reorg"]
        assert [n.block for n in reorgs] == [before - depth]
        assert notes[-1].kind == "events"
        replaced = [r for r in snapshot(ix.engine)["events"] if r[1] > before - depth and r[7] == "Deposited"]
        assert len(replaced) == 2  # both replacement transactions landed in the new branch
        ix.engine.dispose()


def test_reorg_that_only_removes_events(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    with open_ix(db_url, chain) as ix:
        chain.deposit()
        chain.post()
        ix.sync()
        chain.rpc("anvil_reorg", [2, []])  # same height, empty blocks
        assert_matches_oracle(ix, chain, tmp_path)
        assert ix.metrics.reorgs == 1
        ix.engine.dispose()


def test_anvil_rollback_shorter_chain(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    with open_ix(db_url, chain) as ix:
        chain.post()
        chain.deposit()
        ix.sync()
        chain.rollback(2)
        assert_matches_oracle(ix, chain, tmp_path)
        chain.post()  # the chain grows again on the new branch
        assert_matches_oracle(ix, chain, tmp_path)
        ix.engine.dispose()


def test_snapshot_revert_then_other_transactions(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    with open_ix(db_url, chain) as ix:
        snap_id = chain.rpc("evm_snapshot", [])
        chain.post()
        chain.deposit()
        chain.random_action()
        ix.sync()
        assert chain.rpc("evm_revert", [snap_id]) is True
        chain.deposit(7)
        chain.post()
        assert_matches_oracle(ix, chain, tmp_path)
        ix.engine.dispose()


@pytest.mark.parametrize("extra", [0, 1])
def test_reorg_at_cold_hot_boundary(db_url: str, chain: ChainDriver, tmp_path: Path, extra: int) -> None:
    cfg = IndexerConfig(confirmations=3, max_reorg_depth=8, initial_range=1000)
    chain.mine(5)
    for _ in range(4):
        chain.deposit()
    with open_ix(db_url, chain, cfg) as ix:
        ix.sync()  # blocks <= head-3 came from ranged getLogs, the last 3 block by block
        chain.reorg(cfg.confirmations + extra, replacements=2)  # fork at the last cold block (+1: below it)
        assert_matches_oracle(ix, chain, tmp_path)
        ix.engine.dispose()


def test_reorg_deeper_than_max_halts_untouched(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    cfg = IndexerConfig(confirmations=1, max_reorg_depth=3, initial_range=50)
    with open_ix(db_url, chain, cfg) as ix:
        for _ in range(3):
            chain.deposit()
        chain.mine(2)
        ix.sync()
        before = snapshot(ix.engine)
        chain.reorg(5, replacements=1)
        with pytest.raises(ReorgTooDeepError, match="deeper than the configured maximum of 3"):
            ix.sync()
        assert snapshot(ix.engine) == before
        ix.engine.dispose()


def test_two_writers_are_refused(db_url: str, chain: ChainDriver) -> None:
    with open_ix(db_url, chain) as ix:
        with pytest.raises(WriterLockError, match="another indexer"):
            open_ix(db_url, chain)
        ix.engine.dispose()
    # Released on close: the next writer gets in.
    with open_ix(db_url, chain) as ix2:
        ix2.sync()
        ix2.engine.dispose()


def test_same_transaction_reincluded_in_another_block(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    with open_ix(db_url, chain) as ix:
        chain.mine(2)
        chain.deposit(3 * 10**6)
        block = chain.w3.eth.get_block("latest")
        tx_hash = "0x" + bytes(block["transactions"][-1]).hex()
        raw = chain.rpc("eth_getRawTransactionByHash", [tx_hash])
        ix.sync()
        chain.rpc("anvil_reorg", [3, [[raw, 0]]])  # the signed deposit lands two blocks earlier
        assert_matches_oracle(ix, chain, tmp_path)
        where = [r[1] for r in snapshot(ix.engine)["events"] if r[4] == tx_hash]
        assert where == [block["number"] - 2]
        ix.engine.dispose()
