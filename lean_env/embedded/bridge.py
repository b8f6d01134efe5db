"""Glue between the tactics (which read goals as named surface terms) and the trusted core
(which alone changes goals). Untrusted: a mistake here can make a tactic fail, never succeed.

Every goal a tactic sees is a *view* of a core sequent, registered under a handle. A tactic
changes goals only through `ProofBuilder.apply(goal, rule, *args)`: the core computes the
premises and the builder returns their views. The assignments handle -> (rule, args,
children) form the proof object, which `proof(handle)` assembles for `core.check`.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from fractions import Fraction

from . import terms as S
from .core import term as C
from .core.check import Proof
from .core.rules import premises
from .core.sequent import CoreError, Decl, Sequent
from .core.surface import goal_to_sequent, to_core
from .errors import TacticFailed
from .goals import SUPERSCRIPTS, Goal, Hyp

_UIDS = itertools.count(1)
_HANDLES = itertools.count(1)


def fresh_uid() -> int:
    return next(_UIDS)


@dataclass(frozen=True)
class Registered:
    seq: Sequent
    view: Goal
    names: dict  # display name -> core FVar (variables) or uid (hypotheses)


REGISTRY: dict[int, Registered] = {}  # handles are never reused, so one registry serves all branches


def display_names(seq: Sequent) -> dict[int, str]:
    """Lean's display: a local shadowed by a later one of the same name shows as `x✝`, `x✝¹`…"""
    out: dict[int, str] = {}
    taken: set[str] = set()
    for i, d in enumerate(seq.decls):
        shadowed = any(e.name == d.name for e in seq.decls[i + 1:])
        name = d.name
        if shadowed or name in taken:
            base = name.split("✝")[0]
            name, k = base + "✝", 0
            while name in taken or any(e.name == name for e in seq.decls):
                k += 1
                name = base + "✝" + "".join(SUPERSCRIPTS[int(c)] for c in str(k))
        out[d.uid] = name
        taken.add(name)
    return out


