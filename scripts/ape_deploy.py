"""Deploy Fabrica to ape's local network (anvil through ape-foundry), for console/script work.

    bash scripts/ape-setup.sh   # with SOLCX_BINARY_PATH=.cache/solcx exported (the Makefile does)
    ape run ape_deploy [--network ethereum:local:foundry]

The SDK's `fabrica devnet up` (protocol/deploy.py) is the supported deployment path;
this mirrors it with ape's accounts and contract containers, with the same default parameters.
"""

from __future__ import annotations

from ape import accounts, project
from fabrica.protocol.deploy import MarketParams


def main() -> None:
    deployer = accounts.test_accounts[0]
    params = MarketParams()
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
        (
            params.fee_bps,
            params.max_royalty_bps,
            params.dispute_bond_bps,
            params.review_window,
            params.min_delivery_window,
            params.min_collateral,
        ),
    )
    if market.address != predicted_market:
        raise RuntimeError(
            f"market deployed at {market.address}, registry expects {predicted_market}"
        )
    market.setTokenAllowed(fusd, True, sender=deployer)
    assert registry.market() == market.address
    for name, contract in (
        ("FabToken", fab),
        ("TestStablecoin", fusd),
        ("DesignNFT", designs),
        ("NodeRegistry", registry),
        ("JobMarket", market),
    ):
        print(f"{name:15} {contract.address}")
