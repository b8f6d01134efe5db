"""Client of the Lean REPL JSON protocol over subprocesses, surviving what Lean does.

Layers, bottom up:
- `ReplConnection` (lean_env/connection.py): one process; `request(obj, timeout) -> dict`
  under a wall-time and tree-CPU-time watchdog; on timeout, crash, EOF or unparseable output
  it kills the process group and raises.
- `_Worker`: a connection that is restarted on demand, with the header env ids it imported
  (one `import` per process and header, reused as `env`).
- `ReplProofEnv` (`open_env("repl" | "embedded")`): a pool of workers. `start` opens a
  `ReplSession` pinned to a worker; sessions remember every state's tactic path, so after a
  restart they replay (theorem command, then the tactics) back to the state they need.
  `verify` re-checks a whole proof in the header's env and applies the guard.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from lean_env.connection import ReplConnection, ReplCrash, ReplFailure, ReplTimeout
from lean_env.guard import DEFAULT_POLICY, GuardPolicy, check_proof
from lean_env.protocol import (
    CommandResponse,
    ErrorResponse,
    ProtocolError,
    Response,
    errors_of,
    judge_command,
    judge_tactic,
    parse_response,
)
from lean_env.theorem import Theorem, format_proof_block, split_commands, statement_changes
from lean_env.types import BackendUnavailable, LeanError, TacticResult, TacticState, TacticTimeout, Verdict

__all__ = ["ReplConnection", "ReplCrash", "ReplFailure", "ReplTimeout", "TheoremStartError", "ReplayError",
           "ReplOptions", "ReplProofEnv", "ReplSession", "embedded_command"]

GiB = 1024 ** 3


class TheoremStartError(ValueError):
    """Lean did not accept the header or the statement, so there is no proof state to start from."""


class ReplayError(RuntimeError):
    """After a restart, replaying a session's tactic path gave a different state."""


@dataclass
class ReplOptions:
    """How to run and police the REPL processes. All limits are per request / per process."""

    command: list[str]
    cwd: str | None = None
    env: dict[str, str] | None = None
    backend: str = "lean repl"
    pool_size: int = 1  # processes
    tactic_timeout: float = 30.0  # seconds, wall; CPU limit is this × cpu_time_factor
    command_timeout: float = 600.0  # header import, theorem statement, whole-proof check
    cpu_time_factor: float = 4.0  # Lean is multi-threaded: allow that much CPU per wall second
    memory_limit: int | None = 32 * GiB  # RLIMIT_AS per process; None = no cap
    header_reuse: bool = True  # import each header once per process and build on its env id
    recycle_rss: int | None = None  # restart a process whose memory (RSS) grew past this, between requests
    crash_retries: int = 1  # how often a request is retried on a fresh process after a crash
    check_axioms: bool = True  # `#print axioms` after a whole-proof check (the real REPL only)
    # verify in a new process each time (slow: re-imports the header) instead of the header's env
    # id in a pooled process; env ids are immutable, so both check against the same environment
    verify_fresh_process: bool = False
    guard_policy: GuardPolicy = field(default_factory=lambda: DEFAULT_POLICY)


