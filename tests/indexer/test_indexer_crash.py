"""An indexer process killed (SIGKILL) mid-batch, then restarted: no gap, no duplicate."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from fabrica.indexer.schema import checkpoint
from fabrica.indexer.sync import Indexer, IndexerConfig
from indexer_testkit import ChainDriver, diff, oracle_snapshot, snapshot

# The worker sleeps inside every write transaction (after the rows are written, before the commit), so a
# kill lands mid-batch most of the time.
WORKER = """
import json, sys, time
from fabrica.indexer import derive
from fabrica.indexer.sync import Indexer, IndexerConfig
from fabrica.protocol.deployment import Deployment
flush = derive.Deriver.flush
def slow_flush(self):
    n = flush(self)
    print("in-transaction", flush=True)
    time.sleep(0.03)
    return n
derive.Deriver.flush = slow_flush
args = json.loads(sys.argv[1])
cfg = IndexerConfig(confirmations=2, max_reorg_depth=8, initial_range=1, max_range=2)
Indexer(args["db"], args["rpc"], Deployment.model_validate(args["deployment"]), cfg).sync()
"""


def _checkpoint(url: str) -> int | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(checkpoint.c.block_number)).scalar()
    except sa.exc.OperationalError:
        return None
    except sa.exc.ProgrammingError:
        return None
    finally:
        engine.dispose()


def test_killed_mid_batch_then_restarted(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    for _ in range(12):
        chain.deposit()
        chain.post()
        chain.mine(4)
    head = chain.head
    arg = json.dumps({"db": db_url, "rpc": chain.rpc_url, "deployment": json.loads(chain.deployment.model_dump_json())})
    kills = 0
    for delay in (0.2, 0.2, 0.2):
        proc = subprocess.Popen([sys.executable, "-c", WORKER, arg], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            proc.stdout.readline()  # the worker is inside its first transaction
            time.sleep(delay)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
        finally:
            proc.wait(timeout=30)
            proc.stdout.close()  # type: ignore[union-attr]
        # Whatever survived is exactly a fresh index up to the checkpoint: no partial batch, no gap.
        cp = _checkpoint(db_url)
        assert cp is not None and cp < head
        with Indexer(db_url, chain.rpc_url, chain.deployment, IndexerConfig(confirmations=2)) as probe:
            problems = diff(snapshot(probe.engine), oracle_snapshot(chain.rpc_url, chain.deployment, tmp_path, cp))
            probe.engine.dispose()
        assert not problems, "\n".join(problems[:20])
    assert kills == 3
    with Indexer(db_url, chain.rpc_url, chain.deployment, IndexerConfig(confirmations=2)) as ix:
        ix.sync()
        problems = diff(snapshot(ix.engine), oracle_snapshot(chain.rpc_url, chain.deployment, tmp_path, head))
        assert not problems, "\n".join(problems[:20])
        ix.engine.dispose()
