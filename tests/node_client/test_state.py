"""The node's SQLite state: phases, idempotent transitions, print logs and telemetry, surviving a reopen."""
from __future__ import annotations

import pytest

from fabrica.node_client.state import NodeState, StateError


def test_phases_are_idempotent_and_survive_reopen(tmp_path) -> None:
    db = tmp_path / "state.sqlite"
    s = NodeState(db)
    s.record_claim(7, 1, "mk4", claim_tx="0xabc", spec_cid="Qm")
    assert s.record_claim(7, 2, "other").machine == "mk4"  # a second record changes nothing
    assert s.advance(7, "fetched") is True
    assert s.advance(7, "fetched") is False  # already there
    s.advance(7, "sliced")
    s.advance(7, "printing", attempts=1)
    s.close()

    s = NodeState(db)  # "restart"
    job = s.job(7)
    assert (job.phase, job.attempts, job.claim_tx, job.node_id) == ("printing", 1, "0xabc", 1)
    assert [j.job_id for j in s.jobs(active=True)] == [7]
    s.advance(7, "sliced", note="retry")  # a failed attempt goes back to sliced
    s.advance(7, "printing", attempts=2)
    s.advance(7, "printed")
    s.advance(7, "delivered", proof_cid="bafy", deliver_tx="0xdef")
    assert s.job(7).terminal and s.jobs(active=True) == []
    assert [h[1] for h in s.history(7)] == ["claimed", "fetched", "sliced", "printing", "sliced", "printing",
                                            "printed", "delivered"]


def test_illegal_transitions_are_refused(tmp_path) -> None:
    s = NodeState(tmp_path / "s.sqlite")
    with pytest.raises(StateError, match="never claimed"):
        s.advance(1, "fetched")
    s.record_claim(1, 1, "m")
    s.advance(1, "sliced")
    with pytest.raises(StateError, match="is sliced; it cannot move to fetched"):
        s.advance(1, "fetched")
    with pytest.raises(StateError, match="unknown phase"):
        s.advance(1, "baked")
    s.advance(1, "abandoned", error="nozzle clogged")
    with pytest.raises(StateError, match="abandoned; it cannot move to delivered"):
        s.advance(1, "delivered")
    assert s.job(1).error == "nozzle clogged"
    s.record_claim(2, 1, "m")
    s.advance(2, "fetched")
    s.advance(2, "handed_back", error="does not unseal")  # given back on chain: finished here, like abandoned
    assert s.job(2).terminal and [j.job_id for j in s.jobs(active=True)] == []
    for phase in ("sliced", "abandoned"):
        with pytest.raises(StateError, match=f"handed_back; it cannot move to {phase}"):
            s.advance(2, phase)


def test_print_logs_and_telemetry(tmp_path) -> None:
    s = NodeState(tmp_path / "s.sqlite")
    s.record_claim(3, 1, "m")
    log = s.start_print(3, 1, "m")
    assert s.start_print(3, 1, "m") == log
    s.add_telemetry(log, 10, 100, {"T0": [200.0, 215.0]}, "printing")
    s.add_telemetry(log, 100, 100, {"T0": [215.0, 215.0]}, "done")
    s.finish_print(log, ok=True, state="done", reason=None, result={"acked": 100})
    s.skip(9, "material ABS not supported")
    s.close()
    s = NodeState(tmp_path / "s.sqlite")
    (entry,) = s.print_logs(3)
    assert entry["ok"] is True and entry["result"] == {"acked": 100}
    assert [t["acked"] for t in entry["telemetry"]] == [10, 100]
    assert entry["telemetry"][0]["temperatures"] == {"T0": [200.0, 215.0]}
    assert s.skipped() == {9: "material ABS not supported"}
