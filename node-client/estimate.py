"""How long a G-code file takes to run, and whether a job's delivery window leaves room for it.

Two sources, and the larger one wins:

* the slicer's own estimate, from the comment it writes (PrusaSlicer: `; estimated printing time (normal
  mode) = 1h 2m 3s`; Cura: `;TIME:3723`);
* a kinematic estimate: every move's length at its feed rate, plus dwells (`G4`). It ignores acceleration
  and heating, so it is a lower bound of the real time.

Taking the larger one means a G-code file that a customer hand-edited to claim "1m" cannot talk a node into a
job it cannot finish: the moves themselves say how long it takes at least. What the estimate leaves out
(acceleration, heating, changing a part between copies) is what `time_margin` and `min_slack_s` are for.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_FEED_MM_MIN = 1500.0  # what a move without any F word so far is assumed to run at (Marlin's default)
HOMING_S = 10.0  # G28: a conservative time for homing every axis

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_PRUSA_RE = re.compile(r"^;\s*estimated printing time(?:\s*\((normal|silent) mode\))?\s*=\s*(.+?)\s*$",
                       re.IGNORECASE)
_CURA_RE = re.compile(r"^;\s*TIME\s*:\s*(\d+(?:\.\d+)?)\s*$")
_WORD_RE = re.compile(r"([A-Z])\s*([-+]?(?:\d+\.?\d*|\.\d+))")
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


@dataclass(frozen=True)
class TimeEstimate:
    """The time one copy of a G-code file takes, in seconds, and where the figure comes from."""

    seconds: float
    slicer_s: float | None  # what the slicer's comment says, if it wrote one
    kinematic_s: float  # moves and dwells only: a lower bound

    @property
    def source(self) -> str:
        """Which estimate is used: 'slicer' or 'kinematic'."""
        return "slicer" if self.slicer_s is not None and self.slicer_s >= self.kinematic_s else "kinematic"


def parse_duration(text: str) -> float | None:
    """'1d 2h 3m 4s' (PrusaSlicer's way of writing a time) -> seconds; None when it is not such a time."""
    parts = _DURATION_RE.findall(text)
    if not parts or _DURATION_RE.sub("", text).strip():
        return None
    return float(sum(float(value) * _UNITS[unit] for value, unit in parts))


def slicer_estimate(text: str) -> float | None:
    """The print time the slicer wrote into the G-code (normal mode preferred), or None."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith(";"):
            continue
        m = _PRUSA_RE.match(line)
        if m:
            seconds = parse_duration(m.group(2))
            if seconds is not None:
                found.setdefault(m.group(1) or "normal", seconds)
            continue
        m = _CURA_RE.match(line)
        if m:
            found.setdefault("normal", float(m.group(1)))
    return found.get("normal", found.get("silent"))


def kinematic_estimate(text: str) -> float:
    """Seconds the moves of `text` take at their feed rates, plus dwells and homing (no acceleration)."""
    pos = {"X": 0.0, "Y": 0.0, "Z": 0.0, "E": 0.0}
    absolute, absolute_e, scale = True, True, 1.0
    feed = DEFAULT_FEED_MM_MIN
    total = 0.0
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].split("(", 1)[0].strip().upper()
        if not line:
            continue
        words = _WORD_RE.findall(line)
        if not words:
            continue
        if words[0][0] == "N":  # a line number is not the command
            words = words[1:]
            if not words:
                continue
        letter, number = words[0]
        code = f"{letter}{float(number):g}"
        args = {k: float(v) for k, v in words[1:]}
        if "F" in args and args["F"] > 0:
            feed = args["F"] * scale
        if code in ("G0", "G1", "G2", "G3"):
            target = dict(pos)
            for axis in "XYZ":
                if axis in args:
                    target[axis] = args[axis] * scale + (0.0 if absolute else pos[axis])
            if "E" in args:
                target["E"] = args["E"] * scale + (0.0 if absolute_e and absolute else pos["E"])
            if code in ("G2", "G3") and ("I" in args or "J" in args):
                length = _arc_length(pos, target, args.get("I", 0.0) * scale, args.get("J", 0.0) * scale,
                                     clockwise=code == "G2")
            else:
                length = math.dist((pos["X"], pos["Y"], pos["Z"]), (target["X"], target["Y"], target["Z"]))
            if length == 0.0:
                length = abs(target["E"] - pos["E"])  # a retraction or an extrusion in place
            total += length / (feed / 60.0)
            pos = target
        elif code == "G4":
            total += args.get("S", 0.0) + args.get("P", 0.0) / 1000.0
        elif code == "G28":
            total += HOMING_S
            pos.update({"X": 0.0, "Y": 0.0, "Z": 0.0})
        elif code == "G90":
            absolute = True
        elif code == "G91":
            absolute = False
        elif code == "M82":
            absolute_e = True
        elif code == "M83":
            absolute_e = False
        elif code == "G20":
            scale = 25.4
        elif code == "G21":
            scale = 1.0
        elif code == "G92":
            for axis in "XYZE":
                if axis in args:
                    pos[axis] = args[axis] * scale
    return total


def _arc_length(start: dict[str, float], end: dict[str, float], i: float, j: float, *, clockwise: bool) -> float:
    """Length of a G2/G3 arc in the XY plane (centre at start + (I, J)), with any Z travel along it."""
    cx, cy = start["X"] + i, start["Y"] + j
    radius = math.hypot(i, j)
    a0 = math.atan2(start["Y"] - cy, start["X"] - cx)
    a1 = math.atan2(end["Y"] - cy, end["X"] - cx)
    sweep = (a0 - a1) if clockwise else (a1 - a0)
    sweep %= 2 * math.pi
    if sweep == 0.0:
        sweep = 2 * math.pi  # same start and end: a full circle
    return math.hypot(radius * sweep, end["Z"] - start["Z"])


def estimate(text: str) -> TimeEstimate:
    """The time one run of a G-code file takes: the larger of the slicer's figure and the kinematic bound."""
    slicer = slicer_estimate(text)
    kinematic = kinematic_estimate(text)
    return TimeEstimate(max(slicer or 0.0, kinematic), slicer, kinematic)


def required_window(one_copy_s: float, quantity: int, margin: float, slack_s: float) -> float:
    """Seconds of delivery window a job needs: the estimate times the quantity and the margin, plus the slack."""
    return one_copy_s * quantity * margin + slack_s


def format_duration(seconds: float) -> str:
    """3725 -> '1h 2m 5s'; 93784 -> '1d 2h 3m 4s' (whole seconds, largest units first)."""
    left = int(round(seconds))
    parts = []
    for unit, size in _UNITS.items():
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts)


__all__ = ["TimeEstimate", "estimate", "format_duration", "kinematic_estimate", "parse_duration",
           "required_window", "slicer_estimate"]
