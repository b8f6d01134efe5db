"""`open_env("dojo")`: the ProofEnv interface over LeanDojo 4.20 (`lean_dojo.Dojo`).

LeanDojo opens only theorems of a repo it has traced (clone + build + extract). Each `Dojo`
runs its own `lean` process. A `DojoTacticTimeoutError` does not stop Lean and later calls
on that Dojo time out too (LeanDojo #218), so a timeout or a `DojoCrashError` is handled like
a REPL crash: kill the process tree, reopen the Dojo, replay the session's tactic path.
`lean_dojo` is imported lazily: importing this module needs neither it nor Lean.
"""
from __future__ import annotations

import shutil
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from lean_env.guard import DEFAULT_POLICY, GuardPolicy, check_proof
from lean_env.theorem import Theorem, format_proof_block, statement_changes
from lean_env.types import (
    BackendUnavailable,
    LeanError,
    ProofFinished,
    ProofGivenUp,
    TacticResult,
    TacticState,
    TacticTimeout,
    Verdict,
)

INSTALL_HINT = (
    "LeanDojo needs a Lean 4 toolchain: install elan "
    "(`curl https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh -sSf | sh`), "
    "make sure `lake` and `lean` are on PATH, and trace the repo once with "
    "`lean_dojo.trace(LeanGitRepo(url, commit))` (about an hour for Mathlib). "
    "Without Lean, use open_env('embedded')."
)


class DojoUnavailable(BackendUnavailable):
    """LeanDojo or the Lean toolchain it drives is not installed."""


class DojoSessionBroken(RuntimeError):
    """The Dojo could not be reopened and replayed back to the state a call needed."""


def _lean_dojo() -> Any:
    try:
        import lean_dojo  # heavy (loguru, GitPython, ray); only when a dojo env is opened
    except ImportError as e:
        raise DojoUnavailable(f"`lean_dojo` is not installed ({e}): `pip install lean-dojo==4.20.0`. "
                              + INSTALL_HINT) from e
    return lean_dojo


def lean_toolchain_available() -> bool:
    return shutil.which("lake") is not None and shutil.which("lean") is not None


def from_dojo_result(result: Any, state_id: int) -> TacticResult:
    """Map a LeanDojo result (its own classes) to ours; `state_id` is the session's id for it."""
    ld = _lean_dojo()
    if isinstance(result, ld.TacticState):
        return TacticState(result.pp, state_id, result.num_goals, result.message)
    if isinstance(result, ld.ProofFinished):
        return ProofFinished(state_id, result.message)
    if isinstance(result, ld.ProofGivenUp):
        return ProofGivenUp()
    if isinstance(result, ld.LeanError):
        return LeanError(result.error)
    raise TypeError(f"unexpected LeanDojo result {type(result).__name__}: {result!r}")


@dataclass
class _Node:
    parent: int | None
    tactic: str | None
    pp: str


DojoFactory = Callable[[Any, float], AbstractContextManager]


class DojoSession:
    """One theorem in one `Dojo`; state ids are ours and survive reopening the Dojo."""

    def __init__(self, env: "DojoProofEnv", theorem: Theorem, dojo_theorem: Any) -> None:
        self.theorem = theorem
        self._env = env
        self._dojo_theorem = dojo_theorem
        self._lock = threading.Lock()
        self._nodes: dict[int, _Node] = {}
        self._dojo_states: dict[int, Any] = {}  # our id -> LeanDojo TacticState of the open Dojo
        self._context: AbstractContextManager | None = None
        self._dojo: Any = None
        self.reopens = 0

    def _open(self) -> Any:
        self._shutdown()
        self._context = self._env.dojo_factory(self._dojo_theorem, self._env.tactic_timeout)
        self._dojo, init_state = self._context.__enter__()
        self._dojo_states = {}
        return init_state

    def _shutdown(self) -> None:
        """Exit the Dojo and kill its process tree (a timed-out Lean keeps running otherwise)."""
        if self._context is None:
            return
        proc = getattr(self._dojo, "proc", None)
        try:
            self._context.__exit__(None, None, None)
        except Exception:  # an already dead process: nothing left to clean
            pass
        if proc is not None and getattr(proc, "pid", None):
            from lean_env.watchdog import kill_tree
            kill_tree(proc.pid, None)
        self._context, self._dojo, self._dojo_states = None, None, {}

    def _start(self) -> TacticState:
        init = self._open()
        root = from_dojo_result(init, 0)
        assert isinstance(root, TacticState), f"LeanDojo's initial state is not a tactic state: {init!r}"
        self._nodes[0] = _Node(None, None, root.pp)
        self._dojo_states[0] = init
        return root

    def _dojo_state(self, sid: int) -> Any:
        if self._dojo is None:
            self.reopens += 1
            self._dojo_states[0] = self._open()
        if sid in self._dojo_states:
            return self._dojo_states[sid]
        node = self._nodes[sid]
        assert node.parent is not None and node.tactic is not None
        result = self._dojo.run_tac(self._dojo_state(node.parent), node.tactic)
        if getattr(result, "pp", None) != node.pp:
            raise DojoSessionBroken(f"replaying `{node.tactic}` in {self.theorem.name} gave {result!r}, "
                                    "not the state it gave before")
        self._dojo_states[sid] = result
        return result

    def run_tac(self, state: TacticState, tactic: str, timeout: float | None = None) -> TacticResult:
        ld = _lean_dojo()
        with self._lock:
            node = self._nodes.get(state.id)
            if node is None or node.pp != state.pp:
                raise ValueError(f"state {state.id} does not belong to this session ({self.theorem.name})")
            crashes: list[str] = []
            while True:
                try:
                    parent = self._dojo_state(state.id)
                    proc = getattr(self._dojo, "proc", None)
                    if timeout is not None and proc is not None and hasattr(proc, "timeout"):
                        proc.timeout = timeout  # pexpect's per-expect timeout
                    result = self._dojo.run_tac(parent, tactic)
                    break
                except ld.DojoTacticTimeoutError:
                    self._shutdown()  # reopened and replayed on the next call
                    return TacticTimeout("LeanDojo tactic timeout; the Lean process was killed")
                except ld.DojoCrashError as e:
                    self._shutdown()
                    crashes.append("out of memory" if e.is_out_of_memory else str(e))
                    if len(crashes) > self._env.crash_retries:
                        return LeanError(f"the Lean process crashed running this tactic: {crashes[-1]}")
            new_id = len(self._nodes)
            mapped = from_dojo_result(result, new_id)
            if isinstance(mapped, (TacticState, ProofFinished)):
                self._nodes[new_id] = _Node(state.id, tactic, mapped.pp if isinstance(mapped, TacticState) else "")
                if isinstance(mapped, TacticState):
                    self._dojo_states[new_id] = result
            return mapped

    def close(self) -> None:
        with self._lock:
            self._shutdown()


