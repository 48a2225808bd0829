"""Loaders for schedule tasks: classic JSSP text, Brandimarte FJSP `.fjs`, and JSON `ScheduleTask` files.

Both text formats allow blank lines and `#` comments (to the end of a line). Malformed input raises
`ScheduleFormatError`, whose message names the source and the line.

- JSSP (`n m`, then one line per job with m pairs `machine time`; machines 0-based).
- FJSP `.fjs` (`n m [avg]`, then one line per job: the number of operations, then per operation `k` followed by
  k pairs `machine time`; machines 1-based in the file, 0-based in the task).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from fabrica.protocol.errors import FabricaLookupError, FabricaValueError
from fabrica.protocol.tasks.schedule import (
    DEFAULT_DEADLINE_MS,
    ScheduleSchemaError,
    ScheduleTask,
    parse_task,
)

_INT = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class ScheduleFormatError(FabricaValueError):
    """A JSSP / FJSP text file is malformed; the message names the source and line."""


def _data_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, tokens) for each line that holds data after stripping comments."""
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split("#", 1)[0].split()
        if tokens:
            yield number, tokens


def _ints(source: str, line: int, tokens: list[str], what: str) -> list[int]:
    values = []
    for pos, tok in enumerate(tokens, start=1):
        if not _INT.match(tok):
            raise ScheduleFormatError(f"{source} line {line}: {what}: token {pos} {tok!r} is not an integer")
        values.append(int(tok))
    return values


def _header(source: str, lines: Iterator[tuple[int, list[str]]], allow_avg: bool) -> tuple[int, int]:
    try:
        line, tokens = next(lines)
    except StopIteration:
        raise ScheduleFormatError(f"{source}: empty input, expected a header line `n m`") from None
    expected = "`n m [avg]`" if allow_avg else "`n m`"
    if len(tokens) not in ((2, 3) if allow_avg else (2,)):
        raise ScheduleFormatError(f"{source} line {line}: header must be {expected}, got {len(tokens)} values")
    n, m = _ints(source, line, tokens[:2], f"header {expected}")
    if allow_avg and len(tokens) == 3 and not _NUMBER.match(tokens[2]):
        raise ScheduleFormatError(f"{source} line {line}: header avg {tokens[2]!r} is not a number")
    if n < 1 or m < 1:
        raise ScheduleFormatError(f"{source} line {line}: header needs n >= 1 jobs and m >= 1 machines, got {n} {m}")
    return n, m


def _build(source: str, data: dict) -> ScheduleTask:
    try:
        return parse_task(data)
    except ScheduleSchemaError as exc:
        raise ScheduleFormatError(f"{source}: {exc}") from None


def _job_lines(
    source: str, lines: Iterator[tuple[int, list[str]]], n: int
) -> Iterator[tuple[int, int, list[str]]]:
    """(job index, line number, tokens) for exactly n job lines; errors on too few or too many."""
    count = 0
    for line, tokens in lines:
        if count == n:
            raise ScheduleFormatError(f"{source} line {line}: unexpected data after the {n} job lines the header announced")
        yield count, line, tokens
        count += 1
    if count < n:
        raise ScheduleFormatError(f"{source}: the header announces {n} jobs but only {count} job lines follow")


def parse_jssp(
    text: str, *, task_id: str = "jssp", source: str = "<jssp>", deadline_ms: int = DEFAULT_DEADLINE_MS
) -> ScheduleTask:
    """Parse a classic job shop: `n m`, then n lines of m pairs `machine time` (0-based machines)."""
    lines = _data_lines(text)
    n, m = _header(source, lines, allow_avg=False)
    jobs = []
    for j, line, tokens in _job_lines(source, lines, n):
        if len(tokens) != 2 * m:
            raise ScheduleFormatError(
                f"{source} line {line}: job {j} needs {2 * m} numbers ({m} pairs `machine time`), got {len(tokens)}"
            )
        values = _ints(source, line, tokens, f"job {j}")
        ops = []
        for k in range(m):
            machine, duration = values[2 * k], values[2 * k + 1]
            if not 0 <= machine < m:
                raise ScheduleFormatError(
                    f"{source} line {line}: job {j} operation {k}: machine {machine} is out of range 0..{m - 1}"
                )
            if duration < 1:
                raise ScheduleFormatError(
                    f"{source} line {line}: job {j} operation {k}: duration {duration} must be a positive integer"
                )
            ops.append({"alternatives": [{"machine": machine, "duration": duration}]})
        jobs.append({"operations": ops})
    return _build(source, {"task_id": task_id, "num_machines": m, "jobs": jobs, "deadline_ms": deadline_ms})


