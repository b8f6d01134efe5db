"""Cast tactics: push_cast, norm_cast, exact_mod_cast, assumption_mod_cast.

Only identities of the embeddings ℕ → ℤ → ℚ → ℝ are used: casts commute with + * ^ and
numerals (and with - and negation from ℤ), and the embeddings preserve and reflect = < ≤ ≠.
ℕ subtraction and ℕ/ℤ division do not commute with casts and are left alone.
"""
from __future__ import annotations


from ..errors import TacticFailed
from ..pretty import pp
from ..terms import NUMERIC, RANK, Conn, Num, Op, Rel, Term, rebuild
from ..unify import canon
from .engine import Goals, TacticContext, tactic
from .logic import infer_term, parse_at, rewrite_hyps


def push_cast(t: Term) -> Term:
    kids = [push_cast(c) for c in t.children()]
    if kids:
        t = rebuild(t, kids)
    if isinstance(t, Op) and t.op == "cast":
        return push_one(t.args[0], t.ty)
    return t


def push_one(inner: Term, target: str) -> Term:
    """`((inner : src) : target)` with the cast moved to the leaves where that is an identity."""
    src = inner.ty
    if isinstance(inner, Num):
        return Num(inner.value, target, inner.text)
    if isinstance(inner, Op):
        a = inner.args
        if inner.op in ("+", "*"):
            return Op(inner.op, (push_one(a[0], target), push_one(a[1], target)), target)
        if inner.op == "^":
            return Op("^", (push_one(a[0], target), a[1]), target)
        if inner.op in ("-", "neg") and src != "ℕ":
            return Op(inner.op, tuple(push_one(x, target) for x in a), target)
        if inner.op == "cast":  # ↑↑x = ↑x along ℕ → ℤ → ℝ
            return push_one(a[0], target)
    return Op("cast", (inner,), target)


def pull_cast(p: Term) -> Term:
    """`↑a = ↑b` ⟶ `a = b` (and < ≤ ≠) when both sides are cast images of one smaller type."""
    if isinstance(p, Rel) and p.op in ("=", "≠", "<", "≤", ">", "≥") and p.lhs.ty in NUMERIC:
        for src in ("ℕ", "ℤ", "ℚ"):
            if RANK[src] >= RANK[p.lhs.ty]:
                break
            l, r = pull_term(p.lhs, src), pull_term(p.rhs, src)
            if l is not None and r is not None:
                return Rel(p.op, l, r)
        return p
    if isinstance(p, Conn) and p.args:
        return Conn(p.op, tuple(pull_cast(a) for a in p.args))
    return p


def pull_term(t: Term, src: str) -> Term | None:
    """A term of type `src` whose cast is `t`, built only through cast-commuting operations."""
    if isinstance(t, Num):
        if t.text is not None and "." in t.text:
            return None
        return Num(t.value, src) if t.value.denominator == 1 else None
    if isinstance(t, Op):
        a = t.args
        if t.op == "cast":
            inner = a[0]
            if inner.ty == src:
                return inner
            if RANK.get(inner.ty, 99) < RANK[src]:
                return Op("cast", (inner,), src)
            return None
        if t.op in ("+", "*"):
            l, r = pull_term(a[0], src), pull_term(a[1], src)
            return Op(t.op, (l, r), src) if l is not None and r is not None else None
        if t.op == "^":
            b = pull_term(a[0], src)
            return Op("^", (b, a[1]), src) if b is not None else None
        if t.op in ("-", "neg") and src != "ℕ":
            parts = [pull_term(x, src) for x in a]
            return Op(t.op, tuple(parts), src) if all(x is not None for x in parts) else None
    return None


def norm_cast_prop(p: Term) -> Term:
    return pull_cast(push_cast(p))


@tactic("push_cast")
def t_push_cast(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    locs = parse_at(args)
    if locs is None or "⊢" in locs:
        g = g.with_target(push_cast(g.target))
    g, _ = rewrite_hyps(g, locs or [], lambda _, p: push_cast(p))
    return (g,) + goals[1:]


@tactic("norm_cast")
def t_norm_cast(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    locs = parse_at(args)
    if locs is None or "⊢" in locs:
        new = norm_cast_prop(g.target)
        g = g.with_target(new)
        if _trivial(new):
            return goals[1:]
    g, _ = rewrite_hyps(g, locs or [], lambda _, p: norm_cast_prop(p))
    return (g,) + goals[1:]


def _trivial(p: Term) -> bool:
    from ..goals import Goal
    from .logic import close_by_rfl
    return close_by_rfl(Goal((), p))


@tactic("exact_mod_cast", "assumption_mod_cast")
def t_exact_mod_cast(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    want = canon(norm_cast_prop(g.target))
    if ctx.src[:off].rstrip().endswith("assumption_mod_cast"):
        for _, p in g.props():
            if canon(norm_cast_prop(p)) == want:
                return goals[1:]
        raise TacticFailed("assumption_mod_cast failed")
    got, _ = infer_term(ctx, g, args, off)
    if canon(norm_cast_prop(got)) == want:
        return goals[1:]
    raise TacticFailed(f"type mismatch (up to casts)\n  {pp(got)}\nis not\n  {pp(g.target)}")
