"""The interface every Lean backend offers to the search: `ProofEnv` and its sessions.

Backends: "embedded" (the embedded kernel behind the REPL protocol), "repl" (a real Lean REPL,
`lake env repl`), "dojo" (LeanDojo over a traced repo). Pick one with `open_env`.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

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
