"""NodeRegistry and DesignNFT through the SDK: staking, unbonding, nodes, designs."""
from __future__ import annotations

import pytest
from fabrica.protocol import chain_errors
from fabrica.protocol.deploy import MarketParams
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.types import Material, ProcessKind
from protocol_testkit import COLLATERAL, FAB, SHOP_STAKE, Chain

DEFAULTS = MarketParams()


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


def test_unbond_then_withdraw_after_delay(chain: Chain) -> None:
    op = chain.newcomer
    op.stake(1_000 * FAB)
    wallet = op.token_balance(chain.fab_token, op.address)
    args = op.request_unbond(400 * FAB).event("UnbondRequested").args
    assert args["amount"] == 400 * FAB and args["staked"] == 600 * FAB
    assert args["unbondAt"] == op.now() + DEFAULTS.unbond_delay
    s = op.stake_of(op.address)
    assert (s.staked, s.locked, s.unbonding, s.unbond_at) == (600 * FAB, 0, 400 * FAB, args["unbondAt"])

    ledger = chain.ledger()
    with pytest.raises(chain_errors.NodeRegistry__UnbondingNotDue):
        op.withdraw_stake()
    assert chain.ledger() == ledger

    chain.advance(DEFAULTS.unbond_delay)
    result = op.withdraw_stake()
    assert result.event("Withdrawn").args == {"operator": op.address, "amount": 400 * FAB}
    assert op.token_balance(chain.fab_token, op.address) == wallet + 400 * FAB
    s = op.stake_of(op.address)
    assert (s.staked, s.unbonding, s.unbond_at) == (600 * FAB, 0, 0)


def test_unbond_cannot_touch_locked_collateral(chain: Chain) -> None:
    shop = chain.shop
    chain.claimed(collateral=500 * FAB)
    free = SHOP_STAKE - 500 * FAB
    ledger = chain.ledger()
    with pytest.raises(chain_errors.NodeRegistry__InsufficientFreeStake) as exc:
        shop.request_unbond(free + 1)
    assert exc.value.args_by_name["free"] == free
    assert chain.ledger() == ledger


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
    with pytest.raises(chain_errors.NodeRegistry__NodeInactive):
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
    with pytest.raises(chain_errors.NodeRegistry__NotNodeOperator):
        chain.newcomer.claim_job(job_id, chain.node_id)  # node 1 belongs to the shop
    assert chain.ledger() == ledger


def test_mint_design(chain: Chain) -> None:
    designer = chain.designer
    designs = designer.contracts["DesignNFT"]
    cid = chain.cid(b"solid cube")
    result = designer.mint_design(cid, 750)
    design_id = result.value
    ev = result.event("DesignMinted").args
    assert ev == {"tokenId": design_id, "owner": designer.address, "minter": designer.address,
                  "cid": Cid.parse(cid).to_bytes(), "royaltyBps": 750}
    assert designs.functions.ownerOf(design_id).call() == designer.address
    assert Cid.parse(bytes(designs.functions.cidOf(design_id).call())) == Cid.parse(cid)
    assert designs.functions.royaltyInfo(design_id, 10_000).call() == [designer.address, 750]

    # Minting to someone else names them owner and royalty receiver.
    other = designer.mint_design(cid, 100, to=chain.stranger.address).value
    assert designs.functions.ownerOf(other).call() == chain.stranger.address
    with pytest.raises(FabricaValueError, match="royalty_bps"):
        designer.mint_design(cid, 10_001)
    with pytest.raises(chain_errors.DesignNFT__RoyaltyTooHigh):
        designer.mint_design(cid, 2_501)
