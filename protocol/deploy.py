"""Deploy the Fabrica contracts to any EVM chain over RPC, from the generated artifacts."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import rlp
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from .artifacts import load
from .deployment import Deployment
from .errors import FabricaError


@dataclass(frozen=True)
class MarketParams:
    """JobMarket and NodeRegistry parameters a deployment starts with (governance may change them)."""

    fee_bps: int = 250
    max_royalty_bps: int = 2_000
    dispute_bond_bps: int = 1_000
    review_window: int = 3 * 86_400
    min_delivery_window: int = 600
    min_collateral: int = 10 * 10**18
    min_stake: int = 1_000 * 10**18
    unbond_delay: int = 7 * 86_400


def create_address(sender: str, nonce: int) -> str:
    """The address CREATE gives the contract `sender` deploys with `nonce`."""
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


class Deployer:
    """Sends deployment and set-up transactions from one account, nonce by nonce."""

    def __init__(self, w3: Web3, account: LocalAccount, progress: Callable[[str], None] | None = None) -> None:
        self.w3 = w3
        self.account = account
        self.chain_id = w3.eth.chain_id
        self.nonce = w3.eth.get_transaction_count(account.address, "pending")
        self.progress = progress or (lambda _msg: None)

    def _transact(self, tx: dict) -> dict:
        tx = {**tx, "from": self.account.address, "nonce": self.nonce, "chainId": self.chain_id}
        tx.setdefault("gas", int(self.w3.eth.estimate_gas(tx) * 1.2))
        base = self.w3.eth.get_block("latest").get("baseFeePerGas", 0)
        tx.setdefault("maxPriorityFeePerGas", 10**9)
        tx.setdefault("maxFeePerGas", 2 * base + 10**9)
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self.nonce += 1
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.05)
        if receipt["status"] != 1:
            raise FabricaError(f"deployment transaction {tx_hash.hex()} reverted")
        return receipt

    def deploy(self, name: str, *args) -> str:
        """Deploy contract `name` with constructor `args`; returns its address."""
        art = load(name)
        contract = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        tx = contract.constructor(*args).build_transaction({"from": self.account.address, "nonce": self.nonce})
        receipt = self._transact({"data": tx["data"]})
        self.progress(f"deployed {name} at {receipt['contractAddress']} (gas {receipt['gasUsed']})")
        return receipt["contractAddress"]

    def call(self, name: str, address: str, fn: str, *args) -> dict:
        """Send one transaction to a deployed contract."""
        contract = self.w3.eth.contract(address=address, abi=load(name)["abi"])
        tx = getattr(contract.functions, fn)(*args).build_transaction(
            {"from": self.account.address, "nonce": self.nonce}
        )
        return self._transact({"to": address, "data": tx["data"]})


def deploy_protocol(
    w3: Web3,
    deployer: LocalAccount,
    *,
    treasury: str,
    arbiter: str,
    owner: str | None = None,
    params: MarketParams = MarketParams(),
    fab_supply: int = 1_000_000_000 * 10**18,
    test_stablecoin: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Deployment:
    """Deploy FabToken, DesignNFT, NodeRegistry and JobMarket (and fUSD on devnets); returns the manifest."""
    d = Deployer(w3, deployer, progress)
    owner = to_checksum_address(owner or deployer.address)
    start_block = w3.eth.block_number
    fab = d.deploy("FabToken", deployer.address, fab_supply)
    tokens: dict[str, str] = {}
    if test_stablecoin:
        tokens["fUSD"] = d.deploy("TestStablecoin", deployer.address)
    designs = d.deploy("DesignNFT")
    # Registry and market reference each other immutably: the market is the next contract deployed.
    predicted_market = create_address(deployer.address, d.nonce + 1)
    registry = d.deploy("NodeRegistry", deployer.address, fab, predicted_market, params.min_stake, params.unbond_delay)
    market = d.deploy(
        "JobMarket", deployer.address, registry, designs, to_checksum_address(treasury), to_checksum_address(arbiter),
        (params.fee_bps, params.max_royalty_bps, params.dispute_bond_bps, params.review_window,
         params.min_delivery_window, params.min_collateral),
    )
    if market != predicted_market:
        raise FabricaError(f"market deployed at {market}, registry expects {predicted_market}")
    for address in tokens.values():
        d.call("JobMarket", market, "setTokenAllowed", address, True)
    if owner != deployer.address:
        # Ownable2Step: the new owner (e.g. a Timelock) must call acceptOwnership.
        d.call("JobMarket", market, "transferOwnership", owner)
        d.call("NodeRegistry", registry, "transferOwnership", owner)
    return Deployment(
        chain_id=d.chain_id,
        deployed_block=start_block,
        owner=owner,
        treasury=treasury,
        arbiter=arbiter,
        contracts={"FabToken": fab, "DesignNFT": designs, "NodeRegistry": registry, "JobMarket": market},
        payment_tokens=tokens,
    )


def fund_dev_accounts(w3: Web3, deployer: LocalAccount, deployment: Deployment, accounts: list[str],
                      fab_each: int = 100_000 * 10**18, usd_each: int = 100_000 * 10**6) -> None:
    """Give each dev account FAB (for staking) and fUSD (for paying jobs)."""
    d = Deployer(w3, deployer)
    for account in accounts:
        if account == deployer.address:
            continue
        d.call("FabToken", deployment.address("FabToken"), "transfer", account, fab_each)
        if "fUSD" in deployment.payment_tokens:
            d.call("TestStablecoin", deployment.payment_tokens["fUSD"], "mint", account, usd_each)
