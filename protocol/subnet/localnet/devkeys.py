"""Deterministic dev wallets for the local stand-in: ``//Alice``-style keys, no key files needed.

``dev_wallet("alice")`` has the hotkey ``//Alice`` (what ``fabrica miner serve --dev alice`` and
``fabrica validator run --dev alice`` sign with) and the coldkey ``//Alice//coldkey`` (sr25519, the
substrate dev-chain derivation), so a test or the README can register a validator and miners by
name. They are public knowledge: never use them on finney or testnet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bittensor.sp_core import Keypair

from fabrica.protocol.errors import FabricaValueError

DEV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
DEV_NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
"""The substrate dev accounts a user may name on the command line (``--dev``); a typo must not mint a new key."""


@dataclass(frozen=True)
class DevWallet:
    """A bittensor wallet-shaped object (coldkey, coldkeypub, hotkey, hotkeypub) built from dev URIs."""

    name: str
    coldkey: Keypair
    hotkey: Keypair

    @property
    def coldkeypub(self) -> Keypair:
        return self.coldkey

    @property
    def hotkeypub(self) -> Keypair:
        return self.hotkey

    def __repr__(self) -> str:
        return f"DevWallet({self.name!r}, coldkey={self.coldkey.ss58_address}, hotkey={self.hotkey.ss58_address})"


def known_dev_name(name: str) -> str:
    """``name`` lower-cased if it is one of :data:`DEV_NAMES` (``Bob`` and ``//Bob`` too); else an error listing them."""
    key = (name or "").strip().removeprefix("//").lower()
    if key not in DEV_NAMES:
        raise FabricaValueError(f"--dev {name!r} is not a dev wallet: use one of {', '.join(DEV_NAMES)} "
                                "(or --wallet NAME --hotkey NAME for a real wallet)")
    return key


def dev_wallet(name: str) -> DevWallet:
    """The dev wallet called ``name`` (``alice`` or ``//Alice``): hotkey ``//Alice``, coldkey ``//Alice//coldkey``."""
    name = (name or "").removeprefix("//")
    if not DEV_NAME.match(name):
        raise FabricaValueError(f"dev wallet name {name!r} must be a letter followed by up to 31 letters, digits, - or _")
    uri = "//" + name[:1].upper() + name[1:]
    return DevWallet(
        name=name,
        coldkey=Keypair.create_from_uri(uri + "//coldkey"),
        hotkey=Keypair.create_from_uri(uri),
    )
