"""The design economy through the SDK on anvil: signed sales that always pay the creator's royalty, orders that
cannot be replayed, fabrication licences that replace the per-job royalty, and takedowns (issue 14)."""
from __future__ import annotations

import pytest
from eth_account import Account
from fabrica.protocol import chain_errors
from fabrica.protocol.accounts import dev_account
from fabrica.protocol.design_orders import Asset, DesignOrder, DesignOrderFile, Side
from fabrica.protocol.designs import Designs, DesignState, design_id
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.types import JobStatus

from protocol_testkit import ROLES, USD, Chain, fails_cleanly

PRICE = 50 * USD
FEE_BPS = 250  # the devnet's protocol fee, which the design market charges too
ROYALTY_BPS = 500


def _usd(chain: Chain, who: str) -> int:
    return chain.base.token_balance(chain.usd, who)


def _designs(client) -> Designs:
    return Designs(client)


def _minted(chain: Chain, data: bytes = b"a bracket", royalty_bps: int = ROYALTY_BPS) -> int:
    return chain.designer.mint_design(chain.cid(data), royalty_bps).value


def _listing(seller: Designs, token_id: int, price: int = PRICE, *, asset: Asset = Asset.DESIGN, amount: int = 1,
             expiry_in: int = 3_600) -> DesignOrder:
    order = seller.build_order(side=Side.LISTING, asset=asset, token_id=token_id, currency=seller.fab.deployment.
                               payment_tokens["fUSD"], price=price, amount=amount,
                               expiry=seller.fab.now() + expiry_in, nonce=seller.next_nonce())
    seller.prepare_maker(order)
    return order


def _wallet_signature(order: DesignOrder, chain: Chain, role: str) -> str:
    """Sign the listing file's typedData as a wallet would receive it: JSON text, signed by eth_account's own
    EIP-712 implementation (not the SDK's)."""
    market = chain.deployment.contracts["DesignMarket"]
    file = DesignOrderFile.create(order, chain.deployment.chain_id, market)
    import json

    payload = json.loads(file.to_json())["typedData"]
    key = dev_account(ROLES[role]).key
    return "0x" + bytes(Account.sign_typed_data(key, full_message=payload).signature).hex()


def test_sale_pays_seller_fee_and_creator_royalty_with_a_wallet_signature(chain: Chain) -> None:
    token_id = _minted(chain)
    designer, collector, stranger = _designs(chain.designer), _designs(chain.collector), _designs(chain.stranger)
    market = chain.deployment.contracts["DesignMarket"]
    order = _listing(designer, token_id)
    signature = _wallet_signature(order, chain, "designer")
    assert order.digest(chain.deployment.chain_id, market) == \
        designer.market.functions.orderHash(order.to_abi()).call()
    treasury, creator = chain.timelock, chain.designer.address
    before = {a: _usd(chain, a) for a in (creator, collector.fab.address, treasury)}
    filled = collector.fill(order, signature).event("OrderFilled").args
    fee, royalty = PRICE * FEE_BPS // 10_000, PRICE * ROYALTY_BPS // 10_000
    assert (filled["total"], filled["fee"], filled["royalty"], filled["royaltyReceiver"]) == \
        (PRICE, fee, royalty, creator)
    assert designer.nft.functions.ownerOf(token_id).call() == collector.fab.address
    # The designer sold its own design: it is paid the price less the fee, its royalty included.
    assert _usd(chain, creator) - before[creator] == PRICE - fee
    assert before[collector.fab.address] - _usd(chain, collector.fab.address) == PRICE
    assert _usd(chain, treasury) - before[treasury] == fee
    assert _usd(chain, market) == 0  # the market never holds funds

    # A resale pays the creator its royalty, not the seller: seller + fee + royalty = price.
    resale = _listing(collector, token_id, 80 * USD)
    before = {a: _usd(chain, a) for a in (creator, collector.fab.address, treasury)}
    stranger.fill(resale, collector.sign(resale))
    assert _usd(chain, creator) - before[creator] == 80 * USD * ROYALTY_BPS // 10_000
    assert _usd(chain, treasury) - before[treasury] == 80 * USD * FEE_BPS // 10_000
    assert _usd(chain, collector.fab.address) - before[collector.fab.address] == \
        80 * USD - 80 * USD * (ROYALTY_BPS + FEE_BPS) // 10_000
    assert designer.nft.functions.ownerOf(token_id).call() == stranger.fab.address


