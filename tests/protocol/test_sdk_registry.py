"""NodeRegistry and DesignNFT through the SDK: staking, unbonding, nodes, designs."""
from __future__ import annotations

import pytest
from fabrica.protocol import chain_errors
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.types import Material, ProcessKind
from fabrica.protocol.types import JobStatus
from protocol_testkit import COLLATERAL, FAB, PARAMS, SHOP_STAKE, USD, Chain

DEFAULTS = PARAMS


def register(chain: Chain, who=None, **overrides) -> int:
    who = who or chain.newcomer
    args = {"processes": ProcessKind.CNC_MILL, "materials": Material.ALUMINIUM_6061 | Material.BRASS,
            "build_volume_mm": (300, 200, 100), "encryption_key": b"\x22" * 32,
            "metadata_cid": chain.cid(b'{"name":"mill"}')}
    args.update(overrides)
    return who.register_node(**args).value


def test_stake_moves_fab_into_registry(chain: Chain) -> None:
    op = chain.newcomer
    wallet = op.token_balance(chain.fab_token, op.address)
    registry = op.token_balance(chain.fab_token, op.registry.address)
    result = op.stake(1_500 * FAB)
    assert result.event("Staked").args == {"operator": op.address, "amount": 1_500 * FAB, "staked": 1_500 * FAB}
    assert op.stake_of(op.address).staked == 1_500 * FAB
    assert op.stake_of(op.address).free == 1_500 * FAB
    assert op.token_balance(chain.fab_token, op.address) == wallet - 1_500 * FAB
    assert op.token_balance(chain.fab_token, op.registry.address) == registry + 1_500 * FAB
    assert op.eligible(op.address) is True and chain.stranger.eligible(chain.stranger.address) is False


def test_staked_fab_votes_once(chain: Chain) -> None:
    """The registry is a votes source for the FAB it holds: an operator delegates to itself on its first stake,
    and each FAB staked (bonded or unbonding) counts once."""
    op = chain.newcomer
    op.stake(1_500 * FAB)
    assert op.votes(op.address) == 1_500 * FAB
    op.stake(500 * FAB)
    assert op.votes(op.address) == 2_000 * FAB

def test_unbond_then_withdraw_after_delay(chain: Chain) -> None:
    op = chain.newcomer
    op.stake(1_000 * FAB)
    wallet = op.token_balance(chain.fab_token, op.address)
    args = op.request_unbond(400 * FAB).event("UnbondRequested").args
    assert args["amount"] == 400 * FAB and args["staked"] == 600 * FAB and args["unbonding"] == 400 * FAB
    assert args["unbondAt"] == op.now() + DEFAULTS.unbond_delay
    s = op.stake_of(op.address)
    assert (s.staked, s.locked, s.unbonding, s.unbond_at) == (600 * FAB, 0, 400 * FAB, args["unbondAt"])
    assert op.unbond_requests(op.address) == [(400 * FAB, args["unbondAt"])]
    # Below the minimum now: its nodes could not claim; unbonding FAB still votes until withdrawn.
    assert op.eligible(op.address) is False

    ledger = chain.ledger()
    with pytest.raises(chain_errors.NodeRegistry__UnbondingNotDue):
        op.withdraw_stake()
    assert chain.ledger() == ledger

    chain.advance(DEFAULTS.unbond_delay)
    result = op.withdraw_stake()
    assert result.event("Withdrawn").args == {"operator": op.address, "amount": 400 * FAB, "unbonding": 0}
    assert op.token_balance(chain.fab_token, op.address) == wallet + 400 * FAB
    s = op.stake_of(op.address)
    assert (s.staked, s.unbonding, s.unbond_at) == (600 * FAB, 0, 0)
    assert op.unbond_requests(op.address) == []


