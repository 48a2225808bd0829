"""The fetch pipeline: ranges fetched and decoded ahead of the writer, against a real anvil, on SQLite and PostgreSQL.

A fork that lands while ranges are already fetched ahead, node strings that need escaping in COPY, a log the
node sends without a required field, and the garbage collector left as the caller had it.
"""
from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fabrica.indexer.errors import IndexerError
from fabrica.indexer.sync import Indexer, IndexerConfig, Metrics
from indexer_testkit import ChainDriver, JsonRpcProxy, diff, oracle_snapshot, snapshot


class RewritingProxy(JsonRpcProxy):
    """Forwards JSON-RPC to anvil and passes every eth_getLogs answer's logs through `rewrite`; serving at once."""

    def __init__(self, upstream: str, rewrite: Callable[[list[dict[str, Any]]], None]) -> None:
        super().__init__(upstream)
        self.rewrite = rewrite
        self.start()

    def answer(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        answer = self.forward(body)
        calls, answers = (body, answer) if isinstance(body, list) else ([body], [answer])
        for call, a in zip(calls, answers):
            if call["method"] == "eth_getLogs" and a.get("result"):
                self.rewrite(a["result"])
        return 200, answer, {}


def test_fork_while_ranges_are_fetched_ahead(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    """The ranges after the tip are fetched and decoded before a fork replaces some of their blocks: the stale
    range is committed no further than the parent-hash checks allow, the fork is found, rolled back through the
    undo log, and the index ends equal to a fresh one."""
    for _ in range(8):
        chain.deposit()  # a block with an event each
    head = chain.head
    cfg = IndexerConfig(confirmations=3, max_reorg_depth=8, initial_range=2, max_range=2)
    forked: list[int] = []
    with Indexer(db_url, chain.rpc_url, chain.deployment, cfg) as ix:

        def fork_once(m: Metrics) -> None:
            if forked or m.tip < head - 7:
                return
            # Both ranges after the tip are in hand before the chain changes under them.
            assert ix.fetcher._pending and all(p.ready.result() for p in ix.fetcher._pending)
            forked.append(m.tip)
            chain.reorg(4, replacements=2)

        ix.progress = fork_once
        ix.sync()
        assert forked and ix.metrics.reorgs == 1  # the stale block was committed, then found and undone
        ix.sync()
        assert ix.metrics.tip == chain.head
        problems = diff(snapshot(ix.engine), oracle_snapshot(chain.rpc_url, chain.deployment, tmp_path, chain.head))
        assert not problems, "\n".join(problems[:20])
        ix.engine.dispose()


def test_node_strings_that_need_escaping_are_stored_exactly(db_url: str, chain: ChainDriver) -> None:
    """Whatever a node puts in a log's strings (a backslash, a tab, a newline) is stored byte for byte: the
    COPY text format on PostgreSQL escapes it, SQLite binds it."""
    chain.deposit()
    head = chain.head
    odd = "0xab\\cd\tef\ngh\r"

    def rewrite(logs: list[dict[str, Any]]) -> None:
        for lg in logs:
            if int(lg["blockNumber"], 16) == head:
                lg["transactionHash"] = odd

    proxy = RewritingProxy(chain.rpc_url, rewrite)
    try:
        with Indexer(db_url, proxy.url, chain.deployment, IndexerConfig(confirmations=0)) as ix:
            ix.sync(until=head)
            with ix.engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT tx_hash, name FROM events WHERE block_number = :b"),
                                    {"b": head}).all()
            ix.engine.dispose()
    finally:
        proxy.close()
    assert rows and all(r.tx_hash == odd for r in rows)
    assert "Deposited" in {r.name for r in rows}


def test_a_node_that_spaces_its_json_gives_the_same_index(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    """Topics are read at fixed offsets of the compact array anvil sends; a node that writes '["0x…", "0x…"]'
    (as Python's json does, through this proxy) takes the parsing path and yields the same rows."""
    for _ in range(3):
        chain.random_action()
    head = chain.head
    proxy = RewritingProxy(chain.rpc_url, lambda logs: None)
    try:
        with Indexer(db_url, proxy.url, chain.deployment, IndexerConfig(confirmations=2)) as ix:
            ix.sync(until=head)
            problems = diff(snapshot(ix.engine), oracle_snapshot(chain.rpc_url, chain.deployment, tmp_path, head))
            ix.engine.dispose()
    finally:
        proxy.close()
    assert not problems, "\n".join(problems[:20])


def test_a_log_without_a_required_field_is_one_clear_error(db_url: str, chain: ChainDriver) -> None:
    chain.deposit()

    def rewrite(logs: list[dict[str, Any]]) -> None:
        del logs[-1]["blockHash"]

    proxy = RewritingProxy(chain.rpc_url, rewrite)
    try:
        with Indexer(db_url, proxy.url, chain.deployment, IndexerConfig(confirmations=0)) as ix:
            with pytest.raises(IndexerError, match="malformed log.*blockHash"):
                ix.sync()
            assert ix.metrics.events_written == 0 or ix.metrics.tip < chain.head
            ix.engine.dispose()
    finally:
        proxy.close()


@pytest.mark.parametrize("enabled", [True, False])
def test_garbage_collector_left_as_the_caller_had_it(db_url: str, chain: ChainDriver, enabled: bool) -> None:
    """The collector pauses while batches are in flight (they hold no cycles) and comes back as it was."""
    chain.deposit()
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with Indexer(db_url, chain.rpc_url, chain.deployment, IndexerConfig(confirmations=0, initial_range=3)) as ix:
            ix.sync()
            assert ix.metrics.events_written > 0
            assert gc.isenabled() is enabled
            ix.engine.dispose()
    finally:
        (gc.enable if was else gc.disable)()
