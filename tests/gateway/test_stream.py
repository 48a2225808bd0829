"""The WebSocket stream `/v1/stream` against real anvil, the indexer and `fabrica gateway serve`: job events with
increasing cursors, exact resume across an anvil reorg (the rollback message, then the canonical events), fan-out
over two uvicorn workers through PostgreSQL LISTEN/NOTIFY (chain events and telemetry), bad input answered with
error messages on a socket that stays usable, and a slow client closed with a reason."""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets.sync.client as wsc
from fabrica.indexer.schema import reorg_log
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from gateway_testkit import GatewayProcess, sign_in
from websockets.exceptions import ConnectionClosed
from web3 import Web3

WAIT_S = 20.0


class Ws:
    """A WebSocket client of the stream that keeps every message it got."""

    def __init__(self, base_url: str, token: str | None = None, **kw: Any) -> None:
        url = base_url.replace("http://", "ws://") + "/v1/stream" + (f"?token={token}" if token else "")
        self.conn = wsc.connect(url, proxy=None, compression=None, open_timeout=15, **kw)
        self.got: list[dict[str, Any]] = []

    def send(self, body: Any) -> None:
        self.conn.send(body if isinstance(body, (str, bytes)) else json.dumps(body))

    def wait(self, pred: Callable[[dict[str, Any]], bool], timeout: float = WAIT_S) -> dict[str, Any]:
        """The next message matching `pred` (every message on the way is kept in `got`)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no matching message within {timeout} s; got {self.got[-5:]}"
            try:
                msg = json.loads(self.conn.recv(timeout=left))
            except TimeoutError:
                continue
            self.got.append(msg)
            if pred(msg):
                return msg

    def ask(self, body: Any, kind: str = "subscribed") -> dict[str, Any]:
        """Send a request and return the answer of type `kind` (or the error, which then fails the test)."""
        self.send(body)
        msg = self.wait(lambda m: m["type"] in (kind, "error"))
        assert msg["type"] == kind, msg
        return msg

    def error(self, body: Any) -> dict[str, Any]:
        self.send(body)
        return self.wait(lambda m: m["type"] in ("error", "subscribed", "unsubscribed", "pong"))

    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.got if m["type"] == "event"]

    def close(self) -> None:
        self.conn.close()


def key(cursor: str) -> tuple[int, int, int]:
    """A cursor as a sortable tuple (the log index 'x' is the whole block)."""
    block, log, seq = cursor.split(".")
    return int(block), 2**31 - 1 if log == "x" else int(log), int(seq)


@pytest.fixture
def indexer(db_url: str, devnet: tuple[str, Any, Any]) -> Iterator[Indexer]:
    rpc_url, deployment, _home = devnet
    with Indexer(db_url, rpc_url, deployment, IndexerConfig(confirmations=0, max_reorg_depth=16)) as ix:
        ix.sync()
        yield ix
        ix.engine.dispose()


@contextmanager
def gateway(db_url: str, devnet: tuple[str, Any, Any], **kw: Any) -> Iterator[GatewayProcess]:
    rpc_url, _deployment, home = devnet
    with GatewayProcess(db_url, home, rpc_url, **kw) as gw:
        yield gw


def job_logs(chain: Any, job_id: int, start: int) -> list[tuple[str, int, int, str]]:
    """(event, block, log index, tx) of a job's market events, straight from the chain."""
    out = []
    for lg in chain.w3.eth.get_logs({"address": chain.market.address, "fromBlock": start, "toBlock": "latest"}):
        name = chain._events.get(Web3.to_hex(lg["topics"][0]))
        if name is None:
            continue
        args = chain.market.events[name]().process_log(lg)["args"]
        if args.get("jobId") == job_id:
            out.append((name, lg["blockNumber"], lg["logIndex"], Web3.to_hex(lg["transactionHash"])))
    return out


