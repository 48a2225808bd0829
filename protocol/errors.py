"""The root of every error the Fabrica SDK raises, with builtin mixins so callers can catch either."""
from __future__ import annotations


class FabricaError(Exception):
    """Root of all Fabrica SDK errors; messages say what to do next."""


class FabricaValueError(FabricaError, ValueError):
    """Bad input: names the field and the rule it broke."""


class FabricaLookupError(FabricaError, LookupError):
    """Something asked for does not exist (no deployment, unknown job, missing content)."""


class FabricaTimeoutError(FabricaError, TimeoutError):
    """A chain or network operation did not finish in time."""


class FabricaConnectionError(FabricaError, ConnectionError):
    """A node, RPC endpoint or content backend could not be reached."""
