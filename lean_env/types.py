"""Results of running a tactic, shaped like LeanDojo's result types.

Every backend (real Lean REPL, LeanDojo, the embedded kernel) answers with these, so the
search never needs to know which one it talks to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class TacticState:
    """An open proof state. Equality and hash use the pretty-printed text only (as LeanDojo)."""

    pp: str
    id: int = field(compare=False)
    num_goals: int = field(default=1, compare=False)
    message: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ProofFinished:
    """No goals remain and the backend reported the proof complete."""

    tactic_state_id: int
    message: str | None = None


@dataclass(frozen=True)
class LeanError:
    """The tactic failed; `error` is the backend's message."""

    error: str


@dataclass(frozen=True)
class ProofGivenUp:
    """The tactic closed the goal with `sorry`/`admit`: never a proof."""


@dataclass(frozen=True)
class TacticTimeout:
    """The tactic ran past its time limit; the session was restored to the state before it."""

    error: str = "tactic timed out"


TacticResult = Union[TacticState, ProofFinished, LeanError, ProofGivenUp, TacticTimeout]


@dataclass(frozen=True)
class Verdict:
    """Outcome of re-checking a whole proof from scratch.

    `ok` means: the theorem text with the proof elaborated with no error, no sorry, the
    statement unchanged, and the guard found nothing forbidden. `backend` names who checked it
    ("embedded kernel", "lean repl", "lean dojo"): the embedded kernel is never Lean.
    """

    ok: bool
    backend: str
    messages: tuple[str, ...] = ()


class BackendUnavailable(RuntimeError):
    """The backend cannot run here (Lean or LeanDojo missing, a REPL that does not start or answer).

    The message names what is missing and what to do; nothing was proved or written."""
