"""Contract ABIs and bytecode generated from `forge build` (scripts/gen_artifacts.py); loaded, never hand-written."""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ..errors import FabricaLookupError

CONTRACT_NAMES = ("FabToken", "NodeRegistry", "JobMarket", "JobMarketModule", "DesignNFT", "TestStablecoin", "FabGovernor",
                  "FabTimelock", "ArbiterPanel", "ManifestRegistry", "FabricationLicences", "DesignMarket",
                  "BountyBoard", "RoyaltySplit", "ValidatorScoreEvaluator")


@cache
def load(name: str) -> dict[str, Any]:
    """Return the artifact (abi, bytecode) of contract `name`."""
    if name not in CONTRACT_NAMES:
        raise FabricaLookupError(f"no artifact for contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    text = resources.files(__name__).joinpath(f"{name}.json").read_text()
    return json.loads(text)


def abi(name: str) -> list[dict[str, Any]]:
    """Return the ABI of contract `name`."""
    return load(name)["abi"]


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter, tuples expanded: what selectors and topics hash."""
    if param["type"].startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]
