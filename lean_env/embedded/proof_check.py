"""The last step of every declaration: the proof object built by the tactics is checked by the
trusted core (core/check.py) against the sequent elaborated from the statement. Nothing is
accepted that this check does not pass."""
from __future__ import annotations

from . import bridge
from .core.check import Report, check
from .core.sequent import CoreError
from .core.surface import to_core
from .goals import Goal
from .tactics.engine import TacticContext


def core_env(lemmas: dict) -> dict:
    """Earlier declarations (closed surface statements) as core propositions; a statement the
    core cannot read is simply not available to later proofs."""
    out = {}
    for name, prop in lemmas.items():
        try:
            out[name] = to_core(prop, {})
        except CoreError:
            continue
    return out


def check_proof(ctx: TacticContext, root: Goal) -> Report:
    """Assemble the proof of `root` from the context's assignments and have the core check it.
    Raises CoreError when the core rejects it."""
    proof = ctx.assign.proof(root.handle)
    return check(bridge.sequent(root), proof, ctx.core_env)


def describe(name: str, report: Report) -> str:
    """One line for users: what the trusted core accepted this proof with."""
    rules = ", ".join(f"{r}×{n}" if n > 1 else r for r, n in sorted(report.rules.items()))
    lemmas = ", ".join(sorted(report.lemmas)) or "none"
    decls = ", ".join(sorted(report.declarations)) or "none"
    return (f"'{name}' was checked by the embedded kernel's trusted core; core rules: {rules}; "
            f"Mathlib lemmas: {lemmas}; earlier declarations: {decls}")
