"""Test doubles for the validator tests: stand-in miners over real HTTP on loopback, and an in-test subnet chain.

The miners are one FastAPI app served by uvicorn (in a thread) on one loopback socket per miner; every request
is authenticated with `bittensor.http_auth.verify` against that miner's own dev keypair, exactly as a real
miner must. `FakeChain` is a small in-test implementation of the `SubnetChain` port that records
`set_weights` calls: a mock, because the embedded local stand-in is being written concurrently (the end-to-end
test uses the real one).
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import uvicorn
from bittensor import http_auth
from bittensor_core import Keypair
from fastapi import FastAPI, Request, Response

from fabrica.protocol.subnet.api import DESIGN_PATH, SCHEDULE_PATH
from fabrica.protocol.subnet.port import SubnetConnectionError, SubnetMetagraph, SubnetNeuron
from fabrica.protocol.tasks.design import parse_task as parse_design_task
from fabrica.protocol.tasks.schedule import parse_task as parse_schedule_task
from fabrica.validators.scoring.design import baseline_densities
from fabrica.validators.scoring.schedule import baseline_schedule

BEHAVIOURS = ("good", "copy", "slow", "garbage", "infeasible")


def dev_keypair(name: str) -> Keypair:
    return Keypair.create_from_uri(f"//{name}")


@dataclass
class StandInMiner:
    name: str
    behaviour: str
    keypair: Keypair
    port: int = 0
    seen: list[str] = field(default_factory=list)  # verified caller hotkeys
    rejected: int = 0

    @property
    def hotkey(self) -> str:
        return self.keypair.ss58_address

    @property
    def axon(self) -> str:
        return f"127.0.0.1:{self.port}"


class MinerFarm:
    """Stand-in miners, one loopback socket each, in one uvicorn server running on its own thread."""

    def __init__(self, behaviours: Sequence[str], slow_s: float = 3.0, design_iterations: int = 25) -> None:
        self.miners = [StandInMiner(f"Miner{i}", b, dev_keypair(f"Miner{i}")) for i, b in enumerate(behaviours)]
        self.slow_s = slow_s
        self.design_iterations = design_iterations
        self._answers: dict[str, bytes] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._by_port: dict[int, StandInMiner] = {}
        self._nonces = http_auth.InMemoryNonceStore()
        self._sockets: list[socket.socket] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = FastAPI()
        self.app.add_api_route(SCHEDULE_PATH, self._handle, methods=["POST"])
        self.app.add_api_route(DESIGN_PATH, self._handle, methods=["POST"])

    def _event(self, task_id: str) -> asyncio.Event:
        return self._ready.setdefault(task_id, asyncio.Event())

    async def _solve(self, path: str, body: bytes) -> tuple[str, bytes]:
        if path == SCHEDULE_PATH:
            task = parse_schedule_task(body)
            answer = await asyncio.to_thread(baseline_schedule, task)
            return task.task_id, answer.model_dump_json().encode()
        task = parse_design_task(body)
        x = await asyncio.to_thread(baseline_densities, task, self.design_iterations)
        return task.task_id, json.dumps({"densities": x.tolist()}).encode()

    async def _handle(self, request: Request) -> Response:
        miner = self._by_port[request.scope["server"][1]]
        body = await request.body()
        try:
            caller = http_auth.verify(dict(request.headers), body, method="POST", path=request.url.path,
                                      self_hotkey_ss58=miner.hotkey, nonce_store=self._nonces)
        except http_auth.AuthError as exc:
            miner.rejected += 1
            return Response(str(exc), status_code=401)
        miner.seen.append(caller.hotkey_ss58)
        path = request.url.path
        if miner.behaviour == "garbage":
            return Response(b'{"operations": [oops', media_type="application/json")
        if miner.behaviour == "copy":
            task_id = json.loads(body)["task_id"]
            await asyncio.wait_for(self._event(task_id).wait(), timeout=30)
            await asyncio.sleep(0.05)
            return Response(self._answers[task_id], media_type="application/json")
        if miner.behaviour == "slow":
            await asyncio.sleep(self.slow_s)
        task_id, answer = await self._solve(path, body)
        if miner.behaviour == "good":
            self._answers[task_id] = answer
            self._event(task_id).set()
        if miner.behaviour == "infeasible":
            data = json.loads(answer)
            if "operations" in data:
                for op in data["operations"]:
                    op["start"] = 0  # everything at once: precedence and machine overlaps break
            else:
                data["densities"] = [[1.0] * len(row) for row in data["densities"]]  # volume far over volfrac
            answer = json.dumps(data).encode()
        return Response(answer, media_type="application/json")

    def start(self) -> MinerFarm:
        for miner in self.miners:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            miner.port = sock.getsockname()[1]
            self._by_port[miner.port] = miner
            self._sockets.append(sock)
        config = uvicorn.Config(self.app, log_level="warning", timeout_graceful_shutdown=1, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": self._sockets}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stand-in miners did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> MinerFarm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def neuron(uid: int, hotkey: str, axon: str | None, *, permit: bool = False, stake: float = 0.0,
           last_update: int = 0, commitment: str | None = None) -> SubnetNeuron:
    return SubnetNeuron(uid=uid, hotkey=hotkey, coldkey=hotkey, stake=stake, validator_permit=permit, active=True,
                        axon=axon, last_update=last_update, block_at_registration=0, commitment=commitment)


class FakeChain:
    """An in-test `SubnetChain` (a mock: the real local stand-in is written concurrently and used end to end).

    Each `metagraph` call advances the block by `blocks_per_round`; `fail_next` makes the next calls raise
    `SubnetConnectionError`; `set_weights` calls are recorded as (block, uids, weights), and the chain refuses
    one inside the rate limit as a real subtensor would.
    """

    def __init__(self, hotkey: str, neurons: list[SubnetNeuron], *, netuid: int = 7, tempo: int = 10,
                 rate_limit: int = 8, blocks_per_round: int = 5) -> None:
        self._hotkey = hotkey
        self.neurons = neurons
        self.netuid = netuid
        self.tempo = tempo
        self.rate_limit = rate_limit
        self.blocks_per_round = blocks_per_round
        self.current = 0
        self.fail_next = 0
        self.weights: list[tuple[int, list[int], list[float]]] = []
        self.closed = False

    @property
    def hotkey(self) -> str:
        return self._hotkey

    def _maybe_fail(self) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise SubnetConnectionError("subnet chain at ws://127.0.0.1:9944 is unreachable (test)")

    async def block(self) -> int:
        self._maybe_fail()
        return self.current

    async def metagraph(self, netuid: int) -> SubnetMetagraph:
        self._maybe_fail()
        assert netuid == self.netuid
        self.current += self.blocks_per_round
        return SubnetMetagraph(netuid=netuid, block=self.current, tempo=self.tempo, neurons=tuple(self.neurons),
                               weights_rate_limit=self.rate_limit)

    async def serve(self, netuid: int, ip: str, port: int) -> None:
        raise NotImplementedError

    async def set_weights(self, netuid: int, uids: Sequence[int], weights: Sequence[float]) -> None:
        self._maybe_fail()
        me = next(n for n in self.neurons if n.hotkey == self._hotkey)
        if self.weights and self.current - self.weights[-1][0] < self.rate_limit:
            raise SubnetConnectionError("SettingWeightsTooFast (test chain)")
        self.weights.append((self.current, list(uids), list(weights)))
        self.neurons[me.uid] = replace(me, last_update=self.current)

    async def commit(self, netuid: int, data: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        self.closed = True
