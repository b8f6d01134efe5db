"""Terms of the trusted core, in locally nameless form.

Free locals are `FVar`s identified by a unique id (`uid`); their `name` is only a display hint
and takes no part in equality. Bound variables are `BVar` de Bruijn indices (0 = the nearest
binder); a binder's `name` is likewise a hint. So two terms are equal exactly when they are
α-equivalent and mention the same locals, and no renaming or capture can ever happen.

Types: "ℕ" "ℤ" "ℚ" "ℝ" "Prop", or `Arrow(dom, cod)` for function variables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterator, Union

NUMERIC = ("ℕ", "ℤ", "ℚ", "ℝ")
RANK = {t: i for i, t in enumerate(NUMERIC)}


@dataclass(frozen=True)
class Arrow:
    dom: "Type"
    cod: "Type"

    def __str__(self) -> str:
        dom = f"({self.dom})" if isinstance(self.dom, Arrow) else str(self.dom)
        return f"{dom} → {self.cod}"


Type = Union[str, Arrow]


class Term:
    ty: Type

    def children(self) -> tuple["Term", ...]:
        return ()


@dataclass(frozen=True)
class FVar(Term):
    uid: int
    ty: Type
    name: str = field(default="x", compare=False)


@dataclass(frozen=True)
class BVar(Term):
    idx: int
    ty: Type


@dataclass(frozen=True)
class Lit(Term):
    """A numeral `value` ≥ 0 (a decimal such as 0.5 in ℚ/ℝ is its exact rational)."""

    value: Fraction
    ty: Type


@dataclass(frozen=True)
class Op(Term):
    """+ - * / % ^ neg abs sqrt cast fact gcd lcm inv, with Lean's meaning at type `ty`."""

    op: str
    args: tuple[Term, ...]
    ty: Type

    def children(self) -> tuple[Term, ...]:
        return self.args


@dataclass(frozen=True)
class App(Term):
    """A function variable applied to arguments (fully applied)."""

    fn: FVar
    args: tuple[Term, ...]
    ty: Type

    def children(self) -> tuple[Term, ...]:
        return self.args


@dataclass(frozen=True)
class Rel(Term):
    """lhs op rhs, op in = ≠ < ≤ > ≥ ∣ (both sides of one numeric type)."""

    op: str
    lhs: Term
    rhs: Term
    ty: Type = "Prop"

    def children(self) -> tuple[Term, ...]:
        return (self.lhs, self.rhs)


@dataclass(frozen=True)
class Conn(Term):
    """∧ ∨ → ↔ ¬ True False."""

    op: str
    args: tuple[Term, ...]
    ty: Type = "Prop"

    def children(self) -> tuple[Term, ...]:
        return self.args


@dataclass(frozen=True)
class Quant(Term):
    """∀/∃ over `vty`; `body` refers to the bound variable as BVar(0)."""

    kind: str
    vty: Type
    body: Term
    name: str = field(default="x", compare=False)
    ty: Type = "Prop"

    def children(self) -> tuple[Term, ...]:
        return (self.body,)


@dataclass(frozen=True)
class BigOp(Term):
    """∑/∏ over `Finset.range hi` (lo None) or `Finset.Icc lo hi`; `body` binds BVar(0)."""

    op: str
    vty: Type
    kind: str
    lo: Term | None
    hi: Term
    body: Term
    ty: Type
    name: str = field(default="i", compare=False)

    def children(self) -> tuple[Term, ...]:
        return tuple(t for t in (self.lo, self.hi, self.body) if t is not None)


@dataclass(frozen=True)
class Pred(Term):
    """`Nat.Prime n` / `Prime n` on ℕ."""

    name: str
    args: tuple[Term, ...]
    ty: Type = "Prop"

    def children(self) -> tuple[Term, ...]:
        return self.args


TRUE = Conn("True", ())
FALSE = Conn("False", ())


def binds(t: Term) -> bool:
    """Does `t` bind a variable over its body (its last child)?"""
    return isinstance(t, (Quant, BigOp))


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
        return Quant(t.kind, t.vty, kids[0], t.name)
    if isinstance(t, BigOp):
        if t.lo is None:
            return BigOp(t.op, t.vty, t.kind, None, kids[0], kids[1], t.ty, t.name)
        return BigOp(t.op, t.vty, t.kind, kids[0], kids[1], kids[2], t.ty, t.name)
    return t


