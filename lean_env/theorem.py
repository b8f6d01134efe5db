"""Theorems of a .lean file: what to prove, and where its proof goes back."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theorem:
    """One statement to prove.

    `header` is everything the statement needs before it (imports, `open`, `set_option`,
    namespaces); `statement` is the declaration up to and including `:= by` (e.g.
    `theorem foo (x : ℕ) (h : x = 2) : x + 1 = 3 := by`). The full text Lean checks is
    `header + "\\n" + statement + "\\n  " + proof`.
    """

    name: str
    header: str
    statement: str