def test_orders_fill_once_and_never_after_cancel_counter_or_expiry(chain: Chain) -> None:
    designer, collector = _designs(chain.designer), _designs(chain.collector)
    token_id = _minted(chain)
    order = _listing(designer, token_id)
    sig = designer.sign(order)
    collector.fill(order, sig)
    # Replayed: the SDK refuses before sending; the market refuses a raw call too.
    fails_cleanly(chain, FabricaValueError, lambda: collector.fill(order, sig), match="can no longer be filled",
                  sends_nothing=True, who=chain.collector)
    with pytest.raises(chain_errors.DesignMarket__NonceUsed):
        chain.collector._send(collector.market, "fill", order.to_abi(), bytes.fromhex(sig[2:]), 1, token_id)

    # Cancelled by nonce, by counter, or expired: never fills.
    back = _listing(collector, token_id)
    back_sig = collector.sign(back)
    collector.cancel([back.nonce])
    with pytest.raises(chain_errors.DesignMarket__NonceUsed):
        chain.designer._send(designer.market, "fill", back.to_abi(), bytes.fromhex(back_sig[2:]), 1, token_id)
    again = _listing(collector, token_id)
    again_sig = collector.sign(again)
    collector.cancel_all()
    with pytest.raises(chain_errors.DesignMarket__CounterStale):
        chain.designer._send(designer.market, "fill", again.to_abi(), bytes.fromhex(again_sig[2:]), 1, token_id)
    late = _listing(collector, token_id, expiry_in=60)
    late_sig = collector.sign(late)
    chain.advance(61)
    with pytest.raises(chain_errors.DesignMarket__OrderExpired):
        chain.designer._send(designer.market, "fill", late.to_abi(), bytes.fromhex(late_sig[2:]), 1, token_id)
    assert designer.nft.functions.ownerOf(token_id).call() == collector.fab.address

    # A signature for another chain id does not fill here.
    foreign = DesignOrderFile.create(_listing(collector, token_id), 1, designer.market.address)
    wallet = dev_account(ROLES["collector"])
    foreign_sig = Account.sign_typed_data(wallet.key, full_message=foreign.typed_data).signature
    with pytest.raises(chain_errors.DesignMarket__InvalidSignature):
        chain.designer._send(designer.market, "fill", foreign.order.to_abi(), bytes(foreign_sig), 1, token_id)


def test_offer_on_any_design_of_a_creator(chain: Chain) -> None:
    designer, collector, stranger = _designs(chain.designer), _designs(chain.collector), _designs(chain.stranger)
    token_id = _minted(chain)
    offer = collector.build_order(side=Side.OFFER, asset=Asset.DESIGN, token_id=0, creator=chain.designer.address,
                                  currency=chain.usd, price=30 * USD, expiry=collector.fab.now() + 3_600,
                                  nonce=collector.next_nonce())
    collector.prepare_maker(offer)
    sig = collector.sign(offer)
    # A design by someone else does not fill a creator's offer, even when its owner tries.
    other = chain.stranger.mint_design(chain.cid(b"a knock-off"), 0).value
    with pytest.raises(chain_errors.DesignMarket__CreatorMismatch):
        stranger.fill(offer, sig, token_id=other)
    designer.fill(offer, sig, token_id=token_id)
    assert designer.nft.functions.ownerOf(token_id).call() == collector.fab.address


def test_licence_editions_partial_fills(chain: Chain) -> None:
    designer, collector, stranger = _designs(chain.designer), _designs(chain.collector), _designs(chain.stranger)
    token_id = _minted(chain)
    designer.set_licence_terms(token_id, chain.usd, price_per_print=2 * USD, block_size=10, block_price=15 * USD)
    assert designer.licence_terms(token_id).cost(23) == 2 * 15 * USD + 3 * 2 * USD
    paid = collector.buy_licences(token_id, 23).value
    assert paid == 36 * USD and collector.licences_held(token_id) == 23
    listing = _listing(collector, token_id, 3 * USD, asset=Asset.LICENCE, amount=10)
    sig = collector.sign(listing)
    stranger.fill(listing, sig, units=4)
    assert collector.remaining(listing) == 6
    stranger.fill(listing, sig, units=6)
    assert collector.remaining(listing) == 0 and stranger.licences_held(token_id) == 10
    fails_cleanly(chain, FabricaValueError, lambda: stranger.fill(listing, sig, units=1),
                  match="can no longer be filled", sends_nothing=True, who=chain.stranger)


