"""Decision-procedure tactics: linarith, nlinarith, positivity, omega, decide, ring, ring_nf,
field_simp, interval_cases — untrusted producers for the trusted core.

Each closes or changes goals only through core rules: linarith/nlinarith/positivity find
Positivstellensatz certificates (tactics/certify.py, z3 as an oracle for exact rational
coefficients) for the `linarith` rule, with `le_antisymm` / `exfalso` to reach a goal it reads;
hint terms become hypotheses through `cut`, their premises proved by certificates from the
term's structure (or by `exact`); omega → `omega`, decide → `eval`, ring → `ring`, ring_nf →
`normalize`/`normalize_hyp`, field_simp → `field_simp`/`field_simp_hyp` (core/field.py,
nonzero side conditions read from hypotheses), interval_cases → `cut` bounds + `interval_cases`
+ `subst`. Every search runs under `tactic_budget` (at most TACTIC_MODE_SECONDS per tactic)."""
from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import replace
from fractions import Fraction

from .. import bridge
from ..arith.evaluate import NotEvaluable, holds
from ..arith.poly import Normalizer, to_term
from ..core import term as C
from ..core.sequent import CoreError
from ..errors import KernelError, TacticFailed
from ..goals import Goal
from ..parser import parse_term
from ..pretty import pp
from ..terms import NUMERIC, Conn, Num, Op, Rel, Term, Var, subterms
from . import certify
from .engine import TACTIC_MODE_SECONDS, Goals, TacticContext, tactic
from .logic import infer_term, parse_at, require_hyp, split_commas


def hint_props(ctx: TacticContext, g: Goal, args: str, off: int) -> list[Term]:
    """The `[t₁, t₂, ...]` hint list of linarith / nlinarith / positivity-style tactics."""
    m = re.search(r"\[(.*)\]", args, re.DOTALL)
    if not m:
        return []
    inner = m.group(1)
    base = off + m.start(1)
    props = []
    for text, start in split_commas(inner):
        prop, _ = infer_term(ctx, g, text, base + start)
        props.append(prop)
    return props


# -- hints: each hint term becomes a hypothesis through `cut`, its premise proved by the core ------
HINT_NAME = "hint✝"
MAX_HINT_DEPTH = 4


def _strip_parens(syn):
    while syn.kind == "paren" and len(syn.kids) == 1:
        syn = syn.kids[0]
    return syn


def _hyp_named(g: Goal, name: str) -> int | None:
    v = bridge.entry(g).names.get(name)
    return v if isinstance(v, int) else None


def hint_list(args: str, off: int) -> list[tuple[str, int]]:
    m = re.search(r"\[(.*)\]", args, re.DOTALL)
    if not m:
        return []
    base = off + m.start(1)
    out = []
    for text, start in split_commas(m.group(1)):
        lead = len(text) - len(text.lstrip())
        out.append((text.strip(), base + start + lead))
    return out


def add_hints(ctx: TacticContext, g: Goal, args: str, off: int) -> tuple[Goal, list[tuple]]:
    """The hint terms as certificate sources: a hypothesis named by the hint, or a new
    hypothesis `hint✝ : P` (P the hint's statement) whose proof the core checks. A hint the core
    cannot justify is dropped (never trusted)."""
    srcs = []
    for text, pos in hint_list(args, off):
        g, src = add_hint(ctx, g, text, pos)
        if src is not None:
            srcs.append(src)
    return g, srcs


def add_hint(ctx: TacticContext, g: Goal, text: str, pos: int) -> tuple[Goal, tuple | None]:
    try:
        syn = _strip_parens(parse_term(text, 0))
    except KernelError:
        syn = None
    if syn is not None and syn.kind == "ident":
        uid = _hyp_named(g, syn.val)
        if uid is not None:
            return g, ("hyp", uid)
    prop, _ = infer_term(ctx, g, text, pos)  # Lean's errors for an ill-formed hint
    return cut_fact(ctx, g, prop, syn, text, pos, 0)


def cut_fact(ctx: TacticContext, g: Goal, prop: Term, syn, text: str, pos: int, depth: int
             ) -> tuple[Goal, tuple | None]:
    try:
        p = bridge.core_term(g, prop)
    except TacticFailed:
        return g, None
    if not certify.is_comparison(p):
        return g, None
    sp = ctx.savepoint()
    uid = bridge.fresh_uid()
    try:
        prem, rest = ctx.apply(g, "cut", p, HINT_NAME, uid)
        if prove_fact(ctx, prem, syn, text, pos, depth):
            return rest, ("hyp", uid)
    except (TacticFailed, certify.OutOfTime):
        pass
    ctx.rollback(sp)
    return g, None


