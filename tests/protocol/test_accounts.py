"""Accounts: dev roles match anvil's funded keys; keystores round-trip through the CLI and the SDK."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fabrica.protocol.accounts import DEV_ROLES, dev_account, load_keystore, resolve_account
from fabrica.protocol.cli.main import app
from fabrica.protocol.errors import FabricaValueError


def test_dev_roles_are_anvils_well_known_accounts() -> None:
    # anvil's first default account, as printed by `anvil` on start.
    assert dev_account(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert resolve_account("customer").address == dev_account(DEV_ROLES["customer"]).address
    assert resolve_account("4").address == dev_account(4).address
    with pytest.raises(FabricaValueError, match=r"funds 12 dev accounts, 0\.\.11"):
        dev_account(12)


def test_account_new_writes_a_keystore_the_sdk_can_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shop.json"
    monkeypatch.setenv("FABRICA_PASSWORD", "correct horse")
    result = CliRunner().invoke(app, ["account", "new", str(path), "--json"])
    assert result.exit_code == 0, result.output
    address = json.loads(result.output)["address"]
    assert json.loads(path.read_text())["version"] == 3  # Web3 secret storage
    assert path.stat().st_mode & 0o777 == 0o600
    assert resolve_account(str(path)).address == address
    assert load_keystore(path, "correct horse").address == address

    # The same command never overwrites a key.
    again = CliRunner().invoke(app, ["account", "new", str(path)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert resolve_account(str(path)).address == address


def test_keystore_wrong_or_missing_password_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.json"
    monkeypatch.setenv("FABRICA_PASSWORD", "right password")
    assert CliRunner().invoke(app, ["account", "new", str(path)]).exit_code == 0
    with pytest.raises(FabricaValueError, match="wrong password"):
        load_keystore(path, "not it")
    monkeypatch.delenv("FABRICA_PASSWORD")
    with pytest.raises(FabricaValueError, match="FABRICA_PASSWORD"):
        load_keystore(path)
    with pytest.raises(FabricaValueError, match="neither a dev role"):
        resolve_account(str(tmp_path / "missing.json"))
