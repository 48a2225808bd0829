"""Every failure says what went wrong and moves no funds (wallets, market balances, fees, stakes)."""
from __future__ import annotations

from pathlib import Path

import pytest
from fabrica.protocol import chain_errors
from fabrica.protocol.chain_errors import ContractError
from fabrica.protocol.client import Fabrica
from fabrica.protocol.errors import (
    FabricaConnectionError,
    FabricaError,
    FabricaLookupError,
    FabricaValueError,
)
from fabrica.protocol.storage.errors import InvalidCidError
from fabrica.protocol.types import JobStatus
from protocol_testkit import FAB, PARAMS, USD, Chain, DevnetInfo, fails_cleanly, free_port

DEFAULTS = PARAMS
MALFORMED_CID = b"\x12\x20" + b"\xab" * 31  # a CIDv0 one byte short


def raw_post(who: Fabrica, chain: Chain, *, amount: int = 5 * USD, cid: bytes | None = None):
    """JobMarket.post called directly (no SDK validation, no approval)."""
    from fabrica.protocol.client import cid_bytes

    return who._send(who.market, "post", chain.usd, amount, cid if cid is not None else cid_bytes(chain.cid()),
                     0, who.now() + 3600, 3600, 10 * FAB, 0, 0)


# ----------------------------------------------------------------------------------------------- CIDs


@pytest.mark.parametrize("bad", ["not-a-cid", "Qm123", "bafyINVALID", ""])
def test_bad_cid_is_rejected_before_any_transaction(chain: Chain, bad: str) -> None:
    c = chain.customer
    c.approve(chain.usd, c.market.address, 0)  # so a shortfall approval would be the first thing sent
    err = fails_cleanly(chain, InvalidCidError, lambda: c.post_job(
        token=chain.usd, amount=5 * USD, spec_cid=bad, claim_by=c.now() + 3600, delivery_window=3600,
        collateral=10 * FAB), sends_nothing=True, who=c)
    assert isinstance(err, FabricaValueError)
    assert c.job_count() == 0


def test_bad_proof_and_reason_cids(chain: Chain) -> None:
    job_id = chain.claimed()
    fails_cleanly(chain, InvalidCidError, lambda: chain.shop.deliver_job(job_id, "QmNope"),
                  sends_nothing=True, who=chain.shop)
    chain.shop.deliver_job(job_id, chain.cid(b"proof"))
    c = chain.customer
    c.approve(chain.usd, c.market.address, 0)
    fails_cleanly(chain, InvalidCidError, lambda: c.dispute_job(job_id, "zzz"), sends_nothing=True, who=c)
    assert c.job(job_id).status == JobStatus.DELIVERED


def test_malformed_cid_bytes_revert_on_chain(chain: Chain) -> None:
    c = chain.customer
    err = fails_cleanly(chain, chain_errors.JobMarket__InvalidCid, lambda: raw_post(c, chain, cid=MALFORMED_CID))
    assert err.args_by_name == {"cid": MALFORMED_CID}
    assert "JobMarket__InvalidCid" in str(err) and "CIDv0" in str(err)  # names the error and the fix
    with pytest.raises(chain_errors.DesignNFT__InvalidCid):
        c._send(c.contracts["DesignNFT"], "mint", c.address, b"\x01\x55\x12\x20", 100)


# ------------------------------------------------------------------------------------ token transfers


def test_insufficient_allowance(chain: Chain) -> None:
    c = chain.customer
    c.approve(chain.usd, c.market.address, 0)
    err = fails_cleanly(chain, chain_errors.ERC20InsufficientAllowance, lambda: raw_post(c, chain, amount=7 * USD))
    assert err.args_by_name["spender"].lower() == c.market.address.lower()
    assert err.args_by_name["allowance"] == 0 and err.args_by_name["needed"] == 7 * USD
    assert "approve" in str(err)
    # The same for deposits and stakes sent without the SDK's approval step.
    fails_cleanly(chain, chain_errors.ERC20InsufficientAllowance,
                  lambda: c._send(c.market, "deposit", chain.usd, 1 * USD))
    fails_cleanly(chain, chain_errors.ERC20InsufficientAllowance, lambda: c._send(c.registry, "stake", 1 * FAB))


