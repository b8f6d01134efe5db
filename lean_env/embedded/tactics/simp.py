"""Rewriting: rw / rwa, and the simp family (simp, simp only, simp_all, norm_num, simp at h).

Every rewrite rule is a true equation or equivalence (a hypothesis, a library lemma, or an
arithmetic fact computed exactly), so a rewritten goal is equivalent to the original one.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from fractions import Fraction

from .. import bridge
from ..arith.evaluate import NotEvaluable, evaluate, holds
from ..arith.poly import Normalizer
from ..core import term as C
from ..core.lemma_table import lemma_statement
from ..core.rules import unfold as core_unfold
from ..core.sequent import CoreError
from ..errors import ElabError, KernelError, TacticFailed, Unsupported
from ..goals import Goal
from ..lemmas import lemma_instances
from ..parser import parse_term
from ..pretty import pp
from ..terms import FALSE, NUMERIC, TRUE, App, Conn, Num, Op, Pred, Quant, Rel, Term, free_vars, num, rebuild
from ..unify import canon, closed_subterms, cmatch
from .engine import Goals, TacticContext, tactic
from .logic import find_assumption, proof_terms, split_commas

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
    "Nat.ofNat_pos", "two_pos", "zero_lt_one", "one_pos", "lt_self_iff_false", "eq_self_iff_true", "implies_true", "forall_const", "exists_prop", "Nat.cast_ofNat",
    "Nat.cast_id", "Int.cast_ofNat", "id_eq", "Nat.cast_inj", "or_false", "false_or", "or_true",
    "true_or", "not_true", "not_false_iff", "add_left_inj", "add_right_inj", "mul_eq_mul_left_iff",
    "tsub_le_iff_right", "add_left_eq_self", "div_pow", "mul_pos_iff_of_pos_left",
    "div_pos_iff_of_pos_left", "pow_eq_zero_iff", "Nat.cast_add", "Nat.cast_mul", "Nat.cast_pow",
    "Nat.cast_sub", "Int.cast_add", "Int.cast_mul", "add_right_comm", "add_sub_add_right_eq_sub",
}


# -- rewriting ---------------------------------------------------------------------------------
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


# (rw is defined below, on the trusted core)


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
        if t.op in ("=", "≤", "<") and all(isinstance(x, Op) and x.op == "+" for x in (t.lhs, t.rhs)):
            # add_left_inj / add_right_inj / add_le_add_iff_right / add_lt_add_iff_left …
            (a, b), (c, d) = t.lhs.args, t.rhs.args
            if b == d:
                return Rel(t.op, a, c)
            if a == c:
                return Rel(t.op, b, d)
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
    """The untrusted candidate normal form for `normalize`: canonical relations, then logic and
    (with `full`, norm_num's) literal arithmetic, bottom-up to a fixed point."""

    def __init__(self, full_arith: bool, only: bool = False):
        self.full = full_arith
        self.only = only
        self.steps = 0

    def simp(self, t: Term) -> Term:
        for _ in range(50):
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise TacticFailed("maximum recursion depth has been reached\nuse `set_option maxRecDepth <num>` to increase limit")
            kids = t.children()
            if kids:
                new_kids = [self.simp(c) for c in kids]
                if list(kids) != new_kids:
                    t = rebuild(t, new_kids)
            new = self.step(t)
            if new is None or new == t:
                return t
            t = new
        return t

    def step(self, t: Term) -> Term | None:
        t2 = canon(t) if isinstance(t, Rel) else t
        if t2 != t:
            return t2
        if self.only:
            return logic_and_literal_step(t)
        return arith_step(t, self.full)


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



# =============================================================================================
# The tactics on the trusted core. Every change of a goal is a core step:
#   * an equation / iff from a hypothesis or from an instance of a reviewed lemma (`lemma`, then
#     `spec`/`mp`), used by `rewrite`/`rewrite_hyp`, the helper then cleared;
#   * a simp lemma `P` (not an equation) used as `P ↔ True` (`¬P` as `P ↔ False`), the iff
#     proved by `cut` + `iff_intro` from the instance;
#   * arithmetic / logic normalisation by `normalize`/`normalize_hyp` (core/normalize.py decides
#     it); the candidate normal form is computed by the (untrusted) Simplifier above;
#   * closing by `true_intro`, `refl`, `eval` (closed goals), `false_elim`/`eval_hyp`, `hyp`.
# A step the core rejects is rolled back and simp simply does less.
# =============================================================================================
HELPER = "this✝ˢ"  # display name of the temporary locals (cleared before the tactic returns)
MAX_ROUNDS = 40
_METAS = itertools.count(1)
RANGE_LEMMAS = {"Finset.sum_range_succ": ("∑", "succ"), "Finset.prod_range_succ": ("∏", "succ"),
                "Finset.sum_range_zero": ("∑", "zero"), "Finset.prod_range_zero": ("∏", "zero"),
                "Finset.sum_range_one": ("∑", "any"), "Finset.prod_range_one": ("∏", "any")}


def _one(ctx: TacticContext, g: Goal, rule: str, *args) -> Goal:
    out = ctx.apply(g, rule, *args)
    if len(out) != 1:
        raise TacticFailed(f"internal: {rule} gave {len(out)} goals")
    return out[0]


def _attempt(ctx: TacticContext, fn, *args):
    """Run `fn`; on failure undo its core steps and return None."""
    sp = ctx.savepoint()
    try:
        return fn(*args)
    except (KernelError, CoreError, ValueError):
        ctx.rollback(sp)
        return None


@dataclass(frozen=True)
class Loc:
    """Where a rewrite acts: the target (uid None) or the hypothesis `uid` (displayed `name`)."""

    uid: int | None = None
    name: str = ""

    def prop(self, g: Goal) -> C.Term:
        s = bridge.sequent(g)
        return s.target if self.uid is None else s.hyp(self.uid)

    def surface(self, g: Goal) -> Term:
        if self.uid is None:
            return g.target
        shown = bridge.display_names(bridge.sequent(g))[self.uid]
        h = g.lookup(shown)
        if h is None:
            raise TacticFailed("internal: hypothesis not displayed")
        return h.value


def loc_rewrite(ctx, g: Goal, loc: Loc, eq: int, rtl: bool) -> tuple[Goal, Loc]:
    if loc.uid is None:
        return _one(ctx, g, "rewrite", eq, rtl), loc
    u = bridge.fresh_uid()
    return _one(ctx, g, "rewrite_hyp", eq, rtl, loc.uid, loc.name, u), Loc(u, loc.name)


def loc_rewrite_function(ctx, g: Goal, loc: Loc, eq: int) -> tuple[Goal, Loc]:
    """h : ∀ x…, f x… = e rewrites every application of f, also under ∑ and ∀ (simp does)."""
    if loc.uid is None:
        return _one(ctx, g, "rewrite_forall", eq), loc
    u = bridge.fresh_uid()
    return _one(ctx, g, "rewrite_forall_hyp", eq, loc.uid, loc.name, u), Loc(u, loc.name)


def loc_normalize(ctx, g: Goal, loc: Loc, new: C.Term) -> tuple[Goal, Loc]:
    if loc.uid is None:
        return _one(ctx, g, "normalize", new), loc
    u = bridge.fresh_uid()
    return _one(ctx, g, "normalize_hyp", loc.uid, new, loc.name, u), Loc(u, loc.name)


def _clear(ctx, g: Goal, uid: int) -> Goal:
    return _one(ctx, g, "clear", uid)


# -- rewrite sources ----------------------------------------------------------------------------
@dataclass
class Src:
    kind: str  # "hyp" | "lemma" | "range"
    name: str = ""  # hypothesis display name / lemma name
    uid: int | None = None  # hypothesis uid (simp_all, `*`): takes precedence over the name
    args: tuple = ()  # explicit arguments (Syn), `rw [foo a b]`
    rtl: bool = False
    text: str = ""


@dataclass
class Opened:
    """A statement ∀ x…, H → … → concl opened with metavariables (FVars with negative uids)."""

    binders: list  # ("var", meta FVar, kind) | ("hyp", prop, kind)
    concl: C.Term
    metas: set
    lemma_ty: str | None


def open_statement(prop: C.Term, kinds: list[str] | None, ty: str | None) -> Opened:
    binders, metas, i = [], set(), 0
    while True:
        kind = kinds[i] if kinds is not None and i < len(kinds) else "explicit"
        if isinstance(prop, C.Quant) and prop.kind == "∀" and not isinstance(prop.vty, C.Arrow):
            m = C.FVar(-next(_METAS), prop.vty, "?" + prop.name)
            metas.add(m.uid)
            binders.append(("var", m, kind))
            prop = C.instantiate(prop.body, m)
        elif isinstance(prop, C.Conn) and prop.op == "→" and (kinds is None or i < len(kinds)):
            binders.append(("hyp", prop.args[0], kind))
            prop = prop.args[1]
        else:
            return Opened(binders, prop, metas, ty)
        i += 1


def rewrite_sides(concl: C.Term, for_simp: bool) -> tuple[C.Term, C.Term, str] | None:
    """(lhs, rhs, how): how is "eq" (an equation or iff), "true" (P ↦ True), "false" (P ↦ False)."""
    if isinstance(concl, C.Rel) and concl.op == "=":
        return concl.lhs, concl.rhs, "eq"
    if isinstance(concl, C.Conn) and concl.op == "↔":
        return concl.args[0], concl.args[1], "eq"
    if not for_simp or concl in (C.TRUE, C.FALSE):
        return None
    if isinstance(concl, C.Conn) and concl.op == "¬":
        return concl.args[0], C.FALSE, "false"
    if isinstance(concl, C.Rel) and concl.op == "≠":
        return C.Rel("=", concl.lhs, concl.rhs), C.FALSE, "false"
    return concl, C.TRUE, "true"


def statements(g: Goal, src: Src) -> list[Opened]:
    seq = bridge.sequent(g)
    if src.kind == "hyp":
        uid = src.uid if src.uid is not None else bridge.hyp_uid(g, src.name)
        return [open_statement(seq.hyp(uid), None, None)]
    if src.kind == "lemma":
        out = []
        for lem in lemma_instances(src.name):
            try:
                prop = lemma_statement(src.name, lem.ty)
            except CoreError:
                continue
            out.append(open_statement(prop, [b.kind for b in lem.binders], lem.ty))
        return out
    return []


def _src_uid(g: Goal, src: Src) -> int:
    return src.uid if src.uid is not None else bridge.hyp_uid(g, src.name)


def assign_args(ctx, g: Goal, src: Src, op: Opened) -> tuple[dict, dict]:
    """Explicit arguments -> (meta assignments, hypothesis binder index -> proof uid)."""
    subst: dict = {}
    given: dict = {}
    slots = [i for i, b in enumerate(op.binders) if b[2] != "implicit"]
    if len(src.args) > len(slots):
        raise TacticFailed("function expected: too many arguments")
    for arg, i in zip(src.args, slots):
        b = op.binders[i]
        if arg.kind == "hole":
            continue
        inner = arg.kids[0] if arg.kind == "paren" and arg.kids else arg
        if b[0] == "var":
            value = proof_terms(ctx, g).elaborator().elab(arg, b[1].ty)
            subst[b[1].uid] = bridge.core_term(g, value)
        else:
            if inner.kind != "ident" or g.lookup(inner.val) is None or g.lookup(inner.val).is_var:
                raise Unsupported("a proof argument of a rewrite rule other than a hypothesis name")
            uid = bridge.hyp_uid(g, inner.val)
            if not cmatch(core_unfold(b[1]), core_unfold(bridge.sequent(g).hyp(uid)), op.metas, subst):
                raise TacticFailed(f"application type mismatch: {inner.val} does not match the premise")
            given[i] = uid
    return subst, given


def find_instance(prop: C.Term, pattern: C.Term, metas: set, subst: dict):
    if isinstance(pattern, C.FVar) and pattern.uid in metas and pattern.uid not in subst:
        return None  # a bare metavariable: Lean refuses (motive is not type correct)
    for sub in closed_subterms(prop):
        trial = dict(subst)
        if cmatch(pattern, sub, metas, trial):
            return sub, trial
    return None


def instantiate_source(ctx, g: Goal, src: Src, op: Opened, subst: dict, given: dict, side_mode: str,
                       discharge=None) -> tuple[Goal, int, bool, list[Goal]]:
    """Core steps giving a hypothesis for the instance of the statement: returns (goal, uid of
    the instance, whether that uid is a helper to clear, side goals)."""
    side_goals: list[Goal] = []
    if src.kind == "hyp":
        cur, helper = _src_uid(g, src), False
    else:
        cur, helper = bridge.fresh_uid(), True
        g = _one(ctx, g, "lemma", src.name, op.lemma_ty, HELPER, cur)
    for i, b in enumerate(op.binders):
        u = bridge.fresh_uid()
        if b[0] == "var":
            if b[1].uid not in subst:
                raise TacticFailed("motive is not type correct: cannot instantiate the rewrite rule")
            g = _one(ctx, g, "spec", cur, subst[b[1].uid], HELPER, u)
        else:
            if i in given:
                proof = given[i]
                g = _one(ctx, g, "mp", cur, proof, HELPER, u)
            else:
                imp = bridge.sequent(g).hyp(cur)
                premise = imp.args[0]
                hu = bridge.fresh_uid()
                side, g = ctx.apply(g, "cut", premise, HELPER, hu)
                if helper:
                    side = _clear(ctx, side, cur)
                if side_mode == "goal":
                    side_goals.append(side)
                else:
                    discharge(side)
                g = _one(ctx, g, "mp", cur, hu, HELPER, u)
                g = _clear(ctx, g, hu)
        if helper:
            g = _clear(ctx, g, cur)
        cur, helper = u, True
    return g, cur, helper, side_goals


def const_iff(ctx, g: Goal, fact: int, p: C.Term, value: C.Term) -> tuple[Goal, int]:
    """From `fact : P` (value True) or `fact : ¬P` (value False), a helper `P ↔ value`."""
    u = bridge.fresh_uid()
    side, g = ctx.apply(g, "cut", C.Conn("↔", (p, value)), HELPER, u)
    fwd, bwd = ctx.apply(side, "iff_intro")
    h1, h2 = bridge.fresh_uid(), bridge.fresh_uid()
    fwd = _one(ctx, fwd, "intro", "h", h1)
    bwd = _one(ctx, bwd, "intro", "h", h2)
    if value == C.TRUE:
        ctx.apply(fwd, "true_intro")
        ctx.apply(bwd, "hyp", fact)
    else:
        ctx.apply(fwd, "absurd", h1, fact)
        ctx.apply(bwd, "false_elim", h2)
    return g, u


def apply_source(ctx, g: Goal, loc: Loc, src: Src, for_simp: bool, side_mode: str, discharge=None
                 ) -> tuple[Goal, Loc, list[Goal]] | None:
    """Rewrite `loc` once with `src` (the first instance found, every occurrence of it).
    Returns None when no instance is found; raises when the core rejects a step."""
    prop = loc.prop(g)
    if src.kind == "range":
        return _apply_range(ctx, g, loc, src, prop)
    if src.kind == "hyp" and loc.uid is not None and _src_uid(g, src) == loc.uid:
        return None
    if src.kind == "hyp" and not src.rtl and for_simp:
        done = _attempt(ctx, loc_rewrite_function, ctx, g, loc, _src_uid(g, src))
        if done is not None:
            return done[0], done[1], []
    arg_error: KernelError | None = None
    found_any = False
    for op in statements(g, src):
        try:
            subst, given = assign_args(ctx, g, src, op)
        except (TacticFailed, ElabError) as e:  # e.g. the lemma's instance at another type
            arg_error = arg_error or e
            continue
        found_any = True
        sides = rewrite_sides(op.concl, for_simp)
        if sides is None:
            if not for_simp:
                raise TacticFailed(f"rewrite: equality or iff proof expected\n  {src.text.strip()}")
            continue
        lhs, rhs, how = sides
        pattern = rhs if src.rtl else lhs
        if src.rtl and how != "eq":
            continue
        found = find_instance(prop, pattern, op.metas, subst)
        if found is None:
            continue
        sub, subst = found
        g2, cur, helper, side_goals = instantiate_source(ctx, g, src, op, subst, given, side_mode, discharge)
        if how != "eq":
            fact = cur
            inst = bridge.sequent(g2).hyp(fact)
            p = inst if how == "true" else (inst.args[0] if isinstance(inst, C.Conn) else C.Rel("=", inst.lhs, inst.rhs))
            g2, cur = const_iff(ctx, g2, fact, p, C.TRUE if how == "true" else C.FALSE)
            if helper:
                g2 = _clear(ctx, g2, fact)
            helper = True
        eq = bridge.sequent(g2).hyp(cur)
        a = (eq.lhs, eq.rhs) if isinstance(eq, C.Rel) else eq.args
        old = a[1] if src.rtl else a[0]
        if sub != old:  # Lean unified up to ℕ literal offsets (`?n + 1 =?= 4`): show the instance first
            new_prop, _ = C.replace_subterm(loc.prop(g2), sub, old)
            g2, loc = loc_normalize(ctx, g2, loc, new_prop)
        g2, loc = loc_rewrite(ctx, g2, loc, cur, src.rtl)
        if helper:
            g2 = _clear(ctx, g2, cur)
        return g2, loc, side_goals
    if arg_error is not None and not found_any:
        raise arg_error
    return None


def _apply_range(ctx, g: Goal, loc: Loc, src: Src, prop: C.Term):
    op, which = RANGE_LEMMAS[src.name]
    if src.rtl:
        raise Unsupported("← with a ∑/∏ range lemma")
    for sub in closed_subterms(prop):
        if not (isinstance(sub, C.BigOp) and sub.op == op and sub.kind == "range"):
            continue
        hi = sub.hi
        zero = isinstance(hi, C.Lit) and hi.value == 0
        if which == "zero" and not zero or which == "succ" and zero:
            continue
        if which == "any" and not (isinstance(hi, C.Lit) and hi.value <= 1):
            continue
        u = bridge.fresh_uid()
        g2 = _attempt(ctx, _one, ctx, g, "range_unfold", sub, HELPER, u)
        if g2 is None:
            continue
        g2, loc = loc_rewrite(ctx, g2, loc, u, False)
        g2 = _clear(ctx, g2, u)
        return g2, loc, []
    return None


def source_of_item(ctx, g: Goal, text: str, pos: int, rev: bool, for_simp: bool) -> Src | None:
    """A rule-list item -> Src (None for a known simp lemma that the normaliser covers)."""
    name = text.strip()
    if name.startswith("_root_."):
        name = name[len("_root_."):]
    full = name if name in RANGE_LEMMAS else "Finset." + name
    if full in RANGE_LEMMAS:
        return Src("range", full, rtl=rev, text=text)
    syn = parse_term(text, pos)
    while syn.kind == "paren" and syn.kids:
        syn = syn.kids[0]
    head, args = (syn, ()) if syn.kind == "ident" else (syn.kids[0], tuple(syn.kids[1:])) if syn.kind == "app" \
        else (None, ())
    if head is None or head.kind != "ident":
        raise Unsupported(f"rewrite rule '{name}'")
    hname = head.val[len("_root_."):] if head.val.startswith("_root_.") else head.val
    h = g.lookup(hname)
    if h is not None and not h.is_var:
        return Src("hyp", hname, None, args, rev, text)
    if lemma_instances(hname):
        return Src("lemma", hname, None, args, rev, text)
    if for_simp and hname in KNOWN_SIMP_NAMES and not args:
        return None
    if h is not None:
        raise TacticFailed(f"'{hname}' is a variable, not a proof")
    if for_simp:
        raise Unsupported(f"simp lemma '{name}' (not in the embedded lemma library)")
    raise ElabError(f"unknown identifier '{hname}'", pos)


# -- rw ------------------------------------------------------------------------------------------
def _pattern_text(g: Goal, src: Src) -> str:
    try:
        for op in statements(g, src):
            sides = rewrite_sides(op.concl, False)
            if sides is not None:
                pat = sides[1] if src.rtl else sides[0]
                shown = bridge.display_names(bridge.sequent(g))
                return pp(bridge.to_surface(pat, shown))
    except (KernelError, CoreError, ValueError):
        pass
    return src.text.strip()


def try_rfl(ctx, g: Goal) -> bool:
    """`rw` closes the goal with `rfl` (Eq.refl, Iff.refl, le_refl), closed ℕ/ℤ equations by
    evaluation (Nat/Int literal arithmetic is decided by the kernel)."""
    t = bridge.sequent(g).target
    if t == C.TRUE:
        return _attempt(ctx, ctx.apply, g, "true_intro") is not None
    if _attempt(ctx, ctx.apply, g, "refl") is not None:
        return True
    if isinstance(t, C.Rel) and t.op == "=" and t.lhs.ty in ("ℕ", "ℤ") and not C.fvars(t):
        return _attempt(ctx, ctx.apply, g, "eval") is not None
    return False


@tactic("rw", "rewrite", "rwa", "nth_rewrite", "nth_rw")
def t_rw(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    head = ctx.src[:off].rstrip().split()[-1]
    if head in ("nth_rewrite", "nth_rw"):
        raise Unsupported("nth_rewrite")
    g = goals[0]
    items, rest, consumed = parse_rule_list(args)
    if not items:
        raise TacticFailed("rw: expected a list of rewrite rules `[h, ← h']`")
    locs = locations(rest)
    targets: list[Loc] = []
    for h in locs or ["⊢"]:
        if h == "⊢":
            targets.append(Loc())
        else:
            hyp = g.lookup(h)
            if hyp is None or hyp.is_var:
                raise TacticFailed(f"unknown hypothesis '{h}'")
            targets.append(Loc(bridge.hyp_uid(g, h), h))
    side_goals: list[Goal] = []
    for text, start, rev in items:
        src = source_of_item(ctx, g, text, off + start, rev, for_simp=False)
        done = False
        for k, loc in enumerate(targets):
            r = apply_source(ctx, g, loc, src, for_simp=False, side_mode="goal")
            if r is not None:
                g, targets[k], sides = r
                side_goals.extend(sides)
                done = True
        if not done:
            where = "the target expression" if locs is None else "the hypothesis"
            raise TacticFailed("tactic 'rewrite' failed, did not find instance of the pattern in "
                               f"{where}\n  {_pattern_text(g, src)}\n" + g.pretty())
    main: tuple[Goal, ...] = (g,)
    if (locs is None or "⊢" in locs) and try_rfl(ctx, g):
        main = ()
    elif locs is not None and "⊢" not in locs and try_rfl(ctx, g):
        main = ()  # Lean's `rw … at h` also tries `rfl` on the main goal
    if head == "rwa" and main:
        if find_assumption(ctx, main[0]):
            main = ()
        else:
            raise TacticFailed("tactic 'assumption' failed\n" + main[0].pretty())
    return main + tuple(side_goals) + goals[1:]


# -- simp on the core ----------------------------------------------------------------------------
class CoreSimp:
    def __init__(self, ctx: TacticContext, sources: list[Src], full: bool, only: bool, depth: int = 0):
        self.ctx, self.sources, self.full, self.only, self.depth = ctx, sources, full, only, depth

    def discharge(self, side: Goal) -> None:
        """Close a side condition of a conditional simp lemma (simp's discharger), or raise."""
        if self.depth >= MAX_SIDE_DEPTH:
            raise TacticFailed("side condition not discharged")
        if find_assumption(self.ctx, side):
            return
        sub = CoreSimp(self.ctx, self.sources, self.full, self.only, self.depth + 1)
        g, _, closed, _ = sub.run(side, Loc())
        if not closed:
            raise TacticFailed("side condition not discharged")

    def normalize_step(self, g: Goal, loc: Loc):
        cur = loc.prop(g)
        surface = loc.surface(g)
        tried = set()
        for only in ((self.only,) if self.only else (False, True)):
            cand = Simplifier(self.full, only).simp(surface)
            if cand == surface or cand in tried:
                continue
            tried.add(cand)
            try:
                new = bridge.core_term(g, cand)
            except KernelError:
                continue
            if new == cur:
                continue
            r = _attempt(self.ctx, loc_normalize, self.ctx, g, loc, new)
            if r is not None:
                return r
        return None

    def close(self, g: Goal, loc: Loc) -> bool:
        p = loc.prop(g)
        ctx = self.ctx
        if loc.uid is None:
            if p == C.TRUE:
                ctx.apply(g, "true_intro")
                return True
            # `simp only` runs no arithmetic evaluation (it leaves `2 ^ 6 + 6 ^ 2 = 100` open)
            if not self.only and not C.fvars(p) and _attempt(ctx, ctx.apply, g, "eval") is not None:
                return True
            if isinstance(p, (C.Rel, C.Conn)) and _attempt(ctx, ctx.apply, g, "refl") is not None:
                return True
            return False
        if p == C.FALSE:
            ctx.apply(g, "false_elim", loc.uid)
            return True
        if not self.only and not C.fvars(p) and _attempt(ctx, ctx.apply, g, "eval_hyp", loc.uid) is not None:
            return True
        return False

    def run(self, g: Goal, loc: Loc) -> tuple[Goal, Loc, bool, bool]:
        """Simplify `loc` in `g`: (goal, loc, closed, changed)."""
        changed = False
        seen = {loc.prop(g)}  # a rewrite back to an earlier form (comm/assoc lemmas) is not taken
        for _ in range(MAX_ROUNDS):
            self.ctx.check_time(0, 0)
            if self.close(g, loc):
                return g, loc, True, True
            sp = self.ctx.savepoint()
            r = self.normalize_step(g, loc)
            if r is not None and r[1].prop(r[0]) in seen:
                self.ctx.rollback(sp)
                r = None
            if r is not None:
                g, loc = r
                seen.add(loc.prop(g))
                changed = True
                continue
            for src in self.sources:
                sp = self.ctx.savepoint()
                r = _attempt(self.ctx, apply_source, self.ctx, g, loc, src, True, "discharge", self.discharge)
                if r is not None and r[1].prop(r[0]) in seen:
                    self.ctx.rollback(sp)
                    r = None
                if r is not None:
                    g, loc, _ = r
                    seen.add(loc.prop(g))
                    changed = True
                    break
            else:
                break
        if loc.uid is not None and loc.prop(g) == C.TRUE:
            g = _clear(self.ctx, g, loc.uid)  # Lean removes a hypothesis simplified to True
            changed = True
        return g, loc, False, changed


def simp_sources(ctx, g: Goal, items, off: int) -> tuple[list[Src], bool, bool]:
    """(sources, some known simp lemma was accepted without a model, `*` used)."""
    out: list[Src] = []
    ignored = star = False
    for text, start, rev in items:
        if text.strip() == "*":
            star = True
            continue
        try:
            src = source_of_item(ctx, g, text, off + start, rev, for_simp=True)
        except ElabError as e:
            if "unknown identifier" in e.message:
                raise Unsupported(f"simp lemma '{text.strip()}' (not in the embedded lemma library)") from e
            raise
        if src is None:
            ignored = True
        else:
            out.append(src)
    return out, ignored, star


def hyp_sources(g: Goal, exclude: int | None = None) -> list[Src]:
    seq = bridge.sequent(g)
    return [Src("hyp", d.name, d.uid, text=d.name) for d in seq.decls
            if not d.is_var and d.uid != exclude and d.name != HELPER]


def _hyp_locs(g: Goal, names: list[str]) -> list[Loc]:
    out = []
    for h in names:
        hyp = g.lookup(h)
        if hyp is None or hyp.is_var:
            raise TacticFailed(f"unknown hypothesis '{h}'")
        out.append(Loc(bridge.hyp_uid(g, h), h))
    return out


def core_simp_goal(ctx, g: Goal, sources: list[Src], star: bool, full: bool, only: bool,
                   locs: list[str] | None, what: str, ignored: bool) -> Goals:
    changed = False
    hyp_locs = _hyp_locs(g, [h for h in locs if h != "⊢"]) if locs is not None else []
    for loc in hyp_locs:
        srcs = sources + (hyp_sources(g, loc.uid) if star else [])
        # the named hypothesis is never used to rewrite itself
        g, _, closed, ch = CoreSimp(ctx, srcs, full, only).run(g, Loc(_current_uid(g, loc), loc.name))
        if closed:
            return ()
        changed |= ch
    if locs is None or "⊢" in locs:
        srcs = sources + (hyp_sources(g) if star else [])
        g, _, closed, ch = CoreSimp(ctx, srcs, full, only).run(g, Loc())
        if closed:
            return ()
        changed |= ch
    if not changed:
        if ignored:
            return (g,)  # Lean would have used the lemma we do not model: not a failure
        raise TacticFailed(f"{what} made no progress" if what == "simp" else f"{what} failed to simplify")
    if what == "norm_num" and bridge.sequent(g).target == C.FALSE and (locs is None or "⊢" in locs):
        raise TacticFailed("norm_num failed to prove the goal: it normalises to False")
    return (g,)


def _current_uid(g: Goal, loc: Loc) -> int:
    return loc.uid if loc.uid in bridge.sequent(g).uids() else bridge.hyp_uid(g, loc.name)


@tactic("simp", "simp?", "dsimp", "simp_arith")
def t_simp(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    only, items, locs, at_star = _parse_simp_args(args)
    if at_star:
        return t_simp_all(ctx, args.replace("at *", ""), off, goals)
    sources, ignored, star = simp_sources(ctx, g, items, off)
    return core_simp_goal(ctx, g, sources, star, False, only, locs, "simp", ignored) + goals[1:]


@tactic("norm_num", "norm_num1")
def t_norm_num(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    only, items, locs, at_star = _parse_simp_args(args)
    sources, ignored, star = simp_sources(ctx, g, items, off)
    if at_star:
        locs = [n for n, _ in g.props()] + ["⊢"]
    return core_simp_goal(ctx, g, sources, star, True, False, locs, "norm_num", ignored) + goals[1:]


@tactic("simp_all", "simp_all?")
def t_simp_all(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    only, items, _, _ = _parse_simp_args(args)
    base, ignored, _ = simp_sources(ctx, g, items, off)
    changed = False
    for _ in range(4):
        round_changed = False
        for d in [d for d in bridge.sequent(g).decls if not d.is_var]:
            if d.uid not in bridge.sequent(g).uids():
                continue
            srcs = base + hyp_sources(g, d.uid)
            g, loc, closed, ch = CoreSimp(ctx, srcs, False, only).run(g, Loc(d.uid, d.name))
            if closed:
                return goals[1:]
            round_changed |= ch
        g, _, closed, ch = CoreSimp(ctx, base + hyp_sources(g), False, only).run(g, Loc())
        if closed:
            return goals[1:]
        round_changed |= ch
        changed |= round_changed
        if not round_changed:
            break
    if not changed:
        if ignored:
            return (g,) + goals[1:]
        raise TacticFailed("simp_all made no progress")
    return (g,) + goals[1:]
