"""`fabrica validator run` end to end: the embedded local stand-in chain, a stand-in miner on loopback, one round."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fabrica.protocol.cli.main import app

from validator_harness import MinerFarm

NETUID = 1


def test_run_rejects_conflicting_or_missing_keys(tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(app, ["validator", "run", "--network", "local", "--netuid", "1", "--dev", "alice",
                               "--wallet", "w", "--state-dir", str(tmp_path)])
    assert both.exit_code == 1 and "either --dev or --wallet" in both.output
    none = runner.invoke(app, ["validator", "run", "--network", "local", "--netuid", "1", "--state-dir", str(tmp_path)])
    assert none.exit_code == 1 and "--wallet NAME" in none.output
    kinds = runner.invoke(app, ["validator", "run", "--network", "local", "--netuid", "1", "--dev", "alice",
                                "--kinds", "paint", "--state-dir", str(tmp_path)])
    assert kinds.exit_code == 1 and "--kinds" in kinds.output


def test_run_one_round_against_the_local_stand_in(tmp_path: Path) -> None:
    server_mod = pytest.importorskip("fabrica.protocol.subnet.localnet.server")
    state_mod = pytest.importorskip("fabrica.protocol.subnet.localnet.state")
    from fabrica.protocol.subnet.chain import open_chain

    state = state_mod.LocalnetState.open(tmp_path / "localnet.json", netuids=(NETUID,), block_time=0.05,
                                         hyperparams={"tempo": 20, "weights_rate_limit": 5})
    server = server_mod.LocalnetServer(state, port=0).start()
    try:
        with MinerFarm(["good"]) as farm:
            miner = farm.miners[0]

            async def setup() -> None:
                validator = open_chain(server.url, "dev:alice")
                chain = open_chain(server.url, f"dev:{miner.name}")  # the farm's keypair is //Miner0
                try:
                    await validator.register(NETUID)
                    await validator.add_stake(NETUID, 1000.0)
                    await chain.register(NETUID)
                    await chain.serve(NETUID, "127.0.0.1", miner.port)
                    # `validator run` refuses to start without a permit, handed out at the next epoch (1 s here).
                    for _ in range(200):
                        graph = await validator.metagraph(NETUID)
                        if graph.by_hotkey(validator.hotkey).validator_permit:
                            break
                        await asyncio.sleep(0.05)
                finally:
                    await validator.close()
                    await chain.close()

            asyncio.run(setup())
            result = CliRunner().invoke(app, [
                "validator", "run", "--network", server.url, "--netuid", str(NETUID), "--dev", "alice",
                "--state-dir", str(tmp_path / "validator"), "--rounds", "1", "--interval", "0", "--json",
            ])
            assert result.exit_code == 0, result.output
            report = json.loads(result.stdout.strip().splitlines()[-1])
            miner_uid = next(uid for uid, s in report["scores"].items() if s > 0)
            assert [t["miners"][miner_uid]["status"] for t in report["tasks"]] == ["credited", "credited"]
            assert report["weights"]["set"] and report["weights"]["uids"] == 1
            assert miner.seen and miner.rejected == 0
    finally:
        server.stop()