def test_insufficient_balance(chain: Chain) -> None:
    c = chain.customer
    too_much = c.token_balance(chain.usd, c.address) + 1
    err = fails_cleanly(chain, chain_errors.ERC20InsufficientBalance,
                        lambda: chain.post(amount=too_much, collateral=None))
    assert err.args_by_name["needed"] == too_much


def test_token_not_allowed(chain: Chain) -> None:
    c = chain.customer
    err = fails_cleanly(chain, chain_errors.JobMarket__TokenNotAllowed, lambda: c.post_job(
        token=chain.fab_token, amount=FAB, spec_cid=chain.cid(), claim_by=c.now() + 3600,
        delivery_window=3600, collateral=10 * FAB))
    assert err.args_by_name["token"].lower() == chain.fab_token.lower()


# ------------------------------------------------------------------------------------- job lifecycle


def test_wrong_status(chain: Chain) -> None:
    job_id = chain.post()
    err = fails_cleanly(chain, chain_errors.JobMarket__WrongStatus, lambda: chain.customer.accept_job(job_id))
    assert err.args_by_name == {"jobId": job_id, "actual": JobStatus.OPEN, "expected": JobStatus.DELIVERED}
    assert "fabrica job show" in str(err)
    fails_cleanly(chain, chain_errors.JobMarket__WrongStatus, lambda: chain.shop.deliver_job(job_id, chain.cid()))
    chain.customer.cancel_job(job_id)
    fails_cleanly(chain, chain_errors.JobMarket__WrongStatus, lambda: chain.customer.cancel_job(job_id))
    fails_cleanly(chain, chain_errors.JobMarket__WrongStatus, lambda: chain.shop.claim_job(job_id, 1))


def test_not_the_claimer(chain: Chain) -> None:
    job_id = chain.claimed()
    err = fails_cleanly(chain, chain_errors.JobMarket__NotClaimer,
                        lambda: chain.stranger.deliver_job(job_id, chain.cid(b"fake proof")))
    assert err.args_by_name["caller"].lower() == chain.stranger.address.lower()
    assert err.args_by_name["node"].lower() == chain.shop.address.lower()


def test_not_the_customer(chain: Chain) -> None:
    job_id = chain.post()
    err = fails_cleanly(chain, chain_errors.JobMarket__NotCustomer, lambda: chain.stranger.cancel_job(job_id))
    assert err.args_by_name["customer"].lower() == chain.customer.address.lower()
    chain.shop.claim_job(job_id, 1)
    chain.shop.deliver_job(job_id, chain.cid(b"proof"))
    fails_cleanly(chain, chain_errors.JobMarket__NotCustomer, lambda: chain.shop.accept_job(job_id))
    fails_cleanly(chain, chain_errors.JobMarket__NotCustomer, lambda: chain.shop.dispute_job(job_id, chain.cid()))


def test_not_the_judge_and_bad_split(chain: Chain) -> None:
    job_id = chain.delivered()
    chain.customer.dispute_job(job_id, chain.cid(b"reason"))
    err = fails_cleanly(chain, chain_errors.JobMarket__NotJudge, lambda: chain.customer.rule_dispute(job_id, 10_000, 0))
    assert err.args_by_name["judge"] == chain.arbiter.address and "only the dispute's judge" in str(err)
    fails_cleanly(chain, FabricaValueError, lambda: chain.arbiter.rule_dispute(job_id, 10_001, 0),
                  match="refund_bps", sends_nothing=True, who=chain.arbiter)
    fails_cleanly(chain, FabricaValueError, lambda: chain.arbiter.rule_dispute(job_id, 0, -1),
                  match="slash_bps", sends_nothing=True, who=chain.arbiter)


