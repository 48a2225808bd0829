"""Errors of the node client's machine layer; all derive from FabricaError."""
from __future__ import annotations

from fabrica.protocol.errors import FabricaError


class NodeClientError(FabricaError):
    """Root of every node-client error; messages say what to do next."""


class NodeConfigError(NodeClientError, ValueError):
    """Bad option or input (names the field and the rule)."""


class TransportError(NodeClientError, ConnectionError):
    """The serial device could not be opened, read or written."""


class FirmwareHaltedError(NodeClientError):
    """The firmware reported a fatal error (kill, thermal runaway, `!!`) or an emergency stop was sent."""


class FirmwareTimeoutError(NodeClientError, TimeoutError):
    """The firmware stopped answering and recovery (probe, resend) did not bring it back."""


class ProtocolError(NodeClientError):
    """The firmware asked for something the host cannot honour (e.g. a resend of a line no longer kept)."""
