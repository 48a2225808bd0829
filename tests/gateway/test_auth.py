"""Sign-In with Ethereum against the real gateway, chain and index: every refusal the issue names (replay,
another domain or chain, expired, tampered), contract wallets through ERC-1271, sessions, refresh and sign-out.

Messages are written and signed here, independently of the gateway, with eth_account (dev keys)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from eth_account import Account
from fabrica.gateway import schema as gws
from fabrica.gateway.siwe import SiweError, SiweMessage
from fabrica.protocol.accounts import DEV_ROLES, dev_account
from gateway_testkit import app_client, index, personal_sign, sign_in, siwe_text

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = dev_account(DEV_ROLES["customer"])
STRANGER = dev_account(7)


@pytest.fixture(scope="module")
def gateway(devnet, tmp_path_factory):
    """The gateway in-process over a SQLite index of the devnet."""
    rpc_url, deployment, home = devnet
    url = f"sqlite:///{tmp_path_factory.mktemp('auth') / 'index.db'}"
    index(url, rpc_url, deployment)
    with app_client(url, home, rpc_url) as client:
        yield client


def _nonce(client) -> str:
    return client.get("/v1/auth/nonce").json()["nonce"]


def _verify(client, text: str, key=CUSTOMER.key):
    return client.post("/v1/auth/verify", json={"message": text, "signature": personal_sign(key, text)})


def _refused(r, *words: str) -> None:
    assert r.status_code == 401, r.text
    detail = r.json()["detail"].lower()
    for w in words:
        assert w in detail, detail


def test_nonce_names_what_the_message_must_carry(gateway) -> None:
    body = gateway.get("/v1/auth/nonce").json()
    assert body["domain"] == "testserver" and body["uri"] == "http://testserver" and body["chain_id"] == 31337
    assert len(body["nonce"]) >= 8 and body["nonce"].isalnum()
    assert body["nonce"] != _nonce(gateway)  # single-use: a fresh one each time


def test_sign_in_opens_a_session_carried_by_cookie_and_bearer(gateway) -> None:
    gateway.cookies.clear()
    tokens = sign_in(gateway, CUSTOMER.key)
    assert tokens["address"] == CUSTOMER.address
    cookie = [h for h in gateway.cookies.jar if h.name == "fabrica_session"][0]
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert gateway.get("/v1/auth/me").json()["address"] == CUSTOMER.address  # by cookie
    gateway.cookies.clear()
    assert gateway.get("/v1/auth/me").status_code == 401
    me = gateway.get("/v1/auth/me", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["address"] == CUSTOMER.address


def test_replayed_message_is_refused(gateway) -> None:
    text = siwe_text(CUSTOMER.address, _nonce(gateway))
    assert _verify(gateway, text).status_code == 200
    _refused(_verify(gateway, text), "already used")


def test_message_for_another_domain_is_refused(gateway) -> None:
    _refused(_verify(gateway, siwe_text(CUSTOMER.address, _nonce(gateway), domain="evil.example",
                                         uri="http://evil.example")), "domain")


def test_message_with_an_uri_on_another_origin_is_refused(gateway) -> None:
    _refused(_verify(gateway, siwe_text(CUSTOMER.address, _nonce(gateway), uri="https://evil.example/login")), "uri")


def test_message_for_another_chain_is_refused(gateway) -> None:
    _refused(_verify(gateway, siwe_text(CUSTOMER.address, _nonce(gateway), chain_id=1)), "chain")


def test_expired_message_is_refused(gateway) -> None:
    past = datetime.now(UTC) - timedelta(seconds=5)
    _refused(_verify(gateway, siwe_text(CUSTOMER.address, _nonce(gateway), expires=past)), "expired")


def test_message_issued_long_ago_or_in_the_future_is_refused(gateway) -> None:
    old = datetime.now(UTC) - timedelta(hours=2)
    _refused(_verify(gateway, siwe_text(CUSTOMER.address, _nonce(gateway), issued=old)), "ago")
    future = datetime.now(UTC) + timedelta(hours=1)
    _refused(_verify(gateway, siwe_text(CUSTOMER.address, _nonce(gateway), issued=future)), "future")


def test_tampered_message_is_refused(gateway) -> None:
    text = siwe_text(CUSTOMER.address, _nonce(gateway))
    sig = personal_sign(CUSTOMER.key, text)
    tampered = text.replace("Sign in to Fabrica", "Sign in to Fabrica and give away my funds")
    _refused(gateway.post("/v1/auth/verify", json={"message": tampered, "signature": sig}), "signature")


def test_message_signed_by_another_key_is_refused(gateway) -> None:
    _refused(_verify(gateway, siwe_text(CUSTOMER.address, _nonce(gateway)), key=STRANGER.key), "signature")


def test_unknown_nonce_is_refused(gateway) -> None:
    _refused(_verify(gateway, siwe_text(CUSTOMER.address, "abcdefgh12345678")), "nonce")


def test_malformed_messages_are_refused_with_the_reason(gateway) -> None:
    good = siwe_text(CUSTOMER.address, _nonce(gateway))
    cases = {
        "not a siwe message at all": "must start",
        good.replace(CUSTOMER.address, CUSTOMER.address.lower()): "checksum",
        good.replace("Version: 1", "Version: 2"): "version",
        good.replace("Chain ID: 31337", "Chain ID: one"): "chain id",
        good.replace("Issued At: ", "Issued At: yesterday "): "date-time",
        good + "\nSurprise: field": "unexpected line",
    }
    for text, words in cases.items():
        _refused(_verify(gateway, text), words)
    bad_sig = gateway.post("/v1/auth/verify", json={"message": good, "signature": "nothex"})
    _refused(bad_sig, "hex")


def test_failed_and_successful_sign_ins_are_audited(gateway) -> None:
    _verify(gateway, siwe_text(CUSTOMER.address, _nonce(gateway), chain_id=5))
    sign_in(gateway, CUSTOMER.key)
    engine = gateway.app.state.gw.engine
    with engine.connect() as conn:
        rows = conn.execute(sa.select(gws.audit_log.c.event, gws.audit_log.c.address, gws.audit_log.c.detail)
                            .order_by(gws.audit_log.c.id.desc()).limit(2)).all()
    assert rows[0][0] == "sign_in" and rows[0][1] == CUSTOMER.address
    assert rows[1][0] == "sign_in_failed" and "chain" in json.dumps(rows[1][2])


def test_refresh_rotates_and_a_reused_refresh_token_is_refused(gateway) -> None:
    tokens = sign_in(gateway, CUSTOMER.key)
    gateway.cookies.clear()
    first = gateway.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200 and first.json()["refresh_token"] != tokens["refresh_token"]
    again = gateway.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    _refused(again, "refresh")
    newer = first.json()
    me = gateway.get("/v1/auth/me", headers={"authorization": f"Bearer {newer['access_token']}"})
    assert me.status_code == 200


def test_sign_out_ends_the_session_everywhere(gateway) -> None:
    tokens = sign_in(gateway, CUSTOMER.key)
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    gateway.cookies.clear()
    assert gateway.post("/v1/auth/logout", headers=bearer).status_code == 200
    _refused(gateway.get("/v1/auth/me", headers=bearer), "signed out")
    _refused(gateway.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), "sign in")


def test_forged_session_tokens_are_refused(gateway) -> None:
    tokens = sign_in(gateway, CUSTOMER.key)
    gateway.cookies.clear()
    body, mac = tokens["access_token"].split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = STRANGER.address
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=") + "." + mac
    _refused(gateway.get("/v1/auth/me", headers={"authorization": f"Bearer {forged}"}), "signature")
    _refused(gateway.get("/v1/auth/me", headers={"authorization": "Bearer garbage"}), "malformed")


def _wallet_artifact() -> dict:
    path = ROOT / "contracts" / "out" / "ERC1271Wallet.sol" / "ERC1271Wallet.json"
    assert path.exists(), "run `forge build` in contracts/ (make test does) for the ERC-1271 test wallet"
    return json.loads(path.read_text())


def test_contract_wallet_signs_in_through_erc1271(gateway, devnet) -> None:
    from web3 import Web3

    rpc_url, _deployment, _home = devnet
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    art = _wallet_artifact()
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"]["object"])
    tx = factory.constructor(CUSTOMER.address).transact({"from": CUSTOMER.address})
    wallet = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    text = siwe_text(Web3.to_checksum_address(wallet), _nonce(gateway))
    ok = _verify(gateway, text, key=CUSTOMER.key)  # the wallet's owner signs; the wallet vouches (ERC-1271)
    assert ok.status_code == 200, ok.text
    assert ok.json()["address"] == Web3.to_checksum_address(wallet)
    other = siwe_text(Web3.to_checksum_address(wallet), _nonce(gateway))
    _refused(_verify(gateway, other, key=STRANGER.key), "signature")


def test_parser_round_trips_what_it_formats() -> None:
    acct = Account.create()
    text = siwe_text(acct.address, "abcdefgh1234", statement=None)
    msg = SiweMessage.parse(text)
    assert msg.statement is None and msg.text() == text
    with_statement = siwe_text(acct.address, "abcdefgh1234")
    assert SiweMessage.parse(with_statement).text() == with_statement
    with pytest.raises(SiweError):
        SiweMessage.parse(with_statement.replace("Nonce: abcdefgh1234", "Nonce: short"))
