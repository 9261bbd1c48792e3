"""What else the machine was doing during a run: the CPU time of every other process.

``bench_http`` reads the machine's busy CPU time (``/proc/stat``) around each wrk run and
subtracts what the server, wrk and the benchmark itself used: the rest is *foreign* load,
in cores (1.0 = one core busy all along). On this shared machine a run during which other
jobs took a core measures them, not the server: such a run is repeated once the machine is
quiet again.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (all CPUs)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def own_seconds() -> float:
    """CPU seconds of this process and its waited-for children (wrk)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Window:
    """Opened before a run; :meth:`foreign` after it, given the server's CPU seconds."""

    wall: float
    busy: float
    own: float

    @classmethod
    def open(cls) -> Window:
        return cls(time.monotonic(), busy_seconds(), own_seconds())

    def foreign(self, server_seconds: float) -> float:
        """Cores the other processes kept busy on average since the window opened."""
        wall = time.monotonic() - self.wall
        used = (busy_seconds() - self.busy) - (own_seconds() - self.own) - server_seconds
        return max(used, 0.0) / wall if wall > 0 else 0.0


def wait_quiet(limit: float, timeout: float, step: float = 0.5) -> bool:
    """Watch the machine in ``step``-second windows until one stays under ``limit`` cores
    of load (every process counts: ours are idle between runs); False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        window = Window.open()
        time.sleep(step)  # the length of the measuring window
        if window.foreign(0.0) <= limit:
            return True
    return False