def map_at_depth(t: Term, fn: Callable[[Term, int], Term | None], depth: int = 0) -> Term:
    """Rebuild `t` bottom-up-free: `fn(sub, depth)` may return a replacement (not visited
    further); `depth` counts the binders above `sub`. A binder's body is one level deeper
    (for BigOp only the body; its bounds are outside the binder)."""
    r = fn(t, depth)
    if r is not None:
        return r
    kids = t.children()
    if not kids:
        return t
    if isinstance(t, BigOp):
        new = [map_at_depth(k, fn, depth) for k in kids[:-1]] + [map_at_depth(kids[-1], fn, depth + 1)]
    elif isinstance(t, Quant):
        new = [map_at_depth(kids[0], fn, depth + 1)]
    else:
        new = [map_at_depth(k, fn, depth) for k in kids]
    if all(a is b for a, b in zip(new, kids)):
        return t
    return rebuild(t, new)


def instantiate(body: Term, value: Term) -> Term:
    """Replace the loose BVar(0) of a binder body by the locally closed `value`."""
    if has_loose_bvars(value):
        raise ValueError("instantiate: value has loose bound variables")

    def fn(s: Term, depth: int) -> Term | None:
        if isinstance(s, BVar):
            if s.idx == depth:
                if s.ty != value.ty:
                    raise ValueError("instantiate: type mismatch")
                return value
            if s.idx > depth:
                return BVar(s.idx - 1, s.ty)
            return s
        return None

    return map_at_depth(body, fn)


def abstract(t: Term, uid: int) -> Term:
    """The body of a binder over FVar `uid`: its occurrences become the new BVar(0)."""

    def fn(s: Term, depth: int) -> Term | None:
        if isinstance(s, FVar):
            return BVar(depth, s.ty) if s.uid == uid else s
        if isinstance(s, BVar):
            return BVar(s.idx + 1, s.ty) if s.idx >= depth else s
        if isinstance(s, App) and s.fn.uid == uid:
            raise ValueError("abstract: cannot bind a function variable")
        return None

    return map_at_depth(t, fn)


def subterms(t: Term) -> Iterator[Term]:
    yield t
    for c in t.children():
        yield from subterms(c)


def fvars(t: Term) -> set[int]:
    """uids of the free locals of `t` (function variables included)."""
    out: set[int] = set()
    for s in subterms(t):
        if isinstance(s, FVar):
            out.add(s.uid)
        elif isinstance(s, App):
            out.add(s.fn.uid)
    return out


def fvar_decls(t: Term) -> dict[int, FVar]:
    out: dict[int, FVar] = {}
    for s in subterms(t):
        if isinstance(s, FVar):
            out[s.uid] = s
        elif isinstance(s, App):
            out[s.fn.uid] = s.fn
    return out


def has_loose_bvars(t: Term, depth: int = 0) -> bool:
    if isinstance(t, BVar):
        return t.idx >= depth
    if isinstance(t, Quant):
        return has_loose_bvars(t.body, depth + 1)
    if isinstance(t, BigOp):
        return any(has_loose_bvars(k, depth) for k in (t.lo, t.hi) if k is not None) or \
            has_loose_bvars(t.body, depth + 1)
    return any(has_loose_bvars(k, depth) for k in t.children())


def replace_subterm(t: Term, old: Term, new: Term) -> tuple[Term, int]:
    """Every occurrence of the locally closed `old` replaced by `new` (also under binders:
    `old` has no bound variables, so no occurrence can be captured). Returns (term, count)."""
    if has_loose_bvars(old) or has_loose_bvars(new):
        raise ValueError("replace_subterm: open term")
    count = 0

    def fn(s: Term, depth: int) -> Term | None:
        nonlocal count
        if s == old:
            count += 1
            return new
        return None

    return map_at_depth(t, fn), count


def replace_fvar(t: Term, uid: int, value: Term) -> Term:
    """Substitute the locally closed `value` for the free local `uid`."""

    def fn(s: Term, depth: int) -> Term | None:
        if isinstance(s, FVar) and s.uid == uid:
            return value
        if isinstance(s, App) and s.fn.uid == uid:
            raise ValueError("replace_fvar: cannot substitute for a function variable")
        return None

    return map_at_depth(t, fn)
