"""The customer's check of a proof of fabrication (`fabrica.protocol.proof`), on the session's anvil devnet.

Print logs here are made the way the node client makes them (same schema, signed with `sign_log` by the shop's
key) and delivered through the SDK, so every failure below is the one thing each test breaks: junk bytes as the
proof, a log signed by another key, telemetry that stops halfway, a G-code file that is not the one printed.
tests/node_client/test_refusals.py verifies a log the real job loop delivered after a real print.
"""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from fabrica.protocol.proof import (
    DELIVERED_IN_TIME,
    DESIGN_FILE,
    GCODE,
    LOG_SCHEMA,
    LOG_SCHEMA_CHECK,
    PROOF_RESOLVES,
    SIGNATURE,
    TELEMETRY,
    canonical_log_bytes,
    dispute_if_failed,
    log_signer,
    sign_log,
    verify_proof,
)
from fabrica.protocol.types import JobSpec, JobStatus, Material, ProcessKind, SpecFile

ALL_CHECKS = [PROOF_RESOLVES, LOG_SCHEMA_CHECK, SIGNATURE, DESIGN_FILE, GCODE, TELEMETRY, DELIVERED_IN_TIME]
GCODE_FILE = ("; a hand-made part\nG21\nG90\nG28\n" + "".join(f"G1 X{i % 40} Y{i % 30} F1200\n" for i in range(200))
              + "M84\n").encode()
GCODE_LINES = 204  # commands: G21, G90, G28, 200 moves, M84 (the comment is not sent)


def claimed_job(chain, design: bytes = GCODE_FILE, name: str = "part.gcode", role: str = "gcode") -> int:
    """A job for `design` posted by the customer and claimed by the shop's node."""
    design_cid = str(chain.store.add(design))
    spec = JobSpec(title="proof test", process=ProcessKind.FDM, material=Material.PLA,
                   files=[SpecFile(cid=design_cid, name=name, role=role, size=len(design))])
    spec_cid = str(chain.store.add(spec.to_json_bytes()))
    customer = chain.customer
    job_id = customer.post_job(chain.usd, 25_000_000, spec_cid, claim_by=customer.now() + 86_400,
                               delivery_window=3 * 86_400).value
    chain.shop.claim_job(job_id, chain.node_id)
    return job_id


def print_log(chain, job_id: int, *, design: bytes = GCODE_FILE, name: str = "part.gcode", role: str = "gcode",
              printed: bytes | None = None, duration: float = 600.0, stop_at: float = 1.0) -> dict:
    """The log a node writes for one successful attempt, samples every 5 s; `stop_at` < 1 cuts the telemetry."""
    rec = chain.customer.job(job_id)
    printed = design if printed is None else printed
    lines = sum(1 for ln in printed.decode().splitlines() if ln.split(";", 1)[0].strip())
    start = 1_700_000_000.0
    samples = [{"t": start + t, "acked": round(lines * t / duration), "total": lines,
                "temperatures": {"T": [215.0, 215.0]}, "state": "printing"}
               for t in range(0, int(duration * stop_at) + 1, 5)]
    source = hashlib.sha256(design).hexdigest()
    slicing = {"source_name": name, "source_sha256": source, "gcode_sha256": hashlib.sha256(printed).hexdigest(),
               "sliced": printed != design, "profile": "generic-fdm-250", "slicer": None,
               "gcode_cid": str(chain.store.add(printed))}
    return {
        "schema": LOG_SCHEMA, "job_id": job_id, "node_id": rec.node_id, "operator": chain.shop.address,
        "chain_id": chain.deployment.chain_id, "spec_cid": rec.spec_cid, "title": "proof test", "quantity": 1,
        "design": {"cid": JobSpec.from_json_bytes(chain.store.get(rec.spec_cid)).files[0].cid, "name": name,
                   "sealed": False, "role": role},
        "slicing": slicing, "gcode_lines": lines, "result": "printed",
        "attempts": [{"attempt": 1, "machine": "vp-1", "started_at": start, "finished_at": start + duration,
                      "ok": True, "state": "done", "reason": None, "result": {"acked": lines, "total": lines},
                      "telemetry": samples}],
    }


def deliver(chain, job_id: int, proof: bytes) -> str:
    cid = str(chain.store.add(proof))
    chain.shop.deliver_job(job_id, cid)
    return cid


def signed(log: dict, account) -> bytes:
    return json.dumps(sign_log(log, account), sort_keys=True, separators=(",", ":")).encode()


def failed(report) -> list[str]:
    return [c.name for c in report.failed()]


def test_a_proper_log_passes_every_check(chain) -> None:
    job_id = claimed_job(chain)
    log = print_log(chain, job_id)
    assert log["gcode_lines"] == GCODE_LINES
    proof = deliver(chain, job_id, signed(log, chain.shop.account))
    report = verify_proof(chain.customer, chain.store, job_id)
    assert report.ok, report.to_json()
    assert [c.name for c in report.checks] == ALL_CHECKS and report.proof_cid == proof
    details = {c.name: c.detail for c in report.checks}
    assert chain.shop.address in details[SIGNATURE] and f"{GCODE_LINES} command lines" in details[GCODE]
    body = json.loads(report.to_json())
    assert body["ok"] is True and body["job_id"] == job_id and len(body["checks"]) == len(ALL_CHECKS)
    # A passing report is nothing to dispute.
    assert dispute_if_failed(chain.customer, chain.store, report) is None
    assert chain.customer.job(job_id).status == JobStatus.DELIVERED


