"""Typed terms of the embedded fragment (the result of elaboration).

Types are strings: "ℕ" "ℤ" "ℚ" "ℝ" "Prop", or `Arrow(dom, cod)` for function variables.
Terms are immutable and hashable, so they can be compared structurally (Lean's `rfl` on
syntactically equal terms, hypothesis lookup for `assumption`, ...).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

from .core.term import NUMERIC, RANK, Arrow, Type  # one definition of the types  # noqa: F401


class Term:
    """Base class of typed terms; `ty` is the term's type."""

    ty: Type

    def children(self) -> tuple["Term", ...]:
        return ()


@dataclass(frozen=True)
class Var(Term):
    name: str
    ty: Type


@dataclass(frozen=True)
class Num(Term):
    """A numeral (`value` >= 0 as written) or a decimal literal (`text` keeps `0.5`)."""

    value: Fraction
    ty: Type
    text: str | None = None


@dataclass(frozen=True)
class Op(Term):
    """Arithmetic: op in + - * / % ^ neg abs sqrt cast fact gcd lcm inv; args are terms."""

    op: str
    args: tuple[Term, ...]
    ty: Type

    def children(self) -> tuple[Term, ...]:
        return self.args


@dataclass(frozen=True)
class App(Term):
    """Application of a function variable `f a b`."""

    fn: Var
    args: tuple[Term, ...]
    ty: Type

    def children(self) -> tuple[Term, ...]:
        return self.args


@dataclass(frozen=True)
class Rel(Term):
    """A relation `lhs op rhs`, op in = ≠ < ≤ > ≥ ∣ ; `ty` is always "Prop"."""

    op: str
    lhs: Term
    rhs: Term
    ty: Type = "Prop"

    def children(self) -> tuple[Term, ...]:
        return (self.lhs, self.rhs)


@dataclass(frozen=True)
class Conn(Term):
    """Logic: op in ∧ ∨ → ↔ ¬ True False."""

    op: str
    args: tuple[Term, ...]
    ty: Type = "Prop"

    def children(self) -> tuple[Term, ...]:
        return self.args


@dataclass(frozen=True)
class Quant(Term):
    """`∀ var : vty, body` or `∃ var : vty, body` (one variable per node)."""

    kind: str
    var: str
    vty: Type
    body: Term
    ty: Type = "Prop"

    def children(self) -> tuple[Term, ...]:
        return (self.body,)


@dataclass(frozen=True)
class BigOp(Term):
    """`∑ var ∈ Finset.range hi, body` (lo = None) or `∑ var ∈ Finset.Icc lo hi, body`."""

    op: str  # "∑" | "∏"
    var: str
    vty: Type
    kind: str  # "range" | "Icc"
    lo: Term | None
    hi: Term
    body: Term
    ty: Type = "ℕ"

    def children(self) -> tuple[Term, ...]:
        return tuple(t for t in (self.lo, self.hi, self.body) if t is not None)


@dataclass(frozen=True)
class Pred(Term):
    """An opaque predicate of numbers with a decidable meaning on literals: `Nat.Prime n`
    (printed `n.Prime`) and `Prime n` on ℕ. Arithmetic procedures treat it as an atom."""

    name: str
    args: tuple[Term, ...]
    ty: Type = "Prop"

    def children(self) -> tuple[Term, ...]:
        return self.args


TRUE = Conn("True", ())
FALSE = Conn("False", ())


def num(value: int | Fraction, ty: Type) -> Term:
    """A numeral of `ty`; negative values become `-n` (Lean has no negative literals)."""
    value = Fraction(value)
    if value < 0:
        return Op("neg", (Num(-value, ty),), ty)
    if value.denominator != 1:
        return Op("/", (Num(Fraction(value.numerator), ty), Num(Fraction(value.denominator), ty)), ty)
    return Num(value, ty)


def subterms(t: Term) -> Iterator[Term]:
    yield t
    for c in t.children():
        yield from subterms(c)


def free_vars(t: Term) -> set[str]:
    if isinstance(t, Var):
        return {t.name}
    if isinstance(t, App):
        out = {t.fn.name}
        for a in t.args:
            out |= free_vars(a)
        return out
    if isinstance(t, Quant):
        return free_vars(t.body) - {t.var}
    if isinstance(t, BigOp):
        out = free_vars(t.body) - {t.var}
        for c in (t.lo, t.hi):
            if c is not None:
                out |= free_vars(c)
        return out
    out: set[str] = set()
    for c in t.children():
        out |= free_vars(c)
    return out


def fresh_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def rebuild(t: Term, kids: list[Term]) -> Term:
    """`t` with its children replaced (same shape)."""
    if isinstance(t, Op):
        return Op(t.op, tuple(kids), t.ty)
    if isinstance(t, App):
        return App(t.fn, tuple(kids), t.ty)
    if isinstance(t, Rel):
        return Rel(t.op, kids[0], kids[1])
    if isinstance(t, Conn):
        return Conn(t.op, tuple(kids))
    if isinstance(t, Pred):
        return Pred(t.name, tuple(kids))
    if isinstance(t, Quant):
        return Quant(t.kind, t.var, t.vty, kids[0])
    if isinstance(t, BigOp):
        if t.lo is None:
            return BigOp(t.op, t.var, t.vty, t.kind, None, kids[0], kids[1], t.ty)
        return BigOp(t.op, t.var, t.vty, t.kind, kids[0], kids[1], kids[2], t.ty)
    return t


def substitute(t: Term, name: str, value: Term) -> Term:
    """Replace free occurrences of variable `name` by `value`, renaming binders to avoid capture."""
    if isinstance(t, Var):
        return value if t.name == name else t
    if isinstance(t, App) and t.fn.name == name:
        if not isinstance(value, Var):
            raise ValueError("cannot substitute a term for a function variable")
        return App(value, tuple(substitute(a, name, value) for a in t.args), t.ty)
    if isinstance(t, (Quant, BigOp)):
        if t.var == name:
            if isinstance(t, BigOp):
                lo = substitute(t.lo, name, value) if t.lo is not None else None
                return BigOp(t.op, t.var, t.vty, t.kind, lo, substitute(t.hi, name, value), t.body, t.ty)
            return t
        fv = free_vars(value)
        if t.var in fv:
            new = fresh_name(t.var, fv | free_vars(t.body))
            renamed = substitute(t.body, t.var, Var(new, t.vty))
            t = Quant(t.kind, new, t.vty, renamed) if isinstance(t, Quant) else BigOp(
                t.op, new, t.vty, t.kind, t.lo, t.hi, renamed, t.ty)
    kids = [substitute(c, name, value) for c in t.children()]
    return rebuild(t, kids) if kids else t


def replace(t: Term, old: Term, new: Term) -> Term:
    """Replace every occurrence of the closed-in-context subterm `old` by `new` (no binder capture:
    occurrences under a binder that binds one of `old`'s free variables are left alone)."""
    if t == old:
        return new
    if isinstance(t, (Quant, BigOp)) and t.var in free_vars(old) | free_vars(new):
        return t
    kids = [replace(c, old, new) for c in t.children()]
    return rebuild(t, kids) if kids else t