def deposits_of(chain: Any, start: int) -> list[tuple[int, int, str]]:
    """(block, log index, tx) of the customer's Deposited events from `start`, straight from the chain."""
    logs = chain.market.events.Deposited().get_logs(from_block=start, to_block="latest")
    return [(lg["blockNumber"], lg["logIndex"], Web3.to_hex(lg["transactionHash"])) for lg in logs
            if lg["args"]["account"] == chain.customer]


# ---------------------------------------------------------------------------------------------- (1) a job
def test_job_events_arrive_in_order_with_increasing_cursors(db_url, devnet, chain, indexer) -> None:
    customer = chain.customer.lower()
    with gateway(db_url, devnet) as gw:
        ws = Ws(gw.url)
        first = ws.ask({"op": "subscribe", "topics": [f"open-jobs:{chain.node_id}", f"account:{chain.customer}"]})
        assert first["topics"] == sorted([f"open-jobs:{chain.node_id}", f"account:{customer}"])
        start = chain.head + 1
        job = chain.post()
        indexer.sync()
        posted = ws.wait(lambda m: m["type"] == "event" and m["event"] == "JobPosted")
        assert posted["args"]["jobId"] == job
        # The node may claim it: the open-jobs topic carries the job's row (and spec) with the event.
        assert set(posted["topics"]) == {f"open-jobs:{chain.node_id}", f"account:{customer}"}
        assert posted["job"]["job_id"] == job and posted["job"]["status"] == "open"
        assert key(posted["cursor"]) > key(first["cursor"])

        # A later subscription with the first cursor replays the job's event it missed, with the same cursor.
        again = ws.ask({"op": "subscribe", "topics": [f"job:{job}"], "cursor": first["cursor"]})
        assert again["cursor"] == first["cursor"] and f"job:{job}" in again["topics"]
        replayed = ws.wait(lambda m: m["type"] == "event" and m["topic"] == f"job:{job}")
        assert (replayed["event"], replayed["cursor"], replayed["tx"]) == ("JobPosted", posted["cursor"], posted["tx"])

        chain.claim(job)
        indexer.sync()
        chain.deliver(job)
        indexer.sync()
        ws.wait(lambda m: m["type"] == "event" and m["event"] == "JobDelivered")
        mine = [m for m in ws.events() if f"job:{job}" in m["topics"]]
        assert [m["event"] for m in mine] == ["JobPosted", "JobClaimed", "JobDelivered"]
        cursors = [key(m["cursor"]) for m in mine]
        assert cursors == sorted(cursors) and len(set(cursors)) == 3
        truth = job_logs(chain, job, start)
        assert [(m["event"], m["block"], m["log_index"], m["tx"]) for m in mine] == truth
        assert all(key(m["cursor"])[:2] == (m["block"], m["log_index"]) for m in mine)
        assert mine[1]["args"]["node"] == chain.shop.lower() and mine[1]["args"]["nodeId"] == chain.node_id
        ws.close()


