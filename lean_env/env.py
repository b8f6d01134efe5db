"""The interface every Lean backend offers to the search: `ProofEnv` and its sessions.

Backends: "embedded" (the embedded kernel behind the REPL protocol), "repl" (a real Lean REPL,
`lake env repl`), "dojo" (LeanDojo over a traced repo). Pick one with `open_env`.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from lean_env.theorem import Theorem
from lean_env.types import TacticResult, TacticState, Verdict


@runtime_checkable
class ProofSession(Protocol):
    """One theorem being proved: tactic calls from any earlier state (free backtracking)."""

    theorem: Theorem

    def run_tac(self, state: TacticState, tactic: str, timeout: float | None = None) -> TacticResult:
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class ProofEnv(Protocol):
    """A pool of Lean processes. `backend` is shown to users next to every verdict."""

    backend: str

    def start(self, theorem: Theorem) -> tuple[ProofSession, TacticState]:
        ...

    def verify(self, theorem: Theorem, proof: str) -> Verdict:
        ...

    def close(self) -> None:
        ...


def check_usable(env: ProofEnv) -> None:
    """Raise `BackendUnavailable` if `env` cannot run anything: call it once before a batch,
    so a missing Lean is one clear error instead of one failed theorem after another."""
    probe = getattr(env, "probe", None)
    if callable(probe):
        probe()


def open_env(kind: str = "embedded", **options: Any) -> ProofEnv:
    """Open a pool of Lean processes.

    kind:
      "embedded": the embedded kernel's REPL server (`python -m lean_env.embedded`);
                  verdicts are labelled "embedded kernel", never Lean's.
      "repl":     a real Lean REPL, `command=["lake", "env", "repl"]` run in `cwd` (a Lean
                  project with Mathlib and the repl built).
      "dojo":     LeanDojo 4.20 over a traced repo (see `lean_env.dojo.DojoProofEnv`).
    Options for "embedded"/"repl" are the fields of `lean_env.repl.ReplOptions`, e.g.
    pool_size (processes), tactic_timeout (s), command_timeout (s), memory_limit (bytes,
    RLIMIT_AS; None = no cap), header_reuse, recycle_rss, cpu_time_factor, guard_policy.
    """
    from dataclasses import fields

    from lean_env.repl import GiB, ReplOptions, ReplProofEnv, embedded_command

    if kind == "dojo":
        from lean_env.dojo import DojoProofEnv

        return DojoProofEnv(**options)
    known = {f.name for f in fields(ReplOptions)} - {"backend"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"open_env({kind!r}) got unknown options {unknown}; known options: {sorted(known)}")
    if kind == "embedded":
        # verify_fresh_process: the final check runs in a process that served no search, so a
        # state left behind by the search (or a bug that corrupted it) cannot pass a proof
        defaults: dict[str, Any] = dict(command=embedded_command(), tactic_timeout=10.0, command_timeout=60.0,
                                        memory_limit=4 * GiB, check_axioms=False, cpu_time_factor=1.5,
                                        verify_fresh_process=True)
        return ReplProofEnv(ReplOptions(**{**defaults, **options, "backend": "embedded kernel"}))
    if kind == "repl":
        defaults = dict(command=["lake", "env", "repl"])
        return ReplProofEnv(ReplOptions(**{**defaults, **options, "backend": "lean repl"}))
    raise ValueError(f"unknown Lean backend {kind!r}: use 'embedded', 'repl' or 'dojo'")