def test_claim_after_claim_deadline(chain: Chain) -> None:
    job_id = chain.post(claim_in=600)
    chain.advance(601)
    err = fails_cleanly(chain, chain_errors.JobMarket__DeadlinePassed,
                        lambda: chain.shop.claim_job(job_id, chain.node_id))
    assert err.args_by_name["deadline"] == chain.customer.job(job_id).job.deadline
    assert err.args_by_name["nowTs"] > err.args_by_name["deadline"]


def test_deliver_after_delivery_deadline(chain: Chain) -> None:
    job_id = chain.claimed(window=DEFAULTS.min_delivery_window)
    chain.advance(DEFAULTS.min_delivery_window + 1)
    fails_cleanly(chain, chain_errors.JobMarket__DeadlinePassed,
                  lambda: chain.shop.deliver_job(job_id, chain.cid(b"late proof")))
    assert chain.base.job(job_id).status == JobStatus.CLAIMED


def test_dispute_after_review_window(chain: Chain) -> None:
    job_id = chain.delivered()
    chain.advance(DEFAULTS.review_window + 1)
    fails_cleanly(chain, chain_errors.JobMarket__DeadlinePassed,
                  lambda: chain.customer.dispute_job(job_id, chain.cid(b"too late")))


def test_deadlines_not_yet_passed(chain: Chain) -> None:
    claimed = chain.claimed()
    fails_cleanly(chain, chain_errors.JobMarket__DeadlineNotPassed, lambda: chain.stranger.expire_job(claimed))
    delivered = chain.delivered()
    err = fails_cleanly(chain, chain_errors.JobMarket__DeadlineNotPassed,
                        lambda: chain.stranger.settle_job(delivered))
    assert "wait" in str(err)


def test_post_parameter_checks(chain: Chain) -> None:
    c = chain.customer
    err = fails_cleanly(chain, chain_errors.JobMarket__CollateralOutOfBounds, lambda: chain.post(collateral=FAB),
                        sends_nothing=True, who=c)
    assert "collateral=1 FAB, min=10 FAB, max=250 FAB" in str(err) and "for 25 fUSD" in str(err)
    fails_cleanly(chain, chain_errors.JobMarket__CollateralOutOfBounds, lambda: chain.post(collateral=251 * FAB),
                  sends_nothing=True, who=c)
    # The market itself refuses what the SDK would not send.
    from fabrica.protocol.client import cid_bytes

    err = fails_cleanly(chain, chain_errors.JobMarket__CollateralOutOfBounds, lambda: c._send(
        c.market, "post", chain.usd, 25 * USD, cid_bytes(chain.cid()), 0, c.now() + 3600, 3600, 251 * FAB, 0, 0))
    assert err.args_by_name == {"collateral": 251 * FAB, "min": 10 * FAB, "max": 250 * FAB}
    fails_cleanly(chain, chain_errors.JobMarket__InvalidDeliveryWindow, lambda: chain.post(window=60))
    fails_cleanly(chain, chain_errors.JobMarket__InvalidClaimDeadline, lambda: chain.post(claim_in=0))
    fails_cleanly(chain, chain_errors.Licences__UnknownDesign, lambda: chain.post(design_id=42))
    fails_cleanly(chain, FabricaValueError, lambda: chain.post(amount=0), match="positive",
                  sends_nothing=True, who=c)


def test_below_minimum_stake(chain: Chain) -> None:
    op = chain.newcomer
    op.stake(999 * FAB)
    node_id = op.register_node(processes=1, materials=1, build_volume_mm=(1, 1, 1), encryption_key=b"\x01" * 32,
                               metadata_cid=chain.cid(b"meta")).value
    job_id = chain.post()
    err = fails_cleanly(chain, chain_errors.JobMarket__NodeInactive, lambda: op.claim_job(job_id, node_id))
    assert err.args_by_name == {"nodeId": node_id}
    assert "999 FAB staked" in str(err) and "at least 1000 FAB" in str(err) and "fabrica node stake" in str(err)
    assert chain.base.job(job_id).status == JobStatus.OPEN


