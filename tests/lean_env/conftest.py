"""Fixtures for driving the REPL client against the scripted server in `fake_repl.py`."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from lean_env.repl import ReplOptions, ReplProofEnv
from lean_env.theorem import Theorem

FAKE_REPL = Path(__file__).with_name("fake_repl.py")
HEADER = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"


def _descendants() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture(autouse=True)
def no_child_process_left():
    """After every test: no process started by the test is still running."""
    before = {p.pid for p in _descendants()}
    yield
    deadline = time.monotonic() + 3
    left = [p for p in _descendants() if p.pid not in before]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in _descendants() if p.pid not in before]
    assert not left, f"child processes left behind: {[(p.pid, p.cmdline()) for p in left]}"


class FakeRepl:
    """Where the scripted server keeps its once-markers and its request log."""

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp
        self.log = tmp / "requests.jsonl"
        self.command = [sys.executable, str(FAKE_REPL)]
        self.env = {**os.environ, "FAKE_REPL_STATE_DIR": str(tmp), "FAKE_REPL_LOG": str(self.log)}

    def options(self, **overrides) -> ReplOptions:
        base = dict(command=self.command, env=self.env, tactic_timeout=5.0, command_timeout=10.0,
                    memory_limit=1024 ** 3, cpu_time_factor=2.0)
        return ReplOptions(**{**base, **overrides})

    def open(self, **overrides) -> ReplProofEnv:
        return ReplProofEnv(self.options(**overrides))

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fake(tmp_path) -> FakeRepl:
    return FakeRepl(tmp_path)


@pytest.fixture
def theorem() -> Theorem:
    return Theorem("mathd_demo", HEADER, "theorem mathd_demo (x : ℕ) (h₀ : x = 2) : x + 1 = 3 := by")
