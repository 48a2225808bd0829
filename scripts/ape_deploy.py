"""Deploy Fabrica to ape's local network (anvil through ape-foundry), for console/script work.

    bash scripts/ape-setup.sh   # with SOLCX_BINARY_PATH=.cache/solcx exported (the Makefile does)
    ape run ape_deploy [--network ethereum:local:foundry]

The SDK's `fabrica devnet up` (protocol/deploy.py) is the supported deployment path;
this mirrors it with ape's accounts and contract containers, with the devnet's parameters.
"""

from __future__ import annotations

from ape import accounts, project
from fabrica.protocol.deploy import MarketParams, usd_terms


def main() -> None:
    deployer = accounts.test_accounts[0]
    params = MarketParams.devnet()
    fab = deployer.deploy(project.FabToken, deployer, 1_000_000_000 * 10**18)
    fusd = deployer.deploy(project.TestStablecoin, deployer)
    designs = deployer.deploy(project.DesignNFT)
    # Registry and market reference each other immutably: the market is the next contract deployed.
    predicted_market = deployer.get_deployment_address(deployer.nonce + 1)
    registry = deployer.deploy(
        project.NodeRegistry, deployer, fab, predicted_market, params.min_stake, params.unbond_delay
    )
    market = deployer.deploy(
        project.JobMarket,
        deployer,
        registry,
        designs,
        deployer,  # treasury
        deployer,  # arbiter
        deployer,  # appeal court
        params.market_tuple(),
    )
    if market.address != predicted_market:
        raise RuntimeError(
            f"market deployed at {market.address}, registry expects {predicted_market}"
        )
    # Governance is the market's module, served at the market's address (the market delegates to it).
    module = project.JobMarketModule.at(market.address)
    module.setTokenTerms(fusd, usd_terms(6).to_abi(), sender=deployer)
    assert registry.market() == market.address
    for name, contract in (
        ("FabToken", fab),
        ("TestStablecoin", fusd),
        ("DesignNFT", designs),
        ("NodeRegistry", registry),
        ("JobMarket", market),
    ):
        print(f"{name:15} {contract.address}")
