"""State-changing endpoints never hold a key: the unsigned transactions the gateway builds do what they say when
a wallet (eth_account here) signs and sends them; a call that would revert comes back with the contract's error
in words; EIP-712 payloads hash to what the contracts compute; relayed orders are kept only when their maker
signed them."""
from __future__ import annotations

import time

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from gateway_testkit import app_client, index, sign_in

CUSTOMER = dev_account(DEV_ROLES["customer"])
STRANGER = dev_account(7)
USD = 10**6


@pytest.fixture(scope="module")
def client(devnet, chain, tmp_path_factory):
    rpc_url, deployment, home = devnet
    url = f"sqlite:///{tmp_path_factory.mktemp('tx') / 'index.db'}"
    index(url, rpc_url, deployment)
    with app_client(url, home, rpc_url) as c:
        yield c


def _send(chain, tx: dict, key) -> dict:
    w3 = chain.w3
    acct = Account.from_key(key)
    full = {**tx, "value": int(tx["value"], 16), "gas": 500_000, "nonce": w3.eth.get_transaction_count(acct.address),
            "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9, "maxPriorityFeePerGas": 1}
    full.pop("from", None)
    signed = acct.sign_transaction(full)
    return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))


def test_unsigned_transaction_does_what_it_says_once_signed(client, chain) -> None:
    sign_in(client, CUSTOMER.key)
    market = chain.market.address
    r = client.post("/v1/tx/TestStablecoin/approve", json={"args": [market, str(7 * USD)]})
    assert r.status_code == 404  # the stablecoin is a payment token, not a named protocol contract
    fab = client.post("/v1/tx/FabToken/approve", json={"args": [market, str(123)]}).json()
    assert "tx" in fab, fab
    assert fab["tx"]["from"] == CUSTOMER.address and fab["tx"]["chainId"] == 31337 and int(fab["gas"], 16) > 0
    receipt = _send(chain, fab["tx"], CUSTOMER.key)
    assert receipt["status"] == 1
    assert chain.fab.functions.allowance(CUSTOMER.address, market).call() == 123


def test_a_call_that_would_revert_names_the_contract_error(client, chain) -> None:
    r = client.post("/v1/tx/JobMarket/withdraw", json={"args": [chain.usd, STRANGER.address], "from": STRANGER.address}).json()
    assert r["gas"] is None and r["revert"]["error"] not in ("", None, "ContractLogicError", "Web3RPCError"), r
    assert r["revert"]["message"]


def test_bad_calls_are_4xx(client, chain) -> None:
    assert client.post("/v1/tx/Nope/post", json={"args": []}).status_code == 404
    assert client.post("/v1/tx/JobMarket/nope", json={"args": []}).status_code == 404
    assert client.post("/v1/tx/JobMarket/orderDigest", json={"args": []}).status_code == 404  # a view
    r = client.post("/v1/tx/FabToken/approve", json={"args": ["0x12", "1"]})
    assert r.status_code == 400 and "address" in r.json()["detail"]
    r = client.post("/v1/tx/FabToken/approve", json={"args": [chain.market.address]})
    assert r.status_code == 400 and "argument" in r.json()["detail"]
    r = client.post("/v1/tx/FabToken/approve", json={"args": [chain.market.address, "lots"]})
    assert r.status_code == 400 and "integer" in r.json()["detail"]


def _order(chain, nonce: int, expiry: int | None = None) -> dict:
    return {"customer": CUSTOMER.address, "token": chain.usd, "amount": str(5 * USD), "collateral": "0",
            "design_id": "0", "delivery_window": "86400", "target_node": "0",
            "expiry": str(expiry or int(time.time()) + 3600), "nonce": str(nonce), "counter": "0",
            "spec_cid": chain.cid(b"relayed spec %d" % nonce)}


def test_job_order_payload_hashes_to_the_markets_digest_and_relays(client, chain) -> None:
    body = client.post("/v1/eip712/job-order", json=_order(chain, 901)).json()
    signable = encode_typed_data(full_message=body["typed_data"])
    from eth_utils import keccak

    assert "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex() == body["digest"]
    sig = "0x" + bytes(Account.sign_typed_data(CUSTOMER.key, full_message=body["typed_data"]).signature).hex()
    ok = client.post("/v1/orders", json={"kind": "job", "order": _order(chain, 901), "signature": sig})
    assert ok.status_code == 200 and ok.json()["order_hash"] == body["digest"]
    listed = client.get("/v1/orders?kind=job").json()["items"]
    assert any(o["order_hash"] == body["digest"] for o in listed)
    forged = "0x" + bytes(Account.sign_typed_data(STRANGER.key, full_message=body["typed_data"]).signature).hex()
    bad = client.post("/v1/orders", json={"kind": "job", "order": _order(chain, 902), "signature": forged})
    assert bad.status_code == 400 and "signature" in bad.json()["detail"]
    late = _order(chain, 903, expiry=int(time.time()) - 10)
    late_body = client.post("/v1/eip712/job-order", json=late).json()
    late_sig = "0x" + bytes(Account.sign_typed_data(CUSTOMER.key, full_message=late_body["typed_data"]).signature).hex()
    assert client.post("/v1/orders", json={"kind": "job", "order": late, "signature": late_sig}).status_code == 400


def test_only_the_maker_withdraws_a_relayed_order(client, chain) -> None:
    order = _order(chain, 904)
    payload = client.post("/v1/eip712/job-order", json=order).json()
    sig = "0x" + bytes(Account.sign_typed_data(CUSTOMER.key, full_message=payload["typed_data"]).signature).hex()
    digest = client.post("/v1/orders", json={"kind": "job", "order": order, "signature": sig}).json()["order_hash"]
    client.cookies.clear()
    stranger = sign_in(client, STRANGER.key)["access_token"]
    client.cookies.clear()
    r = client.delete(f"/v1/orders/{digest}", headers={"authorization": f"Bearer {stranger}"})
    assert r.status_code == 403
    mine = sign_in(client, CUSTOMER.key)["access_token"]
    r = client.delete(f"/v1/orders/{digest}", headers={"authorization": f"Bearer {mine}"})
    assert r.status_code == 200
    assert all(o["order_hash"] != digest for o in client.get("/v1/orders?kind=job").json()["items"])


def test_ballot_payload_is_what_the_governor_verifies(client, chain) -> None:
    r = client.post("/v1/eip712/ballot", json={"proposal_id": "1", "support": "for", "voter": CUSTOMER.address})
    assert r.status_code == 404  # no proposal 1 in this index