def test_an_inactive_node_cannot_claim(chain: Chain) -> None:
    job_id = chain.post()
    chain.shop.set_node_active(chain.node_id, False)
    err = fails_cleanly(chain, chain_errors.JobMarket__NodeInactive, lambda: chain.shop.claim_job(job_id, 1))
    assert "out of service" in str(err)


def test_insufficient_free_stake_for_collateral(chain: Chain) -> None:
    job_id = chain.post(amount=1_000 * USD, collateral=5_000 * FAB)  # the shop staked 2000
    err = fails_cleanly(chain, chain_errors.JobMarket__InsufficientFreeStake,
                        lambda: chain.shop.claim_job(job_id, chain.node_id))
    assert "free=2000 FAB, needed=5000 FAB" in str(err)


def test_tampered_job_data(chain: Chain) -> None:
    c = chain.customer
    job_id = chain.delivered(amount=10 * USD)
    job = c.job(job_id).job
    for field in ("amount", "royalty_receiver", "fee_bps"):
        value = {"amount": 1_000 * USD, "royalty_receiver": c.address, "fee_bps": 0}[field]
        forged = job.model_copy(update={field: value}).to_abi()
        err = fails_cleanly(chain, chain_errors.JobMarket__JobDataMismatch,
                            lambda forged=forged: c._send(c.market, "accept", job_id, forged))
        assert err.args_by_name == {"jobId": job_id}
        assert "refresh it from events" in str(err)
    # The untouched struct still works.
    c._send(c.market, "accept", job_id, job.to_abi())
    assert c.job(job_id).status == JobStatus.SETTLED


def test_unknown_job(chain: Chain) -> None:
    c = chain.customer
    chain.post()
    err = fails_cleanly(chain, FabricaLookupError, lambda: c.job(999), match="no job 999")
    assert "1..1" in str(err)
    fails_cleanly(chain, FabricaLookupError, lambda: chain.shop.claim_job(999, 1), sends_nothing=True, who=chain.shop)
    fails_cleanly(chain, FabricaValueError, lambda: c.job(0), match="positive")
    job = c.job(1).job
    fails_cleanly(chain, chain_errors.JobMarket__UnknownJob, lambda: c._send(c.market, "cancel", 999, job.to_abi()))


def test_nothing_to_withdraw(chain: Chain) -> None:
    fails_cleanly(chain, chain_errors.JobMarket__NothingToWithdraw, lambda: chain.stranger.withdraw(chain.usd))
    fails_cleanly(chain, chain_errors.JobMarket__NothingToWithdraw, lambda: chain.stranger.withdraw_fees(chain.usd))
    fails_cleanly(chain, chain_errors.NodeRegistry__NothingUnbonding, lambda: chain.stranger.withdraw_stake())


def test_action_without_account(chain: Chain) -> None:
    with pytest.raises(FabricaValueError, match="needs an account"):
        chain.base.withdraw(chain.usd)


def test_contract_errors_are_fabrica_errors() -> None:
    assert issubclass(chain_errors.JobMarket__WrongStatus, ContractError)
    assert issubclass(ContractError, FabricaError)
    err = chain_errors.decode_revert(b"")
    assert "without" in str(err)


# -------------------------------------------------------------------------------------- connections


def test_no_deployment_manifest(devnet: DevnetInfo, tmp_path: Path) -> None:
    with pytest.raises(FabricaLookupError, match="fabrica devnet up") as exc:
        Fabrica.connect(devnet.rpc_url, deployments_dir=tmp_path / "nothing-here")
    assert "31337" in str(exc.value)


def test_deployment_for_another_chain(devnet: DevnetInfo) -> None:
    other = devnet.deployment.model_copy(update={"chain_id": 1})
    with pytest.raises(FabricaValueError, match="chain 1"):
        Fabrica.connect(devnet.rpc_url, deployment=other)


def test_unreachable_rpc() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(FabricaConnectionError, match="devnet up") as exc:
        Fabrica.connect(url, timeout=2)
    assert url in str(exc.value)