def _default_factory(dojo_theorem: Any, timeout: float) -> AbstractContextManager:
    return _lean_dojo().Dojo(dojo_theorem, timeout=max(1, int(round(timeout))))


class DojoProofEnv:
    """ProofEnv over LeanDojo. `repo` is a `lean_dojo.LeanGitRepo` or `(url, commit)`;
    `file_path` is the theorems' file in the repo (or give `files={name: path}`)."""

    backend = "lean dojo"

    def __init__(self, repo: Any = None, file_path: str | Path | None = None, *, files: dict[str, str] | None = None,
                 full_names: dict[str, str] | None = None, tactic_timeout: float = 600.0, crash_retries: int = 1,
                 guard_policy: GuardPolicy = DEFAULT_POLICY, dojo_factory: DojoFactory | None = None,
                 pool_size: int | None = None) -> None:
        # pool_size is accepted for a uniform open_env call: every Dojo is its own process anyway
        ld = _lean_dojo()
        if dojo_factory is None and not lean_toolchain_available():
            raise DojoUnavailable("open_env('dojo') found no `lake`/`lean` on PATH. " + INSTALL_HINT)
        if isinstance(repo, tuple):
            repo = ld.LeanGitRepo(*repo)
        self.repo = repo
        self.file_path = Path(file_path) if file_path else None
        self.files = {k: Path(v) for k, v in (files or {}).items()}
        self.full_names = dict(full_names or {})
        self.tactic_timeout = tactic_timeout
        self.crash_retries = crash_retries
        self.guard_policy = guard_policy
        self.dojo_factory: DojoFactory = dojo_factory or _default_factory
        self._sessions: list[DojoSession] = []
        self._lock = threading.Lock()

    def dojo_theorem(self, theorem: Theorem) -> Any:
        path = self.files.get(theorem.name, self.file_path)
        if self.repo is None or path is None:
            raise ValueError(f"LeanDojo needs the repo and the file of {theorem.name}: "
                             "open_env('dojo', repo=(url, commit), file_path=...) or files={name: path}")
        return _lean_dojo().Theorem(self.repo, path, self.full_names.get(theorem.name, theorem.name))

    def start(self, theorem: Theorem) -> tuple[DojoSession, TacticState]:
        session = DojoSession(self, theorem, self.dojo_theorem(theorem))
        root = session._start()
        with self._lock:
            self._sessions.append(session)
        return session, root

    def verify(self, theorem: Theorem, proof: str) -> Verdict:
        reasons = check_proof(proof, self.guard_policy)
        if reasons:
            return Verdict(False, self.backend, tuple(f"guard: {r}" for r in reasons))
        changed = statement_changes(theorem.statement, theorem.statement + "\n" + format_proof_block(proof))
        if changed:
            return Verdict(False, self.backend, tuple(changed))
        ld = _lean_dojo()
        try:
            ok = ld.check_proof(self.dojo_theorem(theorem), "by\n" + format_proof_block(proof))
        except ld.DojoInitError as e:
            return Verdict(False, self.backend, (f"LeanDojo could not set up the check: {e}",))
        return Verdict(bool(ok), self.backend, () if ok else ("Lean reported an error or sorry",))

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for s in sessions:
            s.close()

    def __enter__(self) -> "DojoProofEnv":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
