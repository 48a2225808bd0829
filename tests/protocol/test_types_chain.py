"""Python domain types agree with Solidity: enum ordinals, the Job struct and its commitment hash."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_utils import to_checksum_address
from fabrica.protocol.artifacts import abi
from fabrica.protocol.client import Fabrica
from fabrica.protocol.errors import FabricaValueError
from fabrica.protocol.types import (
    DisputeStage,
    Job,
    JobStatus,
    Material,
    ProcessKind,
    from_units,
    job_abi_type,
    to_units,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
JOB_SOL = REPO / "contracts/src/types/Job.sol"
TYPES_SOL = REPO / "contracts/src/interfaces/IJobMarketTypes.sol"
REGISTRY_SOL = REPO / "contracts/src/NodeRegistry.sol"


def solidity_enum(source: str, name: str) -> list[str]:
    """Member names of `enum name { … }` in declaration order (comments stripped)."""
    body = re.search(r"enum\s+" + name + r"\s*\{(.*?)\}", source, re.DOTALL)
    assert body, f"enum {name} not found"
    text = re.sub(r"//[^\n]*", "", body.group(1))
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return [m.strip() for m in text.split(",") if m.strip()]


def test_job_status_names_and_ordinals_match_solidity() -> None:
    members = solidity_enum(JOB_SOL.read_text(), "JobStatus")
    assert len(members) == len(JobStatus)
    for ordinal, name in enumerate(members):
        assert JobStatus[name.upper()].value == ordinal, (name, ordinal)
    assert [s.name for s in JobStatus] == [m.upper() for m in members]


def test_dispute_stage_names_and_ordinals_match_solidity() -> None:
    members = solidity_enum(TYPES_SOL.read_text(), "DisputeStage")
    snake = [re.sub(r"([A-Z])", r"_\1", m).lstrip("_").upper() for m in members]
    assert snake == [s.name for s in DisputeStage]
    assert [s.value for s in DisputeStage] == list(range(len(members)))


def test_job_status_is_uint8_everywhere_in_the_abi() -> None:
    market = abi("JobMarket")
    status_of = next(e for e in market if e.get("type") == "function" and e["name"] == "statusOf")
    assert status_of["outputs"][0]["type"] == "uint8"
    assert status_of["outputs"][0].get("internalType") in (None, "enum JobStatus")
    wrong = next(e for e in market if e.get("type") == "error" and e["name"] == "JobMarket__WrongStatus")
    assert [i["type"] for i in wrong["inputs"]] == ["uint256", "uint8", "uint8"]
    assert max(JobStatus) < 256


def test_job_struct_field_order_matches_solidity() -> None:
    struct = re.search(r"struct\s+Job\s*\{(.*?)\}", JOB_SOL.read_text(), re.DOTALL).group(1)
    struct = re.sub(r"//[^\n]*", "", struct)
    fields = [line.split()[-1].rstrip(";") for line in struct.split(";") if line.strip()]
    snake = [re.sub(r"([A-Z])", r"_\1", f).lower() for f in fields]
    assert snake == list(Job.model_fields)
    assert job_abi_type() == (
        "(address,address,address,address,uint96,uint96,uint96,uint96,uint16,uint32,uint32,uint40,uint64,uint64)"
    )


def test_flag_widths_match_registry_masks() -> None:
    source = REGISTRY_SOL.read_text()
    process_bits = int(re.search(r"PROCESS_MASK = \(1 << (\d+)\) - 1", source).group(1))
    material_bits = int(re.search(r"MATERIAL_MASK = \(1 << (\d+)\) - 1", source).group(1))
    assert max(p.value for p in ProcessKind).bit_length() == process_bits
    assert max(m.value for m in Material).bit_length() <= material_bits


addresses = st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address(b))
uint96 = st.integers(0, 2**96 - 1)
jobs = st.builds(
    Job, customer=addresses, token=addresses, node=addresses, royalty_receiver=addresses,
    amount=uint96, royalty=uint96, collateral=uint96, bond=uint96, fee_bps=st.integers(0, 10_000),
    delivery_window=st.integers(0, 2**32 - 1), review_window=st.integers(0, 2**32 - 1),
    deadline=st.integers(0, 2**40 - 1), target_node=st.integers(0, 2**64 - 1), key=st.integers(0, 2**64 - 1),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job=jobs, job_id=st.integers(1, 2**48 - 1), status=st.sampled_from(list(JobStatus)))
def test_commitment_matches_contract_hash_job(base: Fabrica, job: Job, job_id: int, status: JobStatus) -> None:
    on_chain = bytes(base.market.functions.hashJob(job_id, job.to_abi(), int(status)).call())
    assert job.commitment(job_id, status) == on_chain
    assert on_chain[31] == status
    assert job.commitment(job_id + 1, status) != on_chain  # the id is part of the hash (slots are recycled)
    assert Job.from_abi(job.to_abi()) == job


@settings(max_examples=50, deadline=None)
@given(job=jobs)
def test_packed_job_round_trips_at_159_bytes(job: Job) -> None:
    packed = job.packed()
    assert len(packed) == 159  # JobLib.pack's width: 4 addresses, 4 uint96, uint16, 2 uint32, uint40, 2 uint64
    assert Job.from_packed(packed) == job
    assert Job.from_event(packed) == Job.from_event(job.to_abi()) == job


def test_packed_job_of_the_wrong_size_is_refused() -> None:
    job = Job(customer="0x" + "11" * 20, token="0x" + "22" * 20, amount=1, collateral=1, fee_bps=0,
              delivery_window=1, review_window=1, deadline=1)
    with pytest.raises(ValueError, match="a packed job is 159 bytes, got 158"):
        Job.from_packed(job.packed()[:-1])


def test_job_posted_event_carries_the_packed_job(chain) -> None:
    """The JobPosted event's `job` is the packed form of the very struct the chain committed to."""
    job_id = chain.post()
    record = chain.base.job(job_id)
    events = chain.base.decode_logs(chain.base.w3.eth.get_logs({
        "address": chain.base.market.address, "fromBlock": record.posted_block, "toBlock": record.posted_block}))
    posted = next(e for e in events if e.name == "JobPosted" and e.args["jobId"] == job_id)
    job = Job.from_event(posted.args["job"])
    assert job.packed() == bytes(posted.args["job"])
    on_chain = bytes(chain.base.market.functions.commitmentAt(job.key).call())
    assert job.commitment(job_id, JobStatus.OPEN) == on_chain


