"""The miner HTTP server over real HTTP on loopback (uvicorn in a thread or a subprocess, httpx as the client),
every request signed with bittensor's btauth/1 by real sr25519 dev keypairs.

The chain is `FixedChain` below: a minimal in-test implementation of the `SubnetChain` port that returns a fixed
`SubnetMetagraph` and records `serve`/`commit`. It stands in for the local chain stand-in that is written
separately (the subnet integration test uses that one); everything else here is real: FastAPI, uvicorn,
SQLite files, the Redis server on 127.0.0.1:6379, CP-SAT and the SIMP optimiser.
"""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from bittensor import http_auth
from bittensor_core import Keypair

from fabrica.miners.nonces import RedisNonceStore, SqliteNonceStore
from fabrica.miners.server import DispatchStrategy, MinerConfig, create_app
from fabrica.protocol.subnet.api import CAPABILITIES_PATH, DESIGN_PATH, SCHEDULE_PATH, Capabilities
from fabrica.protocol.subnet.port import SubnetMetagraph, SubnetNeuron
from fabrica.protocol.tasks.design import mbb_beam, parse_answer as parse_design_answer
from fabrica.protocol.tasks.schedule import ScheduleAnswer, parse_answer, parse_task
from fabrica.validators.scoring.design import check_design
from fabrica.validators.scoring.schedule import check_schedule

NETUID = 7
MINER = Keypair.create_from_uri("//Bob")
VALIDATOR = Keypair.create_from_uri("//Alice")  # permit, stake 5000
NO_PERMIT = Keypair.create_from_uri("//Dave")  # registered, no validator permit
POOR = Keypair.create_from_uri("//Eve")  # permit, stake 10 (below the miner's minimum of 100)
STRANGER = Keypair.create_from_uri("//Charlie")  # not registered
MIN_STAKE = 100.0

# 4 jobs on 3 machines, flexible, availability windows on machines 0 and 2 (machine 1 always available).
WINDOWS_TASK = {
    "task_id": "windows-small",
    "num_machines": 3,
    "availability": [[[0, 6], [8, 20], [24, 60]], None, [[2, 9], [12, 40]]],
    "jobs": [
        {"operations": [
            {"alternatives": [{"machine": 0, "duration": 3}, {"machine": 1, "duration": 5}]},
            {"alternatives": [{"machine": 2, "duration": 4}]},
            {"alternatives": [{"machine": 1, "duration": 2}, {"machine": 0, "duration": 2}]},
        ]},
        {"operations": [
            {"alternatives": [{"machine": 2, "duration": 5}, {"machine": 1, "duration": 6}]},
            {"alternatives": [{"machine": 0, "duration": 4}]},
        ]},
        {"operations": [
            {"alternatives": [{"machine": 1, "duration": 3}]},
            {"alternatives": [{"machine": 0, "duration": 2}, {"machine": 2, "duration": 3}]},
        ]},
        {"operations": [
            {"alternatives": [{"machine": 0, "duration": 4}, {"machine": 2, "duration": 4}]},
        ]},
    ],
    "deadline_ms": 3000,
}
TASK_BODY = json.dumps(WINDOWS_TASK).encode()


def _neuron(uid: int, kp: Keypair, stake: float, permit: bool) -> SubnetNeuron:
    return SubnetNeuron(uid=uid, hotkey=kp.ss58_address, coldkey=kp.ss58_address, stake=stake,
                        validator_permit=permit, active=True, axon=None, last_update=0, block_at_registration=0)


class FixedChain:
    """In-test `SubnetChain`: a fixed metagraph (stand-in for the local chain, see the module docstring)."""

    def __init__(self, neurons: Sequence[SubnetNeuron] | None = None) -> None:
        self.neurons = tuple(neurons) if neurons is not None else (
            _neuron(0, VALIDATOR, 5000.0, True),
            _neuron(1, MINER, 0.0, False),
            _neuron(2, NO_PERMIT, 5000.0, False),
            _neuron(3, POOR, 10.0, True),
        )
        self.metagraph_calls = 0
        self.served: list[tuple[int, str, int]] = []
        self.commits: list[tuple[int, str]] = []

    @property
    def hotkey(self) -> str:
        return MINER.ss58_address

    async def block(self) -> int:
        return 100

    async def metagraph(self, netuid: int) -> SubnetMetagraph:
        self.metagraph_calls += 1
        return SubnetMetagraph(netuid=netuid, block=100, tempo=360, neurons=self.neurons)

    async def serve(self, netuid: int, ip: str, port: int) -> None:
        self.served.append((netuid, ip, port))

    async def set_weights(self, netuid: int, uids: Sequence[int], weights: Sequence[float]) -> None:
        raise AssertionError("a miner never sets weights")

    async def commit(self, netuid: int, data: str) -> None:
        self.commits.append((netuid, data))

    async def close(self) -> None:
        pass


