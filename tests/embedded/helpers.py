"""Shared helpers for the embedded-kernel tests (imported by path: tests use importlib mode)."""
from __future__ import annotations

import json

from lean_env.datasets import minif2f_dir
from lean_env.embedded.bridge import start_goal
from lean_env.embedded.checker import check_command
from lean_env.embedded.goals import Goal
from lean_env.embedded.proof_check import check_proof
from lean_env.embedded.tactics.engine import TacticContext, run_by_block

DATA = minif2f_dir()
HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n"


def load(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def accepted(statement: str, proof: str) -> bool:
    """The whole-proof verdict: no error message, no sorry (what a verifier calls complete)."""
    res = check_command(HEADER + "\n" + statement + "\n  " + proof, allow_imports=True, env_lemmas={})
    errors = [m for m in res.messages if m.severity == "error"]
    sorry_warn = [m for m in res.messages if "sorry" in m.data]
    return not errors and not res.sorries and not sorry_warn


def errors_of(statement: str, proof: str) -> list[str]:
    res = check_command(HEADER + "\n" + statement + "\n  " + proof, allow_imports=True, env_lemmas={})
    return [m.data for m in res.messages if m.severity == "error"]


def closes(goal: Goal, proof: str) -> bool:
    """Run a tactic block on a goal directly; True only if it closes it with no error/sorry and
    the trusted core accepts the proof object."""
    root = goal if goal.handle is not None else start_goal(goal)
    ctx = TacticContext(proof)
    ok = run_by_block(ctx, 0, 0, len(proof), root)
    if not ok or any(m.severity == "error" for m in ctx.messages) or ctx.explicit_sorry:
        return False
    return check_proof(ctx, root).complete
