"""Decision-procedure tactics: linarith, nlinarith, positivity, omega, decide, ring, ring_nf,
field_simp, interval_cases. Each is limited to its own power (see arith/linear.py)."""
from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction

from ..arith.evaluate import NotEvaluable, holds
from ..arith.linear import Comparison, comparison, infeasible, negate, products
from ..arith.poly import Normalizer, to_term
from ..errors import TacticFailed
from ..goals import Goal
from ..pretty import pp
from ..terms import FALSE, NUMERIC, Conn, Num, Op, Rel, Term, Var, subterms
from .connectives import z3_connective
from .engine import Goals, TacticContext, tactic
from .logic import infer_term, parse_at, rewrite_hyps, split_commas, substitute_everywhere


def hint_props(ctx: TacticContext, g: Goal, args: str, off: int) -> list[Term]:
    """The `[t₁, t₂, ...]` hint list of linarith / nlinarith / positivity-style tactics."""
    m = re.search(r"\[(.*)\]", args, re.S)
    if not m:
        return []
    inner = m.group(1)
    base = off + m.start(1)
    props = []
    for text, start in split_commas(inner):
        prop, _ = infer_term(ctx, g, text, base + start)
        props.append(prop)
    return props


def goal_comparisons(g: Goal, extra: list[Term], allow_ne: bool = False) -> list[Comparison]:
    out = []
    for _, p in g.props():
        c = comparison(p)
        if c is not None and (allow_ne or c.op != "≠"):
            out.append(c)
    for p in extra:
        c = comparison(p)
        if c is not None and (allow_ne or c.op != "≠"):
            out.append(c)
    return out


def refute_goal(g: Goal, hyps: list[Comparison], nonlinear: bool, hint_terms: list[Term]) -> bool:
    """Linarith's strategy: negate a comparison goal (an equality is two ≤ goals), else exfalso."""
    target = comparison(g.target)
    if target is not None and target.op == "≠":
        target = None  # linarith does not prove ≠ goals: it falls back to exfalso
    if target is None:
        cases = [[]]
    elif target.op == "=":
        cases = [[Comparison(target.poly, "<", target.ty)], [Comparison(-target.poly, "<", target.ty)]]
    else:
        cases = [negate(target)]
    for extra in cases:
        comps = hyps + extra
        if nonlinear:
            comps = comps + square_facts(g, hint_terms) + products(comps)
        if not infeasible(comps, even_powers_nonneg=nonlinear):
            return False
    return True


def square_facts(g: Goal, extra: list[Term]) -> list[Comparison]:
    """nlinarith: `t ^ 2 ≥ 0` / `t * t ≥ 0` for each square appearing in hypotheses or goal."""
    out = []
    props = [p for _, p in g.props()] + [g.target] + extra
    seen = set()
    for p in props:
        for t in subterms(p):
            if isinstance(t, Op) and t.ty in NUMERIC and t.ty != "ℕ" and (
                    (t.op == "^" and isinstance(t.args[1], Num) and t.args[1].value % 2 == 0)
                    or (t.op == "*" and t.args[0] == t.args[1])):
                if t in seen:
                    continue
                seen.add(t)
                out.append(Comparison(-Normalizer(t.ty).norm(t), "≤", t.ty))
    return out