def make_app(nonce_store=None, chain: FixedChain | None = None, **overrides):
    """The app the tests serve (also imported by the worker subprocesses of the SQLite test)."""
    settings = dict(netuid=NETUID, min_stake=MIN_STAKE, rate_per_s=50.0, rate_burst=50.0, max_body_bytes=64 * 1024,
                    external_ip="127.0.0.1", port=18091, margin_s=0.2, cpsat_workers=1)
    strategy = overrides.pop("strategy_obj", None)
    limiter = overrides.pop("rate_limiter", None)
    settings.update(overrides)
    return create_app(MinerConfig(**settings), chain or FixedChain(), nonce_store=nonce_store, strategy=strategy,
                      rate_limiter=limiter)


@contextmanager
def serving(app) -> Iterator[str]:
    """Run `app` with uvicorn on a free loopback port in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the miner server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def signed(path: str, body: bytes = b"", kp: Keypair = VALIDATOR, method: str = "POST", **kw) -> dict[str, str]:
    receiver = kw.pop("receiver", MINER.ss58_address)
    headers = http_auth.sign(kp, method=method, path=path, body=body, receiver_ss58=receiver, **kw)
    return {**headers, "Content-Type": "application/json"}


def post(url: str, path: str, body: bytes, headers: dict[str, str] | None = None, **kw) -> httpx.Response:
    return httpx.post(url + path, content=body, headers=headers if headers is not None else signed(path, body, **kw),
                      timeout=30)


def assert_error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    data = resp.json()
    assert data["error"] == code, data
    assert data["message"]
    return data


@pytest.fixture(scope="module")
def miner() -> Iterator[tuple[str, FixedChain, object]]:
    chain = FixedChain()
    app = make_app(chain=chain)
    with serving(app) as url:
        yield url, chain, app


# ------------------------------------------------------------------------------------------------ answers


def test_signed_schedule_request_gets_a_feasible_answer(miner) -> None:
    url, _, _ = miner
    resp = post(url, SCHEDULE_PATH, TASK_BODY)
    assert resp.status_code == 200, resp.text
    answer = parse_answer(resp.content)
    check = check_schedule(parse_task(TASK_BODY), answer)
    assert check.feasible, check.violations
    assert check.makespan == answer.makespan
    # time-boxed to 0.9 * 3 s - 0.2 s = 2.5 s of solving (slack for a loaded CI machine)
    assert int(resp.headers["X-Fabrica-Solve-Ms"]) < 3500


def test_signed_design_request_gets_a_feasible_answer(miner) -> None:
    url, _, _ = miner
    task = mbb_beam(nelx=12, nely=4, rmin=1.5, task_id="mbb-small", deadline_ms=4000)
    resp = post(url, DESIGN_PATH, task.model_dump_json().encode())
    assert resp.status_code == 200, resp.text
    check = check_design(task, parse_design_answer(resp.content))
    assert check.feasible, check.violations


def test_capabilities_are_served_and_advertised_at_startup(miner) -> None:
    url, chain, _ = miner
    resp = httpx.get(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH, method="GET"))
    assert resp.status_code == 200, resp.text
    caps = Capabilities.model_validate_json(resp.content)
    assert set(caps.kinds) == {"schedule", "design"} and caps.solver == "cpsat" and caps.max_operations > 0
    assert chain.served == [(NETUID, "127.0.0.1", 18091)]
    assert [Capabilities.model_validate_json(data) for _, data in chain.commits] == [caps]
    # unsigned capabilities requests are refused like any other
    assert_error(httpx.get(url + CAPABILITIES_PATH), 401, "malformed")


def test_dispatch_and_cpsat_miners_both_answer_feasibly_and_cpsat_is_no_worse() -> None:
    task = parse_task(TASK_BODY)
    answers = {}
    for strategy in ("dispatch", "cpsat"):
        with serving(make_app(strategy=strategy)) as url:
            resp = post(url, SCHEDULE_PATH, TASK_BODY)
            assert resp.status_code == 200, resp.text
            answers[strategy] = ScheduleAnswer.model_validate_json(resp.content)
            assert check_schedule(task, answers[strategy]).feasible
            caps = httpx.get(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH, method="GET")).json()
            assert caps["solver"] == strategy
    assert answers["cpsat"].makespan <= answers["dispatch"].makespan


# ------------------------------------------------------------------------------------------------ authentication


def test_replayed_request_is_rejected(miner) -> None:
    url, _, _ = miner
    headers = signed(CAPABILITIES_PATH, method="POST")
    assert httpx.post(url + CAPABILITIES_PATH, headers=headers).status_code == 200
    data = assert_error(httpx.post(url + CAPABILITIES_PATH, headers=headers), 401, "replayed")
    assert "already accepted" in data["message"]


def test_stale_and_future_nonces_are_rejected(miner) -> None:
    url, _, _ = miner
    old = time.time_ns() - 60 * 10**9
    assert_error(post(url, SCHEDULE_PATH, TASK_BODY, nonce_ns=old), 401, "stale")
    future = time.time_ns() + 60 * 10**9
    assert_error(post(url, SCHEDULE_PATH, TASK_BODY, nonce_ns=future), 401, "stale")


def test_wrong_or_missing_receiver_is_rejected(miner) -> None:
    url, _, _ = miner
    resp = post(url, SCHEDULE_PATH, TASK_BODY, receiver=STRANGER.ss58_address)
    assert_error(resp, 401, "wrong_receiver")
    assert resp.headers["WWW-Authenticate"] == "btauth/1"
    assert_error(post(url, SCHEDULE_PATH, TASK_BODY, receiver=None), 401, "wrong_receiver")


def test_tampered_body_path_or_method_is_rejected(miner) -> None:
    url, _, _ = miner
    headers = signed(SCHEDULE_PATH, TASK_BODY)
    tampered = TASK_BODY.replace(b'"duration": 3', b'"duration": 1', 1)
    assert tampered != TASK_BODY
    assert_error(post(url, SCHEDULE_PATH, tampered, headers=headers), 401, "bad_signature")
    # signed for the design endpoint, sent to the schedule endpoint
    assert_error(post(url, SCHEDULE_PATH, TASK_BODY, headers=signed(DESIGN_PATH, TASK_BODY)), 401, "bad_signature")
    # a query string the signature does not cover
    assert_error(httpx.post(url + SCHEDULE_PATH + "?x=1", content=TASK_BODY, headers=signed(SCHEDULE_PATH, TASK_BODY)),
                 401, "bad_signature")
    # the signature of another key claiming the validator's hotkey
    forged = {**signed(SCHEDULE_PATH, TASK_BODY, kp=STRANGER), "X-Bittensor-Hotkey": VALIDATOR.ss58_address}
    assert_error(post(url, SCHEDULE_PATH, TASK_BODY, headers=forged), 401, "bad_signature")


def test_unsigned_and_malformed_headers_are_rejected(miner) -> None:
    url, _, _ = miner
    data = assert_error(post(url, SCHEDULE_PATH, TASK_BODY, headers={}), 401, "malformed")
    assert "X-Bittensor-Version" in data["message"]
    bad_nonce = {**signed(SCHEDULE_PATH, TASK_BODY), "X-Bittensor-Nonce": "soon"}
    assert_error(post(url, SCHEDULE_PATH, TASK_BODY, headers=bad_nonce), 401, "malformed")
    bad_sig = {**signed(SCHEDULE_PATH, TASK_BODY), "X-Bittensor-Signature": "0xzz"}
    assert_error(post(url, SCHEDULE_PATH, TASK_BODY, headers=bad_sig), 401, "malformed")


# ------------------------------------------------------------------------------------------------ authorization


def test_unregistered_hotkey_is_forbidden_without_forcing_chain_reads(miner) -> None:
    url, chain, _ = miner
    before = chain.metagraph_calls
    for _ in range(5):
        data = assert_error(post(url, SCHEDULE_PATH, TASK_BODY, kp=STRANGER), 403, "not_registered")
    assert STRANGER.ss58_address in data["message"]
    # the first unknown hotkey may trigger one refresh; the next ones inside unknown_refresh_s trigger none
    assert chain.metagraph_calls - before <= 1


def test_registered_hotkey_without_validator_permit_is_forbidden(miner) -> None:
    url, _, _ = miner
    assert_error(post(url, SCHEDULE_PATH, TASK_BODY, kp=NO_PERMIT), 403, "no_validator_permit")


def test_stake_below_minimum_is_forbidden(miner) -> None:
    url, _, _ = miner
    data = assert_error(post(url, SCHEDULE_PATH, TASK_BODY, kp=POOR), 403, "stake_below_minimum")
    assert "100" in data["message"]


def test_metagraph_is_read_in_the_background_not_per_request(miner) -> None:
    url, chain, _ = miner
    before = chain.metagraph_calls
    for _ in range(4):
        assert httpx.post(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH)).status_code == 200
    assert chain.metagraph_calls == before


def test_metagraph_refreshes_in_the_background_and_learns_new_validators() -> None:
    chain = FixedChain()
    app = make_app(chain=chain, metagraph_refresh_s=0.2, unknown_refresh_s=60.0)
    with serving(app) as url:
        assert chain.metagraph_calls == 1  # at start-up
        # registered after start-up: the throttled unknown-hotkey refresh happens once, before it registers
        assert_error(post(url, SCHEDULE_PATH, TASK_BODY, kp=STRANGER), 403, "not_registered")
        chain.neurons = (*chain.neurons, _neuron(4, STRANGER, 500.0, True))
        time.sleep(0.6)  # background refreshes pick it up
        assert chain.metagraph_calls >= 3
        assert httpx.post(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH, kp=STRANGER)).status_code == 200


# ------------------------------------------------------------------------------------------------ abuse limits


def test_body_over_the_cap_is_refused_by_content_length(miner) -> None:
    url, _, _ = miner
    big = b" " * (64 * 1024 + 1)
    assert_error(post(url, SCHEDULE_PATH, big), 413, "body_too_large")


def test_lying_content_length_is_refused_before_the_body_arrives(miner) -> None:
    """A declared length over the cap is refused at once, without waiting for (or reading) the body."""
    url, _, _ = miner
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"POST {SCHEDULE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n".encode()
                     + b"{}")
        reply = b""
        while b'"message"' not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413"), reply
    assert '"body_too_large"' in reply


def test_streamed_body_over_the_cap_is_cut_off(miner) -> None:
    url, _, _ = miner
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(200):  # 200 x 4 KiB = 800 KiB, no Content-Length (chunked)
            sent.append(1)
            yield b" " * 4096

    resp = httpx.post(url + SCHEDULE_PATH, content=chunks(), headers=signed(SCHEDULE_PATH, b""), timeout=30)
    assert_error(resp, 413, "body_too_large")


def test_rate_limit_per_hotkey_answers_429_with_retry_after() -> None:
    with serving(make_app(rate_per_s=0.5, rate_burst=2)) as url:
        codes = [httpx.post(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        resp = httpx.post(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH))
        assert_error(resp, 429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1


def test_busy_miner_answers_503_and_recovers() -> None:
    release = threading.Event()

    class SlowStrategy(DispatchStrategy):
        name = "slow"

        def schedule(self, task, time_limit_s):
            release.wait(10)
            return super().schedule(task, time_limit_s)

    with serving(make_app(max_concurrent=1, max_queue=0, strategy_obj=SlowStrategy())) as url:
        with httpx.Client(timeout=30) as client:
            first: list[httpx.Response] = []
            t = threading.Thread(target=lambda: first.append(
                client.post(url + SCHEDULE_PATH, content=TASK_BODY, headers=signed(SCHEDULE_PATH, TASK_BODY))))
            t.start()
            time.sleep(0.5)
            resp = post(url, SCHEDULE_PATH, TASK_BODY)
            assert_error(resp, 503, "busy")
            assert resp.headers["Retry-After"] == "1"
            release.set()
            t.join(10)
        assert first[0].status_code == 200
        assert post(url, SCHEDULE_PATH, TASK_BODY).status_code == 200


# ------------------------------------------------------------------------------------------------ bad tasks, bad answers


def test_malformed_task_is_422_naming_the_field(miner) -> None:
    url, _, _ = miner
    bad = json.loads(TASK_BODY)
    bad["jobs"][1]["operations"][0]["alternatives"][1]["duration"] = 0
    data = assert_error(post(url, SCHEDULE_PATH, json.dumps(bad).encode()), 422, "invalid_task")
    assert "jobs[1].operations[0].alternatives[1].duration" in data["message"]
    unknown = {**json.loads(TASK_BODY), "priority": 1}
    assert "priority" in assert_error(post(url, SCHEDULE_PATH, json.dumps(unknown).encode()), 422, "invalid_task")["message"]
    assert_error(post(url, SCHEDULE_PATH, b"{not json"), 422, "invalid_task")
    assert_error(post(url, SCHEDULE_PATH, b"[]"), 422, "invalid_task")
    design = mbb_beam(nelx=4, nely=2).model_dump_json().encode()
    assert "kind" in assert_error(post(url, SCHEDULE_PATH, design), 422, "wrong_kind")["message"]
    bad_design = json.loads(design)
    bad_design["volfrac"] = 1.5
    assert "volfrac" in assert_error(post(url, DESIGN_PATH, json.dumps(bad_design).encode()), 422, "invalid_task")["message"]


def test_task_above_the_advertised_size_is_refused() -> None:
    with serving(make_app(max_operations=5, strategy="dispatch")) as url:
        data = assert_error(post(url, SCHEDULE_PATH, TASK_BODY), 422, "task_too_large")
        assert "max_operations of 5" in data["message"]


def test_failing_or_wrong_solver_never_takes_the_server_down() -> None:
    class BrokenStrategy:
        name = "broken"

        def schedule(self, task, time_limit_s):
            raise RuntimeError("solver exploded")

        def design(self, task, time_limit_s):
            return {"densities": "not an answer"}

    with serving(make_app(strategy_obj=BrokenStrategy())) as url:
        data = assert_error(post(url, SCHEDULE_PATH, TASK_BODY), 500, "solver_error")
        assert "exploded" not in data["message"]  # internal details stay in the miner's log
        design = mbb_beam(nelx=4, nely=2).model_dump_json().encode()
        assert_error(post(url, DESIGN_PATH, design), 500, "solver_error")
        assert httpx.post(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH)).status_code == 200


# ------------------------------------------------------------------------------------------------ shared nonce stores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WORKER = textwrap.dedent("""
    # A second miner process on the same SQLite nonce store: imports only what the server needs (fast start).
    import asyncio, sys
    import uvicorn
    from bittensor_core import Keypair
    from fabrica.miners.nonces import SqliteNonceStore
    from fabrica.miners.server import MinerConfig, create_app
    from fabrica.protocol.subnet.port import SubnetMetagraph, SubnetNeuron

    class Chain:  # the in-test fixed metagraph, as FixedChain in test_miner_server.py
        hotkey = Keypair.create_from_uri("//Bob").ss58_address
        async def metagraph(self, netuid):
            v = Keypair.create_from_uri("//Alice").ss58_address
            n = SubnetNeuron(uid=0, hotkey=v, coldkey=v, stake=5000.0, validator_permit=True, active=True,
                             axon=None, last_update=0, block_at_registration=0)
            return SubnetMetagraph(netuid=netuid, block=1, tempo=360, neurons=(n,))
        async def close(self):
            pass

    app = create_app(MinerConfig(netuid={netuid}, strategy="dispatch", min_stake=100.0), Chain(),
                     nonce_store=SqliteNonceStore({db!r}))
    uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