def test_a_licence_replaces_the_job_royalty_and_comes_back_when_the_job_is_cancelled(chain: Chain) -> None:
    designer, customer = _designs(chain.designer), _designs(chain.customer)
    token_id = _minted(chain)
    licences = chain.deployment.contracts["FabricationLicences"]
    # Without a licence the job owes the royalty to the design's owner.
    plain = chain.customer.job(chain.post(design_id=token_id)).job
    assert (plain.royalty_receiver, plain.royalty) == (chain.designer.address, 25 * USD * ROYALTY_BPS // 10_000)

    designer.set_licence_terms(token_id, chain.usd, price_per_print=1 * USD, max_prints=3)
    customer.buy_licences(token_id, 2)
    job_id = chain.post(design_id=token_id)
    job = chain.customer.job(job_id).job
    assert (job.royalty_receiver, job.royalty) == (licences, 0)
    assert customer.licences_held(token_id) == 1
    chain.customer.cancel_job(job_id)
    assert chain.customer.job(job_id).status == JobStatus.CANCELLED
    assert customer.licences_held(token_id) == 2  # the job was never made: its licence is back
    # The print cap holds: one more licence can be bought, not two.
    with pytest.raises(chain_errors.Licences__SoldOut):
        customer.buy_licences(token_id, 2)


def test_design_ids_are_content_digests_and_takedowns_freeze_a_copy(chain: Chain) -> None:
    designer, collector = _designs(chain.designer), _designs(chain.collector)
    cid = chain.cid(b"an original")
    token_id = chain.designer.mint_design(cid, ROYALTY_BPS).value
    assert token_id == design_id(cid) == design_id(str(Cid.parse(cid).to_v1()))
    assert designer.resolve(cid) == token_id and designer.resolve(str(token_id)) == token_id
    order = _listing(designer, token_id)
    sig = designer.sign(order)
    guardian = _designs(chain.guardian)  # the devnet's moderator
    guardian.takedown(token_id, chain.cid(b"the original, published earlier"))
    assert designer.info(token_id).state == DesignState.TAKEN_DOWN
    chain.collector.approve(chain.usd, collector.market.address, PRICE)
    with pytest.raises(chain_errors.DesignNFT__TakenDown):
        chain.collector._send(collector.market, "fill", order.to_abi(), bytes.fromhex(sig[2:]), 1, token_id)
    with pytest.raises(chain_errors.Licences__DesignTakenDown):
        chain.post(design_id=token_id)
    designer.appeal(token_id, chain.cid(b"my sketches, dated"))
    assert designer.info(token_id).state == DesignState.APPEALED
    # Only the DAO restores it.
    with pytest.raises(chain_errors.OwnableUnauthorizedAccount):
        chain.guardian._send(guardian.nft, "restore", token_id)
    chain.dao_execute([chain.calldata("DesignNFT", "restore", token_id)], description="restore a design")
    assert designer.info(token_id).state == DesignState.ACTIVE
    collector.fill(order, sig)
    assert designer.nft.functions.ownerOf(token_id).call() == collector.fab.address


def test_the_dao_owns_every_design_economy_contract(chain: Chain) -> None:
    from fabrica.protocol.deploy import OWNED

    for name in OWNED:
        contract = chain.base.contracts[name]
        assert contract.functions.owner().call() == chain.timelock, name
        if any(e.get("name") == "pendingOwner" for e in contract.abi):
            assert int(contract.functions.pendingOwner().call(), 16) == 0, name  # accepted, nothing pending
    nft = chain.base.contracts["DesignNFT"]
    assert nft.functions.isMinter(chain.deployment.contracts["BountyBoard"]).call()
    assert not nft.functions.isMinter(chain.deployer.address).call()
    assert nft.functions.moderator().call() == chain.guardian.address
    assert nft.functions.licences().call() == chain.deployment.contracts["FabricationLicences"]
