"""Hypothesis strategies for small random schedule tasks (flexible job shops, optionally with availability windows)."""
from __future__ import annotations

from hypothesis import strategies as st

from fabrica.protocol.tasks.schedule import ScheduleTask, parse_task

FAR = 1_000_000
"""End of every machine's last window: far beyond any makespan a small task can reach."""


@st.composite
def windows_for_machine(draw: st.DrawFn) -> list[list[int]]:
    """1-3 short windows separated by gaps of at least 1, then a last window open until FAR."""
    windows = []
    t = draw(st.integers(0, 5))
    for _ in range(draw(st.integers(1, 3))):
        length = draw(st.integers(1, 12))
        windows.append([t, t + length])
        t += length + draw(st.integers(1, 6))
    windows.append([t, FAR])
    return windows


@st.composite
def schedule_tasks(draw: st.DrawFn, windows: str = "maybe", max_jobs: int = 4, max_machines: int = 3) -> ScheduleTask:
    """A random task; `windows` is "never", "maybe" (some machines) or "all" (every machine has windows)."""
    m = draw(st.integers(1, max_machines))
    jobs = []
    for _ in range(draw(st.integers(1, max_jobs))):
        ops = []
        for _ in range(draw(st.integers(1, 4))):
            machines = draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=m, unique=True))
            ops.append({"alternatives": [{"machine": mm, "duration": draw(st.integers(1, 9))} for mm in machines]})
        jobs.append({"operations": ops})
    data = {"task_id": "prop", "num_machines": m, "jobs": jobs}
    if windows == "all":
        data["availability"] = [draw(windows_for_machine()) for _ in range(m)]
    elif windows == "maybe" and draw(st.booleans()):
        data["availability"] = [draw(st.none() | windows_for_machine()) for _ in range(m)]
    return parse_task(data)
