"""The logical connectives of our terms (`Conn`: ∧ ∨ → ↔ ¬ True False) as z3 formulas."""
from __future__ import annotations

import z3


def z3_connective(op: str, args: list[z3.BoolRef]) -> z3.BoolRef:
    """z3's formula for connective `op` applied to already translated arguments."""
    if op == "True":
        return z3.BoolVal(True)
    if op == "False":
        return z3.BoolVal(False)
    if op == "¬":
        return z3.Not(args[0])
    if op == "∧":
        return z3.And(*args)
    if op == "∨":
        return z3.Or(*args)
    if op == "→":
        return z3.Implies(*args)
    if op == "↔":
        return args[0] == args[1]
    raise ValueError(f"z3_connective: {op!r} is not a connective (expected one of ∧ ∨ → ↔ ¬ True False)")
