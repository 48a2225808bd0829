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
        "(address,address,address,address,uint96,uint96,uint96,uint96,uint16,uint32,uint32,uint40)"
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
    deadline=st.integers(0, 2**40 - 1),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job=jobs, status=st.sampled_from(list(JobStatus)))
def test_commitment_matches_contract_hash_job(base: Fabrica, job: Job, status: JobStatus) -> None:
    on_chain = bytes(base.market.functions.hashJob(job.to_abi(), int(status)).call())
    assert job.commitment(status) == on_chain
    assert on_chain[31] == status
    assert Job.from_abi(job.to_abi()) == job


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