def decimal_text(value: Fraction) -> str:
    """How a non-integer literal shows: the decimal it came from (`1.5`; the core keeps only the
    exact value), or `(n / d)` when no finite decimal is that value."""
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1:
        return f"({value.numerator} / {value.denominator})"
    places = max(twos, fives)
    digits = str(value.numerator * 10 ** places // value.denominator).rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}"


def to_surface(t: C.Term, shown: dict[int, str], bound: tuple[str, ...] = ()) -> S.Term:
    """Core term -> named surface term; binder names avoid every name the body mentions."""
    if isinstance(t, C.FVar):
        return S.Var(shown.get(t.uid, t.name), t.ty)
    if isinstance(t, C.BVar):
        return S.Var(bound[-1 - t.idx], t.ty)
    if isinstance(t, C.Lit):
        return S.Num(t.value, t.ty, None if t.value.denominator == 1 else decimal_text(t.value))
    if isinstance(t, C.Op):
        return S.Op(t.op, tuple(to_surface(a, shown, bound) for a in t.args), t.ty)
    if isinstance(t, C.App):
        return S.App(S.Var(shown.get(t.fn.uid, t.fn.name), t.fn.ty), tuple(to_surface(a, shown, bound) for a in t.args),
                     t.ty)
    if isinstance(t, C.Rel):
        return S.Rel(t.op, to_surface(t.lhs, shown, bound), to_surface(t.rhs, shown, bound))
    if isinstance(t, C.Conn):
        return S.Conn(t.op, tuple(to_surface(a, shown, bound) for a in t.args))
    if isinstance(t, C.Pred):
        return S.Pred(t.name, tuple(to_surface(a, shown, bound) for a in t.args))
    if isinstance(t, (C.Quant, C.BigOp)):
        name = _binder_name(t, shown, bound)
        body = to_surface(t.body, shown, bound + (name,))
        if isinstance(t, C.Quant):
            return S.Quant(t.kind, name, t.vty, body)
        lo = to_surface(t.lo, shown, bound) if t.lo is not None else None
        return S.BigOp(t.op, name, t.vty, t.kind, lo, to_surface(t.hi, shown, bound), body, t.ty)
    raise CoreError(f"cannot display {type(t).__name__}")


def _binder_name(t: C.Term, shown: dict[int, str], bound: tuple[str, ...]) -> str:
    used = {shown.get(u, "") for u in C.fvars(t.body)} | set(bound)
    name, k = t.name, 0
    while name in used:
        k += 1
        name = f"{t.name}_{k}"
    return name


def view_of(seq: Sequent, tag: str | None = None) -> tuple[Goal, dict]:
    shown = display_names(seq)
    names: dict = {}
    hyps = []
    for d in seq.decls:
        if d.is_var:
            hyps.append(Hyp(shown[d.uid], d.value, True))
            names[shown[d.uid]] = C.FVar(d.uid, d.value, d.name)
        else:
            hyps.append(Hyp(shown[d.uid], to_surface(d.value, shown), False))
            names[shown[d.uid]] = d.uid
    return Goal(tuple(hyps), to_surface(seq.target, shown), tag), names


def register(seq: Sequent, tag: str | None = None) -> Goal:
    view, names = view_of(seq, tag)
    handle = next(_HANDLES)
    goal = dc_replace(view, handle=handle)
    REGISTRY[handle] = Registered(seq, goal, names)
    return goal


def start_goal(goal: Goal) -> Goal:
    """The registered view of an elaborated statement's goal (its sequent is built by the
    trusted translation in core/surface.py)."""
    hyps = [(h.name, h.value, h.is_var) for h in goal.hyps]
    seq, _ = goal_to_sequent(hyps, goal.target, _UIDS)
    return register(seq, goal.tag)


def entry(goal: Goal) -> Registered:
    if goal.handle is None or goal.handle not in REGISTRY:
        raise TacticFailed("internal: this goal is not known to the trusted core")
    return REGISTRY[goal.handle]


def sequent(goal: Goal) -> Sequent:
    return entry(goal).seq


def is_view(goal: Goal) -> bool:
    """Is `goal` exactly what the core holds for its handle (tags aside)?"""
    if goal.handle is None or goal.handle not in REGISTRY:
        return False
    return dc_replace(goal, tag=None) == dc_replace(REGISTRY[goal.handle].view, tag=None)


def core_term(goal: Goal, t: S.Term) -> C.Term:
    """A surface term written in `goal`'s context -> core term (names resolve as displayed)."""
    names = {k: v for k, v in entry(goal).names.items() if isinstance(v, C.FVar)}
    try:
        return to_core(t, names)
    except CoreError as e:
        raise TacticFailed(f"the trusted core cannot read this term: {e}") from e


def hyp_uid(goal: Goal, name: str) -> int:
    v = entry(goal).names.get(name)
    if not isinstance(v, int):
        raise TacticFailed(f"unknown hypothesis '{name}'")
    return v


def var_fvar(goal: Goal, name: str) -> C.FVar:
    v = entry(goal).names.get(name)
    if not isinstance(v, C.FVar):
        raise TacticFailed(f"unknown variable '{name}'")
    return v


class Assignments:
    """handle -> (rule, args, child handles) for one line of proof; copied at every branch
    point (proof-state snapshots, `first`, `try`), so a failed attempt leaves no trace."""

    def __init__(self, data: dict | None = None):
        self.data: dict[int, tuple[str, tuple, tuple[int, ...]]] = dict(data or {})

    def copy(self) -> "Assignments":
        return Assignments(self.data)

    def restore(self, saved: "Assignments") -> None:
        self.data = dict(saved.data)

    def apply(self, goal: Goal, rule: str, *args, env: dict | None = None) -> tuple[Goal, ...]:
        ent = entry(goal)
        if goal.handle in self.data:
            raise TacticFailed("internal: this goal was already solved")
        try:
            subgoals = premises(ent.seq, rule, tuple(args), env)
        except CoreError as e:
            raise TacticFailed(f"the trusted core rejected this step: {e}") from e
        children = tuple(register(s, goal.tag) for s in subgoals)
        self.data[goal.handle] = (rule, tuple(args), tuple(c.handle for c in children))
        return children

    def proof(self, handle: int) -> Proof | None:
        """The proof object rooted at `handle` (None for a hole); built bottom-up without
        recursion, so a long proof cannot hit Python's recursion limit."""
        order, todo = [], [handle]
        while todo:
            h = todo.pop()
            order.append(h)
            if h in self.data:
                todo.extend(self.data[h][2])
        built: dict[int, Proof | None] = {}
        for h in reversed(order):
            if h not in self.data:
                built[h] = None
            else:
                rule, args, kids = self.data[h]
                built[h] = Proof(rule, args, tuple(built[k] for k in kids))
        return built[handle]


__all__ = ["Assignments", "Decl", "core_term", "fresh_uid", "hyp_uid", "is_view", "register", "sequent",
           "start_goal", "var_fvar"]