def prove_fact(ctx: TacticContext, goal: Goal, syn, text: str, pos: int, depth: int) -> bool:
    """Close `⊢ P` (P the statement of the hint term `text`) through the core: first by a
    certificate built from the term's structure (its hypotheses and their products, squares),
    else by running `exact` on it (the proof-term machinery)."""
    if syn is not None and depth <= MAX_HINT_DEPTH:
        sp = ctx.savepoint()
        try:
            done = True
            for sub in split_target(ctx, goal):
                sub, srcs = structural_sources(ctx, sub, syn, text, pos, depth)
                seq = bridge.sequent(sub)
                srcs = srcs + leaf_sources(seq.target)
                cert = certify.find_certificate(seq, srcs, ctx.deadline)
                if cert is None:
                    done = False
                    break
                ctx.apply(sub, "linarith", cert)
            if done:
                return True
        except (TacticFailed, certify.OutOfTime):
            pass
        ctx.rollback(sp)
    return exact_fallback(ctx, goal, text, pos)


def exact_fallback(ctx: TacticContext, goal: Goal, text: str, pos: int) -> bool:
    from .engine import REGISTRY, _checked
    fn = REGISTRY.get("exact")
    if fn is None:
        return False
    sp = ctx.savepoint()
    try:
        out = _checked("exact", (goal,), fn(ctx, text, pos, (goal,)), ctx)
        if not out:
            return True
    except (KernelError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        pass
    ctx.rollback(sp)
    return False


def leaf_sources(target: C.Term) -> list[tuple]:
    """Facts a lemma like sq_nonneg / abs_nonneg / Real.sqrt_nonneg states about its term."""
    t = target.args[0] if isinstance(target, C.Conn) and target.op == "¬" else target
    out: list[tuple] = []
    if isinstance(t, C.Rel):
        for side in (t.lhs, t.rhs):
            for s in C.subterms(side):
                if C.has_loose_bvars(s) or s.ty not in C.NUMERIC:
                    continue
                b = certify.square_base(s)
                if b is not None:
                    out.append(("sq", b))
                elif isinstance(s, C.Op) and s.op in ("abs", "sqrt"):
                    out.append(("nonneg", s))
    return out


POWER_LEMMAS = ("pow_pos", "pow_nonneg", "pow_lt_pow_left", "pow_le_pow_left")


def structural_sources(ctx: TacticContext, g: Goal, syn, text: str, pos: int, depth: int
                       ) -> tuple[Goal, list[tuple]]:
    syn = _strip_parens(syn)
    if syn.kind == "ident":
        uid = _hyp_named(g, syn.val)
        return g, ([("hyp", uid)] if uid is not None else [])
    if syn.kind == "proj" and syn.kids:
        inner = _strip_parens(syn.kids[0])
        if inner.kind == "ident" and syn.val in ("1", "2", "left", "right"):
            uid = _hyp_named(g, inner.val)
            if uid is not None:
                h = bridge.sequent(g).hyp(uid)
                if isinstance(h, C.Conn) and h.op == "∧":
                    u1, u2 = bridge.fresh_uid(), bridge.fresh_uid()
                    (g,) = ctx.apply(g, "and_elim", uid, HINT_NAME, u1, HINT_NAME, u2)
                    return g, [("hyp", u1 if syn.val in ("1", "left") else u2)]
        return structural_sources(ctx, g, inner, text, pos, depth)
    if syn.kind != "app" or not syn.kids:
        return g, []
    head = _strip_parens(syn.kids[0])
    srcs: list[tuple] = []
    for a in syn.kids[1:]:
        g, s = arg_source(ctx, g, a, text, pos, depth)
        if s is not None:
            srcs.append(s)
    out = list(srcs)
    for i in range(len(srcs)):
        for j in range(i, len(srcs)):
            out.append(("mul", srcs[i], srcs[j]))
    last = _strip_parens(syn.kids[-1])
    if head.kind == "ident" and head.val.split(".")[-1] in POWER_LEMMAS and srcs and last.kind == "num":
        n = int(last.val) if last.val.isdigit() else 0
        if 1 <= n <= 8:
            acc = srcs[0]
            for _ in range(n - 1):
                acc = ("mul", acc, srcs[0])
            out.append(acc)
    return g, out


def arg_source(ctx: TacticContext, g: Goal, a, text: str, pos: int, depth: int) -> tuple[Goal, tuple | None]:
    a = _strip_parens(a)
    if a.kind == "ident":
        uid = _hyp_named(g, a.val)
        if uid is not None:
            return g, ("hyp", uid)
    if a.kind not in ("app", "proj", "ident"):
        return g, None
    sub = text[a.pos:a.end]
    sp = ctx.savepoint()
    try:
        prop, _ = infer_term(ctx, g, sub, pos + a.pos)
    except KernelError:
        ctx.rollback(sp)
        return g, None  # a term, not a proof
    return cut_fact(ctx, g, prop, _shift(a, a.pos), sub, pos + a.pos, depth + 1)


def _shift(syn, d: int):
    """The syntax tree with positions relative to its own text."""
    return replace(syn, pos=syn.pos - d, end=syn.end - d, kids=tuple(_shift(k, d) for k in syn.kids))


# -- linarith / nlinarith -------------------------------------------------------------------------
def split_target(ctx: TacticContext, g: Goal) -> list[Goal]:
    """Goals the certificate rule reads: `a = b` becomes a ≤ b and b ≤ a (le_antisymm); a goal
    that is not an order comparison becomes `False` (exfalso), as linarith does."""
    t = bridge.sequent(g).target
    if t == C.FALSE or certify.is_order(t) or (isinstance(t, C.Conn) and t.op == "¬" and certify.is_order(t.args[0])):
        return [g]
    if isinstance(t, C.Rel) and t.op == "=" and t.lhs.ty in C.NUMERIC:
        return list(ctx.apply(g, "le_antisymm"))
    return list(ctx.apply(g, "exfalso"))


@contextmanager
def tactic_budget(ctx: TacticContext):
    """One arithmetic tactic runs at most TACTIC_MODE_SECONDS (and never past the context's
    deadline): every search below reads ctx.deadline."""
    saved = ctx.deadline
    ctx.deadline = min(saved, time.monotonic() + TACTIC_MODE_SECONDS)
    try:
        yield
    finally:
        ctx.deadline = saved


def run_linarith(ctx: TacticContext, args: str, off: int, goals: Goals, nonlinear: bool) -> Goals:
    with tactic_budget(ctx):
        return _run_linarith(ctx, args, off, goals, nonlinear)


def _run_linarith(ctx: TacticContext, args: str, off: int, goals: Goals, nonlinear: bool) -> Goals:
    g0 = goals[0]
    sp = ctx.savepoint()
    try:
        only = bool(re.match(r"\s*only\b", args))
        g, hint_srcs = add_hints(ctx, g0, args, off)
        for sub in split_target(ctx, g):
            seq = bridge.sequent(sub)
            srcs = list(hint_srcs) if only else certify.hyp_sources(seq)
            squares: list[tuple] = []
            if nonlinear:
                props = [d.value for d in seq.decls if not d.is_var and (not only or ("hyp", d.uid) in srcs)]
                squares = certify.square_sources(props + [seq.target])
            cert = certify.find_certificate(seq, srcs, ctx.deadline, nonlinear=nonlinear, squares=squares)
            if cert is None:
                raise TacticFailed("no certificate")
            ctx.apply(sub, "linarith", cert)
        return goals[1:]
    except certify.OutOfTime:
        ctx.rollback(sp)
        raise TacticFailed("linarith failed to find a contradiction (the embedded kernel's time limit was reached)\n"
                           + g0.pretty() + "\n⊢ False failed") from None
    except TacticFailed as e:
        ctx.rollback(sp)
        if e.pos is not None:  # an error inside a hint term (Lean reports it there)
            raise
        raise TacticFailed("linarith failed to find a contradiction\n" + g0.pretty() + "\n⊢ False failed") from None


@tactic("linarith", "linarith!")
def t_linarith(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    return run_linarith(ctx, args, off, goals, nonlinear=False)


@tactic("nlinarith", "nlinarith!")
def t_nlinarith(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    return run_linarith(ctx, args, off, goals, nonlinear=True)


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



class _Positivity:
    """Mathlib's positivity as a certificate producer: for a term t it builds a list of
    (source, coefficient) and a constant c ≥ 0 with Σ cᵢ·pᵢ + c = t as polynomials, each source a
    fact ≥ 0 or > 0 (hypotheses about the term, squares, ℕ/|·|/√ nonnegativity, products)."""

    MAX_TERMS = 64

    def __init__(self, ctx: TacticContext, g: Goal):
        self.ctx = ctx
        self.g = g  # grows with lemma facts (div_pos, Real.sqrt_pos …) added through `cut`
        self.seq = bridge.sequent(g)
        self.pool = certify.Pool(self.seq, ctx.deadline)
        self.hyps = []
        for src in certify.hyp_sources(self.seq):
            f = self.pool.fact(src)
            if f is not None and f.rel in (">", "≥"):
                self.hyps.append((src, f))

    def poly(self, t: C.Term):
        from ..core.poly import Budget, to_poly
        return to_poly(t, Budget())

    def from_hyps(self, t: C.Term):
        try:
            p = self.poly(t)
        except (CoreError, ValueError):
            return None
        best = None
        for src, f in self.hyps:
            d = p - f.poly
            if d.is_const() and d.const_value() >= 0:
                r = ([(src, Fraction(1))], d.const_value(), f.rel == ">" or d.const_value() > 0)
                if r[2]:
                    return r
                best = best or r
        return best

    def rep(self, t: C.Term):
        certify.check_deadline(self.ctx.deadline)
        if isinstance(t, C.Lit):
            return ([], t.value, t.value > 0)
        r = self.compound(t)
        if r is not None and r[2]:
            return r
        h = self.from_hyps(t)
        if h is not None and (h[2] or r is None):
            return h
        if r is not None:
            return r
        if certify._nonneg_shape(t):
            return ([(("nonneg", t), Fraction(1))], Fraction(0), False)
        return None

    def fact_hyp(self, t: C.Term, strict: bool) -> int | None:
        """A new hypothesis `0 < t` (`0 ≤ t`) proved by a certificate, or None."""
        r = self.rep(t)
        if r is None or (strict and not r[2]):
            return None
        sp = self.ctx.savepoint()
        try:
            uid = bridge.fresh_uid()
            prop = C.Rel("<" if strict else "≤", C.Lit(Fraction(0), t.ty), t)
            prem, rest = self.ctx.apply(self.g, "cut", prop, HINT_NAME, uid)
            self.ctx.apply(prem, "linarith", ((("neg_goal",), Fraction(1)),) + tuple(r[0]))
        except TacticFailed:
            self.ctx.rollback(sp)
            return None
        self.g = rest
        return uid

    def lemma_fact(self, lemma: str, ty: str, witnesses: list, hyps: list, iff: bool = False) -> int | None:
        """The conclusion of a table lemma instance (core `lemma`, then `spec`/`mp`)."""
        sp = self.ctx.savepoint()
        try:
            g, cur = self.g, bridge.fresh_uid()
            (g,) = self.ctx.apply(g, "lemma", lemma, ty, HINT_NAME, cur)
            for w in witnesses:
                nxt = bridge.fresh_uid()
                (g,) = self.ctx.apply(g, "spec", cur, w, HINT_NAME, nxt)
                cur = nxt
            if iff:
                u1, u2 = bridge.fresh_uid(), bridge.fresh_uid()
                (g,) = self.ctx.apply(g, "iff_elim", cur, HINT_NAME, u1, HINT_NAME, u2)
                cur = u2
            for h in hyps:
                nxt = bridge.fresh_uid()
                (g,) = self.ctx.apply(g, "mp", cur, h, HINT_NAME, nxt)
                cur = nxt
        except TacticFailed:
            self.ctx.rollback(sp)
            return None
        self.g = g
        return cur

    def mul(self, r1, r2):
        (l1, c1, s1), (l2, c2, s2) = r1, r2
        terms = [(("mul", a, b), x * y) for a, x in l1 for b, y in l2]
        terms += [(a, x * c2) for a, x in l1 if c2] + [(b, y * c1) for b, y in l2 if c1]
        if len(terms) > self.MAX_TERMS:
            return None
        return (terms, c1 * c2, s1 and s2)

    def compound(self, t: C.Term):
        if not isinstance(t, C.Op):
            return None
        a = t.args
        if t.op == "+":
            r1, r2 = self.rep(a[0]), self.rep(a[1])
            if r1 is None or r2 is None:
                return None
            return (r1[0] + r2[0], r1[1] + r2[1], r1[2] or r2[2])
        if t.op == "*":
            r1, r2 = self.rep(a[0]), self.rep(a[1])
            if r1 is None or r2 is None:
                return None
            return self.mul(r1, r2)
        if t.op == "^" and isinstance(a[1], C.Lit):
            n = int(a[1].value)
            if n == 0:
                return ([], Fraction(1), True)
            r = self.rep(a[0])
            if r is not None and (r[2] or n % 2 == 1) and n <= 8:
                acc = r
                for _ in range(n - 1):
                    acc = acc and self.mul(acc, r)
                if acc is not None:
                    return acc
            if n % 2 == 0:
                return ([(("sq", certify.square_base(t)), Fraction(1))], Fraction(0), False)
            return None
        if t.op == "cast":
            return self.rep(a[0])
        if t.op == "/" and t.ty in ("ℚ", "ℝ") and not isinstance(a[1], C.Lit):
            for strict, lemma in ((True, "div_pos"), (False, "div_nonneg")):
                ua = self.fact_hyp(a[0], strict)
                ub = self.fact_hyp(a[1], strict) if ua is not None else None
                if ub is not None:
                    u = self.lemma_fact(lemma, t.ty, [a[0], a[1]], [ua, ub])
                    if u is not None:
                        return ([(("hyp", u), Fraction(1))], Fraction(0), strict)
            return None
        if t.op == "sqrt":
            ua = self.fact_hyp(a[0], True)
            u = self.lemma_fact("Real.sqrt_pos", "ℝ", [a[0]], [ua], iff=True) if ua is not None else None
            if u is not None:
                return ([(("hyp", u), Fraction(1))], Fraction(0), True)
            return None
        if t.op == "/" and t.ty in ("ℚ", "ℝ") and isinstance(a[1], C.Lit) and a[1].value > 0:
            r = self.rep(a[0])
            if r is None:
                return None
            k = 1 / a[1].value
            return ([(s, c * k) for s, c in r[0]], r[1] * k, r[2])
        return None


def _positivity_goal(t: C.Term):
    """(want, e): want in < ≤ ≠ for the goals 0 < e, 0 ≤ e, e ≠ 0."""
    zero = lambda x: isinstance(x, C.Lit) and x.value == 0
    if isinstance(t, C.Rel):
        if t.op in ("<", "≤") and zero(t.lhs):
            return t.op, t.rhs
        if t.op in (">", "≥") and zero(t.rhs):
            return {">": "<", "≥": "≤"}[t.op], t.lhs
        if t.op == "≠" and zero(t.rhs):
            return "≠", t.lhs
    if isinstance(t, C.Conn) and t.op == "¬" and isinstance(t.args[0], C.Rel) and t.args[0].op == "=" \
            and zero(t.args[0].rhs):
        return "≠", t.args[0].lhs
    return None, None


@tactic("positivity")
def t_positivity(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    want, e = _positivity_goal(bridge.sequent(g).target)
    if want is None:
        raise TacticFailed("not a positivity goal")
    try:
        with tactic_budget(ctx):
            pos = _Positivity(ctx, g)
            r = pos.rep(e)
    except certify.OutOfTime:
        raise TacticFailed("failed to prove positivity (the embedded kernel's time limit was reached)") from None
    if r is None:
        raise TacticFailed("failed to prove positivity")
    terms, _, strict = r
    if want in ("<", "≠") and not strict:
        raise TacticFailed("failed to prove positivity: the expression is only nonneg")
    g = pos.g
    if want == "≠":
        uid = bridge.fresh_uid()
        (g2,) = ctx.apply(g, "intro", "a✝", uid)
        ctx.apply(g2, "linarith", ((("hyp", uid), Fraction(1)),) + tuple(terms))
    else:
        ctx.apply(g, "linarith", ((("neg_goal",), Fraction(1)),) + tuple(terms))
    return goals[1:]


# -- omega ----------------------------------------------------------------------------------
def _omega_ok(p: C.Term) -> bool:
    import z3

    from ..core.omega import _Enc
    try:
        _Enc().prop(p)
        return True
    except (CoreError, z3.Z3Exception, ValueError, TypeError, KeyError, AttributeError):
        return False


@tactic("omega")
def t_omega(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    seq = bridge.sequent(g)
    fail = TacticFailed("omega could not prove the goal:\na possible counterexample may satisfy the constraints\n"
                        + g.pretty())
    sp = ctx.savepoint()
    if not _omega_ok(seq.target):
        # Lean's omega works by contradiction: a goal it cannot read adds nothing
        (g,) = ctx.apply(g, "exfalso")
        seq = bridge.sequent(g)
    uids = tuple(d.uid for d in seq.decls if not d.is_var and _omega_ok(d.value))
    try:
        ctx.apply(g, "omega", uids)
    except TacticFailed:
        ctx.rollback(sp)
        raise fail from None
    return goals[1:]


# -- decide -----------------------------------------------------------------------------------
@tactic("decide")
def t_decide(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    if any(t.ty == "ℝ" for t in subterms(g.target)):  # Real's order/equality are not decidable
        raise TacticFailed("failed to synthesize\n  Decidable (" + pp(g.target) + ")")
    try:
        ok = holds(g.target)
    except NotEvaluable as e:
        raise TacticFailed(f"failed to synthesize\n  Decidable ({pp(g.target)})\n(embedded kernel: {e})") from None
    if not ok:
        raise TacticFailed(f"tactic 'decide' proved that the proposition\n  {pp(g.target)}\nis false")
    try:
        ctx.apply(g, "eval")
    except TacticFailed as e:
        raise TacticFailed(f"failed to synthesize\n  Decidable ({pp(g.target)})\n({e.message})") from None
    return goals[1:]


# -- ring / ring_nf -----------------------------------------------------------------------------
def ring_normalize_prop(p: Term) -> Term:
    if isinstance(p, Rel) and p.lhs.ty in NUMERIC:
        norm = Normalizer(p.lhs.ty)
        return Rel(p.op, to_term(norm.norm(p.lhs), p.lhs.ty), to_term(norm.norm(p.rhs), p.rhs.ty))
    if isinstance(p, Conn) and p.args:
        return Conn(p.op, tuple(ring_normalize_prop(a) for a in p.args))
    return p


def try_ring(ctx: TacticContext, g: Goal) -> bool:
    t = bridge.sequent(g).target
    if not (isinstance(t, C.Rel) and t.op == "=" and t.lhs.ty in C.NUMERIC):
        return False
    return ctx.try_apply(g, "ring") is not None


def normalize_target(ctx: TacticContext, g: Goal, new: Term) -> Goal:
    """`g` with its target replaced by the surface proposition `new`, justified by the core's
    `normalize` rule (equivalence by its canonical form)."""
    (out,) = ctx.apply(g, "normalize", bridge.core_term(g, new))
    return out


def normalize_hyp(ctx: TacticContext, g: Goal, name: str, new: Term) -> Goal:
    uid = bridge.hyp_uid(g, name)
    (out,) = ctx.apply(g, "normalize_hyp", uid, bridge.core_term(g, new), name, bridge.fresh_uid())
    return out


@tactic("ring", "ring1", "ring!")
def t_ring(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    t = g.target
    if try_ring(ctx, g):
        return goals[1:]
    new = ring_normalize_prop(t)
    is_ring1 = ctx.src[:off].rstrip().endswith("ring1")
    if is_ring1 or new == t or not isinstance(t, Rel):
        raise TacticFailed("ring failed, ring_nf subsidiary goal did not make progress")
    try:
        g2 = normalize_target(ctx, g, new)
    except TacticFailed:
        raise TacticFailed("ring failed, ring_nf subsidiary goal did not make progress") from None
    ctx.info("Try this: ring_nf", off - 4, off)
    return (g2,) + goals[1:]


@tactic("ring_nf", "ring_nf!")
def t_ring_nf(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    locs = parse_at(args)
    changed = False
    if locs is None or "⊢" in locs:
        if try_ring(ctx, g):
            return goals[1:]
        new = ring_normalize_prop(g.target)
        if new != g.target:
            g = normalize_target(ctx, g, new)
            changed = True
    for name in locs or []:
        if name == "⊢":
            continue
        h = require_hyp(g, name)
        new = ring_normalize_prop(h.value)
        if new != h.value:
            g = normalize_hyp(ctx, g, name, new)
            changed = True
    if not changed:
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
        if isinstance(p, Conn) and p.op == "¬" and isinstance(p.args[0], Rel) and p.args[0].op == "=" \
                and p.args[0].lhs == d and isinstance(p.args[0].rhs, Num) and p.args[0].rhs.value == 0:
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


def _nonzero_uids(g: Goal) -> list[int]:
    """Hypotheses the core's field_simp rule reads as `t ≠ 0`."""
    from ..core.field import _nonzero_term
    out = []
    for d in bridge.sequent(g).decls:
        if not d.is_var:
            try:
                _nonzero_term(d.value)
                out.append(d.uid)
            except CoreError:
                pass
    return out


def _denominators(p: C.Term) -> list[C.Term]:
    out: list[C.Term] = []
    for t in C.subterms(p):
        if isinstance(t, C.Op) and t.ty in ("ℚ", "ℝ") and not C.has_loose_bvars(t):
            d = t.args[1] if t.op == "/" else t.args[0] if t.op == "inv" else None
            if d is not None and not isinstance(d, C.Lit) and d not in out:
                out.append(d)
    return out


def _prove_nonzero_by_positivity(ctx: TacticContext, g: Goal, d: C.Term) -> tuple[Goal, int | None]:
    """A new hypothesis `d ≠ 0` when positivity proves `0 < d` (field_simp's discharger)."""
    sp = ctx.savepoint()
    uid = bridge.fresh_uid()
    try:
        prop = C.Rel("≠", d, C.Lit(Fraction(0), d.ty))
        prem, rest = ctx.apply(g, "cut", prop, HINT_NAME, uid)
        r = _Positivity(ctx, prem).rep(d)
        if r is None or not r[2]:
            raise TacticFailed("not positive")
        a = bridge.fresh_uid()
        (p2,) = ctx.apply(prem, "intro", "a✝", a)
        ctx.apply(p2, "linarith", ((("hyp", a), Fraction(1)),) + tuple(r[0]))
        return rest, uid
    except (TacticFailed, certify.OutOfTime):
        ctx.rollback(sp)
        return g, None


def field_hints(ctx: TacticContext, g: Goal, args: str, off: int) -> tuple[Goal, list[int]]:
    """Hint terms stating `t ≠ 0` (`field_simp [h.1, hx.ne']`) as hypotheses proved through the
    core (a conjunction's part, a certificate after `intro`, or `exact`)."""
    from ..core.field import _nonzero_term
    added = []
    for text, pos in hint_list(args, off):
        try:
            syn = _strip_parens(parse_term(text, 0))
        except KernelError:
            continue
        if syn.kind == "ident" and _hyp_named(g, syn.val) is not None:
            continue
        sp = ctx.savepoint()
        try:
            prop, _ = infer_term(ctx, g, text, pos)
            p = bridge.core_term(g, prop)
            _nonzero_term(p)
            uid = bridge.fresh_uid()
            prem, rest = ctx.apply(g, "cut", p, HINT_NAME, uid)
            if not prove_nonzero_fact(ctx, prem, syn, text, pos):
                raise TacticFailed("unproved hint")
            g = rest
            added.append(uid)
        except (KernelError, CoreError, certify.OutOfTime):
            ctx.rollback(sp)
    return g, added


def prove_nonzero_fact(ctx: TacticContext, goal: Goal, syn, text: str, pos: int) -> bool:
    sp = ctx.savepoint()
    try:
        sub, srcs = structural_sources(ctx, goal, syn, text, pos, 0)
        for s in srcs:
            if s[0] == "hyp":
                try:
                    ctx.apply(sub, "hyp", s[1])
                    return True
                except TacticFailed:
                    pass
        a = bridge.fresh_uid()
        (f,) = ctx.apply(sub, "intro", "a✝", a)
        seq = bridge.sequent(f)
        cert = certify.find_certificate(seq, certify.hyp_sources(seq) + srcs, ctx.deadline)
        if cert is not None:
            ctx.apply(f, "linarith", cert)
            return True
    except (TacticFailed, certify.OutOfTime):
        pass
    ctx.rollback(sp)
    return exact_fallback(ctx, goal, text, pos)


def _field_step(ctx: TacticContext, g: Goal, old: C.Term, new_surface: Term, hyp: str | None,
                hint_uids: list[int] = ()) -> Goal:
    nz = _nonzero_uids(g)
    added = []
    seq = bridge.sequent(g)
    for d in _denominators(old):
        g, u = _prove_nonzero_by_positivity(ctx, g, d)
        if u is not None:
            added.append(u)
    new = bridge.core_term(g, new_surface)
    if hyp is None:
        (g,) = ctx.apply(g, "field_simp", tuple(nz + added), new)
    else:
        uid = bridge.hyp_uid(g, hyp)
        (g,) = ctx.apply(g, "field_simp_hyp", uid, tuple(nz + added), new, hyp, bridge.fresh_uid())
    for u in added:
        (g,) = ctx.apply(g, "clear", u)
    del seq
    return g


def _clear_all(ctx: TacticContext, g: Goal, uids: list[int]) -> Goal:
    for u in uids:
        (g,) = ctx.apply(g, "clear", u)
    return g


@tactic("field_simp")
def t_field_simp(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    extra = hint_props(ctx, g, args, off)
    locs = parse_at(re.sub(r"\[.*\]", "", args, flags=re.DOTALL))
    changed = False
    sp = ctx.savepoint()
    try:
        g, hint_uids = field_hints(ctx, g, args, off)
        if locs is None or "⊢" in locs:
            new = field_simp_prop(g, extra, g.target)
            if new != g.target:
                g = _field_step(ctx, g, bridge.sequent(g).target, new, None)
                changed = True
            if try_ring(ctx, g):
                return goals[1:]
        for name in locs or []:
            if name == "⊢":
                continue
            h = require_hyp(g, name)
            new = field_simp_prop(g, extra, h.value)
            if new != h.value:
                g = _field_step(ctx, g, bridge.sequent(g).hyp(bridge.hyp_uid(g, name)), new, name)
                changed = True
        g = _clear_all(ctx, g, hint_uids)
    except TacticFailed:
        ctx.rollback(sp)
        raise TacticFailed("field_simp made no progress (the trusted core could not justify the simplification)") from None
    if not changed:
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
    xv = bridge.var_fvar(g, name)
    sp = ctx.savepoint()
    try:
        added = []
        lo_uid = None
        if not (h.value == "ℕ" and lo == 0):
            g, lo_uid = _cut_bound(ctx, g, C.Rel("≤", _lit(lo, h.value), xv))
            added.append(lo_uid)
        g, hi_uid = _cut_bound(ctx, g, C.Rel("≤", xv, _lit(hi, h.value)))
        added.append(hi_uid)
        n = max(0, int(hi) - int(lo) + 1)  # no case at all when the bounds contradict
        cases = ctx.apply(g, "interval_cases", xv.uid, lo_uid, hi_uid, "h✝", tuple(bridge.fresh_uid() for _ in range(n)))
        out = []
        for case in cases:
            eq_uid = bridge.sequent(case).decls[-1].uid
            (case,) = ctx.apply(case, "subst", eq_uid)
            for u in added:
                (case,) = ctx.apply(case, "clear", u)
            out.append(case)
    except (TacticFailed, certify.OutOfTime):
        ctx.rollback(sp)
        raise TacticFailed(f"interval_cases failed: could not find bounds on {name} the trusted core accepts") from None
    return tuple(out) + goals[1:]


def _lit(v: Fraction, ty: str) -> C.Term:
    return C.Lit(Fraction(v), ty) if v >= 0 else C.Op("neg", (C.Lit(Fraction(-v), ty),), ty)


def _cut_bound(ctx: TacticContext, g: Goal, prop: C.Term) -> tuple[Goal, int]:
    """A new hypothesis `prop` (a literal bound), proved by a linear certificate from the
    hypotheses (conjunctions split first)."""
    uid = bridge.fresh_uid()
    prem, rest = ctx.apply(g, "cut", prop, HINT_NAME, uid)
    prem = split_conjunctions(ctx, prem)
    seq = bridge.sequent(prem)
    cert = certify.find_certificate(seq, certify.hyp_sources(seq), ctx.deadline)
    if cert is None:
        raise TacticFailed("no bound")
    ctx.apply(prem, "linarith", cert)
    return rest, uid


def split_conjunctions(ctx: TacticContext, g: Goal, limit: int = 32) -> Goal:
    """Every hypothesis `a ∧ b` also as two hypotheses (for a certificate's use)."""
    todo = [d.uid for d in bridge.sequent(g).decls if not d.is_var]
    while todo and limit > 0:
        uid = todo.pop(0)
        p = bridge.sequent(g).hyp(uid)
        if isinstance(p, C.Conn) and p.op == "∧":
            limit -= 1
            u1, u2 = bridge.fresh_uid(), bridge.fresh_uid()
            (g,) = ctx.apply(g, "and_elim", uid, HINT_NAME, u1, HINT_NAME, u2)
            todo += [u1, u2]
    return g