class _Worker:
    """A restartable REPL process with the header envs it has imported."""

    def __init__(self, index: int, options: ReplOptions) -> None:
        self.index = index
        self.options = options
        self.lock = threading.RLock()
        self.conn: ReplConnection | None = None
        self.generation = 0  # bumped on every (re)start; session state ids are valid per generation
        self.header_envs: dict[str, int] = {}
        self.sessions = 0
        self.restarts = 0

    def ensure_started(self) -> None:
        if self.conn is not None and self.conn.alive:
            return
        if self.conn is not None:
            self.conn.close()
            self.restarts += 1
        o = self.options
        self.conn = ReplConnection(o.command, o.cwd, o.env, o.memory_limit, o.cpu_time_factor)
        self.generation += 1
        self.header_envs = {}

    def discard(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def request(self, obj: dict[str, Any], timeout: float) -> Response:
        self.ensure_started()
        assert self.conn is not None
        raw = self.conn.request(obj, timeout)
        try:
            resp = parse_response(raw)
        except ProtocolError as e:
            self.conn.close()
            raise ReplCrash(f"the REPL answered something outside the protocol: {e}") from None
        return resp

    def maybe_recycle(self) -> None:
        """The REPL never frees memory: restart a grown process, only between operations."""
        limit = self.options.recycle_rss
        if limit and self.conn is not None and self.conn.alive and self.conn.rss_bytes() > limit:
            self.conn.close()

    def header_env(self, header: str) -> int | None:
        """Env id with `header` imported in this process (None when header reuse is off)."""
        if not self.options.header_reuse:
            return None
        self.ensure_started()
        if header in self.header_envs:
            return self.header_envs[header]
        resp = self.request({"cmd": header}, self.options.command_timeout)
        judgement = judge_command(resp)
        if not judgement.complete or not isinstance(resp, CommandResponse):
            raise TheoremStartError("the header does not elaborate cleanly (errors or sorry), so nothing built "
                                    "on it can be trusted:\n" + "\n".join(judgement.problems))
        self.header_envs[header] = resp.env
        return resp.env

    def close(self) -> None:
        with self.lock:
            self.discard()
            self.conn = None


def _command_request(theorem_text: str, header: str, env_id: int | None) -> dict[str, Any]:
    if env_id is None:  # no header reuse: the header travels with every command
        return {"cmd": header.rstrip("\n") + "\n\n" + theorem_text}
    return {"cmd": theorem_text, "env": env_id}


@dataclass
class _Node:
    parent: int | None
    tactic: str | None
    pp: str


class ReplSession:
    """One theorem on one worker. State ids are the session's own, stable across restarts."""

    def __init__(self, env: "ReplProofEnv", worker: _Worker, theorem: Theorem) -> None:
        self.theorem = theorem
        self._env = env
        self._worker = worker
        self._lock = threading.Lock()
        self._nodes: dict[int, _Node] = {}
        self._backend_ids: dict[int, int] = {}  # session state id -> proofState, valid for `_generation`
        self._generation = -1
        self._closed = False
        self.replays = 0  # requests re-sent to restore states after restarts

    # -- restoring states on the current process ------------------------------------------
    def _sync_generation(self) -> None:
        self._worker.ensure_started()
        if self._generation != self._worker.generation:
            self._backend_ids.clear()
            self._generation = self._worker.generation

    def _open_root(self) -> tuple[str, int]:
        o = self._env.options
        env_id = self._worker.header_env(self.theorem.header)
        text = self.theorem.statement + "\n  sorry"
        resp = self._worker.request(_command_request(text, self.theorem.header, env_id), o.command_timeout)
        if isinstance(resp, ErrorResponse):
            raise TheoremStartError(f"Lean rejected the statement of {self.theorem.name}: {resp.message}")
        if not isinstance(resp, CommandResponse):
            raise TheoremStartError(f"expected a command response for {self.theorem.name}, got {resp}")
        errors = errors_of(resp.messages)
        if errors:
            raise TheoremStartError(f"the statement of {self.theorem.name} does not elaborate:\n"
                                    + "\n".join(m.render() for m in errors))
        if len(resp.sorries) != 1 or resp.sorries[0].proof_state is None:
            raise TheoremStartError(f"expected exactly one `sorry` with a proof state for {self.theorem.name}, "
                                    f"got {len(resp.sorries)}")
        return resp.sorries[0].goal, resp.sorries[0].proof_state

    def _backend_id(self, sid: int) -> int:
        """The process's proofState for session state `sid`, replaying its path if needed."""
        self._sync_generation()
        if sid in self._backend_ids:
            return self._backend_ids[sid]
        node = self._nodes[sid]
        if node.parent is None:
            pp, ps = self._open_root()
        else:
            parent_ps = self._backend_id(node.parent)
            resp = self._worker.request({"tactic": node.tactic, "proofState": parent_ps},
                                        self._env.options.tactic_timeout)
            j = judge_tactic(resp)
            pp = "\n\n".join(j.goals)
            if j.kind != "state" or j.proof_state is None:
                raise ReplayError(f"replaying `{node.tactic}` in {self.theorem.name} gave {j.kind} "
                                  f"({j.error or 'no error'}) instead of the state it gave before")
            ps = j.proof_state
        self.replays += 1
        if pp != node.pp:
            raise ReplayError(f"replay of {self.theorem.name} reached a different state than before "
                              f"(was {node.pp[:200]!r}, now {pp[:200]!r}): Lean is not deterministic here")
        self._backend_ids[sid] = ps
        return ps

    def _start(self) -> TacticState:
        if not self.theorem.statement.rstrip().endswith(":= by"):
            raise TheoremStartError(f"the statement of {self.theorem.name} must end with `:= by` "
                                    f"(got ...{self.theorem.statement.rstrip()[-30:]!r})")
        for attempt in range(self._env.options.crash_retries + 1):
            try:
                with self._worker.lock:
                    self._worker.maybe_recycle()
                    self._sync_generation()
                    pp, ps = self._open_root()
                    self._nodes[0] = _Node(None, None, pp)
                    self._backend_ids[0] = ps
                    return TacticState(pp, 0, 1)
            except ReplFailure as e:
                self._worker.discard()
                if attempt == self._env.options.crash_retries:
                    raise TheoremStartError(f"could not open {self.theorem.name}: {e}") from e
        raise AssertionError("unreachable")

    # -- the public API ---------------------------------------------------------------------
    def run_tac(self, state: TacticState, tactic: str, timeout: float | None = None) -> TacticResult:
        if self._closed:
            raise RuntimeError(f"session for {self.theorem.name} is closed")
        limit = self._env.options.tactic_timeout if timeout is None else timeout
        with self._lock, self._worker.lock:
            node = self._nodes.get(state.id)
            if node is None or node.pp != state.pp:
                raise ValueError(f"state {state.id} does not belong to this session ({self.theorem.name}); "
                                 "pass a TacticState returned by this session")
            self._worker.maybe_recycle()
            crashes: list[str] = []
            while True:
                try:
                    ps = self._backend_id(state.id)
                except ReplFailure as e:  # the process died while restoring: restart and try again
                    self._worker.discard()
                    crashes.append(f"while restoring the state: {e}")
                    if len(crashes) > self._env.options.crash_retries + 1:
                        raise ReplayError(f"cannot restore {self.theorem.name}: " + "; ".join(crashes)) from e
                    continue
                try:
                    resp = self._worker.request({"tactic": tactic, "proofState": ps}, limit)
                    break
                except ReplTimeout as e:
                    # the process is dead; the session replays on its next call (lazily, so this
                    # call returns right away instead of after a restart)
                    return TacticTimeout(str(e))
                except ReplCrash as e:
                    crashes.append(str(e))
                    if len(crashes) > self._env.options.crash_retries:
                        what = "ran out of memory" if e.out_of_memory else "crashed"
                        return LeanError(f"the Lean process {what} running this tactic "
                                         f"{len(crashes)} times: {crashes[-1]}")
            j = judge_tactic(resp)
            if j.kind not in ("state", "finished"):
                return j.to_result(-1)
            new_id = len(self._nodes)
            self._nodes[new_id] = _Node(state.id, tactic, "\n\n".join(j.goals))
            if j.proof_state is not None and j.kind == "state":
                self._backend_ids[new_id] = j.proof_state
            return j.to_result(new_id)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with self._env.lock:
                self._worker.sessions -= 1

    def __enter__(self) -> "ReplSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _named_for_checking(text: str, name: str) -> tuple[str, str]:
    """The declaration to check and the name to ask `#print axioms` about. An `example` has no
    name, so it is checked as a `theorem` with a fresh one: same statement, same proof, and its
    axioms can be listed (an `example` would let `sorryAx` or `ofReduceBool` through unseen)."""
    cmd = split_commands(text)[0]
    if cmd.keyword != "example":
        return text, name
    fresh = "prover_checked_example"
    keyword = re.compile(r"\bexample\b").search(text, cmd.statement_start, cmd.assign)
    assert keyword is not None, "an example command names its keyword before its statement"
    return text[:keyword.start()] + f"theorem {fresh}" + text[keyword.end():], fresh


_AXIOMS = re.compile(r"depends on axioms: \[([^\]]*)\]")
STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})