def test_the_signature_covers_every_field_but_itself(chain) -> None:
    job_id = claimed_job(chain)
    log = sign_log(print_log(chain, job_id), chain.shop.account)
    assert log_signer(log) == chain.shop.address
    assert log["signature"]["sha256"] == hashlib.sha256(canonical_log_bytes(log)).hexdigest()
    tampered = {**log, "gcode_lines": log["gcode_lines"] + 1}
    assert log_signer(tampered) != chain.shop.address  # any change recovers some other address


def test_junk_proof_fails_the_schema_check_and_is_disputed_with_the_report(chain) -> None:
    job_id = claimed_job(chain)
    deliver(chain, job_id, os.urandom(512))  # a valid CID of random bytes, delivered directly via the SDK
    report = verify_proof(chain.customer, chain.store, job_id)
    assert not report.ok and failed(report) == [LOG_SCHEMA_CHECK]
    assert [c.name for c in report.checks] == [PROOF_RESOLVES, LOG_SCHEMA_CHECK]  # nothing to check beyond
    assert "not JSON" in report.failed()[0].detail

    tx = dispute_if_failed(chain.customer, chain.store, report)
    assert tx is not None
    rec = chain.customer.job(job_id)
    assert rec.status == JobStatus.DISPUTED
    reason = json.loads(chain.store.get(rec.reason_cid))  # the dispute's reason is the report itself
    assert reason == json.loads(report.to_json()) and reason["ok"] is False
    assert dispute_if_failed(chain.customer, chain.store, report) is None  # no longer Delivered: nothing to do


def test_a_log_signed_by_another_key_fails_the_signature_check(chain) -> None:
    job_id = claimed_job(chain)
    deliver(chain, job_id, signed(print_log(chain, job_id), chain.stranger.account))
    report = verify_proof(chain.customer, chain.store, job_id)
    assert failed(report) == [SIGNATURE]
    assert chain.stranger.address in report.failed()[0].detail and chain.shop.address in report.failed()[0].detail


def test_an_unsigned_log_fails_the_signature_check(chain) -> None:
    job_id = claimed_job(chain)
    log = print_log(chain, job_id)
    deliver(chain, job_id, json.dumps(log, sort_keys=True, separators=(",", ":")).encode())
    assert failed(verify_proof(chain.customer, chain.store, job_id)) == [SIGNATURE]


def test_telemetry_that_stops_halfway_fails_the_telemetry_check(chain) -> None:
    job_id = claimed_job(chain)
    deliver(chain, job_id, signed(print_log(chain, job_id, stop_at=0.5), chain.shop.account))
    report = verify_proof(chain.customer, chain.store, job_id)
    assert failed(report) == [TELEMETRY]
    detail = report.failed()[0].detail
    assert f"acknowledged lines reach 102 of the G-code's {GCODE_LINES}" in detail
    assert "no sample for 300.0 s" in detail


def test_a_log_for_another_design_fails_the_design_check(chain) -> None:
    job_id = claimed_job(chain)
    log = print_log(chain, job_id)
    log["design"]["cid"] = str(chain.store.add(b"G28\nG1 X1\n"))
    deliver(chain, job_id, signed(log, chain.shop.account))
    assert failed(verify_proof(chain.customer, chain.store, job_id)) == [DESIGN_FILE]


def test_gcode_design_printed_with_other_lines_fails_the_gcode_check(chain) -> None:
    """A G-code design is printed as is: a log whose line count is not the file's fails (signature still valid)."""
    job_id = claimed_job(chain)
    log = print_log(chain, job_id)
    log["gcode_lines"] = GCODE_LINES - 10
    for sample in log["attempts"][0]["telemetry"]:
        sample["acked"] = min(sample["acked"], GCODE_LINES - 10)
    deliver(chain, job_id, signed(log, chain.shop.account))
    report = verify_proof(chain.customer, chain.store, job_id)
    assert failed(report) == [GCODE]
    assert f"it has {GCODE_LINES} command lines, the log says {GCODE_LINES - 10}" in report.failed()[0].detail


@pytest.mark.parametrize("honest", [True, False])
def test_a_sliced_model_is_checked_through_the_published_gcode(chain, honest: bool) -> None:
    """For an STL the G-code is the node's own slice: its hash must match the G-code it published by CID."""
    model = b"solid part\nendsolid part\n"
    job_id = claimed_job(chain, design=model, name="part.stl", role="model")
    log = print_log(chain, job_id, design=model, name="part.stl", role="model", printed=GCODE_FILE)
    if not honest:
        log["slicing"]["gcode_cid"] = str(chain.store.add(GCODE_FILE + b"G1 X0 Y0\n"))
    deliver(chain, job_id, signed(log, chain.shop.account))
    report = verify_proof(chain.customer, chain.store, job_id)
    if honest:
        assert report.ok, report.to_json()
        assert "re-slicing is not checked here" in {c.name: c.detail for c in report.checks}[GCODE]
    else:
        assert failed(report) == [GCODE]


def test_no_dispute_once_the_review_window_closed(chain) -> None:
    job_id = claimed_job(chain)
    deliver(chain, job_id, os.urandom(64))
    report = verify_proof(chain.customer, chain.store, job_id)
    assert not report.ok
    chain.advance(chain.customer.job(job_id).job.review_window + 60)
    assert dispute_if_failed(chain.customer, chain.store, report) is None
    assert chain.customer.job(job_id).status == JobStatus.DELIVERED


def test_a_job_without_proof_fails_the_first_check(chain) -> None:
    job_id = claimed_job(chain)
    report = verify_proof(chain.customer, chain.store, job_id)
    assert failed(report) == [PROOF_RESOLVES] and "CLAIMED" in report.checks[0].detail