def parse_fjs(
    text: str, *, task_id: str = "fjsp", source: str = "<fjs>", deadline_ms: int = DEFAULT_DEADLINE_MS
) -> ScheduleTask:
    """Parse a Brandimarte `.fjs` flexible job shop; 1-based machines in the file become 0-based."""
    lines = _data_lines(text)
    n, m = _header(source, lines, allow_avg=True)
    jobs = []
    for j, line, tokens in _job_lines(source, lines, n):
        values = _ints(source, line, tokens, f"job {j}")
        pos = 0

        def take(what: str, _line: int = line, _values: list[int] = values, _j: int = j) -> int:
            nonlocal pos
            if pos >= len(_values):
                raise ScheduleFormatError(f"{source} line {_line}: job {_j}: line ends where {what} was expected")
            pos += 1
            return _values[pos - 1]

        num_ops = take("the number of operations")
        if num_ops < 1:
            raise ScheduleFormatError(f"{source} line {line}: job {j}: number of operations {num_ops} must be >= 1")
        ops = []
        for k in range(num_ops):
            k_alts = take(f"operation {k}'s number of machines")
            if k_alts < 1:
                raise ScheduleFormatError(
                    f"{source} line {line}: job {j} operation {k}: number of machines {k_alts} must be >= 1"
                )
            alts = []
            for a in range(k_alts):
                machine = take(f"operation {k} alternative {a}'s machine")
                duration = take(f"operation {k} alternative {a}'s time")
                if not 1 <= machine <= m:
                    raise ScheduleFormatError(
                        f"{source} line {line}: job {j} operation {k}: machine {machine} is out of range 1..{m} "
                        "(.fjs machines are 1-based)"
                    )
                if duration < 1:
                    raise ScheduleFormatError(
                        f"{source} line {line}: job {j} operation {k}: time {duration} must be a positive integer"
                    )
                if any(alt["machine"] == machine - 1 for alt in alts):
                    raise ScheduleFormatError(
                        f"{source} line {line}: job {j} operation {k}: machine {machine} is listed twice"
                    )
                alts.append({"machine": machine - 1, "duration": duration})
            ops.append({"alternatives": alts})
        if pos != len(values):
            raise ScheduleFormatError(
                f"{source} line {line}: job {j}: {len(values) - pos} unexpected values after its {num_ops} operations"
            )
        jobs.append({"operations": ops})
    return _build(source, {"task_id": task_id, "num_machines": m, "jobs": jobs, "deadline_ms": deadline_ms})


def _sniff(text: str) -> str:
    """'json', 'fjs' or 'jssp' for text whose file name says nothing."""
    if text.lstrip().startswith("{"):
        return "json"
    lines = _data_lines(text)
    first = next(lines, None)
    if first is None or len(first[1]) != 2:
        return "fjs"
    second = next(lines, None)
    m = first[1][1]
    if second is not None and _INT.match(m) and len(second[1]) == 2 * int(m):
        return "jssp"
    return "fjs"


_TASK_ID_BAD = re.compile(r"[^A-Za-z0-9._:-]")


def load_task(path: str | Path, *, deadline_ms: int | None = None) -> ScheduleTask:
    """Load a schedule task from a JSON task, a JSSP text file or an `.fjs` file.

    The format follows the extension (`.json`; `.fjs`; `.txt`/`.jssp`/`.jsp`), else the content. Text
    formats get the file's stem as task id and `deadline_ms` (default `DEFAULT_DEADLINE_MS`); for a JSON task
    a given `deadline_ms` replaces the file's.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FabricaLookupError(f"No task file at {path}. Check the path.") from None
    except OSError as exc:  # a folder, no permission…
        raise FabricaLookupError(f"cannot read the task file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ScheduleFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    suffix = path.suffix.lower()
    kind = {".json": "json", ".fjs": "fjs", ".txt": "jssp", ".jssp": "jssp", ".jsp": "jssp"}.get(suffix) or _sniff(text)
    source = str(path)
    if kind == "json":
        try:
            task = parse_task(text)
            if deadline_ms is not None:
                task = parse_task({**task.model_dump(), "deadline_ms": deadline_ms})
        except ScheduleSchemaError as exc:
            raise ScheduleFormatError(f"{source}: {exc}") from None
        return task
    task_id = _TASK_ID_BAD.sub("_", path.stem).lstrip("._:-") or "task"
    parse = parse_fjs if kind == "fjs" else parse_jssp
    return parse(text, task_id=task_id[:128], source=source, deadline_ms=DEFAULT_DEADLINE_MS if deadline_ms is None else deadline_ms)


__all__ = ["ScheduleFormatError", "load_task", "parse_fjs", "parse_jssp"]
