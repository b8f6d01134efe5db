"""The hammer policy: a fixed, ordered list of closing and structural tactics.

No model: it reads the first goal of the state (tactics act on the first goal, as in Lean),
picks the numeric variables and hypothesis names, and builds hint terms for `nlinarith`
(`sq_nonneg (a - b)`, …). For an existential target it proposes witnesses (`use 3`, solved from
the goal's equations, then small values: search.witnesses) and leaves the closing to the next
step. Deterministic; log-probs fall with rank so best-first tries the list in order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations

from search.candidates import Candidate, PolicyRequest
from search.witnesses import witness_tactics

NUMERIC_TYPES = ("ℝ", "ℚ", "ℤ", "ℕ")
RANK_LOGPROB_STEP = 0.5  # log-prob of rank r is -(r + 1) * step: the top few dominate RMaxTS samples
MAX_HINT_VARIABLES = 4    # hint terms grow quadratically with variables


@dataclass
class Goal:
    """The first goal of a state, split into what the hammer needs."""

    variables: list[tuple[str, str]] = field(default_factory=list)  # (name, type) of numbers
    hypotheses: list[str] = field(default_factory=list)             # names of Prop hypotheses
    target: str = ""


def first_goal(pp: str) -> Goal:
    """Parse `x y : ℝ\\nh₀ : 0 < x\\n⊢ x + y = 2` (several goals: the first one only)."""
    goal = Goal()
    text = pp.strip().split("\n\n")[0]
    lines = text.splitlines()
    target_lines: list[str] = []
    in_target = False
    for line in lines:
        if line.startswith("case "):
            continue
        if line.startswith("⊢"):
            in_target = True
            target_lines.append(line[1:].strip())
            continue
        if in_target:
            target_lines.append(line.strip())
            continue
        if line.startswith((" ", "\t")):
            continue  # continuation of a long hypothesis
        names, sep, typ = line.partition(" : ")
        if not sep:
            continue
        typ = typ.strip()
        for name in names.split():
            if "✝" in name:
                continue  # inaccessible: cannot be named in a hint
            if typ in NUMERIC_TYPES:
                goal.variables.append((name, typ))
            elif _is_proposition(typ):
                goal.hypotheses.append(name)
    goal.target = " ".join(target_lines)
    return goal


_PROP_MARKERS = re.compile(r"[=<>≤≥≠∣∧∨¬↔∀∃∈∉⊆≡]|\b(Prime|Even|Odd|Irrational|True|False)\b")


def _is_proposition(typ: str) -> bool:
    # `f : ℕ → ℝ`, `z : ℂ`, `S : Finset ℕ` are objects; `h : 0 < x`, `hp : Nat.Prime p` are facts.
    return bool(_PROP_MARKERS.search(typ))


def _intro_names(target: str) -> str | None:
    """Names for `intro` if the target starts with ∀/¬/→, else None."""
    match = re.match(r"∀\s*(.+?)\s*[,:]", target)
    if match:
        names = re.findall(r"[^\s(){}\[\]:]+", match.group(1).split(":")[0])
        names = [n for n in names if n not in ("∀",)]
        if names:
            return "intro " + " ".join(names)
    if target.startswith("¬") or " → " in target:
        return "intro h"
    return None


def hammer_tactics(pp: str, statement: str = "") -> list[str]:
    """The ordered tactic list for a state. `statement` (the theorem's source text, optional)
    gives the types of ∃ binders, which states do not print."""
    goal = first_goal(pp)
    ordered_vars = [v for v, t in goal.variables if t in ("ℝ", "ℚ", "ℤ", "ℕ")][:MAX_HINT_VARIABLES]
    hints: list[str] = []
    for a, b in combinations(ordered_vars, 2):
        hints += [f"sq_nonneg ({a} - {b})", f"sq_nonneg ({a} + {b})"]
    hints += [f"sq_nonneg {a}" for a in ordered_vars]
    # An existential wants a witness: solved ones first (`norm_num` closes `∃ x, x = 3` itself),
    # guesses after the usual closers; the tactics after a `use` close the instance.
    solved, guesses = witness_tactics(goal.target, statement)
    tactics = [*solved, "norm_num", *guesses, "linarith"]
    # Structural moves come early when the target's shape calls for them: closers rarely
    # finish a ∀ or ∧ goal in one step.
    intro = _intro_names(goal.target)
    if intro:
        tactics.append(intro)
    if "∧" in goal.target or "↔" in goal.target:
        tactics.append("constructor")
    if hints:
        tactics.append(f"nlinarith [{', '.join(hints)}]")
    tactics += ["positivity", "omega", "decide", "simp", "ring_nf", "field_simp", "nlinarith"]
    if goal.hypotheses:
        tactics.append(f"norm_num [{', '.join(goal.hypotheses)}]")
        tactics.append(f"simp only [{', '.join(goal.hypotheses)}] at *")
    tactics += ["norm_num at *", "simp_all", "ring"]
    if "∨" in goal.target:
        tactics += ["left", "right"]
    return list(dict.fromkeys(tactics))  # drop repeats, keep order


class HammerPolicy:
    """Deterministic policy over `hammer_tactics`; each request's candidates are the first k."""

    async def propose(self, requests: list[PolicyRequest], k: int) -> list[list[Candidate]]:
        return [
            [Candidate(tactic, -(rank + 1) * RANK_LOGPROB_STEP, 0)
             for rank, tactic in enumerate(hammer_tactics(req.state.pp, req.theorem.statement)[:k])]
            for req in requests
        ]
