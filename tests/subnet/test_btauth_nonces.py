"""btauth/1 replay stores: SQLite (several processes on one host) and Redis (several stores/hosts) reject a
(hotkey, nonce) pair seen before exactly once, atomically, and plug into `bittensor.http_auth.verify`.

Real parts only: a SQLite file in tmp_path shared by forked processes, and the Redis server on 127.0.0.1:6379
(the tests that need it are skipped, saying so, when it does not answer).
"""
from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest
from bittensor import http_auth
from bittensor_core import Keypair

from fabrica.miners.nonces import (
    NonceStoreError,
    RedisNonceStore,
    SqliteNonceStore,
    is_shared,
    open_nonce_store,
)
from fabrica.protocol.errors import FabricaValueError

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        RedisNonceStore(REDIS_URL).ping()
        return True
    except NonceStoreError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="no Redis server answers on 127.0.0.1:6379")


def _prefix() -> str:
    return f"fabrica-test:{uuid.uuid4().hex}:"


def _check_semantics(store) -> None:
    assert store.check_and_store("5Hot", 1) is True
    assert store.check_and_store("5Hot", 1) is False
    assert store.check_and_store("5Hot", 2) is True
    assert store.check_and_store("5Other", 1) is True
    assert store.check_and_store("5Other", 1) is False


def test_sqlite_store_remembers_each_pair_once(tmp_path) -> None:
    _check_semantics(SqliteNonceStore(tmp_path / "n.sqlite"))


def test_sqlite_store_shared_by_two_connections_and_expires(tmp_path) -> None:
    a = SqliteNonceStore(tmp_path / "n.sqlite", retention=0.3)
    b = SqliteNonceStore(tmp_path / "n.sqlite", retention=0.3)
    assert a.check_and_store("5Hot", 7) is True
    assert b.check_and_store("5Hot", 7) is False  # the other connection sees it
    time.sleep(0.4)
    assert b.check_and_store("5Hot", 7) is True  # expired: taken over although not purged yet
    assert a.check_and_store("5Hot", 7) is False
    a.PURGE_EVERY_S = 0.0
    time.sleep(0.4)
    assert a.check_and_store("5Hot", 8) is True  # purges the expired row
    assert a._db.execute("SELECT COUNT(*) FROM btauth_nonces").fetchone()[0] == 1


def _race(path: str, nonces: int, start, out) -> None:
    store = SqliteNonceStore(path)
    start.wait()
    out.put([n for n in range(nonces) if store.check_and_store("5Race", n)])


def test_sqlite_store_race_between_processes_accepts_each_nonce_once(tmp_path) -> None:
    """Six processes offer the same 60 nonces at the same moment: every nonce is accepted exactly once overall."""
    path = str(tmp_path / "race.sqlite")
    SqliteNonceStore(path)  # create the schema first
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(path, 60, start, out)) for _ in range(6)]
    for p in procs:
        p.start()
    start.set()
    accepted = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=10)
        assert p.exitcode == 0
    flat = sorted(n for got in accepted for n in got)
    assert flat == list(range(60))


def test_sqlite_store_unwritable_path_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NonceStoreError, match="cannot open the nonce store"):
        SqliteNonceStore(tmp_path / "file" / "n.sqlite")


@needs_redis
def test_redis_store_semantics_and_two_stores_share_state() -> None:
    prefix = _prefix()
    a = RedisNonceStore(REDIS_URL, prefix=prefix)
    b = RedisNonceStore(REDIS_URL, prefix=prefix)
    _check_semantics(a)
    assert b.check_and_store("5Hot", 1) is False
    assert b.check_and_store("5Hot", 3) is True
    assert a.check_and_store("5Hot", 3) is False


@needs_redis
def test_redis_store_entries_expire() -> None:
    store = RedisNonceStore(REDIS_URL, retention=0.2, prefix=_prefix())
    assert store.check_and_store("5Hot", 1) is True
    assert store.check_and_store("5Hot", 1) is False
    time.sleep(0.35)
    assert store.check_and_store("5Hot", 1) is True


def test_redis_store_down_fails_closed() -> None:
    store = RedisNonceStore("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with pytest.raises(NonceStoreError, match="127.0.0.1:1"):
        store.check_and_store("5Hot", 1)
    with pytest.raises(NonceStoreError):
        open_nonce_store("redis://127.0.0.1:1/0")


def test_redis_error_messages_hide_the_password() -> None:
    store = RedisNonceStore("redis://user:s3cret@127.0.0.1:1/0")
    with pytest.raises(NonceStoreError) as err:
        store.check_and_store("5Hot", 1)
    assert "s3cret" not in str(err.value)


def test_open_nonce_store_specs(tmp_path) -> None:
    assert isinstance(open_nonce_store("memory"), http_auth.InMemoryNonceStore)
    assert isinstance(open_nonce_store(f"sqlite:{tmp_path}/a.sqlite"), SqliteNonceStore)
    assert isinstance(open_nonce_store(f"sqlite://{tmp_path}/b.sqlite"), SqliteNonceStore)
    assert (tmp_path / "b.sqlite").exists()
    with pytest.raises(FabricaValueError, match="needs a file path"):
        open_nonce_store("sqlite:")
    with pytest.raises(FabricaValueError, match="not one of"):
        open_nonce_store("postgres://x")
    assert not is_shared("memory") and is_shared("sqlite:x") and is_shared("redis://h")


def test_stores_plug_into_verify_and_reject_replays(tmp_path) -> None:
    sender, receiver = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    headers = http_auth.sign(sender, method="POST", path="/p", body=b"{}", receiver_ss58=receiver.ss58_address)
    one, two = SqliteNonceStore(tmp_path / "v.sqlite"), SqliteNonceStore(tmp_path / "v.sqlite")
    caller = http_auth.verify(headers, b"{}", method="POST", path="/p", self_hotkey_ss58=receiver.ss58_address,
                              nonce_store=one)
    assert caller.hotkey_ss58 == sender.ss58_address
    with pytest.raises(http_auth.ReplayedRequest):
        http_auth.verify(headers, b"{}", method="POST", path="/p", self_hotkey_ss58=receiver.ss58_address,
                         nonce_store=two)
    # a store that forgets sooner than the freshness window would let replays through: verify refuses to use it
    short = SqliteNonceStore(tmp_path / "short.sqlite", retention=5)
    with pytest.raises(ValueError, match="retains entries"):
        http_auth.verify(http_auth.sign(sender, method="POST", path="/p", body=b"", receiver_ss58=receiver.ss58_address),
                         b"", method="POST", path="/p", self_hotkey_ss58=receiver.ss58_address, nonce_store=short)


def _limiters(tmp_path):
    from fabrica.miners.ratelimit import RedisRateLimiter, SqliteRateLimiter

    yield SqliteRateLimiter(tmp_path / "r.sqlite", rate=10.0, burst=2)
    if _redis_up():
        yield RedisRateLimiter(REDIS_URL, rate=10.0, burst=2, prefix=_prefix())


def test_shared_rate_limiters_spend_and_refill(tmp_path) -> None:
    from fabrica.miners.auth import RequestRejected

    for limiter in _limiters(tmp_path):
        limiter.take("5Hot")
        limiter.take("5Hot")
        with pytest.raises(RequestRejected) as err:
            limiter.take("5Hot")
        assert err.value.status == 429 and err.value.headers["Retry-After"] == "1"
        limiter.take("5Other")  # its own bucket
        time.sleep(0.15)  # 10/s refills one token in 0.1 s
        limiter.take("5Hot")
        with pytest.raises(RequestRejected):
            limiter.take("5Hot")
