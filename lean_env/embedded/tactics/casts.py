"""Cast tactics: push_cast, norm_cast, exact_mod_cast, assumption_mod_cast.

Only identities of the embeddings ℕ → ℤ → ℚ → ℝ are used: casts commute with + * ^ and
numerals (and with - and negation from ℤ), and the embeddings preserve and reflect = < ≤ ≠.
ℕ subtraction and ℕ/ℤ division do not commute with casts and are left alone.
"""
from __future__ import annotations

from .. import bridge
from ..bridge import fresh_uid, hyp_uid
from ..errors import TacticFailed
from ..goals import Goal
from ..pretty import pp
from ..terms import NUMERIC, RANK, Conn, Num, Op, Rel, Term, rebuild
from ..unify import canon
from .engine import Goals, TacticContext, tactic
from .logic import infer_term, parse_at, require_hyp


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
    """`↑a = ↑b` ⟶ `a = b` (and < ≤ ≠, and ∣ from ℤ to ℕ: Int.natCast_dvd_natCast) when both
    sides are cast images of one smaller type."""
    if isinstance(p, Rel) and p.op in ("=", "≠", "<", "≤", ">", "≥", "∣") and p.lhs.ty in NUMERIC:
        for src in ("ℕ", "ℤ", "ℚ"):
            if RANK[src] >= RANK[p.lhs.ty]:
                break
            lhs, rhs = pull_term(p.lhs, src), pull_term(p.rhs, src)
            if lhs is not None and rhs is not None:
                return Rel(p.op, lhs, rhs)
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
            lhs, rhs = pull_term(a[0], src), pull_term(a[1], src)
            return Op(t.op, (lhs, rhs), src) if lhs is not None and rhs is not None else None
        if t.op == "^":
            b = pull_term(a[0], src)
            return Op("^", (b, a[1]), src) if b is not None else None
        if t.op in ("-", "neg") and src != "ℕ":
            parts = [pull_term(x, src) for x in a]
            return Op(t.op, tuple(parts), src) if all(x is not None for x in parts) else None
    return None


def norm_cast_prop(p: Term) -> Term:
    return pull_cast(push_cast(p))


# -- through the core: each cast step is a `normalize` / `normalize_hyp` step (core/normalize.py:
# casts are embeddings — Nat.cast_add/mul/pow/ofNat, Int.cast_add/sub/mul/neg/pow, Nat.cast_le/lt/inj,
# Int.cast_le/lt/inj …; ℕ subtraction and ℕ/ℤ division stay atoms, so they never pass a cast)
def _normalize_target(ctx: TacticContext, g: Goal, new: Term) -> Goal:
    if new == g.target:
        return g
    (out,) = ctx.apply(g, "normalize", bridge.core_term(g, new))
    return out


def _normalize_hyp(ctx: TacticContext, g: Goal, name: str, new: Term) -> Goal:
    hyp = require_hyp(g, name)
    if new == hyp.value:
        return g
    (out,) = ctx.apply(g, "normalize_hyp", hyp_uid(g, name), bridge.core_term(g, new), name, fresh_uid())
    return out


def _at_hyps(ctx: TacticContext, g: Goal, locs: list[str], fn) -> Goal:
    for name in locs:
        if name != "⊢":
            g = _normalize_hyp(ctx, g, name, fn(require_hyp(g, name).value))
    return g


@tactic("push_cast")
def t_push_cast(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    locs = parse_at(args)
    if locs is None or "⊢" in locs:
        g = _normalize_target(ctx, g, push_cast(g.target))
    g = _at_hyps(ctx, g, locs or [], push_cast)
    return (g,) + goals[1:]


@tactic("norm_cast")
def t_norm_cast(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    locs = parse_at(args)
    g = _at_hyps(ctx, g, locs or [], norm_cast_prop)
    if locs is None or "⊢" in locs:
        g = _normalize_target(ctx, g, norm_cast_prop(g.target))
    if _close_trivial(ctx, g):  # Mathlib: `norm_cast0 $[loc]? <;> try trivial`
        return goals[1:]
    return (g,) + goals[1:]


def _close_trivial(ctx: TacticContext, g: Goal) -> bool:
    """Lean's `trivial`: True.intro, rfl, decide (a closed proposition, by evaluation),
    assumption (a hypothesis that is the goal up to notation, or False)."""
    from .logic import find_assumption
    return any(ctx.try_apply(g, rule) is not None for rule in ("true_intro", "refl", "eval")) \
        or find_assumption(ctx, g)


def _close_mod_cast(ctx: TacticContext, g: Goal, uid: int) -> bool:
    """Close `g` with hypothesis `uid`, equal to the goal up to casts: directly, or after one
    `normalize` of the goal into the hypothesis' statement, or of both into norm_cast form."""
    if ctx.try_apply(g, "hyp", uid) is not None:
        return True
    sp = ctx.savepoint()
    try:
        (g1,) = ctx.apply(g, "normalize", bridge.sequent(g).hyp(uid))
        ctx.apply(g1, "hyp", uid)
        return True
    except TacticFailed:
        ctx.rollback(sp)
    sp = ctx.savepoint()
    try:
        name = bridge.display_names(bridge.sequent(g))[uid]
        g1 = _normalize_target(ctx, g, norm_cast_prop(g.target))
        g1 = _normalize_hyp(ctx, g1, name, norm_cast_prop(require_hyp(g1, name).value))
        ctx.apply(g1, "hyp", hyp_uid(g1, name))
        return True
    except TacticFailed:
        ctx.rollback(sp)
    return False


@tactic("exact_mod_cast", "assumption_mod_cast")
def t_exact_mod_cast(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    want = canon(norm_cast_prop(g.target))
    if ctx.src[:off].rstrip().endswith("assumption_mod_cast"):
        for name, p in reversed(g.props()):
            if canon(norm_cast_prop(p)) == want and _close_mod_cast(ctx, g, hyp_uid(g, name)):
                return goals[1:]
        raise TacticFailed("assumption_mod_cast failed")
    got, _ = infer_term(ctx, g, args, off)
    if canon(norm_cast_prop(got)) != want:
        raise TacticFailed(f"type mismatch (up to casts)\n  {pp(got)}\nis not\n  {pp(g.target)}")
    name = args.strip()
    names = bridge.entry(g).names
    if name in names and isinstance(names[name], int):
        uid = names[name]
    else:  # `have h := e` through the core, e proved by `exact`
        from .structured import close_with_term
        uid = fresh_uid()
        first, g = ctx.apply(g, "cut", bridge.core_term(g, got), "h", uid)
        close_with_term(ctx, first, args, off)
    if _close_mod_cast(ctx, g, uid):
        return goals[1:]
    raise TacticFailed(f"exact_mod_cast: the trusted core could not justify the cast steps\n  {pp(got)}\nto\n"
                       f"  {pp(g.target)}")