""")


def test_replay_rejected_across_two_worker_processes_sharing_sqlite(tmp_path) -> None:
    """Two miner processes (as `--workers 2` runs them: this test process and a subprocess) share one SQLite
    nonce store: a request accepted by one is a replay for the other, in both directions."""
    db = str(tmp_path / "nonces.sqlite")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", WORKER.format(netuid=NETUID, db=db, port=port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with serving(make_app(nonce_store=SqliteNonceStore(db), strategy="dispatch")) as here:
            there = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(there + CAPABILITIES_PATH, timeout=1)
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"worker did not start: {proc.stdout.read().decode()[-2000:]}") from None
                    time.sleep(0.1)
            for first, second in ((here, there), (there, here)):
                headers = signed(SCHEDULE_PATH, TASK_BODY)
                resp = post(first, SCHEDULE_PATH, TASK_BODY, headers=headers)
                assert resp.status_code == 200, resp.text
                assert check_schedule(parse_task(TASK_BODY), parse_answer(resp.content)).feasible
                assert_error(post(second, SCHEDULE_PATH, TASK_BODY, headers=headers), 401, "replayed")
                assert_error(post(first, SCHEDULE_PATH, TASK_BODY, headers=headers), 401, "replayed")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_replay_rejected_across_two_servers_sharing_redis() -> None:
    prefix = f"fabrica-test:{uuid.uuid4().hex}:"
    _require_redis()
    a = make_app(nonce_store=RedisNonceStore("redis://127.0.0.1:6379/0", prefix=prefix), strategy="dispatch")
    b = make_app(nonce_store=RedisNonceStore("redis://127.0.0.1:6379/0", prefix=prefix), strategy="dispatch")
    with serving(a) as url_a, serving(b) as url_b:
        headers = signed(SCHEDULE_PATH, TASK_BODY)
        assert post(url_a, SCHEDULE_PATH, TASK_BODY, headers=headers).status_code == 200
        assert_error(post(url_b, SCHEDULE_PATH, TASK_BODY, headers=headers), 401, "replayed")
        assert_error(post(url_a, SCHEDULE_PATH, TASK_BODY, headers=headers), 401, "replayed")


def test_nonce_store_down_fails_closed() -> None:
    with serving(make_app(nonce_store=RedisNonceStore("redis://127.0.0.1:1/0"), strategy="dispatch")) as url:
        resp = post(url, SCHEDULE_PATH, TASK_BODY)
        assert_error(resp, 503, "nonce_store_unavailable")
        # a bad signature is still a 401: the store is consulted only after the signature verifies
        assert_error(post(url, SCHEDULE_PATH, TASK_BODY, headers={}), 401, "malformed")


def test_create_app_with_a_chain_factory_opens_and_closes_it() -> None:
    closed = []

    class ClosingChain(FixedChain):
        async def close(self) -> None:
            closed.append(True)

    async def factory() -> FixedChain:
        await asyncio.sleep(0)
        return ClosingChain()

    app = create_app(MinerConfig(netuid=NETUID, strategy="dispatch", min_stake=MIN_STAKE), chain_factory=factory)
    with serving(app) as url:
        assert httpx.post(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH)).status_code == 200
    assert closed == [True]


# ------------------------------------------------------------------------------------------------ the serve command


def test_serve_command_refuses_bad_settings_before_starting(tmp_path) -> None:
    from typer.testing import CliRunner

    from fabrica.protocol.cli.main import app

    runner = CliRunner()
    base = ["miner", "serve", "--netuid", "1", "--network", "http://127.0.0.1:9"]
    cases = [
        (["--dev", "bob", "--workers", "2", "--nonce-store", "memory"], "one process only"),
        ([], "needs a hotkey"),
        (["--dev", "bob", "--wallet", "w"], "not both"),
        (["--dev", "bob", "--strategy", "magic"], "strategy"),
        (["--dev", "bob", "--host", "0.0.0.0"], "--external-ip"),
        (["--dev", "bob", "--nonce-store", "postgres://x"], "not one of"),
        (["--dev", "bob", "--workers", "0"], "at least 1"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, base + extra)
        assert result.exit_code == 1, (extra, result.output)
        assert message in result.output, (extra, result.output)


def test_nonce_store_that_forgets_too_soon_is_refused_at_creation(tmp_path) -> None:
    from fabrica.protocol.errors import FabricaValueError

    with pytest.raises(FabricaValueError, match="replays would get through"):
        make_app(nonce_store=SqliteNonceStore(tmp_path / "n.sqlite", retention=5.0))


def _require_redis() -> None:
    try:
        RedisNonceStore("redis://127.0.0.1:6379/0").ping()
    except Exception as exc:
        pytest.fail(f"no Redis server answers on 127.0.0.1:6379 ({exc}); the suite needs it (it runs here and in CI)")


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_rate_limit_is_shared_by_processes_on_the_same_store(backend, tmp_path) -> None:
    """Two miner processes on one shared store give a hotkey one bucket, not one each."""
    from fabrica.miners.ratelimit import RedisRateLimiter, SqliteRateLimiter

    def limiter():
        if backend == "sqlite":
            return SqliteRateLimiter(tmp_path / "store.sqlite", rate=0.5, burst=2)
        return RedisRateLimiter("redis://127.0.0.1:6379/0", rate=0.5, burst=2, prefix=prefix)

    if backend == "redis":
        _require_redis()
    prefix = f"fabrica-test:{uuid.uuid4().hex}:"
    a, b = make_app(rate_limiter=limiter()), make_app(rate_limiter=limiter())
    with serving(a) as url_a, serving(b) as url_b:
        def caps(url: str, kp: Keypair = VALIDATOR) -> httpx.Response:
            return httpx.post(url + CAPABILITIES_PATH, headers=signed(CAPABILITIES_PATH, kp=kp))

        assert [caps(url_a).status_code, caps(url_b).status_code] == [200, 200]
        resp = caps(url_a)
        assert_error(resp, 429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1
        assert_error(caps(url_b), 429, "rate_limited")
        assert caps(url_b, kp=STRANGER).status_code == 403  # buckets are per hotkey (and after authorization)