class ReplProofEnv:
    """A pool of REPL processes behind the `ProofEnv` interface. Thread-safe."""

    def __init__(self, options: ReplOptions) -> None:
        if options.pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {options.pool_size}")
        self.options = options
        self.backend = options.backend
        self.lock = threading.Lock()
        self._workers = [_Worker(i, options) for i in range(options.pool_size)]
        self._next_verifier = 0
        self._closed = False

    def _pick_worker(self) -> _Worker:
        with self.lock:
            if self._closed:
                raise RuntimeError("this ProofEnv is closed")
            worker = min(self._workers, key=lambda w: (w.sessions, w.index))
            worker.sessions += 1
            return worker

    def start(self, theorem: Theorem) -> tuple[ReplSession, TacticState]:
        worker = self._pick_worker()
        session = ReplSession(self, worker, theorem)
        try:
            return session, session._start()
        except BaseException:
            session.close()
            raise

    def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """Re-check `statement + proof` from the header's env: ok only if everything passes."""
        reasons = check_proof(proof, self.options.guard_policy)
        if reasons:
            return Verdict(False, self.backend, tuple(f"guard: {r}" for r in reasons))
        if not theorem.statement.rstrip().endswith(":= by"):
            return Verdict(False, self.backend, (f"the statement of {theorem.name} must end with `:= by`",))
        text = theorem.statement.rstrip() + "\n" + format_proof_block(proof)
        changed = statement_changes(theorem.statement, text)
        if changed:
            return Verdict(False, self.backend, tuple(changed))
        text, name = _named_for_checking(text, theorem.name)
        with self.lock:
            if self._closed:
                raise RuntimeError("this ProofEnv is closed")
            if self.options.verify_fresh_process:
                worker = _Worker(-1, self.options)
            else:
                worker = self._workers[self._next_verifier % len(self._workers)]
                self._next_verifier += 1
        problems: list[str] = []
        try:
            for _ in range(self.options.crash_retries + 1):
                try:
                    with worker.lock:
                        worker.maybe_recycle()
                        return self._verify_on(worker, theorem.header, name, text)
                except TheoremStartError as e:
                    return Verdict(False, self.backend, (str(e),))
                except ReplTimeout as e:
                    return Verdict(False, self.backend, (f"whole-proof check timed out: {e}",))
                except ReplCrash as e:
                    worker.discard()
                    problems.append(f"Lean process crashed during the whole-proof check: {e}")
            return Verdict(False, self.backend, tuple(problems))
        finally:
            if worker.index < 0:
                worker.close()

    def _verify_on(self, worker: _Worker, header: str, name: str, text: str) -> Verdict:
        o = self.options
        env_id = worker.header_env(header)
        resp = worker.request(_command_request(text, header, env_id), o.command_timeout)
        judgement = judge_command(resp)
        if not judgement.complete:
            return Verdict(False, self.backend, judgement.problems)
        assert isinstance(resp, CommandResponse)
        if o.check_axioms:
            axioms_resp = worker.request({"cmd": f"#print axioms {name}", "env": resp.env}, o.command_timeout)
            bad = self._nonstandard_axioms(axioms_resp, name)
            if bad:
                return Verdict(False, self.backend, tuple(bad))
        notes = tuple(m.render() for m in resp.messages)
        if o.backend == "embedded kernel":
            # the embedded kernel's `#print axioms`: the core rules and lemmas the proof relies on
            relies = worker.request({"cmd": f"#print axioms {name}", "env": resp.env}, o.command_timeout)
            if isinstance(relies, CommandResponse):
                notes += tuple(m.data for m in relies.messages)
        return Verdict(True, self.backend, notes)

    def _nonstandard_axioms(self, resp: Response, name: str) -> list[str]:
        if not isinstance(resp, CommandResponse) or errors_of(resp.messages):
            return [f"could not list the axioms of {name}: {resp}"]
        allowed = set(STANDARD_AXIOMS)
        if self.options.guard_policy.allow_native_decide:
            allowed |= {"Lean.ofReduceBool", "Lean.trustCompiler"}
        for m in resp.messages:
            if "does not depend on any axioms" in m.data:
                return []
            found = _AXIOMS.search(m.data)
            if found:
                used = {a.strip() for a in found.group(1).split(",") if a.strip()}
                extra = sorted(used - allowed)
                return [f"{name} depends on non-standard axioms: {', '.join(extra)}"] if extra else []
        return [f"`#print axioms {name}` gave no axiom list: {[m.data for m in resp.messages]}"]

    def probe(self) -> None:
        """Raise `BackendUnavailable` unless a REPL process starts here and answers a request.

        The process stays up as the pool's first worker, so checking costs no extra start."""
        o = self.options
        where = o.cwd or os.getcwd()
        if o.cwd is not None and not os.path.isdir(o.cwd):
            raise BackendUnavailable(f"the {self.backend} would run in {o.cwd}, which is not a directory")
        path = (o.env or os.environ).get("PATH")
        if shutil.which(o.command[0], path=path) is None:
            raise BackendUnavailable(f"`{o.command[0]}` is not on PATH, so the {self.backend} "
                                     f"(`{' '.join(o.command)}`) cannot start. {self.install_hint}")
        worker = self._workers[0]
        try:
            with worker.lock:
                worker.request({"cmd": ""}, o.command_timeout)
        except ReplFailure as e:
            worker.discard()
            raise BackendUnavailable(f"the {self.backend} (`{' '.join(o.command)}` in {where}) did not answer "
                                     f"a first request: {e}. {self.install_hint}") from None

    @property
    def install_hint(self) -> str:
        if self.backend == "lean repl":
            return ("Install Lean 4 (elan, https://lean-lang.org/install), then run from a Lean project "
                    "that depends on Mathlib and has the REPL (leanprover-community/repl) built, so that "
                    "`lake env repl` works there; or use --env embedded (no Lean needed).")
        return "Check the backend's command and working directory."

    def stats(self) -> dict[str, Any]:
        return {"backend": self.backend, "processes": len(self._workers),
                "restarts": sum(w.restarts for w in self._workers),
                "live": sum(1 for w in self._workers if w.conn is not None and w.conn.alive)}

    def close(self) -> None:
        with self.lock:
            self._closed = True
        for w in self._workers:
            w.close()

    def __enter__(self) -> "ReplProofEnv":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def embedded_command() -> list[str]:
    return [sys.executable, "-m", "lean_env.embedded"]
