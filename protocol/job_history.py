"""Jobs rebuilt from JobMarket events: each job's current struct (what the market hashes) and its story."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from .storage.cid import Cid
from .types import DisputeInfo, DisputeStage, Job, JobRecord, JobStatus, Resolution

# Events whose first indexed topic is a job id (the order the market emits them in a job's life).
JOB_EVENTS = (
    "JobPosted", "OrderTaken", "JobClaimed", "JobHandedBack", "JobDelivered", "JobSettled", "JobCancelled",
    "JobExpired", "JobDisputed", "DisputeReassigned", "DisputeRuled", "DisputeAppealed", "JobResolved",
)
# Events that create a job (and carry its whole struct).
CREATING_EVENTS = ("JobPosted", "OrderTaken")


class LogEvent(Protocol):
    """What folding needs of a decoded event (fabrica.protocol.client.Event)."""

    name: str
    args: dict[str, Any]
    block_number: int
    log_index: int


def fold_jobs(events: Iterable[LogEvent]) -> dict[int, JobRecord]:
    """Apply job events in chain order to rebuild each job's struct, status and story."""
    state: dict[int, dict[str, Any]] = {}
    for e in sorted(events, key=lambda e: (e.block_number, e.log_index)):
        if e.name not in JOB_EVENTS:
            continue
        jid = e.args["jobId"]
        if e.name in CREATING_EVENTS:
            state[jid] = _created(e)
            continue
        s = state.get(jid)
        if s is None:
            continue  # history before the manifest's first block; cannot be rebuilt
        s["updated_block"] = e.block_number
        _apply(s, e)
    return {jid: JobRecord(**s) for jid, s in state.items()}


def _created(e: LogEvent) -> dict[str, Any]:
    job = Job.from_event(e.args["job"])
    s: dict[str, Any] = {
        "job_id": e.args["jobId"], "status": JobStatus.OPEN, "job": job,
        "spec_cid": str(Cid.parse(e.args["specCid"])), "design_id": e.args["designId"],
        "posted_block": e.block_number, "updated_block": e.block_number,
    }
    if e.name == "OrderTaken":  # the job starts claimed by the taker, its deadline the delivery deadline
        s.update(status=JobStatus.CLAIMED, node_id=e.args["nodeId"], order_hash=e.args["orderHash"],
                 claimed_at=job.deadline - job.delivery_window)
    return s


def _apply(s: dict[str, Any], e: LogEvent) -> None:
    job: Job = s["job"]
    a = e.args
    if e.name == "JobClaimed":
        # The market stores deliverBy = claim time + delivery window; the claim time follows from it.
        s["job"] = job.model_copy(update={"node": a["node"], "deadline": a["deliverBy"]})
        s.update(status=JobStatus.CLAIMED, node_id=a["nodeId"], claimed_at=a["deliverBy"] - job.delivery_window)
    elif e.name == "JobHandedBack":
        # The job re-opens until claimBy; its `node` keeps naming the operator that handed it back (the market
        # refuses that operator's new claim and everyone's for a cooldown).
        s["job"] = job.model_copy(update={"deadline": a["claimBy"]})
        s.update(status=JobStatus.OPEN, node_id=None, claimed_at=None, hand_backs=s.get("hand_backs", 0) + 1)
    elif e.name == "JobDelivered":
        s["job"] = job.model_copy(update={"deadline": a["reviewUntil"]})
        s.update(status=JobStatus.DELIVERED, proof_cid=str(Cid.parse(a["proofCid"])))
    elif e.name == "JobDisputed":
        s.update(status=JobStatus.DISPUTED, reason_cid=str(Cid.parse(a["reasonCid"])),
                 dispute=DisputeInfo(stage=DisputeStage.AWAITING_ARBITER, judge=a["arbiter"], deadline=a["ruleBy"],
                                     arbiter=a["arbiter"]))
    elif e.name == "DisputeReassigned":
        # The assigned arbiter left the panel: a new one judges, on a fresh deadline.
        s["dispute"] = s["dispute"].model_copy(update={"judge": a["arbiter"], "arbiter": a["arbiter"],
                                                       "deadline": a["ruleBy"]})
        s["reassignments"] = s.get("reassignments", 0) + 1
    elif e.name == "DisputeRuled":
        # A zero `arbiter` is the default ruling (the arbiter stayed silent): the market forgets the silent arbiter
        # (owed no fee) but keeps it as the judge of record until an appeal.
        s["dispute"] = s["dispute"].model_copy(update={
            "stage": DisputeStage.RULED, "refund_bps": a["refundBps"], "slash_bps": a["slashBps"],
            "deadline": a["appealBy"], "arbiter": a["arbiter"]})
    elif e.name == "DisputeAppealed":
        s["dispute"] = s["dispute"].model_copy(update={
            "stage": DisputeStage.APPEALED, "judge": a["court"], "appellant": a["appellant"], "deadline": a["ruleBy"]})
    elif e.name == "JobResolved":
        s["status"] = JobStatus.RESOLVED
        s["resolution"] = Resolution(
            by=a["by"], refund_bps=a["refundBps"], slash_bps=a["slashBps"], customer_refund=a["customerRefund"],
            node_payout=a["nodePayout"], fee=a["fee"], royalty=a["royalty"], slashed=a["slashed"],
            compensation=a["compensation"])
    else:
        s["status"] = {"JobSettled": JobStatus.SETTLED, "JobCancelled": JobStatus.CANCELLED,
                       "JobExpired": JobStatus.EXPIRED}[e.name]