# ---------------------------------------------------------------------------------------------- (2) resume
def test_resume_across_a_reorg_gets_exactly_the_missed_messages(db_url, devnet, chain, indexer) -> None:
    topics = [f"account:{chain.customer}"]
    job = chain.post()
    indexer.sync()
    topics.append(f"job:{job}")
    with gateway(db_url, devnet) as gw:
        live, gone = Ws(gw.url), Ws(gw.url)
        live.ask({"op": "subscribe", "topics": topics})
        gone.ask({"op": "subscribe", "topics": topics})
        chain.deposit()
        chain.claim(job)
        indexer.sync()
        for ws in (live, gone):
            ws.wait(lambda m: m["type"] == "event" and m["event"] == "JobClaimed")
        seen = gone.got[-1]["cursor"]  # the client's last cursor: it saw the claim, then went away
        gone.close()
        tip = chain.head

        chain.reorg(2, replacements=2)  # the deposit's and the claim's blocks are replaced by two deposits
        chain.deposit()
        indexer.sync()
        assert indexer.metrics.reorgs == 1
        with indexer.engine.connect() as conn:  # the indexer logged the rollback the stream reports
            logged = conn.execute(sa.select(reorg_log.c.seq, reorg_log.c.ancestor_block, reorg_log.c.depth,
                                            reorg_log.c.old_tip)).all()
        assert [tuple(r) for r in logged] == [(1, tip - 2, 2, tip)]
        reorg = live.wait(lambda m: m["type"] == "reorg")
        assert reorg["block"] == tip - 2
        live.wait(lambda m: m["type"] == "event" and m["block"] == chain.head)
        if not any(m["type"] == "state" for m in live.got[live.got.index(reorg):]):  # sent with the rollback, or
            live.wait(lambda m: m["type"] == "state")  # with the new branch's events
        after = live.got[live.got.index(reorg) + 1:]

        back = Ws(gw.url)
        sub = back.ask({"op": "subscribe", "topics": topics, "cursor": seen})
        assert sub["cursor"] == seen
        back.wait(lambda m: m["type"] == "state")
        resumed = back.got[back.got.index(sub) + 1:]
        # First the rollback below what it had seen, the same the live client got …
        assert resumed[0] == reorg
        # … then exactly the canonical events after the ancestor (those the live client got, same cursors) …
        canonical = deposits_of(chain, reorg["block"] + 1)
        assert len(canonical) == 3
        for got in ([m for m in resumed if m["type"] == "event"], [m for m in after if m["type"] == "event"]):
            assert [(m["block"], m["log_index"], m["tx"]) for m in got] == canonical
            assert all(m["event"] == "Deposited" for m in got)
        assert [m for m in resumed if m["type"] == "event"] == [m for m in after if m["type"] == "event"]
        # … and the job's current row: the claim was rolled back, the job is open again.
        states = [m for m in resumed if m["type"] == "state"]
        assert [s["topic"] for s in states] == [f"job:{job}"] and states[0]["job"]["status"] == "open"
        assert [m["type"] for m in resumed] == ["reorg", "event", "event", "event", "state"]

        # Without a reorg in between, a resume replays just the events after the cursor, no rollback message.
        mark = back.got[-1]["cursor"]
        back.close()
        chain.deposit()
        chain.deposit()
        indexer.sync()
        live.wait(lambda m: m["type"] == "event" and m["block"] == chain.head)
        last_two = live.events()[-2:]
        again = Ws(gw.url)
        again.ask({"op": "subscribe", "topics": topics, "cursor": mark})
        again.wait(lambda m: m["type"] == "event" and m["block"] == chain.head)
        assert [m["type"] for m in again.got] == ["subscribed", "event", "event"]
        assert again.events() == last_two
        for ws in (live, again):
            ws.close()


# ---------------------------------------------------------------------------------------------- (3) workers
def test_two_workers_fan_out_events_and_telemetry(pg_url, devnet, chain) -> None:
    from gateway_testkit import app_client

    rpc_url, deployment, home = devnet
    shop_key = dev_account(DEV_ROLES["shop"]).key
    topics = [f"account:{chain.customer}", f"telemetry:{chain.node_id}"]
    with Indexer(pg_url, rpc_url, deployment, IndexerConfig(confirmations=0)) as ix:
        ix.sync()
        with gateway(pg_url, devnet, workers=2) as gw:
            with httpx.Client(base_url=gw.url) as http:
                token = sign_in(http, shop_key)["access_token"]
            clients: dict[int, list[Ws]] = {}
            for _ in range(60):  # the kernel hands each connection to either worker
                ws = Ws(gw.url, token)
                clients.setdefault(ws.ask({"op": "subscribe", "topics": topics})["worker"], []).append(ws)
                if len(clients) == 2 and sum(map(len, clients.values())) >= 6:
                    break
            assert len(clients) == 2, f"every connection went to one worker: {list(clients)}"
            everyone = [ws for group in clients.values() for ws in group]

            chain.deposit()
            ix.sync()  # the indexer's NOTIFY wakes both workers
            got = [ws.wait(lambda m: m["type"] == "event") for ws in everyone]
            assert {(m["event"], m["block"], m["tx"], m["cursor"]) for m in got} == {
                ("Deposited", *deposits_of(chain, chain.head)[0][::2], got[0]["cursor"])}

            # Telemetry published by a third process (the in-process app on the same database) reaches every
            # client of both workers: large enough to travel in several NOTIFY parts.
            sample = {"seq": 7, "samples": [{"t": i, "hotend": 210.5, "note": secrets.token_hex(40)}
                                            for i in range(300)]}
            with app_client(pg_url, home, rpc_url) as other:
                other.app.state.hub.publish_telemetry(chain.node_id, sample)
                for ws in everyone:
                    msg = ws.wait(lambda m: m["type"] == "telemetry")
                    assert msg["topic"] == f"telemetry:{chain.node_id}" and msg["data"] == sample
                    assert key(msg["cursor"]) >= key(got[0]["cursor"])
            for ws in everyone:
                ws.close()
        ix.engine.dispose()


