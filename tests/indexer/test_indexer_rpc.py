"""Adaptive getLogs ranges and rate-limit back-off, through a real HTTP proxy in front of anvil that behaves
like a hosted provider (result caps with or without a suggested range, HTTP 429); and notifications."""
from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fabrica.indexer.notify import PG_CHANNEL, Notification
from fabrica.indexer.sync import Indexer, IndexerConfig
from indexer_testkit import ChainDriver, JsonRpcProxy, diff, oracle_snapshot, snapshot

def result_cap(chain: ChainDriver) -> int:
    """A provider's cap on getLogs results: above the most logs one block of the deployment holds (the DAO's set-up
    batch accepts every contract's ownership in one transaction), below what a range of blocks holds."""
    logs = chain.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest",
                                      "address": list(chain.deployment.contracts.values())}])
    return max(8, max(Counter(lg["blockNumber"] for lg in logs).values()) + 1)


class ProviderProxy(JsonRpcProxy):
    """Forwards JSON-RPC to anvil; caps eth_getLogs at `limit` results and answers every 4th request with 429."""

    def __init__(self, upstream: str, suggest: bool, limit: int) -> None:
        super().__init__(upstream)
        self.suggest = suggest
        self.limit = limit
        self.requests = 0
        self.too_many = 0
        self.rate_limited = 0
        self.ranges: list[int] = []

    def answer(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        self.requests += 1
        if self.requests % 4 == 0:
            self.rate_limited += 1
            return 429, {"error": "rate limited"}, {"Retry-After": "0"}
        answer = self.forward(body)
        if isinstance(body, dict) and body["method"] == "eth_getLogs" and "fromBlock" in body["params"][0]:
            start, end = (int(body["params"][0][k], 16) for k in ("fromBlock", "toBlock"))
            logs = answer.get("result", [])
            if len(logs) > self.limit:
                self.too_many += 1
                msg = f"query returned more than {self.limit} results"
                cut = max(start, int(logs[self.limit]["blockNumber"], 16) - 1)
                if self.suggest:
                    msg += f". Try with this block range [{hex(start)}, {hex(cut)}]."
                answer = {"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32005, "message": msg}}
            else:
                self.ranges.append(end - start + 1)
        return 200, answer, {}


@pytest.fixture(scope="module")
def busy_chain(chain: ChainDriver) -> ChainDriver:
    for _ in range(8):
        chain.deposit()
        chain.post()
    return chain


@pytest.mark.parametrize("suggest", [True, False], ids=["suggested-range", "halving"])
def test_adaptive_ranges_and_backoff(busy_chain: ChainDriver, tmp_path: Path, suggest: bool) -> None:
    chain = busy_chain
    head = chain.head
    cfg = IndexerConfig(confirmations=2, max_reorg_depth=8, initial_range=64, max_range=1024)
    with ProviderProxy(chain.rpc_url, suggest, result_cap(chain)) as proxy, \
            Indexer(f"sqlite:///{tmp_path / 'ix.db'}", proxy.url, chain.deployment, cfg) as ix:
        ix.rpc.max_backoff = 0.05
        ix.sync(until=head)
        assert proxy.too_many > 0 and proxy.rate_limited > 0 and ix.rpc.rate_limited > 0
        assert max(proxy.ranges) > 1  # ranges grew again after shrinking
        problems = diff(snapshot(ix.engine), oracle_snapshot(chain.rpc_url, chain.deployment, tmp_path, head))
        assert not problems, "\n".join(problems[:20])


def test_notifications_callbacks_and_asyncio_queue(busy_chain: ChainDriver, tmp_path: Path) -> None:
    chain = busy_chain

    async def main() -> list[Notification]:
        with Indexer(f"sqlite:///{tmp_path / 'n.db'}", chain.rpc_url, chain.deployment,
                     IndexerConfig(confirmations=1, max_reorg_depth=8)) as ix:
            q = ix.notifier.queue()
            await asyncio.to_thread(ix.sync)
            chain.reorg(2, replacements=1)
            await asyncio.to_thread(ix.sync)
            await asyncio.sleep(0)
            out = []
            while not q.empty():
                out.append(q.get_nowait())
            return out

    notes = asyncio.run(main())
    kinds = [n.kind for n in notes]
    assert "reorg" in kinds and kinds[-1] == "events"
    reorg = next(n for n in notes if n.kind == "reorg")
    assert reorg.depth == 2 and reorg.block == chain.head - 2
    assert sum(n.count for n in notes[: kinds.index("reorg")]) > 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_notify(busy_chain: ChainDriver, db_url: str) -> None:
    import psycopg

    chain = busy_chain
    listen = psycopg.connect(sa.make_url(db_url).set(drivername="postgresql", query={})
                             .render_as_string(hide_password=False), autocommit=True)
    try:
        listen.execute(f"LISTEN {PG_CHANNEL}")
        with Indexer(db_url, chain.rpc_url, chain.deployment, IndexerConfig(confirmations=1)) as ix:
            ix.sync()
            chain.reorg(1, replacements=1)
            ix.sync()
            ix.engine.dispose()
        got = [json.loads(n.payload) for n in listen.notifies(timeout=1.0, stop_after=100)]
    finally:
        listen.close()
    assert any(n["kind"] == "events" and n["count"] > 0 for n in got)
    assert any(n["kind"] == "reorg" for n in got)



def test_fast_decoder_equals_eth_abi(busy_chain: ChainDriver) -> None:
    """The word-slicing decoder and eth_abi agree on every log the chain holds (all event shapes seen)."""
    from fabrica.indexer.decode import Decoder

    decoder = Decoder(busy_chain.deployment)
    logs = busy_chain.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest",
                                           "address": decoder.address_list}])
    names = set()
    for lg in logs:
        fast, slow = decoder.decode(lg), decoder.decode(lg, fast=False)
        assert fast == slow, lg
        names.add(fast[1] if fast else None)
    assert {"JobPosted", "Deposited", "Transfer", "NodeRegistered", "Staked"} <= names
