"""Lean's argument syntax for the tactics whose implementations here read only part of it.

Several tactics (linarith, simp_all, tauto, ...) take their hint list or nothing at all and
ignore the rest of the text; without this check `linarith [h₀] at h₁` or `tauto foo` would
succeed here although Lean's parser rejects them, and a proof would be reported that Lean
cannot even read. `check_arguments` is applied before dispatch; tactics not listed parse their
arguments themselves.
"""
from __future__ import annotations

import re

# Pieces of Mathlib's syntax (simplified: enough to tell accepted text from what Lean rejects).
_CONFIG = r"(?:\(config\s*:=.*?\)\s*)?"
_ONLY = r"(?:only\b\s*)?"
_LEMMAS = r"(?:\[.*\]\s*)?"
_LOCATION = r"(?:at\s+(?:\*|[^\s\[\]()]+(?:\s+[^\s\[\]()]+)*)\s*)?"
_USING = r"(?:using\b.+)?"

_NOTHING = re.compile(r"\s*")
_HINTS = re.compile(r"\s*" + _CONFIG + _ONLY + _LEMMAS, re.S)                     # linarith [h, sq_nonneg x]
_SIMP_AT = re.compile(r"\s*" + _CONFIG + _ONLY + _LEMMAS + _LOCATION, re.S)       # simp only [h] at h₁ ⊢
_AT_ONLY = re.compile(r"\s*" + _CONFIG + _LOCATION, re.S)                          # ring_nf at h
_SIMPA = re.compile(r"\s*" + _CONFIG + _ONLY + _LEMMAS + _USING, re.S)             # simpa [h] using h₁
_AESOP = re.compile(r"\s*(?:\(.*\)\s*)*", re.S)                                    # aesop (add safe h)

ARGUMENT_SHAPES: dict[str, re.Pattern[str]] = {
    **dict.fromkeys(("assumption", "assumption_mod_cast", "constructor", "decide", "itauto", "omega",
                     "positivity", "rfl", "ring", "ring!", "ring1", "tauto", "trivial", "exfalso",
                     "left", "right"), _NOTHING),
    **dict.fromkeys(("linarith", "linarith!", "nlinarith", "nlinarith!", "simp_all", "simp_all?"), _HINTS),
    **dict.fromkeys(("simp", "simp?", "simp_arith", "dsimp", "norm_num", "norm_num1", "field_simp",
                     "push_cast"), _SIMP_AT),
    **dict.fromkeys(("ring_nf", "ring_nf!", "norm_cast", "push_neg"), _AT_ONLY),
    **dict.fromkeys(("simpa", "simpa?"), _SIMPA),
    "aesop": _AESOP,
}


def check_arguments(tactic: str, arguments: str) -> str | None:
    """None if Lean's parser accepts `arguments` after `tactic`, else the error to report."""
    shape = ARGUMENT_SHAPES.get(tactic)
    if shape is None or shape.fullmatch(arguments):
        return None
    return f"unexpected syntax after '{tactic}': {' '.join(arguments.split())!r} (Lean's parser rejects it)"
