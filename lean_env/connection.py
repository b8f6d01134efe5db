"""One Lean REPL process: blank-line framed JSON requests under a watchdog.

`ReplConnection(command, cwd, env, memory_limit, cpu_time_factor).request(obj, timeout)`
sends `json + "\\n\\n"` and reads one pretty-printed JSON object ended by a blank line. The
wall time and the CPU time of the whole process tree are checked while waiting; on timeout,
crash, EOF or output that is not JSON the process group is killed and `ReplTimeout` /
`ReplCrash` is raised, so a caller never talks to a process in an unknown state.
"""
from __future__ import annotations

import json
import os
import re
import select
import subprocess
import threading
import weakref
from typing import Any

from lean_env.watchdog import Deadline, apply_memory_limit, kill_tree, tree_rss_bytes


class ReplFailure(RuntimeError):
    """The process can no longer be trusted (it was killed); the request did not complete."""


class ReplCrash(ReplFailure):
    """The process died, closed its output, or printed something that is not a response."""

    def __init__(self, message: str, out_of_memory: bool = False) -> None:
        super().__init__(message)
        self.out_of_memory = out_of_memory


class ReplTimeout(ReplFailure):
    """A request ran past its wall-time or CPU-time limit; the process was killed."""


_OOM_SIGNS = re.compile(r"out of memory|MemoryError|std::bad_alloc|Cannot allocate memory", re.I)


def _drain(stream: Any, tail: bytearray) -> None:
    """Read a child's stderr to EOF (so it never blocks on a full pipe), keeping the last 4 KiB."""
    for chunk in iter(lambda: stream.read1(4096), b""):
        tail += chunk
        del tail[:-4096]


def _wait_for(fd: int, event: int, deadline: Deadline) -> bool:
    """Wait up to 50 ms (or the deadline) for `fd`; poll, not select, which breaks above fd 1024."""
    poller = select.poll()
    poller.register(fd, event | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(0.0, min(0.05, deadline.remaining_wall())) * 1000))


def _kill_if_owner(owner_pid: int, pid: int) -> None:
    if os.getpid() == owner_pid:  # a forked child exiting must not kill its parent's processes
        kill_tree(pid, pid)


class ReplConnection:
    """One REPL process. Not thread-safe: callers hold a lock around `request`."""

    def __init__(self, command: list[str], cwd: str | None = None, env: dict[str, str] | None = None,
                 memory_limit: int | None = None, cpu_time_factor: float = 1.0) -> None:
        self.command = list(command)
        self.memory_limit = memory_limit
        self.cpu_time_factor = cpu_time_factor
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
        except OSError as e:
            raise ReplCrash(f"cannot start the Lean REPL {self.command} in {cwd or os.getcwd()}: {e}. "
                            "Check the command (e.g. `lake env repl` needs a built repl in the project).") from e
        self.pid = self.proc.pid
        try:
            apply_memory_limit(self.pid, memory_limit)
        except OSError:  # the process already exited: the first request reports it
            pass
        self._out = self.proc.stdout.fileno()  # type: ignore[union-attr]
        self._in = self.proc.stdin.fileno()  # type: ignore[union-attr]
        os.set_blocking(self._out, False)
        os.set_blocking(self._in, False)
        self._buffer = b""
        self._stderr_tail = bytearray()
        # the thread must not hold `self`, or a dropped connection would never be collected
        self._stderr_thread = threading.Thread(target=_drain, args=(self.proc.stderr, self._stderr_tail),
                                               daemon=True, name=f"repl-stderr-{self.pid}")
        self._stderr_thread.start()
        self.closed = False
        self.requests = 0
        # Ctrl-C, an exception that skipped close(), or a dropped env: leave no Lean behind
        # (runs when the connection is garbage-collected or at interpreter exit)
        self._finalizer = weakref.finalize(self, _kill_if_owner, os.getpid(), self.pid)

    @property
    def stderr_tail(self) -> str:
        return bytes(self._stderr_tail).decode(errors="replace")

    @property
    def alive(self) -> bool:
        return not self.closed and self.proc.poll() is None

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.pid) if self.alive else 0

    def request(self, obj: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and return the decoded response.

        Raises `ReplTimeout` past `timeout` seconds of wall time or `timeout *
        cpu_time_factor` seconds of CPU time of the process tree, `ReplCrash` on exit, EOF or
        output that is not one JSON object; in both cases the process is dead afterwards.
        """
        if self.closed:
            raise ReplCrash("the connection is closed")
        payload = (json.dumps(obj, ensure_ascii=False) + "\n\n").encode()
        deadline = Deadline(self.pid, timeout, timeout * self.cpu_time_factor)
        try:
            self._write(payload, deadline)
            raw = self._read_block(deadline)
        except BaseException:  # includes KeyboardInterrupt: a half-done request poisons the stream
            self.close()
            raise
        self.requests += 1
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            self.close()
            raise ReplCrash(f"the REPL printed something that is not JSON ({e}): {raw[:300]!r}") from None

    def _fail(self, why: str) -> ReplFailure:
        self.close()
        return ReplTimeout(f"request stopped: {why}; the Lean process was killed")

    def _crash(self, why: str) -> ReplCrash:
        code = None
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self.close()
        self._stderr_thread.join(timeout=1)
        tail = self.stderr_tail.strip()
        oom = bool(_OOM_SIGNS.search(tail)) or code in (-9, 137)
        limit = f" (memory limit {self.memory_limit} bytes)" if oom and self.memory_limit else ""
        return ReplCrash(f"{why} (exit code {code}){limit}" + (f"; stderr: {tail[-500:]}" if tail else ""),
                         out_of_memory=oom)

    def _ready(self, fd: int, event: int, deadline: Deadline) -> bool:
        """Whether `fd` became ready within a short wait; raises once the deadline has passed."""
        why = deadline.expired()
        if why:
            raise self._fail(why)
        return _wait_for(fd, event, deadline)

    def _write(self, payload: bytes, deadline: Deadline) -> None:
        view = memoryview(payload)
        while view:
            if not self._ready(self._in, select.POLLOUT, deadline):
                continue
            try:
                sent = os.write(self._in, view)
            except BrokenPipeError:
                raise self._crash("the Lean process exited before reading the request") from None
            except BlockingIOError:
                continue
            view = view[sent:]

    def _read_block(self, deadline: Deadline) -> str:
        while True:
            text = self._buffer.lstrip(b"\r\n")
            end = text.find(b"\n\n")
            if end >= 0:
                self._buffer = text[end + 2:]
                return text[:end].decode(errors="replace")
            if not self._ready(self._out, select.POLLIN, deadline):
                continue
            try:
                chunk = os.read(self._out, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                raise self._crash("the Lean process exited or closed its output in the middle of a request")
            self._buffer += chunk

    def close(self) -> None:
        """Kill the whole process group (idempotent) and reap it."""
        if self.closed:
            return
        self.closed = True
        self._finalizer.detach()
        kill_tree(self.pid, self.pid)  # start_new_session: the group id is the pid
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if threading.current_thread() is not self._stderr_thread:
            self._stderr_thread.join(timeout=0.2)  # daemon thread; EOF comes once the group is dead
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
