"""Signed orders on a real devnet: the EIP-712 payload a wallet signs, the market's digest, take (and with a permit),
cancellation, nonces, and every refusal made before anything is sent."""
from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from fabrica.protocol import chain_errors
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.orders import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    Order,
    OrderFile,
    order_type_string,
    parse_signature,
)
from fabrica.protocol.storage.cid import Cid
from fabrica.protocol.storage.errors import InvalidCidError
from fabrica.protocol.types import JobStatus
from protocol_testkit import FAB, NEWCOMER, PARAMS, STRANGER, USD, Chain, fails_cleanly

CUSTOMER_KEY = dev_account(DEV_ROLES["customer"]).key


def new_order(chain: Chain, amount: int = 12 * USD, **kw) -> Order:
    c = chain.customer
    kw.setdefault("delivery_window", 2 * 3600)
    kw.setdefault("expiry", c.now() + 3600)
    return c.build_order(chain.usd, amount, chain.cid(b"ordered part %d" % amount), **kw)


def eip191_digest(payload: dict) -> bytes:
    """The hash a wallet signs for an eth_signTypedData_v4 payload, computed by eth_account."""
    signable = encode_typed_data(full_message=payload)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def test_typed_data_is_what_a_wallet_signs_and_the_market_accepts(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    market, chain_id = c.market.address, chain.deployment.chain_id
    order = new_order(chain)
    payload = order.typed_data(chain_id, market)
    # What MetaMask's eth_signTypedData_v4 takes: JSON with the domain type declared, integers as decimal strings.
    assert json.loads(json.dumps(payload)) == payload
    assert payload["primaryType"] == "Order" and list(payload["types"]) == ["EIP712Domain", "Order"]
    assert payload["domain"] == {"name": "Fabrica JobMarket", "version": "1", "chainId": chain_id,
                                 "verifyingContract": market}
    assert payload["message"]["amount"] == str(12 * USD) and payload["message"]["customer"] == c.address
    assert payload["message"]["specCid"] == "0x" + Cid.parse(order.spec_cid).to_bytes().hex()
    assert all(isinstance(v, str) for v in payload["message"].values())

    # The market's type hash, domain and digest are the payload's.
    assert bytes(c.market.functions.ORDER_TYPEHASH().call()) == keccak(text=order_type_string())
    _f, name, version, domain_chain, verifying, _s, _e = c.market.functions.eip712Domain().call()
    assert (name, version, domain_chain, verifying) == (DOMAIN_NAME, DOMAIN_VERSION, chain_id, market)
    digest = eip191_digest(payload)
    assert digest == order.digest(chain_id, market) == c.order_digest(order)

    # Signed the way a wallet signs it (eth_account over the payload, not the SDK's signer), the market takes it.
    signature = "0x" + Account.sign_typed_data(CUSTOMER_KEY, full_message=payload).signature.hex()
    assert signature == c.sign_order(order)
    c.deposit(chain.usd, 12 * USD)
    result = shop.take_order(order, signature, chain.node_id)
    taken = result.event("OrderTaken").args
    assert taken["orderHash"] == digest and taken["customer"] == c.address and taken["node"] == shop.address
    record = shop.job(result.value)
    now = shop.now()
    assert record.status == JobStatus.CLAIMED and record.node_id == chain.node_id and record.order_hash == digest
    assert record.claimed_at == now and record.job.deadline == now + order.delivery_window
    assert (record.job.amount, record.job.collateral, record.job.customer) == (12 * USD, order.collateral, c.address)
    assert record.job.bond == 12 * USD * PARAMS.dispute_bond_bps // 10_000
    assert record.spec_cid == order.spec_cid and record.hand_backs == 0
    assert c.market_balance(chain.usd, c.address) == 0  # paid from the deposit
    assert shop.stake_of(shop.address).locked == order.collateral
    assert c.order_nonce_used(c.address, order.nonce)
    # The job goes on like any claimed job.
    shop.deliver_job(result.value, chain.cid(b"proof"))
    c.accept_job(result.value)
    assert c.job(result.value).status == JobStatus.SETTLED


def test_take_with_a_permit_needs_no_approval(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    c.approve(chain.usd, c.market.address, 0)
    order = new_order(chain, 30 * USD)
    wallet = c.token_balance(chain.usd, c.address)
    fails_cleanly(chain, chain_errors.ERC20InsufficientAllowance,
                  lambda: shop.take_order(order, c.sign_order(order), chain.node_id), match="permit",
                  sends_nothing=True, who=shop)
    permit = c.sign_permit(chain.usd, order.amount, order.expiry)
    job_id = shop.take_order(order, c.sign_order(order), chain.node_id, permit=permit).value
    assert c.token_balance(chain.usd, c.address) == wallet - 30 * USD
    assert c.erc20(chain.usd).functions.allowance(c.address, c.market.address).call() == 0
    assert shop.job(job_id).status == JobStatus.CLAIMED


def test_refused_takes_send_nothing(chain: Chain) -> None:
    c, shop, stranger = chain.customer, chain.shop, chain.stranger
    c.deposit(chain.usd, 100 * USD)
    order = new_order(chain)
    good = c.sign_order(order)

    def refused(error, action, match=None):
        return fails_cleanly(chain, error, action, match=match, sends_nothing=True, who=shop)

    forged = "0x" + Account.sign_typed_data(dev_account(STRANGER).key, full_message=order.typed_data(
        chain.deployment.chain_id, c.market.address)).signature.hex()
    err = refused(chain_errors.JobMarket__InvalidSignature, lambda: shop.take_order(order, forged, chain.node_id))
    assert stranger.address in str(err) and c.address in str(err)
    tampered = order.model_copy(update={"amount": 1 * USD})
    refused(chain_errors.JobMarket__InvalidSignature, lambda: shop.take_order(tampered, good, chain.node_id))
    refused(FabricaValueError, lambda: shop.take_order(order, good[:-2], chain.node_id), match="130 hex")
    node_2 = chain.operator()
    targeted = new_order(chain, target_node=chain.node_id)
    refused(chain_errors.JobMarket__NotTargetNode,
            lambda: shop.take_order(targeted, c.sign_order(targeted), node_2))

    # The market refuses the same forged order when the SDK's checks are bypassed.
    fails_cleanly(chain, chain_errors.JobMarket__InvalidSignature, lambda: shop._send(
        shop.market, "take", order.to_abi(), parse_signature(forged), chain.node_id, 0))

    shop.take_order(order, good, chain.node_id)
    err = refused(chain_errors.JobMarket__OrderNonceUsed, lambda: shop.take_order(order, good, chain.node_id))
    assert err.args_by_name == {"customer": c.address, "nonce": order.nonce}

    late = new_order(chain, 5 * USD, expiry=c.now() + 600)
    chain.advance(601)
    err = refused(chain_errors.JobMarket__OrderExpired, lambda: shop.take_order(late, c.sign_order(late), 1))
    assert "UTC" in str(err)


def test_cancel_one_order_or_all(chain: Chain) -> None:
    c, shop = chain.customer, chain.shop
    c.deposit(chain.usd, 100 * USD)
    first, second = new_order(chain, 5 * USD), new_order(chain, 6 * USD)
    assert second.nonce == first.nonce + 1  # one client never hands out a nonce twice
    assert c.cancel_order(first.nonce).event("OrderCancelled").args == {"customer": c.address, "nonce": first.nonce}
    fails_cleanly(chain, chain_errors.JobMarket__OrderNonceUsed,
                  lambda: shop.take_order(first, c.sign_order(first), chain.node_id), sends_nothing=True, who=shop)
    fails_cleanly(chain, chain_errors.JobMarket__OrderNonceUsed, lambda: c.cancel_order(first.nonce),
                  sends_nothing=True, who=c)
    assert c.increment_order_counter().value == 1 == c.order_counter(c.address)
    err = fails_cleanly(chain, chain_errors.JobMarket__OrderCounterStale,
                        lambda: shop.take_order(second, c.sign_order(second), chain.node_id),
                        sends_nothing=True, who=shop)
    assert err.args_by_name == {"customer": c.address, "counter": 0, "current": 1}
    fresh = new_order(chain, 7 * USD)
    assert fresh.counter == 1
    shop.take_order(fresh, c.sign_order(fresh), chain.node_id)


def test_next_order_nonce_counts_taken_and_cancelled_orders(chain: Chain) -> None:
    # A client of its own: the session's clients remember nonces they handed out in earlier (reverted) tests.
    c = chain.base.with_account(dev_account(DEV_ROLES["customer"]))
    c.deposit(chain.usd, 100 * USD)
    assert c.next_order_nonce() == 0
    taken = c.build_order(chain.usd, 5 * USD, chain.cid(b"nonce 0"), delivery_window=3600, expiry=c.now() + 60)
    assert taken.nonce == 0 and c.next_order_nonce() == 1  # handed out, though not used on chain yet
    chain.shop.take_order(taken, c.sign_order(taken), chain.node_id)
    c.cancel_order(1)
    c.cancel_order(5)
    other = c.with_account(dev_account(DEV_ROLES["customer"]))  # a client that handed out nothing yet
    assert other.next_order_nonce() == 3  # three used; 3 is unused
    assert other.next_order_nonce(at_least=5) == 6  # 5 was cancelled
    assert chain.stranger.next_order_nonce() == 0


def test_orders_are_checked_like_posts(chain: Chain) -> None:
    c = chain.customer

    def refused(error, match=None, **kw):
        return fails_cleanly(chain, error, lambda: new_order(chain, **kw), match=match, sends_nothing=True, who=c)

    err = refused(chain_errors.JobMarket__CollateralOutOfBounds, collateral=FAB)
    assert "min=10 FAB, max=120 FAB" in str(err)
    refused(chain_errors.JobMarket__InvalidDeliveryWindow, delivery_window=60)
    refused(chain_errors.JobMarket__OrderExpired, expiry=c.now() - 1)
    refused(chain_errors.Licences__UnknownDesign, design_id=9)
    refused(chain_errors.JobMarket__UnknownNode, target_node=9)
    with pytest.raises(chain_errors.JobMarket__TokenNotAllowed):
        c.build_order(chain.fab_token, FAB, chain.cid(), delivery_window=3600, expiry=c.now() + 60)
    with pytest.raises(InvalidCidError):
        c.build_order(chain.usd, USD, "Qm-nope", delivery_window=3600, expiry=c.now() + 60)
    c.cancel_order(0)
    refused(chain_errors.JobMarket__OrderNonceUsed, nonce=0)
    with pytest.raises(FabricaValueError, match="only its customer"):
        chain.stranger.sign_order(new_order(chain))


def test_order_model_and_file(tmp_path) -> None:
    base = {"customer": dev_account(3).address.lower(), "token": dev_account(4).address, "amount": "25000000",
            "collateral": str(10 * FAB), "delivery_window": 3600, "expiry": "1900000000", "nonce": 0, "counter": 0,
            "spec_cid": "QmUxZ9bRLECpv6RtfnwLZJrTRNY8EEC49evzaAbWTBL8Dg"}
    order = Order.model_validate(base)
    assert order.amount == 25 * USD and order.customer == dev_account(3).address  # decimal strings, checksums
    assert Order.model_validate({**base, "spec_cid": "0x" + order.cid_bytes().hex()}) == order
    for field, bad in [("amount", "0"), ("amount", str(2**96)), ("nonce", -1), ("delivery_window", "1.5"),
                       ("customer", "0x1234"), ("spec_cid", "Qm-nope"), ("expiry", 2**40)]:
        with pytest.raises(ValueError):
            Order.model_validate({**base, field: bad})
    file = OrderFile.create(order, 31337, dev_account(0).address, signature="0x" + "11" * 65)
    path = tmp_path / "order.json"
    path.write_text(file.to_json())
    assert OrderFile.read(path) == file
    data = json.loads(path.read_text())
    assert data["order"]["amount"] == "25000000" and data["typedData"] == order.typed_data(31337, dev_account(0).address)
    data["order"]["amount"] = "1"  # edited after it was written (and signed)
    path.write_text(json.dumps(data))
    with pytest.raises(FabricaValueError, match="digest does not match"):
        OrderFile.read(path)
    path.write_text("{not json")
    with pytest.raises(FabricaValueError, match="is not JSON"):
        OrderFile.read(path)
    with pytest.raises(FabricaValueError, match="not found"):
        OrderFile.read(tmp_path / "missing.json")


def test_parse_signature() -> None:
    sig = "0x" + "ab" * 64 + "01"
    assert parse_signature(sig)[64] == 28  # v 0/1 from some wallets becomes 27/28
    assert parse_signature("0x" + "ab" * 64 + "1b")[64] == 27
    for bad in ["", "0x", "0x" + "ab" * 64, "0x" + "ab" * 64 + "05", "ab" * 65, "0x" + "zz" * 65]:
        with pytest.raises(FabricaValueError):
            parse_signature(bad)


def test_design_cids_both_ways(chain: Chain) -> None:
    d, c = chain.designer, chain.customer
    part = chain.cid(b"a design part")
    first = d.mint_design(part, 100).value
    other = d.mint_design(chain.cid(b"another part"), 100).value
    assert c.design_cid(first) == part and c.design_cid(99) is None
    assert c.design_id_for_cid(part) == first
    assert c.design_id_for_cid(str(Cid.parse(part).to_v1())) == first  # either CID version
    assert c.design_id_for_cid(chain.cid(b"never minted")) is None
    late = chain.cid(b"minted after the first scan")
    third = chain.base.with_account(dev_account(NEWCOMER)).mint_design(late, 0).value
    assert c.design_id_for_cid(late) == third and c.design_cid(other) == chain.cid(b"another part")