def test_each_unbond_request_is_released_at_its_own_time(chain: Chain) -> None:
    op = chain.newcomer
    op.stake(1_000 * FAB)
    first = op.request_unbond(100 * FAB).event("UnbondRequested").args["unbondAt"]
    chain.advance(DEFAULTS.unbond_delay // 2)
    second = op.request_unbond(200 * FAB).event("UnbondRequested").args["unbondAt"]
    assert second > first
    assert op.unbond_requests(op.address) == [(100 * FAB, first), (200 * FAB, second)]
    assert op.stake_of(op.address).unbond_at == first  # the oldest request's release
    chain.advance(DEFAULTS.unbond_delay // 2 + 1)
    assert op.withdraw_stake().event("Withdrawn").args["amount"] == 100 * FAB  # only the due one
    assert op.unbond_requests(op.address) == [(200 * FAB, second)]
    chain.advance(DEFAULTS.unbond_delay)
    assert op.withdraw_stake().event("Withdrawn").args["amount"] == 200 * FAB


def test_unbonding_may_include_locked_stake_but_its_withdrawal_waits_for_the_job(chain: Chain) -> None:
    shop = chain.shop
    job_id = chain.claimed(amount=100 * USD, collateral=500 * FAB, window=DEFAULTS.unbond_delay * 3)
    ledger = chain.ledger()
    with pytest.raises(chain_errors.NodeRegistry__InsufficientFreeStake) as exc:
        shop.request_unbond(SHOP_STAKE + 1)  # more than the bonded stake
    assert exc.value.args_by_name["free"] == SHOP_STAKE
    assert chain.ledger() == ledger

    shop.request_unbond(1_900 * FAB)  # locked collateral included
    s = shop.stake_of(shop.address)
    assert (s.staked, s.locked, s.unbonding) == (100 * FAB, 500 * FAB, 1_900 * FAB)
    chain.advance(DEFAULTS.unbond_delay + 1)
    # Due, but the market still holds 400 FAB of it as collateral: only the rest is paid.
    assert shop.withdraw_stake().event("Withdrawn").args == {"operator": shop.address, "amount": 1_500 * FAB,
                                                             "unbonding": 400 * FAB}
    ledger = chain.ledger()
    with pytest.raises(chain_errors.NodeRegistry__HeldAsCollateral) as exc:
        shop.withdraw_stake()
    assert exc.value.args_by_name["held"] == 400 * FAB and "held=400 FAB" in str(exc.value)
    assert chain.ledger() == ledger
    shop.deliver_job(job_id, chain.cid(b"proof"))
    chain.customer.accept_job(job_id)
    assert shop.withdraw_stake().event("Withdrawn").args["amount"] == 400 * FAB


def test_unbonding_stake_stays_slashable_newest_request_first(chain: Chain) -> None:
    shop = chain.shop
    job_id = chain.claimed(amount=100 * USD, collateral=500 * FAB, window=DEFAULTS.min_delivery_window)
    shop.request_unbond(1_000 * FAB)
    latest = shop.request_unbond(900 * FAB).event("UnbondRequested").args["unbondAt"]
    chain.advance(DEFAULTS.min_delivery_window + 1)
    result = chain.stranger.expire_job(job_id)
    slashed = 500 * FAB * DEFAULTS.expiry_slash_bps // 10_000  # 250 FAB: 100 bonded, then 150 of the newest request
    assert result.event("Slashed").args == {"operator": shop.address, "amount": slashed, "staked": 0,
                                             "unbonding": 1_900 * FAB - 150 * FAB}
    assert shop.unbond_requests(shop.address)[-1] == (750 * FAB, latest)
    assert chain.base.job(job_id).status == JobStatus.EXPIRED


def test_register_update_and_deactivate_node(chain: Chain) -> None:
    op = chain.newcomer
    op.stake(1_000 * FAB)
    meta = chain.cid(b'{"name":"mill"}')
    result = op.register_node(processes=ProcessKind.CNC_MILL | ProcessKind.LASER_CUT,
                              materials=Material.ALUMINIUM_6061, build_volume_mm=(300, 200, 100),
                              encryption_key=b"\x22" * 32, metadata_cid=meta)
    node_id = result.value
    assert node_id == 2  # the baseline shop registered node 1
    ev = result.event("NodeRegistered").args
    assert ev["operator"] == op.address and (ev["buildX"], ev["buildY"], ev["buildZ"]) == (300, 200, 100)
    assert Cid.parse(ev["metadataCid"]) == Cid.parse(meta)
    node = op.node(node_id)
    assert node.operator == op.address and node.active
    assert node.processes == ProcessKind.CNC_MILL | ProcessKind.LASER_CUT
    assert node.materials == Material.ALUMINIUM_6061
    assert node.build_volume_mm == (300, 200, 100)
    assert node.encryption_key == b"\x22" * 32 and node.metadata_cid == meta

    meta2 = chain.cid(b'{"name":"mill v2"}')
    op.update_node(node_id, processes=ProcessKind.CNC_LATHE, materials=Material.BRASS | Material.COPPER,
                   build_volume_mm=(150, 150, 400), encryption_key=b"\x33" * 32, metadata_cid=meta2)
    node = op.node(node_id)
    assert node.processes == ProcessKind.CNC_LATHE and node.materials == Material.BRASS | Material.COPPER
    assert node.build_volume_mm == (150, 150, 400)
    assert node.encryption_key == b"\x33" * 32 and node.metadata_cid == meta2

    assert op.set_node_active(node_id, False).event("NodeActiveSet").args["active"] is False
    assert op.node(node_id).active is False
    job_id = chain.post()
    ledger = chain.ledger()
    with pytest.raises(chain_errors.JobMarket__NodeInactive):
        op.claim_job(job_id, node_id)
    assert chain.ledger() == ledger
    op.set_node_active(node_id, True)
    op.claim_job(job_id, node_id)
    assert op.stake_of(op.address).locked == COLLATERAL

    assert [n.node_id for n in chain.base.nodes()] == [1, 2]
    assert [n.operator for n in chain.base.nodes()] == [chain.shop.address, op.address]


def test_node_errors(chain: Chain) -> None:
    with pytest.raises(chain_errors.NodeRegistry__UnknownNode) as exc:
        chain.base.node(99)
    assert exc.value.args_by_name == {"nodeId": 99}
    with pytest.raises(chain_errors.NodeRegistry__NotNodeOperator):
        chain.stranger.set_node_active(1, False)
    with pytest.raises(FabricaValueError, match="32 bytes"):
        register(chain, encryption_key=b"\x01" * 31)
    with pytest.raises(chain_errors.NodeRegistry__InvalidEncryptionKey):
        register(chain, encryption_key=b"\x00" * 32)
    with pytest.raises(chain_errors.NodeRegistry__InvalidBuildVolume):
        register(chain, build_volume_mm=(0, 1, 1))
    assert chain.base.registry.functions.nodeCount().call() == 1


def test_claim_locks_collateral_from_other_operators_node_is_refused(chain: Chain) -> None:
    chain.newcomer.stake(1_000 * FAB)
    job_id = chain.post()
    ledger = chain.ledger()
    with pytest.raises(chain_errors.JobMarket__NotNodeOperator):
        chain.newcomer.claim_job(job_id, chain.node_id)  # node 1 belongs to the shop
    assert chain.ledger() == ledger


def test_mint_design(chain: Chain) -> None:
    designer = chain.designer
    designs = designer.contracts["DesignNFT"]
    cid = chain.cid(b"solid cube")
    result = designer.mint_design(cid, 750)
    design_id = result.value
    assert design_id == int.from_bytes(Cid.parse(cid).digest, "big")  # the id is the content's digest
    ev = result.event("DesignMinted").args
    assert {k: ev[k] for k in ("tokenId", "creator", "royaltyReceiver", "cid", "royaltyBps")} == {
        "tokenId": design_id, "creator": designer.address, "royaltyReceiver": designer.address,
        "cid": Cid.parse(cid).to_bytes(), "royaltyBps": 750}
    assert designs.functions.ownerOf(design_id).call() == designer.address
    assert Cid.parse(bytes(designs.functions.cidOf(design_id).call())) == Cid.parse(cid)
    assert designs.functions.royaltyInfo(design_id, 10_000).call() == [designer.address, 750]
    assert designer.design_cid(design_id) == cid and designer.design_id_for_cid(cid) == design_id

    # The same file cannot be minted twice, in any CID form, by anyone.
    for who, again in ((designer, cid), (chain.stranger, str(Cid.parse(cid).to_v1()))):
        with pytest.raises(chain_errors.DesignNFT__AlreadyMinted):
            who.mint_design(again, 100)
    with pytest.raises(FabricaValueError, match="royalty"):
        designer.mint_design(chain.cid(b"another cube"), 10_001)
    with pytest.raises(chain_errors.DesignNFT__RoyaltyTooHigh):
        designer.mint_design(chain.cid(b"another cube"), 2_501)
