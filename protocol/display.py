"""Values as people read them in messages: token amounts in units, times as dates, durations in days."""
from __future__ import annotations

from datetime import UTC, datetime

from .types import format_units

FAB_DECIMALS = 18


def format_amount(value: int, decimals: int, symbol: str) -> str:
    """12500000 with 6 decimals and 'fUSD' -> '12.5 fUSD'."""
    return f"{format_units(value, decimals)} {symbol}"


def format_fab(value: int) -> str:
    """A FAB amount in base units -> '1000 FAB'."""
    return format_amount(value, FAB_DECIMALS, "FAB")


def format_time(timestamp: int) -> str:
    """A Unix time -> '2025-03-01 12:00:00 UTC' (chain clocks are UTC)."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):  # far outside the calendar: show what the chain holds
        return f"time {timestamp}"


def format_duration(seconds: int) -> str:
    """3 * 86400 + 7200 -> '3d 2h'; under a minute -> '45s'."""
    if seconds < 60:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if seconds:
        parts.append(f"{seconds}s")
    return " ".join(parts)
