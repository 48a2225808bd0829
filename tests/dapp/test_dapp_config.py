"""GET /v1/config, the one place the dApp learns its deployment: chain, browser-facing RPC, contracts, tokens
(symbol and decimals read from the chain by the indexer), sign-in domain; `public_rpc_url` overrides the RPC."""
from __future__ import annotations

import httpx
from gateway_testkit import GatewayProcess


def test_config_names_the_deployment(gateway, devnet, indexer, chain) -> None:
    rpc_url, deployment, home = devnet
    body = httpx.get(gateway.url + "/v1/config", timeout=10).json()
    assert body["chain_id"] == deployment.chain_id
    assert body["rpc_url"] == rpc_url  # by default the chain settings' URL
    assert body["contracts"] == deployment.contracts
    tokens = {t["symbol"]: t for t in body["tokens"]}
    assert tokens["FAB"] == {"kind": "fab", "symbol": "FAB", "address": deployment.contracts["FabToken"],
                             "decimals": chain.fab.functions.decimals().call()}
    usd = tokens["fUSD"]
    assert (usd["kind"], usd["address"]) == ("payment", deployment.payment_tokens["fUSD"])
    assert usd["decimals"] == chain.usd_token.functions.decimals().call()
    assert body["siwe"] == {"domain": gateway.url.split("://")[1], "uri": gateway.url, "version": "1"}
    assert "open" in body["job_statuses"] and "PLA" in body["materials"] and "FDM" in body["processes"]

    public = "https://rpc.fabrica.example/v1"
    with GatewayProcess(indexer.db_url, home, rpc_url, env={"FABRICA_GATEWAY_PUBLIC_RPC_URL": public}) as other:
        assert httpx.get(other.url + "/v1/config", timeout=10).json()["rpc_url"] == public
