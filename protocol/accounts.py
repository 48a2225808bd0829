"""Accounts that sign transactions: the devnet's well-known dev keys, or encrypted keystores."""
from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from .errors import FabricaValueError

# anvil's default mnemonic; its keys are public and only ever hold devnet funds.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
# Roles the devnet gives its first accounts; names work anywhere an account is asked for.
DEV_ROLES = {"deployer": 0, "treasury": 1, "arbiter": 2, "customer": 3, "shop": 4, "designer": 5}

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int) -> LocalAccount:
    """The devnet's dev account number `index` (same keys anvil funds)."""
    if not 0 <= index < 20:
        raise FabricaValueError(f"dev account index {index} must be 0..19")
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def load_keystore(path: Path, password: str | None = None) -> LocalAccount:
    """Decrypt an eth-account keystore file; the password comes from the argument or FABRICA_PASSWORD."""
    if password is None:
        password = os.environ.get("FABRICA_PASSWORD")
    if password is None:
        raise FabricaValueError(f"keystore {path} needs a password: set FABRICA_PASSWORD or pass --password")
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FabricaValueError(f"cannot read keystore {path}: {exc}") from exc
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise FabricaValueError(f"wrong password for keystore {path}") from None
    return Account.from_key(key)


def create_keystore(path: Path, password: str) -> LocalAccount:
    """Create a new random account and save it as an encrypted keystore."""
    account = Account.create()
    path.write_text(json.dumps(Account.encrypt(account.key, password)))
    os.chmod(path, 0o600)
    return account


def resolve_account(spec: str, password: str | None = None) -> LocalAccount:
    """An account from a dev role name, a dev index, or a keystore path."""
    if spec in DEV_ROLES:
        return dev_account(DEV_ROLES[spec])
    if spec.isdigit():
        return dev_account(int(spec))
    path = Path(spec).expanduser()
    if path.exists():
        return load_keystore(path, password)
    raise FabricaValueError(
        f"account {spec!r} is neither a dev role ({', '.join(DEV_ROLES)}), a dev index, nor a keystore file"
    )
