"""Theorem statement -> initial goal (parse + elaborate), with clear rejections."""
from __future__ import annotations

from dataclasses import dataclass

from .elaborate import Context, Elaborator, elab_binders
from .goals import Goal
from .terms import TRUE, Term
from .parser import TheoremSyntax, parse_theorem


@dataclass(frozen=True)
class ElaboratedTheorem:
    name: str
    goal: Goal
    syntax: TheoremSyntax


def elaborate_theorem(source: str, start: int = 0) -> ElaboratedTheorem:
    """Parse and elaborate the declaration at `start`. Raises Unsupported / ParseError / ElabError."""
    syn = parse_theorem(source, start)
    ctx = Context({})
    hyps = elab_binders(syn.binders, ctx)
    target = Elaborator(ctx).prop(syn.statement)
    # the binders first (a later one makes an earlier one of the same name `x✝` in what came
    # before it), then the target, which was elaborated with every name at its latest binder
    goal = Goal((), TRUE)
    for name, value in hyps:
        goal = goal.add_hyp(name, value, is_var=not isinstance(value, Term))
    return ElaboratedTheorem(syn.name, goal.with_target(target), syn)
