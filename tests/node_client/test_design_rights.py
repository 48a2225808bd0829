"""The node client's last check before printing a registered design: the job pays the design's royalty or used a
fabrication licence the licence contract recorded for it (issue 14). Real jobs on the devnet pass; records that
claim a licence nobody used, or skip a royalty the design asks, are refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fabrica.node_client.jobloop import JobLoop, JobRejected
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.designs import Designs

ZERO = "0x" + "00" * 20


def _post(customer, design_id: int, store) -> int:
    token = customer.deployment.payment_tokens["fUSD"]
    return customer.post_job(token, 25_000_000, str(store.add(b"spec for %d" % design_id)), design_id=design_id,
                             claim_by=customer.now() + 86_400, delivery_window=86_400).value


def test_a_named_design_must_be_paid_by_royalty_or_licence(chain) -> None:
    base, customer, store = chain["base"], chain["customer"], chain["store"]
    designer = base.with_account(dev_account(DEV_ROLES["designer"]))
    design_id = designer.mint_design(str(store.add(b"a registered bracket")), 500).value
    loop = SimpleNamespace(client=base)  # `_check_paid` reads only the chain through the client
    check = lambda rec: JobLoop._check_paid(loop, rec)  # noqa: E731

    royalty_job = base.job(_post(customer, design_id, store))
    assert royalty_job.job.royalty > 0
    check(royalty_job)  # pays the royalty: fine

    Designs(designer).set_licence_terms(design_id, customer.deployment.payment_tokens["fUSD"],
                                        price_per_print=1_000_000)
    Designs(customer).buy_licences(design_id, 1)
    licensed = base.job(_post(customer, design_id, store))
    assert licensed.job.royalty == 0 and licensed.job.royalty_receiver == base.contracts["FabricationLicences"].address
    check(licensed)  # used a licence the licence contract recorded for this job: fine

    # A record claiming a licence for a job that used none (the royalty job's id), or skipping the royalty.
    forged = royalty_job.model_copy(update={"job": royalty_job.job.model_copy(update={
        "royalty": 0, "royalty_receiver": licensed.job.royalty_receiver})})
    with pytest.raises(JobRejected, match="has no record of"):
        check(forged)
    unpaid = royalty_job.model_copy(update={"job": royalty_job.job.model_copy(update={
        "royalty": 0, "royalty_receiver": ZERO})})
    with pytest.raises(JobRejected, match="pays neither its 5 % royalty nor a fabrication licence"):
        check(unpaid)
