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
DEV_ROLES = {"deployer": 0, "guardian": 1, "arbiter": 2, "customer": 3, "shop": 4, "designer": 5, "collector": 8,
             "sponsor": 9, "validator": 10}
# How many dev accounts the devnet's anvil creates and funds (ETH, FAB, fUSD): indexes 0..DEV_ACCOUNTS-1.
DEV_ACCOUNTS = 12

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int) -> LocalAccount:
    """The devnet's dev account number `index` (same keys anvil funds)."""
    if not 0 <= index < DEV_ACCOUNTS:
        raise FabricaValueError(
            f"dev account {index} does not exist: the devnet funds {DEV_ACCOUNTS} dev accounts, "
            f"0..{DEV_ACCOUNTS - 1} (or a role: {', '.join(DEV_ROLES)}); for another account pass a keystore file"
        )
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def read_password_file(path: str | Path) -> str:
    """The password held in `path` (its first line, without the line break)."""
    file = Path(path).expanduser()
    try:
        text = file.read_text()
    except IsADirectoryError:
        raise FabricaValueError(f"password file {file} is a folder; name a file that holds the password") from None
    except UnicodeDecodeError:
        raise FabricaValueError(f"password file {file} is not UTF-8 text; its first line must be the password") from None
    except OSError as exc:
        raise FabricaValueError(f"cannot read password file {file}: {exc.strerror or exc}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise FabricaValueError(f"password file {file} is empty or starts with an empty line; "
                                "its first line must be the password")
    return lines[0]


def keystore_password() -> str | None:
    """The keystore password from FABRICA_PASSWORD, or the file FABRICA_PASSWORD_FILE names; None if neither."""
    password = os.environ.get("FABRICA_PASSWORD")
    if password is not None:
        return password
    file = os.environ.get("FABRICA_PASSWORD_FILE")
    return read_password_file(file) if file else None


def load_keystore(path: Path, password: str | None = None) -> LocalAccount:
    """Decrypt an eth-account keystore file; the password comes from the argument or the environment."""
    path = Path(path)
    if path.is_dir():
        raise FabricaValueError(f"account {path} is a folder, expected a keystore file (JSON, from `fabrica account new`)")
    if password is None:
        password = keystore_password()
    if password is None:
        # Never a password on the command line (it would stay in shell history and `ps`).
        raise FabricaValueError(
            f"keystore {path} needs a password: set FABRICA_PASSWORD, or FABRICA_PASSWORD_FILE to a file holding it"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FabricaValueError(f"cannot read keystore {path}: {exc}; expected a keystore file (JSON)") from None
    try:
        key = Account.decrypt(data, password)
    except (ValueError, TypeError, KeyError, AttributeError):
        if not isinstance(data, dict) or "crypto" not in {k.lower() for k in data}:
            raise FabricaValueError(f"{path} is not a keystore file (no 'crypto' section)") from None
        raise FabricaValueError(f"wrong password for keystore {path}") from None
    return Account.from_key(key)


def check_new_keystore(path: Path) -> None:
    """Raise a clear error unless a new keystore can be created at `path` (checked before asking a password)."""
    try:
        path = Path(path)
        is_dir, exists, parent_dir, parent_exists = path.is_dir(), path.exists(), path.parent.is_dir(), path.parent.exists()
    except (ValueError, OSError) as exc:  # an embedded NUL byte, a name too long
        raise FabricaValueError(f"keystore path {str(path)!r} is not a usable file name: {exc}") from None
    if is_dir:
        raise FabricaValueError(f"{path} is a folder; name the keystore file to create in it, e.g. {path / 'shop.json'}")
    if exists:
        raise FabricaValueError(f"{path} already exists; refusing to overwrite a key")
    if not parent_dir:
        what = "is not a folder" if parent_exists else "does not exist"
        raise FabricaValueError(f"folder {path.parent} {what}; create it first (mkdir -p {path.parent}) or pick another path")


def create_keystore(path: Path, password: str) -> LocalAccount:
    """Create a new random account and save it as an encrypted keystore (never overwrites a file)."""
    path = Path(path)
    check_new_keystore(path)
    account = Account.create()
    data = json.dumps(Account.encrypt(account.key, password)).encode()
    try:
        # O_EXCL: refuse an existing file even if it appeared after the caller looked; 0600 from the start.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FabricaValueError(f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise FabricaValueError(f"cannot create keystore {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)  # a half-written keystore holds no usable key
        raise FabricaValueError(f"cannot write keystore {path}: {exc.strerror}") from None
    os.chmod(path, 0o600)  # the umask may have narrowed it further; make it exactly owner read/write
    return account


def resolve_account(spec: str, password: str | None = None) -> LocalAccount:
    """An account from a dev role name, a dev index, or a keystore path."""
    if not spec.strip():
        raise FabricaValueError(
            f"--account is empty; pass a dev role ({', '.join(DEV_ROLES)}), a dev index (0..{DEV_ACCOUNTS - 1}) "
            "or a keystore file"
        )
    if spec in DEV_ROLES:
        return dev_account(DEV_ROLES[spec])
    if spec.isdecimal() and spec.isascii():
        return dev_account(int(spec))
    try:
        path = Path(spec).expanduser()
        exists = path.exists()
    except (ValueError, RuntimeError):  # an embedded NUL byte, or ~user of no such user
        exists = False
    if exists:
        return load_keystore(path, password)
    raise FabricaValueError(
        f"account {spec!r} is neither a dev role ({', '.join(DEV_ROLES)}), a dev index (0..{DEV_ACCOUNTS - 1}), "
        "nor a keystore file"
    )
