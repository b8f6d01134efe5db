"""Syntactic matching of terms with metavariables, modulo Lean's reducible notations
(`a > b` is `b < a`, `a ≥ b` is `b ≤ a`, `a ≠ b` is `¬a = b`)."""
from __future__ import annotations

import itertools

from .terms import App, BigOp, Conn, Num, Op, Quant, Rel, Term, Var, rebuild, substitute

_FRESH = itertools.count()


def free_vars_of(t: Term) -> set[str]:
    from .terms import free_vars
    return free_vars(t)


def canon(t: Term) -> Term:
    if isinstance(t, Rel):
        lhs, rhs = canon(t.lhs), canon(t.rhs)
        if t.op == ">":
            return Rel("<", rhs, lhs)
        if t.op == "≥":
            return Rel("≤", rhs, lhs)
        if t.op == "≠":
            return Conn("¬", (Rel("=", lhs, rhs),))
        return Rel(t.op, lhs, rhs)
    kids = [canon(c) for c in t.children()]
    return rebuild(t, kids) if kids else t


def match(pattern: Term, target: Term, metas: set[str], subst: dict[str, Term]) -> bool:
    """Extend `subst` so that pattern[subst] == target (both taken in canonical form by callers)."""
    if isinstance(pattern, Var) and pattern.name in metas:
        bound = subst.get(pattern.name)
        if bound is not None:
            return bound == target
        if pattern.ty != target.ty:
            return False
        subst[pattern.name] = target
        return True
    if (isinstance(pattern, Op) and pattern.op == "+" and pattern.ty == "ℕ" and isinstance(pattern.args[1], Num)
            and target.ty == "ℕ" and not (isinstance(target, Op) and target.op == "+" and target.args[1] == pattern.args[1])):
        # Lean unifies `?n + 2 =?= 9` (or `=?= 7 + 1`, a closed literal term) in ℕ: ?n := 7
        value = _closed_nat_value(target)
        if value is not None:
            if value < pattern.args[1].value:
                return False
            from fractions import Fraction
            return match(pattern.args[0], Num(Fraction(value - pattern.args[1].value), "ℕ"), metas, subst)
    if type(pattern) is not type(target):
        return False
    if isinstance(pattern, Var):
        return pattern == target
    if isinstance(pattern, Num):
        return pattern.value == target.value and pattern.ty == target.ty
    if isinstance(pattern, Op):
        return (pattern.op == target.op and pattern.ty == target.ty and len(pattern.args) == len(target.args)
                and all(match(a, b, metas, subst) for a, b in zip(pattern.args, target.args)))
    if isinstance(pattern, App):
        return (pattern.fn == target.fn and len(pattern.args) == len(target.args)
                and all(match(a, b, metas, subst) for a, b in zip(pattern.args, target.args)))
    if isinstance(pattern, Rel):
        return pattern.op == target.op and match(pattern.lhs, target.lhs, metas, subst) and match(
            pattern.rhs, target.rhs, metas, subst)
    if isinstance(pattern, Conn):
        return pattern.op == target.op and len(pattern.args) == len(target.args) and all(
            match(a, b, metas, subst) for a, b in zip(pattern.args, target.args))
    if isinstance(pattern, Quant):
        if pattern.kind != target.kind or pattern.vty != target.vty:
            return False
        if pattern.var in metas:
            return False
        # compare bodies with both bound variables renamed to one fresh name (no capture)
        fresh = Var(f"⟪bound{next(_FRESH)}⟫", target.vty)
        return match(substitute(pattern.body, pattern.var, fresh), substitute(target.body, target.var, fresh),
                     metas, subst) and not any(fresh.name in free_vars_of(v) for v in subst.values())
    if isinstance(pattern, BigOp):
        return pattern == target
    return pattern == target


def _closed_nat_value(t: Term):
    from .arith.evaluate import NotEvaluable, evaluate
    from .terms import free_vars
    if isinstance(t, Num):
        return t.value
    if free_vars(t) or not isinstance(t, Op) or t.op not in ("+", "*"):
        return None
    try:
        return evaluate(t)
    except NotEvaluable:
        return None


def instantiate(t: Term, subst: dict[str, Term]) -> Term:
    for name, value in subst.items():
        t = substitute(t, name, value)
    return t


def same_prop(a: Term, b: Term) -> bool:
    """Equal up to notation (`>`, `≥`, `≠`) and renaming of bound variables."""
    ca, cb = canon(a), canon(b)
    return ca == cb or match(ca, cb, set(), {})


# -- matching on core terms (untrusted: it only proposes instances; the core's spec/rewrite check them)
def cmatch(pattern, target, metas: set, subst: dict) -> bool:
    """Extend `subst` (meta uid -> core term) so that pattern[subst] is `target`, up to Lean's
    ℕ literal offsets (`?n + k =?= v` assigns ?n := v - k). Metas are FVars whose uid is in
    `metas`; they are never assigned terms with loose bound variables."""
    from .core import term as C
    if isinstance(pattern, C.FVar) and pattern.uid in metas:
        if pattern.uid in subst:
            return subst[pattern.uid] == target
        if pattern.ty != target.ty or C.has_loose_bvars(target):
            return False
        subst[pattern.uid] = target
        return True
    if (isinstance(pattern, C.Op) and pattern.op == "+" and pattern.ty == "ℕ" and isinstance(pattern.args[1], C.Lit)
            and isinstance(target, C.Lit) and target.ty == "ℕ" and target.value >= pattern.args[1].value):
        trial = dict(subst)
        if cmatch(pattern.args[0], C.Lit(target.value - pattern.args[1].value, "ℕ"), metas, trial):
            subst.update(trial)
            return True
        return False
    if type(pattern) is not type(target):
        return False
    if isinstance(pattern, (C.FVar, C.BVar, C.Lit)):
        return pattern == target
    if isinstance(pattern, C.Op):
        if pattern.op != target.op or pattern.ty != target.ty or len(pattern.args) != len(target.args):
            return False
    elif isinstance(pattern, C.App):
        if pattern.fn != target.fn or len(pattern.args) != len(target.args):
            return False
    elif isinstance(pattern, C.Rel):
        if pattern.op != target.op:
            return False
    elif isinstance(pattern, C.Conn):
        if pattern.op != target.op or len(pattern.args) != len(target.args):
            return False
    elif isinstance(pattern, C.Quant):
        if pattern.kind != target.kind or pattern.vty != target.vty:
            return False
    elif isinstance(pattern, C.BigOp):
        if (pattern.op, pattern.vty, pattern.kind, pattern.ty) != (target.op, target.vty, target.kind, target.ty) \
                or (pattern.lo is None) != (target.lo is None):
            return False
    elif isinstance(pattern, C.Pred):
        if pattern.name != target.name or len(pattern.args) != len(target.args):
            return False
    else:
        return pattern == target
    return all(cmatch(a, b, metas, subst) for a, b in zip(pattern.children(), target.children()))


def closed_subterms(t):
    """Subterms of a core term without loose bound variables, pre-order left to right (the order
    in which Lean's `kabstract` tries instances)."""
    from .core import term as C
    if not C.has_loose_bvars(t):
        yield t
    for c in t.children():
        yield from closed_subterms(c)