# ---------------------------------------------------------------------------------------------- telemetry
def test_a_signed_telemetry_batch_reaches_the_operators_stream(db_url, devnet, chain, indexer) -> None:
    """The telemetry router's publish (in-process on SQLite, NOTIFY on PostgreSQL) reaches the node's operator."""
    from fabrica.protocol.telemetry import Sample, TelemetryBatch

    shop = dev_account(DEV_ROLES["shop"])
    with gateway(db_url, devnet) as gw:
        with httpx.Client(base_url=gw.url) as http:
            ws = Ws(gw.url, sign_in(http, shop.key)["access_token"])
            ws.ask({"op": "subscribe", "topics": [f"telemetry:{chain.node_id}"]})
            now = round(time.time(), 3)
            batch = TelemetryBatch(chain_id=31337, node_id=chain.node_id, operator=shop.address, machine="vp-1",
                                   seq=1, sent_at=now, samples=[Sample(t=now - 1, state="printing", hotend=214.5)])
            r = http.post(f"/v1/nodes/{chain.node_id}/telemetry", json=batch.sign(shop).to_json())
            assert r.status_code == 200, r.text
        msg = ws.wait(lambda m: m["type"] == "telemetry")
        assert msg["topic"] == f"telemetry:{chain.node_id}" and msg["node_id"] == chain.node_id
        assert msg["data"]["seq"] == 1 and [s["hotend"] for s in msg["data"]["samples"]] == [214.5]
        ws.close()