@pytest.mark.parametrize(("text", "decimals", "units"), [("12.5", 6, 12_500_000), ("1500", 18, 1_500 * 10**18),
                                                         ("0", 6, 0), ("0.000001", 6, 1)])
def test_units_round_trip(text: str, decimals: int, units: int) -> None:
    assert to_units(text, decimals) == units
    assert str(from_units(units, decimals)) == text  # plain notation, never 1.5E+3


@pytest.mark.parametrize("bad", ["1.0000001", "-1", "abc"])
def test_to_units_rejects(bad: str) -> None:
    with pytest.raises(FabricaValueError):
        to_units(bad, 6)


def test_wrong_status_error_names_the_statuses() -> None:
    from eth_abi import encode

    from fabrica.protocol import chain_errors

    selector = chain_errors.JobMarket__WrongStatus.selector
    err = chain_errors.decode_revert(selector + encode(["uint256", "uint8", "uint8"], [7, 5, 3]))
    assert isinstance(err, chain_errors.JobMarket__WrongStatus)
    assert err.args_by_name == {"jobId": 7, "actual": 5, "expected": 3}
    assert "actual=SETTLED, expected=DELIVERED" in str(err)


def test_market_params_follow_the_params_struct(base: Fabrica) -> None:
    """MarketParams.market_tuple() is IJobMarketTypes.Params in the ABI's field order."""
    from fabrica.protocol.deploy import MarketParams

    names = [c["name"] for c in next(e for e in abi("JobMarket") if e.get("name") == "params")["outputs"][0]["components"]]
    params = MarketParams.devnet()
    snake = [re.sub(r"([A-Z])", r"_\1", n).lower() for n in names]
    assert [getattr(params, n) for n in snake] == list(params.market_tuple())
    assert base.market_params() == dict(zip(names, params.market_tuple()))


