"""Proof objects and their checker: `check(sequent, proof)` is the only way a goal is closed.

A proof is a tree of rule applications. Each node names a rule of core/rules.py and its
arguments; the checker computes the rule's premises from the sequent and checks one subproof
per premise. `None` in place of a subproof is a hole (a `sorry`): the proof then does not
prove its sequent, and the report says how many holes there are.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .rules import Env, premises
from .sequent import CoreError, Sequent, check_sequent

MAX_NODES = 200_000


@dataclass(frozen=True)
class Proof:
    rule: str
    args: tuple
    subproofs: tuple["Proof | None", ...] = ()


@dataclass
class Report:
    """What a checked proof relies on (our `#print axioms`): rules, lemmas and holes."""

    holes: int = 0
    rules: Counter = field(default_factory=Counter)
    lemmas: set = field(default_factory=set)
    declarations: set = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return self.holes == 0


def check(seq: Sequent, proof: Proof | None, env: Env | None = None) -> Report:
    """Check `proof` proves `seq`; raises CoreError naming the first failing node."""
    check_sequent(seq)
    report = Report()
    todo: list[tuple[Sequent, Proof | None, str]] = [(seq, proof, "root")]
    nodes = 0
    while todo:
        s, p, where = todo.pop()
        if p is None:
            report.holes += 1
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise CoreError("proof too large")
        if not isinstance(p, Proof):
            raise CoreError(f"{where}: not a proof node")
        try:
            subgoals = premises(s, p.rule, p.args, env)
        except CoreError as e:
            raise CoreError(f"{where} ({p.rule}): {e}") from e
        if len(subgoals) != len(p.subproofs):
            raise CoreError(f"{where} ({p.rule}): {len(subgoals)} premise(s), {len(p.subproofs)} subproof(s)")
        report.rules[p.rule] += 1
        if p.rule == "lemma":
            report.lemmas.add(p.args[0])
        elif p.rule == "env":
            report.declarations.add(p.args[0])
        for i, (g, sub) in enumerate(zip(subgoals, p.subproofs)):
            todo.append((g, sub, f"{where}.{p.rule}[{i}]"))
    return report