@tactic("linarith", "linarith!")
def t_linarith(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    if re.match(r"\s*only\b", args):
        extra = hint_props(ctx, g, args, off)
        g = replace(g, hyps=tuple(h for h in g.hyps if h.is_var))
    else:
        extra = hint_props(ctx, g, args, off)
    hyps = goal_comparisons(g, extra)
    if refute_goal(g, hyps, nonlinear=False, hint_terms=extra):
        return goals[1:]
    raise TacticFailed("linarith failed to find a contradiction\n" + goals[0].pretty() + "\n⊢ False failed")


@tactic("nlinarith", "nlinarith!")
def t_nlinarith(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    extra = hint_props(ctx, g, args, off)
    hyps = goal_comparisons(g, extra)
    if refute_goal(g, hyps, nonlinear=True, hint_terms=extra):
        return goals[1:]
    raise TacticFailed("linarith failed to find a contradiction\n" + goals[0].pretty() + "\n⊢ False failed")


# -- positivity --------------------------------------------------------------------------------
def _hyp_sign(g: Goal, t: Term) -> str | None:
    best = None
    for _, p in g.props():
        if not isinstance(p, Rel):
            continue
        zero_l = isinstance(p.lhs, Num) and p.lhs.value == 0
        zero_r = isinstance(p.rhs, Num) and p.rhs.value == 0
        if p.op == "<" and zero_l and p.rhs == t or p.op == ">" and zero_r and p.lhs == t:
            return "pos"
        if p.op == "≤" and zero_l and p.rhs == t or p.op == "≥" and zero_r and p.lhs == t:
            best = best or "nonneg"
        if p.op == "≠" and (zero_r and p.lhs == t or zero_l and p.rhs == t):
            best = "nonzero" if best is None else best
    return best


def sign(g: Goal, t: Term) -> str | None:
    """'pos' (> 0), 'nonneg' (≥ 0), 'nonzero' (≠ 0) or None, by Mathlib positivity's rules."""
    if isinstance(t, Num):
        return "pos" if t.value > 0 else "nonneg"
    h = _hyp_sign(g, t)
    if h == "pos":
        return h
    if t.ty == "ℕ" and not (isinstance(t, Op) and t.op in ("+", "*", "^", "fact")):
        return h if h else "nonneg"
    if isinstance(t, Op):
        a = t.args
        if t.op == "+":
            s1, s2 = sign(g, a[0]), sign(g, a[1])
            if "pos" in (s1, s2) and s1 in ("pos", "nonneg") and s2 in ("pos", "nonneg"):
                return "pos"
            if s1 in ("pos", "nonneg") and s2 in ("pos", "nonneg"):
                return "nonneg"
            return h
        if t.op in ("*", "/"):
            if t.op == "/" and t.ty in ("ℕ", "ℤ"):
                s1, s2 = sign(g, a[0]), sign(g, a[1])
                return "nonneg" if s1 in ("pos", "nonneg") and s2 in ("pos", "nonneg") else h
            s1, s2 = sign(g, a[0]), sign(g, a[1])
            if s1 == "pos" and s2 == "pos":
                return "pos"
            if s1 in ("pos", "nonneg") and s2 in ("pos", "nonneg"):
                return "nonneg"
            if s1 in ("pos", "nonzero") and s2 in ("pos", "nonzero"):
                return "nonzero"
            return h
        if t.op == "^":
            s = sign(g, a[0])
            even = isinstance(a[1], Num) and a[1].value % 2 == 0
            if s == "pos":
                return "pos"
            if even and s == "nonzero":
                return "pos"
            if even or s == "nonneg":
                return "nonneg"
            if s == "nonzero":
                return "nonzero"
            return h
        if t.op == "abs":
            s = sign(g, a[0])
            return "pos" if s in ("pos", "nonzero") else "nonneg"
        if t.op == "sqrt":
            return "pos" if sign(g, a[0]) == "pos" else "nonneg"
        if t.op == "cast":
            s = sign(g, a[0])
            if s is None and a[0].ty == "ℕ":
                return "nonneg"
            return s
        if t.op == "fact":
            return "pos"
    return h


@tactic("positivity")
def t_positivity(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    t = g.target
    if isinstance(t, Rel):
        zero_l = isinstance(t.lhs, Num) and t.lhs.value == 0
        zero_r = isinstance(t.rhs, Num) and t.rhs.value == 0
        want, e = None, None
        if t.op in ("<", "≤") and zero_l:
            want, e = t.op, t.rhs
        elif t.op in (">", "≥") and zero_r:
            want, e = {">": "<", "≥": "≤"}[t.op], t.lhs
        elif t.op == "≠" and zero_r:
            want, e = "≠", t.lhs
        if e is not None:
            s = sign(g, e)
            if want == "<" and s == "pos" or want == "≤" and s in ("pos", "nonneg") or want == "≠" and s in ("pos", "nonzero"):
                return goals[1:]
            raise TacticFailed("failed to prove positivity" if s is None else f"failed to prove positivity: the expression is only {s}")
    raise TacticFailed("not a positivity goal")


# -- omega ----------------------------------------------------------------------------------
def _int_prop(p: Term) -> Term | None:
    """Keep a proposition for omega only if it is built from ℕ/ℤ facts with ∧ ∨ ¬ → ↔."""
    if isinstance(p, Rel):
        if p.lhs.ty not in ("ℕ", "ℤ"):
            return None
        if p.op == "∣":
            return Rel("=", Op("%", (p.rhs, p.lhs), p.lhs.ty), Num(Fraction(0), p.lhs.ty))
        return p
    if isinstance(p, Conn):
        if p.op in ("True", "False"):
            return p
        kids = [_int_prop(a) for a in p.args]
        if any(k is None for k in kids):
            return None
        return Conn(p.op, tuple(kids))
    return None


def _z3_of_prop(p: Term, prob) -> object:
    import z3
    if isinstance(p, Rel):
        c = comparison(p)
        if c.op == "≠":
            return z3.Not(prob.constraint(Comparison(c.poly, "=", c.ty)))
        return prob.constraint(c)
    return z3_connective(p.op, [_z3_of_prop(a, prob) for a in p.args])


@tactic("omega")
def t_omega(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    import z3
    from ..arith.linear import LinearProblem, TIMEOUT_MS
    g = goals[0]
    prob = LinearProblem(integer=True, exact_int_ops=True)
    facts = []
    for _, p in g.props():
        q = _int_prop(p)
        if q is not None:
            facts.append(_z3_of_prop(q, prob))
    target = _int_prop(g.target)
    if target is not None:
        facts.append(z3.Not(_z3_of_prop(target, prob)))
    elif g.target != FALSE:
        raise TacticFailed("omega could not understand the goal")
    s = z3.Solver()
    s.set("timeout", TIMEOUT_MS)
    s.add(*facts, *prob.side)
    if s.check() == z3.unsat:
        return goals[1:]
    raise TacticFailed("omega could not prove the goal:\na possible counterexample may satisfy the constraints\n" + g.pretty())


# -- decide -----------------------------------------------------------------------------------
@tactic("decide")
def t_decide(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    if any(t.ty == "ℝ" for t in subterms(g.target)):  # Real's order/equality are not decidable
        raise TacticFailed("failed to synthesize\n  Decidable (" + pp(g.target) + ")")
    try:
        ok = holds(g.target)
    except NotEvaluable as e:
        raise TacticFailed(f"failed to synthesize\n  Decidable ({pp(g.target)})\n(embedded kernel: {e})")
    if ok:
        return goals[1:]
    raise TacticFailed(f"tactic 'decide' proved that the proposition\n  {pp(g.target)}\nis false")


# -- ring / ring_nf -----------------------------------------------------------------------------
def ring_normalize_prop(p: Term) -> Term:
    if isinstance(p, Rel) and p.lhs.ty in NUMERIC:
        norm = Normalizer(p.lhs.ty)
        return Rel(p.op, to_term(norm.norm(p.lhs), p.lhs.ty), to_term(norm.norm(p.rhs), p.rhs.ty))
    if isinstance(p, Conn) and p.args:
        return Conn(p.op, tuple(ring_normalize_prop(a) for a in p.args))
    return p


def ring_equal(a: Term, b: Term) -> bool:
    norm = Normalizer(a.ty)
    return norm.norm(a) == norm.norm(b)


@tactic("ring", "ring1", "ring!")
def t_ring(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    t = g.target
    if isinstance(t, Rel) and t.op == "=" and t.lhs.ty in NUMERIC and ring_equal(t.lhs, t.rhs):
        return goals[1:]
    new = ring_normalize_prop(t)
    if new == t or not isinstance(t, Rel):
        raise TacticFailed("ring failed, ring_nf subsidiary goal did not make progress")
    ctx.info("Try this: ring_nf", off - 4, off)
    return (g.with_target(new),) + goals[1:]


@tactic("ring_nf", "ring_nf!")
def t_ring_nf(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    locs = parse_at(args)
    changed = False
    if locs is None or "⊢" in locs:
        t = g.target
        if isinstance(t, Rel) and t.op == "=" and t.lhs.ty in NUMERIC and ring_equal(t.lhs, t.rhs):
            return goals[1:]
        new = ring_normalize_prop(t)
        changed |= new != t
        g = g.with_target(new)
    g, hyps_changed = rewrite_hyps(g, locs or [], lambda _, p: ring_normalize_prop(p))
    if not (changed or hyps_changed):
        raise TacticFailed("ring_nf failed to simplify")
    return (g,) + goals[1:]


# -- field_simp -------------------------------------------------------------------------------
def _nonzero(g: Goal, extra: list[Term], d: Term) -> bool:
    if isinstance(d, Num):
        return d.value != 0
    s = sign(g, d)
    if s in ("pos", "nonzero"):
        return True
    for p in extra + [p for _, p in g.props()]:
        if isinstance(p, Rel) and p.op == "≠" and (p.lhs == d and isinstance(p.rhs, Num) and p.rhs.value == 0):
            return True
        if isinstance(p, Conn) and p.op == "¬" and isinstance(p.args[0], Rel) and p.args[0].op == "=" and p.args[0].lhs == d:
            return True
    return False


def split_fraction(g: Goal, extra: list[Term], t: Term) -> tuple[Term, Term]:
    """t = num / den with den a product of denominators known to be nonzero (fields only)."""
    one = Num(Fraction(1), t.ty)
    if isinstance(t, Op) and t.ty in ("ℚ", "ℝ"):
        a = t.args
        if t.op == "/":
            n1, d1 = split_fraction(g, extra, a[0])
            n2, d2 = split_fraction(g, extra, a[1])
            if _nonzero(g, extra, n2) and (d2 == one or _nonzero(g, extra, d2)):
                return _mul(n1, d2), _mul(d1, n2)
        if t.op in ("+", "-"):
            n1, d1 = split_fraction(g, extra, a[0])
            n2, d2 = split_fraction(g, extra, a[1])
            if d1 == d2:
                return Op(t.op, (n1, n2), t.ty), d1
            return Op(t.op, (_mul(n1, d2), _mul(d1, n2) if isinstance(n2, Num) and n2.value == 1 else _mul(n2, d1)), t.ty), _mul(d1, d2)
        if t.op == "*":
            n1, d1 = split_fraction(g, extra, a[0])
            n2, d2 = split_fraction(g, extra, a[1])
            return _mul(n1, n2), _mul(d1, d2)
        if t.op == "neg":
            n, d = split_fraction(g, extra, a[0])
            return Op("neg", (n,), t.ty), d
    return t, one


def _mul(a: Term, b: Term) -> Term:
    if isinstance(b, Num) and b.value == 1:
        return a
    if isinstance(a, Num) and a.value == 1:
        return b
    return Op("*", (a, b), a.ty)


def field_simp_prop(g: Goal, extra: list[Term], p: Term) -> Term:
    if isinstance(p, Rel) and p.lhs.ty in ("ℚ", "ℝ") and p.op in ("=", "≠"):
        n1, d1 = split_fraction(g, extra, p.lhs)
        n2, d2 = split_fraction(g, extra, p.rhs)
        if d1 == d2:  # a / d = c / d ↔ a = c when d ≠ 0
            return Rel(p.op, n1, n2)
        # a / b = c / d ↔ a * d = c * b when b ≠ 0 and d ≠ 0 (checked by split_fraction)
        return Rel(p.op, _mul(n1, d2), _mul(n2, d1))
    if isinstance(p, Conn) and p.op in ("∧", "∨", "¬"):
        return Conn(p.op, tuple(field_simp_prop(g, extra, a) for a in p.args))
    return p


@tactic("field_simp")
def t_field_simp(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    extra = hint_props(ctx, g, args, off)
    locs = parse_at(re.sub(r"\[.*\]", "", args, flags=re.S))
    changed = False
    if locs is None or "⊢" in locs:
        new = field_simp_prop(g, extra, g.target)
        if isinstance(new, Rel) and new.op == "=" and ring_equal(new.lhs, new.rhs):
            return goals[1:]
        changed |= new != g.target
        g = g.with_target(new)
    g, hyps_changed = rewrite_hyps(g, locs or [], lambda goal, p: field_simp_prop(goal, extra, p))
    if not (changed or hyps_changed):
        raise TacticFailed("field_simp made no progress")
    return (g,) + goals[1:]


# -- interval_cases -----------------------------------------------------------------------------
@tactic("interval_cases")
def t_interval_cases(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    name = args.split()[0] if args.split() else ""
    h = g.lookup(name)
    if h is None or not h.is_var or h.value not in ("ℕ", "ℤ"):
        raise TacticFailed(f"interval_cases failed: provided term {name} is not a variable of type ℕ or ℤ")
    x = Var(name, h.value)
    lo = Fraction(0) if h.value == "ℕ" else None
    hi = None
    facts = []
    for _, p in g.props():
        stack = [p]
        while stack:  # bounds may sit inside conjunctions (`h : 10 ≤ m ∧ m ≤ 99`)
            q = stack.pop()
            if isinstance(q, Conn) and q.op == "∧":
                stack.extend(q.args)
            else:
                facts.append(q)
    for p in facts:
        if not isinstance(p, Rel) or p.op not in ("<", "≤", ">", "≥"):
            continue
        op, a, b = p.op, p.lhs, p.rhs
        if op in (">", "≥"):
            op, a, b = {">": "<", "≥": "≤"}[op], b, a
        try:
            if a == x:
                from ..arith.evaluate import evaluate
                v = evaluate(b)
                # integers: x < v ⇔ x ≤ ⌈v⌉ - 1 ; x ≤ v ⇔ x ≤ ⌊v⌋
                bound = Fraction(-((-v) // 1) - 1) if op == "<" else Fraction(v // 1)
                hi = bound if hi is None else min(hi, bound)
            elif b == x:
                from ..arith.evaluate import evaluate
                v = evaluate(a)
                # integers: v < x ⇔ ⌊v⌋ + 1 ≤ x ; v ≤ x ⇔ ⌈v⌉ ≤ x
                bound = Fraction(v // 1 + 1) if op == "<" else Fraction(-((-v) // 1))
                lo = bound if lo is None else max(lo, bound)
        except NotEvaluable:
            continue
    if lo is None or hi is None:
        raise TacticFailed(f"interval_cases failed: could not find {'upper' if hi is None else 'lower'} bound on {name}")
    if hi - lo > 200:
        raise TacticFailed("interval_cases: too many cases (embedded kernel limit 200)")
    out = []
    for v in range(int(lo), int(hi) + 1):
        value = Num(Fraction(v), h.value) if v >= 0 else Op("neg", (Num(Fraction(-v), h.value),), h.value)
        g2 = substitute_everywhere(g, name, value)
        out.append(g2)
    return tuple(out) + goals[1:]
