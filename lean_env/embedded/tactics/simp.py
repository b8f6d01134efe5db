"""Rewriting: rw / rwa, and the simp family (simp, simp only, simp_all, norm_num, simp at h).

Every rewrite rule is a true equation or equivalence (a hypothesis, a library lemma, or an
arithmetic fact computed exactly), so a rewritten goal is equivalent to the original one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from ..arith.evaluate import NotEvaluable, evaluate, holds
from ..arith.poly import Normalizer
from ..errors import ElabError, TacticFailed, Unsupported
from ..goals import Goal
from ..lemmas import lemma_instances
from ..parser import parse_term
from ..pretty import pp
from ..proofterm import Telescope
from ..terms import (FALSE, NUMERIC, TRUE, App, BigOp, Conn, Num, Op, Pred, Quant, Rel, Term, free_vars, num, rebuild)
from ..terms import replace as replace_subterm
from ..unify import canon, instantiate, match
from .engine import Goals, TacticContext, tactic
from .logic import close_by_rfl, find_assumption, proof_terms, split_commas

MAX_STEPS = 5000
MAX_SIDE_DEPTH = 3
# Mathlib simp lemmas that the simp core already applies (normal forms: `>`→`<`, `≠`→`¬ =`,
# literal arithmetic, logic) or that are about constructs outside the fragment (rpow, ⁻¹,
# Nat.succ): naming them in `simp only [...]` is accepted and adds nothing. Ignoring a simp
# lemma only makes simp weaker, never unsound.
KNOWN_SIMP_NAMES = {
    "one_div", "ne_eq", "gt_iff_lt", "ge_iff_le", "rpow_two", "Real.rpow_two", "rpow_natCast",
    "Real.rpow_natCast", "and_imp", "ofNat_pos", "succ.injEq", "Nat.succ.injEq", "and_self",
    "not_false_eq_true", "OfNat.ofNat_ne_zero", "zero_lt_two", "zero_lt_succ", "Nat.zero_lt_succ",
    "one_rpow", "Real.one_rpow", "le_refl", "true_and", "and_true", "not_lt", "not_le",
    "Nat.ofNat_pos", "two_pos", "zero_lt_one", "one_pos", "lt_self_iff_false", "le_refl",
    "eq_self_iff_true", "implies_true", "forall_const", "exists_prop", "Nat.cast_ofNat",
    "Nat.cast_id", "Int.cast_ofNat", "id_eq", "Nat.cast_inj", "or_false", "false_or", "or_true",
    "true_or", "not_true", "not_false_iff", "add_left_inj", "add_right_inj", "mul_eq_mul_left_iff",
    "tsub_le_iff_right", "add_left_eq_self", "div_pow", "mul_pos_iff_of_pos_left",
    "div_pos_iff_of_pos_left", "pow_eq_zero_iff", "Nat.cast_add", "Nat.cast_mul", "Nat.cast_pow",
    "Nat.cast_sub", "Int.cast_add", "Int.cast_mul", "add_right_comm", "add_sub_add_right_eq_sub",
}


@dataclass(frozen=True)
class Rule:
    lhs: Term
    rhs: Term
    metas: frozenset[str]
    side: tuple[Term, ...] = ()  # hypotheses to discharge (rw: new goals; simp: skip rule)
    fn: object = None  # a built-in rewrite `Term -> Term | None` (lemmas about ∑ / ∏ bodies)


def _range_hi_pred(hi: Term) -> Term | None:
    """n with hi = n + 1 (syntactically, or hi a positive literal): Lean unifies `?n + 1`."""
    if isinstance(hi, Op) and hi.op == "+" and isinstance(hi.args[1], Num) and hi.args[1].value == 1:
        return hi.args[0]
    if isinstance(hi, Num) and hi.value >= 1:
        return Num(hi.value - 1, hi.ty)
    return None


def _range_succ(t: Term) -> Term | None:
    # Finset.sum_range_succ : ∑ x ∈ range (n + 1), f x = ∑ x ∈ range n, f x + f n  (∏ likewise)
    if isinstance(t, BigOp) and t.kind == "range":
        n = _range_hi_pred(t.hi)
        if n is not None:
            from ..terms import substitute
            rest = BigOp(t.op, t.var, t.vty, "range", None, n, t.body, t.ty)
            return Op("+" if t.op == "∑" else "*", (rest, substitute(t.body, t.var, n)), t.ty)
    return None


def _range_zero(t: Term) -> Term | None:
    if isinstance(t, BigOp) and t.kind == "range" and isinstance(t.hi, Num) and t.hi.value == 0:
        return Num(Fraction(0 if t.op == "∑" else 1), t.ty)
    return None


def _range_one(t: Term) -> Term | None:
    if isinstance(t, BigOp) and t.kind == "range" and isinstance(t.hi, Num) and t.hi.value == 1:
        from ..terms import substitute
        return substitute(t.body, t.var, Num(Fraction(0), t.vty))
    return None


BUILTIN_REWRITES = {
    "Finset.sum_range_succ": ("∑", _range_succ), "Finset.prod_range_succ": ("∏", _range_succ),
    "Finset.sum_range_zero": ("∑", _range_zero), "Finset.prod_range_zero": ("∏", _range_zero),
    "Finset.sum_range_one": ("∑", _range_one), "Finset.prod_range_one": ("∏", _range_one),
}


def builtin_rule(name: str) -> Rule | None:
    entry = BUILTIN_REWRITES.get(name) or BUILTIN_REWRITES.get("Finset." + name)
    if entry is None:
        return None
    op, fn = entry

    def apply(t: Term) -> Term | None:
        return fn(t) if isinstance(t, BigOp) and t.op == op else None

    return Rule(TRUE, TRUE, frozenset(), (), apply)


def rules_from_prop(p: Term, for_simp: bool) -> list[Rule]:
    p = canon(p) if for_simp else p
    if isinstance(p, Quant) and p.kind == "∀" or (isinstance(p, Conn) and p.op == "→" and for_simp):
        from ..proofterm import telescope_of_prop
        return rules_from_telescope(telescope_of_prop(p), for_simp)
    if isinstance(p, Rel) and p.op == "=":
        return [Rule(p.lhs, p.rhs, frozenset())]
    if isinstance(p, Conn) and p.op == "↔":
        return [Rule(p.args[0], p.args[1], frozenset())]
    if not for_simp:
        raise TacticFailed(f"rewrite: equality or iff proof expected\n  {pp(p)}")
    if isinstance(p, Conn) and p.op == "¬":
        return [Rule(p.args[0], FALSE, frozenset())]
    if isinstance(p, Conn) and p.op == "∧":
        return rules_from_prop(p.args[0], True) + rules_from_prop(p.args[1], True)
    if p in (TRUE,):
        return []
    return [Rule(p, TRUE, frozenset())]


def rules_from_telescope(t: Telescope, for_simp: bool) -> list[Rule]:
    metas = set(t.metas) | {b.name for b in t.binders if b.kind != "hyp"}
    side = tuple(b.value for b in t.binders if b.kind == "hyp")
    concl = canon(t.conclusion) if for_simp else t.conclusion
    if isinstance(concl, Rel) and concl.op == "=":
        return [Rule(concl.lhs, concl.rhs, frozenset(metas), side)]
    if isinstance(concl, Conn) and concl.op == "↔":
        return [Rule(concl.args[0], concl.args[1], frozenset(metas), side)]
    if for_simp and not side and not metas:
        return rules_from_prop(concl, True)
    if for_simp:
        return [Rule(concl, TRUE, frozenset(metas), side)]
    raise TacticFailed("rewrite: equality or iff proof expected")


def flip(r: Rule) -> Rule:
    if r.fn is not None:
        raise Unsupported("← with a built-in ∑/∏ rewrite lemma")
    return Rule(r.rhs, r.lhs, r.metas, r.side)


def rules_from_text(ctx: TacticContext, g: Goal, text: str, off: int, for_simp: bool) -> list[Rule]:
    text_s = text.strip()
    built = builtin_rule(text_s)
    if built is not None:
        return [built]
    h = g.lookup(text_s)
    if h is not None and not h.is_var:
        return rules_from_prop(h.value, for_simp)
    pt = proof_terms(ctx, g)
    tel = pt.telescope(parse_term(text, off))
    options = tel.options if hasattr(tel, "options") else [tel]
    out = []
    for t in options:
        out.extend(rules_from_telescope(t, for_simp))
    return out


# -- rewriting ---------------------------------------------------------------------------------
def find_instance(t: Term, rule: Rule, bound: frozenset[str] = frozenset()) -> dict[str, Term] | None:
    subst: dict[str, Term] = {}
    if not (free_vars(t) & bound) and match(rule.lhs, t, set(rule.metas), subst):
        return subst
    if isinstance(t, (Quant, BigOp)):
        bound = bound | {t.var}
    for c in t.children():
        r = find_instance(c, rule, bound)
        if r is not None:
            return r
    return None


def _find_fn_instance(t: Term, fn) -> tuple[Term, Term] | None:
    r = fn(t)
    if r is not None:
        return t, r
    for c in t.children():
        found = _find_fn_instance(c, fn)
        if found is not None:
            return found
    return None


def rewrite_once(t: Term, rule: Rule) -> tuple[Term, tuple[Term, ...]] | None:
    if rule.fn is not None:
        found = _find_fn_instance(t, rule.fn)
        if found is None:
            return None
        return replace_subterm(t, found[0], found[1]), ()
    subst = find_instance(t, rule)
    if subst is None:
        return None
    lhs, rhs = instantiate(rule.lhs, subst), instantiate(rule.rhs, subst)
    if free_vars(rhs) & set(rule.metas):
        raise TacticFailed("motive is not type correct: the rewrite leaves a metavariable")
    return replace_subterm(t, lhs, rhs), tuple(instantiate(s, subst) for s in rule.side)


def parse_rule_list(args: str) -> tuple[list[tuple[str, int, bool]], str, int]:
    m = re.match(r"\s*\[(.*?)\]", args, re.S)
    if not m:
        return [], args, 0
    items = []
    for text, start in split_commas(m.group(1)):
        stripped = text.lstrip()
        rev = stripped.startswith("←") or stripped.startswith("<-")
        if rev:
            cut = 1 if stripped.startswith("←") else 2
            lead = len(text) - len(stripped) + cut
            items.append((text[lead:], m.start(1) + start + lead, True))
        else:
            items.append((text, m.start(1) + start, False))
    return items, args[m.end():], m.end()


def locations(rest: str) -> list[str] | None:
    m = re.search(r"(?:^|\s)at\s+(.*)$", rest, re.S)
    if not m:
        return None
    return m.group(1).split()


@tactic("rw", "rewrite", "rwa", "nth_rewrite", "nth_rw")
def t_rw(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    head = ctx.src[:off].rstrip().split()[-1]
    if head in ("nth_rewrite", "nth_rw"):
        raise Unsupported("nth_rewrite")
    g = goals[0]
    items, rest, _ = parse_rule_list(args)
    if not items:
        raise TacticFailed("rw: expected a list of rewrite rules `[h, ← h']`")
    locs = locations(rest)
    side_goals: list[Term] = []
    for text, start, rev in items:
        rules = rules_from_text(ctx, g, text, off + start, for_simp=False)
        done = False
        for rule in rules:
            rule = flip(rule) if rev else rule
            if locs is None or "⊢" in locs:
                r = rewrite_once(g.target, rule)
                if r is not None:
                    g = g.with_target(r[0])
                    side_goals.extend(r[1])
                    done = True
            for h in locs or []:
                if h == "⊢":
                    continue
                hyp = g.lookup(h)
                if hyp is None or hyp.is_var:
                    raise TacticFailed(f"unknown hypothesis '{h}'")
                r = rewrite_once(hyp.value, rule)
                if r is not None:
                    g = g.replace_hyp(h, r[0])
                    side_goals.extend(r[1])
                    done = True
            if done:
                break
        if not done:
            pat = rules[0].lhs if rules else None
            where = "the target expression" if locs is None else "the hypothesis"
            raise TacticFailed(f"tactic 'rewrite' failed, did not find instance of the pattern in {where}\n  {pp(pat) if pat is not None else text}\n" + g.pretty())
    new_goals: list[Goal] = []
    # rw tries `rfl` after rewriting (only the main goal)
    if not close_by_rfl(g) and not (g.target == TRUE):
        new_goals.append(g)
    if head == "rwa":
        if new_goals and find_assumption(new_goals[0]):
            new_goals = []
        elif new_goals:
            raise TacticFailed("tactic 'assumption' failed\n" + new_goals[0].pretty())
    return tuple(new_goals) + tuple(g.with_target(s) for s in side_goals) + goals[1:]


# -- simp ---------------------------------------------------------------------------------------
def _is_num(t: Term, v: int | None = None) -> bool:
    return isinstance(t, Num) and (v is None or t.value == v)


def arith_step(t: Term, full: bool) -> Term | None:
    """One simp-normalisation step at the root of `t` (identities and exact numeral arithmetic)."""
    if isinstance(t, Op) and t.ty in NUMERIC:
        a = t.args
        if all(_closed(x) for x in a) and t.op not in ("cast",) or (t.op == "cast" and _closed(a[0])):
            try:
                v = evaluate(t)
            except NotEvaluable:
                v = None
            if v is not None:
                new = num(v, t.ty)
                if new != t:
                    return new
        if t.op == "+" and _is_num(a[1], 0):
            return a[0]
        if t.op == "+" and _is_num(a[0], 0):
            return a[1]
        if t.op == "*" and (_is_num(a[1], 1)):
            return a[0]
        if t.op == "*" and _is_num(a[0], 1):
            return a[1]
        if t.op == "*" and (_is_num(a[0], 0) or _is_num(a[1], 0)):
            return Num(Fraction(0), t.ty)
        if t.op == "-" and _is_num(a[1], 0):
            return a[0]
        if t.op == "-" and a[0] == a[1]:
            return Num(Fraction(0), t.ty)
        if t.op == "^" and _is_num(a[1], 1):
            return a[0]
        if t.op == "^" and _is_num(a[1], 0):
            return Num(Fraction(1), t.ty)
        if t.op == "/" and _is_num(a[1], 1):
            return a[0]
        if t.op == "neg" and isinstance(a[0], Op) and a[0].op == "neg":
            return a[0].args[0]
        return None
    if isinstance(t, Rel):
        if _closed(t.lhs) and _closed(t.rhs):
            try:
                return TRUE if holds(t) else FALSE
            except NotEvaluable:
                return None
        if t.lhs == t.rhs:
            return TRUE if t.op in ("=", "≤", "≥", "∣") else FALSE
        if full and t.lhs.ty in NUMERIC and t.op in ("=", "<", "≤"):
            # norm_num: a relation whose sides differ by a constant is decided exactly
            norm = Normalizer(t.lhs.ty, eval_closed=True)
            diff = norm.norm(t.lhs) - norm.norm(t.rhs)
            if diff.is_const() and t.lhs.ty != "ℕ":
                c = diff.const_value()
                return TRUE if (c == 0 if t.op == "=" else c < 0 if t.op == "<" else c <= 0) else FALSE
        return None
    if isinstance(t, Conn):
        a = t.args
        if t.op == "¬":
            if a[0] == TRUE:
                return FALSE
            if a[0] == FALSE:
                return TRUE
            if isinstance(a[0], Conn) and a[0].op == "¬":
                return a[0].args[0]
            if isinstance(a[0], Rel) and a[0].op in ("<", "≤") and a[0].lhs.ty in NUMERIC:
                return Rel("≤" if a[0].op == "<" else "<", a[0].rhs, a[0].lhs)  # not_lt / not_le
        if t.op == "∧":
            if a[0] == TRUE:
                return a[1]
            if a[1] == TRUE:
                return a[0]
            if FALSE in a:
                return FALSE
            if a[0] == a[1]:
                return a[0]
        if t.op == "∨":
            if TRUE in a:
                return TRUE
            if a[0] == FALSE:
                return a[1]
            if a[1] == FALSE:
                return a[0]
            if a[0] == a[1]:
                return a[0]
        if t.op == "→":
            if a[0] == TRUE:
                return a[1]
            if a[0] == FALSE or a[1] == TRUE:
                return TRUE
            if a[1] == FALSE:
                return Conn("¬", (a[0],))
            if a[0] == a[1]:
                return TRUE
        if t.op == "↔":
            if a[0] == a[1]:
                return TRUE
            if a[0] == TRUE:
                return a[1]
            if a[1] == TRUE:
                return a[0]
    if isinstance(t, Quant):
        if t.body in (TRUE, FALSE) and t.kind == "∀" and t.body == TRUE:
            return TRUE
    if isinstance(t, Pred) and full and all(_closed(a) for a in t.args):
        try:  # norm_num's Nat.Prime extension: decided exactly on literals
            return TRUE if holds(t) else FALSE
        except NotEvaluable:
            return None
    return None


def _is_permutation(rule: Rule) -> bool:
    """`a * b = b * a`-like rules (rhs is an instance of lhs): rewritten only when the term
    decreases in a fixed order, so simp terminates (Lean's ordered rewriting)."""
    return bool(rule.metas) and match(rule.lhs, rule.rhs, set(rule.metas), {})


def _size(t: Term) -> int:
    return 1 + sum(_size(c) for c in t.children())


def logic_and_literal_step(t: Term) -> Term | None:
    """`simp only`: logic simplifications and comparisons of numerals, no arithmetic evaluation."""
    if isinstance(t, Op):
        return None
    if isinstance(t, Rel) and not (isinstance(t.lhs, Num) and isinstance(t.rhs, Num)):
        if t.lhs == t.rhs:
            return TRUE if t.op in ("=", "≤", "≥", "∣") else FALSE
        return None
    return arith_step(t, False)


def _closed(t: Term) -> bool:
    return not free_vars(t) and not any(isinstance(x, (App, Quant)) for x in _walk(t))


def _walk(t: Term):
    yield t
    for c in t.children():
        yield from _walk(c)


class Simplifier:
    def __init__(self, rules: list[Rule], full_arith: bool, ctx: TacticContext, only: bool = False,
                 depth: int = 0):
        self.rules = rules
        self.full = full_arith
        self.only = only
        self.steps = 0
        self.ctx = ctx
        self.depth = depth

    def discharge(self, side: Term) -> bool:
        """Side conditions of conditional rules must simplify to True (simp's discharger)."""
        if self.depth >= MAX_SIDE_DEPTH:
            return False
        sub = Simplifier(self.rules, self.full, self.ctx, self.only, self.depth + 1)
        try:
            return sub.simp(side) == TRUE
        except TacticFailed:
            return False

    def simp(self, t: Term, bound: frozenset[str] = frozenset()) -> Term:
        for _ in range(50):
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise TacticFailed("maximum recursion depth has been reached\nuse `set_option maxRecDepth <num>` to increase limit")
            kids = t.children()
            if kids:
                inner_bound = bound | {t.var} if isinstance(t, (Quant, BigOp)) else bound
                new_kids = [self.simp(c, inner_bound) for c in kids]
                if list(kids) != new_kids:
                    t = rebuild(t, new_kids)
            new = self.step(t, bound)
            if new is None or new == t:
                return t
            t = new
        return t

    def step(self, t: Term, bound: frozenset[str]) -> Term | None:
        t2 = canon(t) if isinstance(t, Rel) else t
        if t2 != t:
            return t2
        for rule in self.rules:
            if rule.fn is not None:
                r = rule.fn(t)
                if r is not None and r != t:
                    return r
                continue
            # rewriting under a binder is fine unless the rule mentions a variable of the same
            # name as a bound one (it would be captured)
            if bound and ((free_vars(rule.lhs) | free_vars(rule.rhs)) - set(rule.metas)) & bound:
                continue
            subst: dict[str, Term] = {}
            if match(rule.lhs, t, set(rule.metas), subst):
                rhs = instantiate(rule.rhs, subst)
                if free_vars(rhs) & set(rule.metas):
                    continue
                if rhs == t:
                    continue
                if _is_permutation(rule) and not repr(rhs) < repr(t):
                    continue  # ordered rewriting for comm/assoc-like rules, as Lean's simp
                if rule.side and not all(self.discharge(instantiate(sd, subst)) for sd in rule.side):
                    continue
                return rhs
        if self.only:
            return logic_and_literal_step(t)
        return arith_step(t, self.full)


class IgnoredLemmas(list):
    """Rules, plus whether some named Mathlib simp lemma was accepted without being modelled."""

    ignored: bool = False


def simp_rules(ctx: TacticContext, g: Goal, items, off: int, use_all_hyps: bool, exclude: str | None = None) -> list[Rule]:
    rules: list[Rule] = IgnoredLemmas()
    for text, start, rev in items:
        if text.strip() == "*":
            use_all_hyps = True
            continue
        name = text.strip()
        if name.startswith("_root_."):
            name = name[len("_root_."):]
        if name in KNOWN_SIMP_NAMES and not lemma_instances(name) and g.lookup(name) is None:
            rules.ignored = True
            continue
        try:
            rs = rules_from_text(ctx, g, name if name != text.strip() else text, off + start, for_simp=True)
        except (ElabError, Unsupported) as e:
            if "unknown identifier" in e.message:
                # a Mathlib simp lemma outside our library: Lean would use it; we cannot
                raise Unsupported(f"simp lemma '{text.strip()}' (not in the embedded lemma library)")
            raise
        rules.extend(flip(r) if rev else r for r in rs)
    if use_all_hyps:
        for name, p in g.props():
            if name != exclude:
                rules.extend(rules_from_prop(p, True))
    return rules


def _simp_goal(ctx: TacticContext, g: Goal, rules: list[Rule], full: bool, locs: list[str] | None,
               what: str, only: bool = False) -> Goals:
    changed = False
    if locs is not None:
        for h in locs:
            if h == "⊢":
                continue
            hyp = g.lookup(h)
            if hyp is None or hyp.is_var:
                raise TacticFailed(f"unknown hypothesis '{h}'")
            own = [r for r in rules]
            new = Simplifier(own, full, ctx, only).simp(hyp.value)
            if new == FALSE:
                return ()
            if new != hyp.value:
                changed = True
                g = g.remove_hyp(h) if new == TRUE else g.replace_hyp(h, new)
    if locs is None or "⊢" in locs:
        new = Simplifier(rules, full, ctx, only).simp(g.target)
        if new == TRUE:
            return ()
        if new != g.target:
            changed = True
            g = g.with_target(new)
    if not changed:
        if getattr(rules, "ignored", False):
            return (g,)  # Lean would have used the lemma we do not model: not a failure
        raise TacticFailed(f"{what} made no progress" if what == "simp" else f"{what} failed to simplify")
    if what == "norm_num" and g.target == FALSE and (locs is None or "⊢" in locs):
        raise TacticFailed("norm_num failed to prove the goal: it normalises to False")
    return (g,)


def _parse_simp_args(args: str):
    # `(config := {...})` only tunes simp's strength (e.g. `decide := true`); our simp already
    # decides literal propositions, so the configuration is accepted and ignored
    args = re.sub(r"\(config\s*:=\s*\{[^}]*\}\)", lambda m: " " * len(m.group(0)), args)
    rest = args
    only = False
    m = re.match(r"\s*only\b", rest)
    if m:
        only = True
        rest = rest[m.end():]
    pre = len(args) - len(rest)
    items, tail, consumed = parse_rule_list(rest)
    items = [(t, s + pre, r) for t, s, r in items]
    if re.search(r"\busing\b", tail):
        raise Unsupported("simp ... using (use simpa)")
    return only, items, locations(tail), re.search(r"at\s+\*", tail) is not None


@tactic("simp", "simp?", "dsimp", "simp_arith")
def t_simp(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    only, items, locs, at_star = _parse_simp_args(args)
    rules = simp_rules(ctx, g, items, off, use_all_hyps=False)
    if at_star:
        return t_simp_all(ctx, args.replace("at *", ""), off, goals)
    return _simp_goal(ctx, g, rules, False, locs, "simp", only) + goals[1:]


@tactic("norm_num", "norm_num1")
def t_norm_num(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    only, items, locs, at_star = _parse_simp_args(args)
    rules = simp_rules(ctx, g, items, off, use_all_hyps=False)
    if at_star:
        locs = [n for n, _ in g.props()] + ["⊢"]
    return _simp_goal(ctx, g, rules, True, locs, "norm_num") + goals[1:]


@tactic("simp_all", "simp_all?")
def t_simp_all(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    only, items, _, _ = _parse_simp_args(args)
    base = simp_rules(ctx, g, items, off, use_all_hyps=False)
    changed = False
    for _ in range(4):
        round_changed = False
        for name, p in list(g.props()):
            h = g.lookup(name)
            if h is None:
                continue
            others = base + [r for n2, p2 in g.props() if n2 != name for r in rules_from_prop(p2, True)]
            new = Simplifier(others, False, ctx, only).simp(p)
            if new == FALSE:
                return goals[1:]
            if new != p:
                round_changed = True
                g = g.remove_hyp(name) if new == TRUE else g.replace_hyp(name, new)
        rules = base + [r for _, p in g.props() for r in rules_from_prop(p, True)]
        new_t = Simplifier(rules, False, ctx, only).simp(g.target)
        if new_t == TRUE:
            return goals[1:]
        if new_t != g.target:
            round_changed = True
            g = g.with_target(new_t)
        changed |= round_changed
        if not round_changed:
            break
    if not changed:
        if getattr(base, "ignored", False):
            return (g,) + goals[1:]
        raise TacticFailed("simp_all made no progress")
    return (g,) + goals[1:]
