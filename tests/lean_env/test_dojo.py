"""The LeanDojo adapter's mapping, with LeanDojo's real result classes and a scripted Dojo."""
from __future__ import annotations

import shutil

import lean_dojo as ld
import pytest

from lean_env import open_env
from lean_env.dojo import DojoProofEnv, DojoUnavailable, from_dojo_result
from lean_env.theorem import Theorem
from lean_env.types import LeanError, ProofFinished, ProofGivenUp, TacticState, TacticTimeout

ROOT = "x : ℕ\nh₀ : x = 2\n⊢ x + 1 = 3"


def test_each_lean_dojo_result_maps_to_ours():
    state = from_dojo_result(ld.TacticState("x : ℕ\n⊢ x = x\n\ny : ℕ\n⊢ y = y", 7, "note"), 3)
    assert state == TacticState("x : ℕ\n⊢ x = x\n\ny : ℕ\n⊢ y = y", 3)
    assert (state.id, state.num_goals, state.message) == (3, 2, "note")
    assert from_dojo_result(ld.ProofFinished(9, "done"), 4) == ProofFinished(4, "done")
    assert from_dojo_result(ld.ProofGivenUp(), 5) == ProofGivenUp()
    assert from_dojo_result(ld.LeanError("unknown tactic"), 6) == LeanError("unknown tactic")
    with pytest.raises(TypeError, match="unexpected LeanDojo result"):
        from_dojo_result("garbage", 1)


class ScriptedDojo:
    """Answers like `lean_dojo.Dojo.run_tac` with its real classes; crashes/hangs on cue."""

    opened: list["ScriptedDojo"] = []

    def __init__(self, theorem, timeout):
        self.theorem, self.timeout, self.calls, self.exited = theorem, timeout, [], False
        self.crashed_once = False
        ScriptedDojo.opened.append(self)

    def __enter__(self):
        return self, ld.TacticState(ROOT, 0)

    def __exit__(self, *exc):
        self.exited = True

    def run_tac(self, state, tactic):
        self.calls.append(tactic)
        if tactic == "hang":
            raise ld.DojoTacticTimeoutError()
        if tactic == "oom":
            raise ld.DojoCrashError("OOM")
        if tactic == "crash_once" and len(ScriptedDojo.opened) == 1:
            raise ld.DojoCrashError("Unexpected EOF")
        if tactic == "sorry":
            return ld.ProofGivenUp()
        if tactic == "norm_num":
            return ld.ProofFinished(state.id + 1, "")
        if tactic.startswith("have "):
            name = tactic.split()[1]
            return ld.TacticState(f"{name} : True\n{state.pp}", state.id + 1)
        return ld.LeanError(f"unknown tactic {tactic}")


@pytest.fixture
def dojo_env():
    ScriptedDojo.opened = []
    env = DojoProofEnv(repo="fake-repo", file_path="Demo.lean", dojo_factory=ScriptedDojo, tactic_timeout=5)
    yield env
    env.close()


def test_session_runs_tactics_through_the_dojo(dojo_env, monkeypatch):
    monkeypatch.setattr(ld, "Theorem", lambda repo, path, name: (repo, str(path), name))
    session, root = dojo_env.start(Theorem("demo", "import Mathlib\n", "theorem demo : True := by"))
    assert ScriptedDojo.opened[0].theorem == ("fake-repo", "Demo.lean", "demo")
    assert root == TacticState(ROOT, 0) and root.num_goals == 1
    a = session.run_tac(root, "have a")
    assert isinstance(a, TacticState) and a.pp == "a : True\n" + ROOT
    assert isinstance(session.run_tac(a, "norm_num"), ProofFinished)
    assert isinstance(session.run_tac(a, "sorry"), ProofGivenUp)
    assert isinstance(session.run_tac(a, "blah"), LeanError)


def test_timeout_and_crash_reopen_the_dojo_and_replay(dojo_env, monkeypatch):
    monkeypatch.setattr(ld, "Theorem", lambda repo, path, name: (repo, str(path), name))
    session, root = dojo_env.start(Theorem("demo", "import Mathlib\n", "theorem demo : True := by"))
    a = session.run_tac(root, "have a")
    b = session.run_tac(a, "crash_once")  # crash: reopen, replay `have a`, retry
    assert isinstance(b, LeanError) and "unknown tactic crash_once" in b.error
    assert len(ScriptedDojo.opened) == 2 and ScriptedDojo.opened[0].exited
    assert ScriptedDojo.opened[1].calls == ["have a", "crash_once"]
    assert isinstance(session.run_tac(a, "hang"), TacticTimeout)
    assert ScriptedDojo.opened[1].exited
    c = session.run_tac(a, "have c")  # reopened lazily
    assert isinstance(c, TacticState) and c.pp == "c : True\na : True\n" + ROOT
    assert ScriptedDojo.opened[2].calls == ["have a", "have c"]
    oom = session.run_tac(a, "oom")
    assert isinstance(oom, LeanError) and "out of memory" in oom.error


def test_verify_applies_the_guard_before_lean(dojo_env):
    verdict = dojo_env.verify(Theorem("demo", "", "theorem demo : True := by"), "native_decide")
    assert not verdict.ok and verdict.backend == "lean dojo" and "native" in verdict.messages[0]


def test_without_lean_open_env_dojo_says_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a machine without elan
    with pytest.raises(DojoUnavailable, match="elan"):
        open_env("dojo", repo=("https://github.com/yangky11/miniF2F-lean4", "main"), file_path="x.lean")