# ---------------------------------------------------------------------------------------------- (4) bad input
def test_bad_input_gets_errors_and_the_socket_stays_usable(db_url, devnet, chain, indexer) -> None:
    node = chain.node_id
    with gateway(db_url, devnet) as gw:
        ws = Ws(gw.url)
        cases = [
            ("not json", "bad_message"),
            (b"\x00\x01binary", "bad_message"),
            ("[1, 2]", "bad_message"),
            ({"op": "dance"}, "bad_op"),
            ({"no": "op"}, "bad_op"),
            ({"op": "subscribe"}, "bad_topic"),
            ({"op": "subscribe", "topics": "job:1"}, "bad_topic"),
            ({"op": "subscribe", "topics": ["jobs:1"]}, "bad_topic"),
            ({"op": "subscribe", "topics": ["account:0x1234"]}, "bad_topic"),
            ({"op": "subscribe", "topics": [{"job": 1}]}, "bad_topic"),
            ({"op": "subscribe", "topics": ["job:1"], "cursor": "yesterday"}, "bad_cursor"),
            ({"op": "subscribe", "topics": ["job:1"], "cursor": 12}, "bad_cursor"),
            ({"op": "subscribe", "topics": [f"job:{i}" for i in range(65)]}, "too_many_topics"),
            ({"op": "subscribe", "topics": [f"telemetry:{node}"]}, "sign_in_required"),
            ({"op": "subscribe", "topics": ["open-jobs:999999"]}, "unknown_node"),
            ({"op": "unsubscribe", "topics": ["nope"]}, "bad_topic"),
            ("x" * (70 * 1024), "bad_message"),
        ]
        for body, code in cases:
            answer = ws.error(body)
            assert (answer["type"], answer.get("code")) == ("error", code), (body if len(str(body)) < 99 else "…", answer)
            assert answer["detail"] and "cursor" in answer
        # A cursor from another index (ahead of this one) is refused after a short wait, not trusted.
        ahead = ws.error({"op": "subscribe", "topics": ["job:1"], "cursor": f"{chain.head + 1000}.x.0"})
        assert ahead["code"] == "bad_cursor" and "ahead" in ahead["detail"]
        # Still usable: a ping, a subscription, an unsubscription.
        assert ws.ask({"op": "ping"}, "pong")["cursor"]
        assert ws.ask({"op": "subscribe", "topics": ["job:1"]})["topics"] == ["job:1"]
        assert ws.ask({"op": "unsubscribe", "topics": ["job:1"]}, "unsubscribed")["topics"] == []

        # Telemetry is the node operator's (or staff's): a bad token and another account are refused.
        garbage = Ws(gw.url, "not-a-token")
        assert garbage.error({"op": "subscribe", "topics": [f"telemetry:{node}"]})["code"] == "bad_token"
        with httpx.Client(base_url=gw.url) as http:
            customer = sign_in(http, dev_account(DEV_ROLES["customer"]).key)["access_token"]
            shop = sign_in(http, dev_account(DEV_ROLES["shop"]).key)["access_token"]
        stranger = Ws(gw.url, customer)
        assert stranger.error({"op": "subscribe", "topics": [f"telemetry:{node}"]})["code"] == "role_denied"
        owner = Ws(gw.url, shop)
        assert owner.ask({"op": "subscribe", "topics": [f"telemetry:{node}"]})["topics"] == [f"telemetry:{node}"]
        for c in (ws, garbage, stranger, owner):
            c.close()


# ---------------------------------------------------------------------------------------------- backpressure
def test_a_slow_client_is_closed_with_a_reason(pg_url, devnet, chain) -> None:
    from fabrica.gateway.stream import namespace, notify_telemetry

    rpc_url, deployment, _home = devnet
    with Indexer(pg_url, rpc_url, deployment, IndexerConfig(confirmations=0)) as ix:
        ix.sync()
        with gateway(pg_url, devnet, env={"FABRICA_GATEWAY_WS_QUEUE": "4"}) as gw:
            with httpx.Client(base_url=gw.url) as http:
                token = sign_in(http, dev_account(DEV_ROLES["shop"]).key)["access_token"]
            slow = Ws(gw.url, token, max_queue=1, max_size=None)  # reads nothing until told to
            slow.ask({"op": "subscribe", "topics": [f"telemetry:{chain.node_id}"]})
            engine = sa.create_engine(pg_url)
            ns = namespace(engine)
            sent = 0
            while sent < 400 and _ws_clients(gw.url) > 0:
                for _ in range(10):
                    body = json.dumps({"node_id": chain.node_id, "data": {"n": sent, "blob": secrets.token_hex(100_000)}})
                    notify_telemetry(engine, ns, body)
                    sent += 1
                time.sleep(0.2)
            engine.dispose()
            assert _ws_clients(gw.url) == 0, "the slow client was never closed"
            got = 0
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    msg = json.loads(slow.conn.recv(timeout=WAIT_S))
                    assert msg["type"] == "telemetry" and msg["data"]["n"] == got  # in order, none skipped
                    got += 1
            assert got < sent
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert "too slow" in closed.value.rcvd.reason and "cursor" in closed.value.rcvd.reason
        ix.engine.dispose()


def _ws_clients(base_url: str) -> float:
    text = httpx.get(base_url + "/metrics", timeout=5).text
    line = next(x for x in text.splitlines() if x.startswith("fabrica_gateway_ws_clients"))
    return float(line.split()[-1])
