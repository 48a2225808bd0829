"""Deploy the Fabrica contracts to any EVM chain over RPC, from the generated artifacts."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import rlp
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from .artifacts import load
from .deployment import Deployment, GovernanceSettings, TokenTerms
from .errors import FabricaError, FabricaValueError
from .gas import gas_limit

MINUTE = 60
HOUR = 3_600
DAY = 86_400
FAB = 10**18


@dataclass(frozen=True)
class MarketParams:
    """JobMarket and NodeRegistry parameters a deployment starts with (governance may change them).

    The defaults are the production values; each must lie within the bounds of the constants in
    contracts/src/market/MarketCore.sol (the market's constructor refuses others with ParameterOutOfBounds).

    - review_window 3 days: a customer who receives a part on a Friday can still inspect it after the weekend.
    - min_delivery_window 1 hour (the contract's floor): the customer chooses each job's window above it.
    - hand_back_window 1 hour: long enough to notice a job the shop cannot make (material, queue) and give it
      back for free, short enough that a job is not parked out of other shops' reach.
    - hand_back_penalty_bps 10 %: a late hand-back costs the shop a little, so claiming speculatively does not pay.
    - expiry_slash_bps 50 %: a missed delivery costs half the collateral, which is what makes a claim a promise.
    - compensation_bps 50 % (the contract's cap): the customer gets half of every slash for the delay, the
      treasury the rest, so a customer never profits from a shop's failure more than it is delayed by it.
    - dispute_window 7 days: the arbiter gets a working week to look at a disputed part.
    - appeal_window 3 days: either side gets a few days to appeal a ruling.
    - court_window 14 days: the appeal court is the DAO, so it must fit a whole proposal (1 day's voting
      delay, 5 days of voting, up to 1 day of late-quorum extension, the 2-day timelock) with days to spare.
    - arbiter_fee_bps 20 %: a lost appeal bond pays a fifth to the arbiter whose ruling stood, the rest to the
      treasury (never to the other side, so an appeal is never a payment between the parties).
    - min_stake 1000 FAB and unbond_delay 7 days (NodeRegistry): unbonding stake stays slashable for a week.
    """

    fee_bps: int = 250
    max_royalty_bps: int = 2_000
    dispute_bond_bps: int = 1_000
    review_window: int = 3 * DAY
    min_delivery_window: int = HOUR
    min_collateral: int = 10 * FAB
    hand_back_window: int = HOUR
    hand_back_penalty_bps: int = 1_000
    expiry_slash_bps: int = 5_000
    compensation_bps: int = 5_000
    dispute_window: int = 7 * DAY
    appeal_window: int = 3 * DAY
    court_window: int = 14 * DAY
    arbiter_fee_bps: int = 2_000
    min_stake: int = 1_000 * FAB
    unbond_delay: int = 7 * DAY

    @classmethod
    def production(cls) -> MarketParams:
        """The production defaults (see the class docstring for the reason behind each)."""
        return cls()

    @classmethod
    def devnet(cls) -> MarketParams:
        """Every window at the shortest the contracts allow, so a demo or a test moves the clock as little as
        possible: review, delivery and hand-back windows of 1 h, 1 h and 10 min, disputes and appeals of 1 day,
        unbonding of 1 day. Amounts (fee, collateral, stake) stay as in production."""
        return cls(review_window=HOUR, min_delivery_window=HOUR, hand_back_window=10 * MINUTE,
                   dispute_window=DAY, appeal_window=DAY, court_window=DAY, unbond_delay=DAY)

    def market_tuple(self) -> tuple:
        """The JobMarket `Params` struct (IJobMarketTypes.Params) as the tuple web3 encodes."""
        return (self.fee_bps, self.max_royalty_bps, self.dispute_bond_bps, self.review_window,
                self.min_delivery_window, self.min_collateral, self.hand_back_window, self.hand_back_penalty_bps,
                self.expiry_slash_bps, self.compensation_bps, self.dispute_window, self.appeal_window,
                self.court_window, self.arbiter_fee_bps)


def usd_terms(decimals: int) -> TokenTerms:
    """Collateral terms for a dollar stablecoin with `decimals`: at least 0.01 FAB and at most 10 FAB per dollar.

    With the 10 FAB minimum collateral, jobs up to 1000 dollars ask for the minimum by default; a customer may
    ask a shop to put up to ten times the price (in FAB) at stake, never more (no baiting shops into locking
    more than a job is worth).
    """
    return TokenTerms.per_unit(decimals, "0.01", 10)


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
        tx.setdefault("gas", gas_limit(self.w3.eth.estimate_gas(tx)))
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
    treasury: str | None = None,
    arbiter: str | None = None,
    appeal_court: str | None = None,
    owner: str | None = None,
    params: MarketParams = MarketParams(),
    governance: GovernanceSettings | None = None,
    arbiters: tuple[str, ...] = (),
    guardian: str | None = None,
    treasury_fab: int = 0,
    score_validators: tuple[str, ...] = (),
    fab_supply: int = 1_000_000_000 * 10**18,
    test_stablecoin: bool = False,
    payment_tokens: dict[str, tuple[str, TokenTerms]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Deployment:
    """Deploy FabToken, DesignNFT, NodeRegistry and JobMarket (and fUSD on devnets); returns the manifest.

    With `governance`, the DAO is deployed too and takes everything over: FabTimelock (treasury, appeal court
    and owner of every contract), FabGovernor (its only proposer), an ArbiterPanel of `arbiters` (the
    market's arbiter) and a ManifestRegistry; `treasury_fab` FAB go to the treasury, and the deployer ends
    holding no role at all. Without it, `owner` (default: the deployer) governs, and `treasury`, `arbiter`
    and `appeal_court` are accounts (the shape tests of the market alone use).

    `payment_tokens` maps symbols of existing ERC-20s to (address, terms); with `test_stablecoin` a fresh
    fUSD (6 decimals, `usd_terms`) is added.
    """
    if governance is not None:
        cycle = governance.voting_delay + governance.voting_period + governance.vote_extension \
            + governance.timelock_delay
        if params.court_window <= cycle:
            # The DAO is the appeal court: a ruling it cannot pass inside the court window would never be made.
            raise FabricaValueError(
                f"court_window {params.court_window} s is not longer than a whole proposal ({cycle} s: voting "
                "delay, voting period, late-quorum extension and timelock delay); the DAO could never rule in time")
    d = Deployer(w3, deployer, progress)
    me = deployer.address
    start_block = w3.eth.block_number
    fab = d.deploy("FabToken", me, fab_supply)
    tokens: dict[str, tuple[str, TokenTerms]] = {
        symbol: (to_checksum_address(address), terms) for symbol, (address, terms) in (payment_tokens or {}).items()
    }
    if test_stablecoin:
        tokens["fUSD"] = (d.deploy("TestStablecoin", me), usd_terms(6))
    designs = d.deploy("DesignNFT", me)
    contracts = {"FabToken": fab, "DesignNFT": designs}
    if governance is not None:
        # A temporary zero delay and the deployer as proposer let one batch accept every ownership; the batch
        # itself then sets the real delay, and the deployer renounces its roles below.
        timelock = d.deploy("FabTimelock", 0, [me], [me], me)
        # The panel is deployed before the market it serves (the market is the fifth contract from here).
        panel = d.deploy("ArbiterPanel", timelock, create_address(me, d.nonce + 4),
                         [to_checksum_address(a) for a in arbiters])
        treasury, arbiter, appeal_court, owner = timelock, panel, timelock, timelock
        contracts |= {"FabTimelock": timelock, "ArbiterPanel": panel}
    if treasury is None or arbiter is None or appeal_court is None:
        raise FabricaError("deploy_protocol needs governance settings, or a treasury, arbiter and appeal court")
    owner = to_checksum_address(owner or me)
    # Registry, licences, module and market reference each other immutably: the market comes three deployments
    # later. The market asks the licences contract what a job owes for its design (a licence or the royalty).
    predicted_market = create_address(me, d.nonce + 3)
    registry = d.deploy("NodeRegistry", me, fab, predicted_market, params.min_stake, params.unbond_delay)
    licences = d.deploy("FabricationLicences", me, designs, predicted_market, to_checksum_address(treasury),
                        params.fee_bps)
    module = d.deploy("JobMarketModule", predicted_market, registry, licences)
    market = d.deploy(
        "JobMarket", me, registry, licences, module, to_checksum_address(treasury),
        to_checksum_address(arbiter), to_checksum_address(appeal_court), params.market_tuple(),
    )
    if market != predicted_market:
        raise FabricaError(f"market deployed at {market}, registry expects {predicted_market}")
    contracts |= {"NodeRegistry": registry, "FabricationLicences": licences, "JobMarketModule": module,
                  "JobMarket": market}
    contracts |= _deploy_design_economy(d, contracts, to_checksum_address(treasury), params.fee_bps,
                                        [address for address, _terms in tokens.values()], guardian,
                                        score_validators)
    for address, terms in tokens.values():
        d.call("JobMarket", market, "setTokenTerms", address, terms.to_abi())
    if governance is not None:
        contracts |= _install_dao(d, governance, contracts, guardian)
        if treasury_fab:
            d.call("FabToken", fab, "transfer", contracts["FabTimelock"], treasury_fab)
    elif owner != me:
        # Ownable2Step contracts: the new owner (e.g. a Timelock) must call acceptOwnership.
        for name in (n for n in OWNED if n in contracts):
            d.call(name, contracts[name], "transferOwnership", owner)
    return Deployment(
        chain_id=d.chain_id,
        deployed_block=start_block,
        owner=owner,
        treasury=treasury,
        arbiter=arbiter,
        appeal_court=appeal_court,
        contracts=contracts,
        payment_tokens={symbol: address for symbol, (address, _terms) in tokens.items()},
        token_terms={symbol: terms for symbol, (_address, terms) in tokens.items()},
        governance=governance,
    )


TIMELOCK_ROLES = ("DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE")
# Every contract the deployer sets up and then hands to the owner (the DAO's timelock).
OWNED = ("JobMarket", "NodeRegistry", "DesignNFT", "FabricationLicences", "DesignMarket", "BountyBoard",
         "ValidatorScoreEvaluator")


def _deploy_design_economy(d: Deployer, contracts: dict[str, str], treasury: str, fee_bps: int,
                           currencies: list[str], moderator: str | None,
                           score_validators: tuple[str, ...]) -> dict[str, str]:
    """Deploy the design market and the bounty board (with a validator-score evaluator when validators are
    named); allow the payment tokens."""
    me, designs, licences = d.account.address, contracts["DesignNFT"], contracts["FabricationLicences"]
    market = d.deploy("DesignMarket", me, designs, licences, treasury, fee_bps)
    board = d.deploy("BountyBoard", me, designs)
    out = {"DesignMarket": market, "BountyBoard": board}
    if score_validators:
        # Bounties may name it as their judge: a majority of these EVM keys of subnet validators signs a score.
        validators = [to_checksum_address(v) for v in score_validators]
        out["ValidatorScoreEvaluator"] = d.deploy("ValidatorScoreEvaluator", me, board, validators,
                                                  len(validators) // 2 + 1)
    d.call("DesignNFT", designs, "setLicences", licences)  # marks designs whose licences were sold
    d.call("DesignNFT", designs, "setMinter", board, True)  # winners of bounties are minted by the board
    if moderator:
        d.call("DesignNFT", designs, "setModerator", to_checksum_address(moderator))
    for token in currencies:
        d.call("DesignMarket", market, "setCurrency", token, True)
        d.call("FabricationLicences", licences, "setCurrency", token, True)
        d.call("BountyBoard", board, "setToken", token, True)
    return out


def _needs_accept(name: str) -> bool:
    """True for Ownable2Step contracts (the new owner accepts), False for one-step Ownable ones."""
    return any(e.get("name") == "acceptOwnership" for e in load(name)["abi"])


def _install_dao(d: Deployer, settings: GovernanceSettings, contracts: dict[str, str],
                 guardian: str | None) -> dict[str, str]:
    """Deploy the governor and manifest registry, hand every contract to the timelock, renounce the deployer."""
    me, timelock, market, registry = d.account.address, contracts["FabTimelock"], contracts["JobMarket"], \
        contracts["NodeRegistry"]
    manifests = d.deploy("ManifestRegistry", timelock)
    governor = d.deploy("FabGovernor", contracts["FabToken"], registry, timelock, market, settings.to_abi())
    tl = d.w3.eth.contract(address=timelock, abi=load("FabTimelock")["abi"])
    role = {name: getattr(tl.functions, name)().call() for name in TIMELOCK_ROLES}
    for name in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        d.call("FabTimelock", timelock, "grantRole", role[name], governor)
    # Anyone may execute what the DAO passed and the delay let through (the zero address is OZ's "open role").
    d.call("FabTimelock", timelock, "grantRole", role["EXECUTOR_ROLE"], "0x" + "00" * 20)
    batch = []
    for name in (n for n in OWNED if n in contracts):
        d.call(name, contracts[name], "transferOwnership", timelock)
        if _needs_accept(name):
            batch.append((contracts[name], _calldata(name, "acceptOwnership")))
    if guardian:
        batch.append((market, _calldata("JobMarket", "setGuardian", to_checksum_address(guardian))))
    batch.append((timelock, _calldata("FabTimelock", "updateDelay", settings.timelock_delay)))
    targets, datas = [t for t, _ in batch], [c for _, c in batch]
    values, zero = [0] * len(batch), b"\x00" * 32
    d.call("FabTimelock", timelock, "scheduleBatch", targets, values, datas, zero, zero, 0)
    d.call("FabTimelock", timelock, "executeBatch", targets, values, datas, zero, zero)
    for name in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE", "DEFAULT_ADMIN_ROLE"):
        d.call("FabTimelock", timelock, "renounceRole", role[name], me)
    d.progress(f"governance handed to the timelock {timelock}; the deployer holds no role")
    return {"FabGovernor": governor, "ManifestRegistry": manifests}


def _calldata(name: str, fn: str, *args) -> bytes:
    """ABI-encoded call of `fn` on contract `name`."""
    contract = Web3().eth.contract(abi=load(name)["abi"])
    return bytes.fromhex(contract.encode_abi(fn, args=list(args))[2:])


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
