"""Limits from outside the Lean process: wall time, CPU time of the process tree, memory.

The REPL has no timeout and never frees memory, so the client enforces both: it measures
the CPU time of the whole tree (Lean may spawn threads and helper processes) next to the
wall clock, and kills the whole process group when either runs past its limit.
"""
from __future__ import annotations

import os
import resource
import signal
import time
from dataclasses import dataclass

import psutil

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """Live descendants via /proc/PID/task/TID/children (cheap); psutil's full scan as fallback."""
    out: list[int] = []
    todo = [pid]
    try:
        while todo:
            p = todo.pop()
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
                out += kids
                todo += kids
    except FileNotFoundError:  # a process vanished mid-walk: fine, it uses no more CPU
        pass
    except OSError:
        try:
            return [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    return out


def _own_cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime from /proc/PID/stat (threads and reaped children included)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / _CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its live descendants (0.0 if gone)."""
    return sum(_own_cpu_seconds(p) for p in [pid, *_descendants(pid)])


def tree_rss_bytes(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def kill_tree(pid: int, pgid: int | None) -> None:
    """SIGKILL the process group and any descendant that left it (setsid), then return."""
    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in [*descendants]:
        try:
            p.kill()
        except psutil.Error:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def apply_memory_limit(pid: int, limit_bytes: int | None) -> None:
    """Cap the address space (RLIMIT_AS) of a just-started child.

    Set from the parent with prlimit instead of a `preexec_fn`, which is unsafe in a
    threaded parent; the child has not read its first request yet, so nothing is missed.
    """
    if limit_bytes:
        resource.prlimit(pid, resource.RLIMIT_AS, (limit_bytes, limit_bytes))


@dataclass
class Deadline:
    """Wall-clock and tree-CPU budget of one request, checked by the reader loop."""

    pid: int
    wall_s: float
    cpu_s: float

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        self.cpu_at_start = tree_cpu_seconds(self.pid)
        self._last_cpu_check = self.started

    def remaining_wall(self) -> float:
        return self.wall_s - (time.monotonic() - self.started)

    def expired(self) -> str | None:
        """None while within limits, else a sentence saying which limit was exceeded."""
        now = time.monotonic()
        if now - self.started >= self.wall_s:
            return f"wall time limit of {self.wall_s:g} s exceeded"
        if now - self._last_cpu_check >= 0.1:  # psutil walks /proc: not on every wake-up
            self._last_cpu_check = now
            used = tree_cpu_seconds(self.pid) - self.cpu_at_start
            if used >= self.cpu_s:
                return f"CPU time limit of {self.cpu_s:g} s exceeded ({used:.1f} s used by the process tree)"
        return None
