"""The REPL client through the embedded kernel's server (`python -m lean_env.embedded`)."""
from __future__ import annotations

import os
import signal
import time

import pytest

from lean_env import Theorem, open_env
from lean_env.types import LeanError, ProofFinished, ProofGivenUp, TacticState, TacticTimeout

HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n"
TRUE = Theorem("lin", HEADER, "theorem lin (x : ℝ) (h₀ : x + 2 = 5) : x = 3 := by")
FALSE = Theorem("lin", HEADER, "theorem lin (x : ℝ) (h₀ : x + 2 = 5) : x = 4 := by")


@pytest.fixture
def env():
    with open_env("embedded", tactic_timeout=20.0) as e:
        yield e


def test_search_steps_through_the_embedded_server(env):
    session, root = env.start(TRUE)
    assert root == TacticState("x : ℝ\nh₀ : x + 2 = 5\n⊢ x = 3", 0) and root.num_goals == 1
    step = session.run_tac(root, "have h : x = 3 := by linarith")
    assert isinstance(step, TacticState) and "h : x = 3" in step.pp
    assert isinstance(session.run_tac(step, "exact h"), ProofFinished)
    assert isinstance(session.run_tac(root, "exact fake_lemma"), LeanError)
    assert session.run_tac(root, "sorry") == ProofGivenUp()
    false_session, false_root = env.start(FALSE)
    assert isinstance(false_session.run_tac(false_root, "linarith"), LeanError)


def test_verify_through_the_embedded_server(env):
    ok = env.verify(TRUE, "linarith")
    assert ok.ok and ok.backend == "embedded kernel"
    assert not env.verify(FALSE, "linarith").ok
    assert not env.verify(TRUE, "sorry").ok


def test_killed_and_stopped_server_processes_are_survived(env):
    session, root = env.start(TRUE)
    step = session.run_tac(root, "have h : x = 3 := by linarith")
    worker = env._workers[0]
    os.kill(worker.conn.pid, signal.SIGKILL)  # dies between requests: next call restarts and replays
    again = session.run_tac(step, "exact h")
    assert isinstance(again, ProofFinished)
    os.kill(worker.conn.pid, signal.SIGSTOP)  # a hung Lean: the watchdog must kill it
    started = time.monotonic()
    result = session.run_tac(step, "exact h", timeout=1.0)
    assert isinstance(result, TacticTimeout) and time.monotonic() - started < 2.0
    assert isinstance(session.run_tac(step, "exact h"), ProofFinished)
    assert env.stats()["restarts"] == 2
