"""`ape compile` builds contracts/src with the same compiler and settings as forge.

Runs in a temporary copy of the project (ape-config.yaml + contracts/src, node_modules linked) with
its own APE_DATA_FOLDER and py-solc-x folder (made by scripts/ape-setup.sh), so it never touches the
developer's .build/, ~/.ape or .cache/solcx. Forge builds contracts/src into a temporary out/ at the
same time. Expected: the five deployable contracts, compiled by the solc-js adapter's version, with
ABIs identical to forge's and runtime bytecode identical up to the CBOR metadata trailer (ape-solidity
appends metadata; foundry.toml turns it off).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APE = Path(sys.executable).with_name("ape")
ADAPTER = ROOT / "bin" / "solc"
FORGE = ROOT / "node_modules" / ".bin" / "forge"
CONTRACTS = {  # contract name -> file in contracts/src
    "FabToken": "FabToken.sol",
    "NodeRegistry": "NodeRegistry.sol",
    "JobMarket": "JobMarket.sol",
    "DesignNFT": "DesignNFT.sol",
    "TestStablecoin": "devnet/TestStablecoin.sol",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not APE.exists(), reason="ape is not installed in this environment"),
    pytest.mark.skipif(
        not (FORGE.exists() and (ROOT / "node_modules" / "@openzeppelin").is_dir()),
        reason="npm toolchain missing (run `make install`)",
    ),
]


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The adapter and npm's forge/anvil first; .venv/bin's solc-select shim must never be found.
    env["PATH"] = os.pathsep.join(
        [str(ROOT / "bin"), str(ROOT / "node_modules" / ".bin"), env.get("PATH", "")]
    )
    env["APE_DATA_FOLDER"] = str(tmp / "ape-data")
    env["SOLCX_BINARY_PATH"] = str(tmp / "solcx")
    env["FOUNDRY_OUT"] = str(tmp / "forge-out")
    env["FOUNDRY_CACHE_PATH"] = str(tmp / "forge-cache")
    env["FOUNDRY_LINT_LINT_ON_BUILD"] = "false"
    env.pop("VIRTUAL_ENV", None)
    # ape compiles in place (no isolated copy) when the project already lies in the temp dir; give
    # it a temp dir of its own so it behaves as in a real checkout.
    (tmp / "tmpdir").mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp / "tmpdir")
    return env


def _split_metadata(code: str) -> tuple[str, bytes]:
    """Split solc output into code and its metadata trailer: 0xfe, CBOR, CBOR length (2 bytes)."""
    raw = bytes.fromhex(code.removeprefix("0x"))
    cut = len(raw) - int.from_bytes(raw[-2:], "big") - 3
    return raw[:cut].hex(), raw[cut:]


def _canonical_abi(abi: list[dict]) -> list[str]:
    return sorted(json.dumps(entry, sort_keys=True) for entry in abi)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, Path]:
    tmp = tmp_path_factory.mktemp("ape-compile")
    project = tmp / "project"
    (project / "contracts").mkdir(parents=True)
    shutil.copy2(ROOT / "ape-config.yaml", project / "ape-config.yaml")
    shutil.copytree(ROOT / "contracts" / "src", project / "contracts" / "src")
    (project / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    env = _env(tmp)

    setup = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ape-setup.sh")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr

    forge = subprocess.Popen(
        [str(FORGE), "build", "--skip", "./test/**", "./script/**"],
        cwd=ROOT / "contracts",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ape = subprocess.run(
            [str(APE), "compile"],
            check=False,
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        forge_log, _ = forge.communicate(timeout=300)
    finally:
        if forge.poll() is None:
            forge.kill()
    assert ape.returncode == 0, f"ape compile failed:\n{ape.stdout}\n{ape.stderr}"
    assert forge.returncode == 0, f"forge build failed:\n{forge_log}"

    manifest = json.loads((project / ".build" / "__local__.json").read_text())
    return manifest, project, tmp / "forge-out"


def test_ape_uses_the_adapter_and_keeps_sources_clean(builds: tuple[dict, Path, Path]) -> None:
    manifest, project, _ = builds
    adapter_version = (
        subprocess.run([str(ADAPTER), "--version"], capture_output=True, text=True, check=True)
        .stdout.split("Version: ")[1]
        .split(".Emscripten")[0]
        .strip()
    )
    versions = {c["version"] for c in manifest["compilers"] if c["name"] == "solidity"}
    assert versions == {adapter_version}, versions
    settings = manifest["compilers"][0]["settings"]
    assert settings["optimizer"] == {"enabled": True, "runs": 1_000_000}
    assert settings["evmVersion"] == "cancun"
    # ape-solidity unpacks OpenZeppelin into <contracts_folder>/.cache, which must happen only in its
    # isolated temp copy: forge compiles hidden folders under src/ too, so the copies would become
    # project sources (and Slither findings).
    assert not (project / "contracts" / "src" / ".cache").exists()


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_contract_type_matches_forge(builds: tuple[dict, Path, Path], name: str) -> None:
    manifest, _, forge_out = builds
    contract_type = manifest["contractTypes"].get(name)
    assert contract_type is not None, f"{name} missing; have {sorted(manifest['contractTypes'])}"
    artifact = json.loads((forge_out / Path(CONTRACTS[name]).name / f"{name}.json").read_text())

    assert _canonical_abi(contract_type["abi"]) == _canonical_abi(artifact["abi"])
    code, trailer = _split_metadata(contract_type["runtimeBytecode"]["bytecode"])
    assert trailer[:1] == b"\xfe" and trailer[1:2] == b"\xa2", (
        trailer.hex()
    )  # INVALID, then a CBOR map
    assert code == artifact["deployedBytecode"]["object"].removeprefix("0x")
