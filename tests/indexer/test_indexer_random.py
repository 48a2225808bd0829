"""A seeded random sequence of transactions (posts into recycled slots, claims, hand-backs, taken orders…), mines,
reorgs, rollbacks and snapshot reverts: after every step the index equals a fresh index from genesis, and the
contracts' views agree with it."""
from __future__ import annotations

from pathlib import Path

from fabrica.indexer.sync import Indexer, IndexerConfig
from indexer_testkit import ChainDriver, chain_problems, diff, oracle_snapshot, snapshot

STEPS = 30


def test_random_sequence_matches_oracle(db_url: str, chain: ChainDriver, tmp_path: Path) -> None:
    rng = chain.rng
    cfg = IndexerConfig(confirmations=2, max_reorg_depth=8, initial_range=3)
    log: list[str] = []
    with Indexer(db_url, chain.rpc_url, chain.deployment, cfg) as ix:
        for step in range(STEPS):
            kind = rng.choice(["tx", "tx", "mine", "reorg", "reorg", "rollback", "revert"])
            if kind == "tx":
                log.append(chain.random_action())
            elif kind == "mine":
                n = rng.randint(1, 3)
                chain.mine(n)
                log.append(f"mine {n}")
            elif kind == "reorg":
                depth, n = rng.randint(1, 5), rng.randint(0, 2)
                chain.reorg(depth, replacements=n)
                log.append(f"reorg {depth} +{n}")
            elif kind == "rollback":
                depth = rng.randint(1, 3)
                chain.rollback(depth)
                log.append(f"rollback {depth}")
            else:
                snap = chain.rpc("evm_snapshot", [])
                chain.random_action()
                ix.sync()
                assert chain.rpc("evm_revert", [snap]) is True
                log.append("snapshot/revert " + chain.random_action())
            head = chain.head
            ix.sync()
            problems = diff(snapshot(ix.engine), oracle_snapshot(chain.rpc_url, chain.deployment, tmp_path, head))
            problems += chain_problems(ix, chain)
            assert not problems, f"after step {step} ({log}):\n" + "\n".join(problems[:20])
        assert ix.metrics.reorgs >= 3, log  # the sequence exercised forks, not only growth
        tx = [entry for entry in log if " " not in entry]
        assert {"reuse", "take", "hand_back"} & set(tx), log  # and the v2 paths, not only deposits
        ix.engine.dispose()