def test_both_presets_are_within_the_markets_bounds(chain) -> None:
    """The market's constructor accepts the production and devnet parameters and refuses one out of bounds
    (simulated with eth_call against a module built for the simulated market; reverted after the test)."""
    from eth_utils import to_checksum_address as checksum
    from fabrica.protocol import chain_errors
    from fabrica.protocol.artifacts import load
    from fabrica.protocol.client import _contract_error
    from fabrica.protocol.deploy import HOUR, MarketParams, create_address
    from web3.exceptions import ContractCustomError, ContractLogicError

    base, deployer = chain.base, chain.deployer
    d = base.deployment
    owner = deployer.address
    # The market checks that its module was built for it: deploy one for the address the simulation creates.
    nonce = base.w3.eth.get_transaction_count(owner)
    simulated = checksum(create_address(owner, nonce + 1))
    mod = load("JobMarketModule")
    tx = base.w3.eth.contract(abi=mod["abi"], bytecode=mod["bytecode"]).constructor(
        simulated, d.address("NodeRegistry"), d.address("FabricationLicences")).build_transaction(
        {"from": owner, "nonce": nonce, "gas": 25_000_000, "chainId": d.chain_id})
    receipt = base.w3.eth.wait_for_transaction_receipt(
        base.w3.eth.send_raw_transaction(deployer.account.sign_transaction(tx).raw_transaction))
    module = receipt["contractAddress"]
    art = load("JobMarket")
    factory = base.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])

    def construct(params: MarketParams) -> None:
        tx = factory.constructor(owner, d.address("NodeRegistry"), d.address("FabricationLicences"), module, d.treasury,
                                 d.arbiter, d.appeal_court, params.market_tuple()).build_transaction(
            {"from": owner, "gas": 25_000_000})
        base.w3.eth.call({"from": owner, "data": tx["data"], "gas": 25_000_000})

    construct(MarketParams.production())
    construct(MarketParams.devnet())
    assert MarketParams.production().review_window == 72 * HOUR and MarketParams.devnet().review_window == HOUR
    with pytest.raises((ContractCustomError, ContractLogicError)) as exc:
        construct(MarketParams(hand_back_window=60))
    err = _contract_error(exc.value)
    assert isinstance(err, chain_errors.JobMarket__ParameterOutOfBounds)
    assert "name='handBackWindow', value=60, min=600" in str(err)


def test_every_market_and_registry_error_says_what_to_do() -> None:
    """Each custom error of the market, its module and the registry has a hint, and every argument shown in units
    or as a date names a real argument of a real error."""
    from fabrica.protocol import chain_errors

    errors = {cls.error_name: cls for cls in chain_errors.REGISTRY.values()}
    ours = [n for n in errors if n.split("__")[0] in ("JobMarket", "JobMarketModule", "NodeRegistry")]
    assert len(ours) > 45
    assert [n for n in ours if not chain_errors.HINTS.get(n)] == []
    for table in (chain_errors.ARG_KINDS, chain_errors.ARG_ENUMS):
        for name, args in table.items():
            assert name in errors, f"{name} is no contract error"
            assert set(args) <= set(errors[name].input_names), (name, args)
    err = chain_errors.make_error("JobMarket__ChangeNotDue", (b"arbiter".ljust(32, b"\0"), 1_800_000_000, 0))
    assert "what='arbiter', effectiveAt=2027-01-15 08:00:00 UTC" in str(err)
