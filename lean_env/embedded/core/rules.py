"""The inference rules of the trusted core.

`premises(seq, rule, args, env)` returns the sequents that prove `seq` by `rule`, or raises
CoreError when the rule does not apply. The premises are computed HERE, from the rule and its
arguments; a tactic only chooses the rule. Every argument term is type-checked against the
context first. New locals get the uid the proof names; the rule checks it is fresh, so a proof
object is self-contained and can be re-checked anywhere.

Each rule names its Lean/Mathlib counterpart. Propositions are compared up to Lean's reducible
notation (`a > b` is `b < a`, `a ≥ b` is `b ≤ a`, `a ≠ b` is `¬ a = b`, `¬ p` is `p → False`).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Callable

from .sequent import CoreError, Decl, Sequent, check_sequent
from .term import (
    FALSE,
    NUMERIC,
    TRUE,
    App,
    BigOp,
    BVar,
    Conn,
    FVar,
    Lit,
    Op,
    Quant,
    Rel,
    Term,
    Type,
    abstract,
    fvars,
    instantiate,
    map_at_depth,
    replace_fvar,
    replace_subterm,
    subterms,
)
from .typing import IllTyped, check_prop, check_term, check_type

Env = dict  # name -> closed proposition of an earlier, core-checked declaration
RuleFn = Callable[[Sequent, tuple, Env], list[Sequent]]
RULES: dict[str, RuleFn] = {}


def rule(name: str):
    def deco(fn: RuleFn) -> RuleFn:
        RULES[name] = fn
        return fn
    return deco


def premises(seq: Sequent, name: str, args: tuple, env: Env | None = None) -> list[Sequent]:
    fn = RULES.get(name)
    if fn is None:
        raise CoreError(f"unknown rule {name!r}")
    try:
        return fn(seq, tuple(args), env or {})
    except (IllTyped, ValueError) as e:
        raise CoreError(f"{name}: {e}") from e
    except (TypeError, IndexError, AttributeError, KeyError) as e:  # malformed arguments
        raise CoreError(f"{name}: malformed arguments ({type(e).__name__}: {e})") from e


# -- helpers ------------------------------------------------------------------------------
def unfold(p: Term) -> Term:
    """Lean's reducible notation unfolded everywhere (used only to compare propositions)."""

    def fn(s: Term, depth: int) -> Term | None:
        if isinstance(s, Rel) and s.op in (">", "≥", "≠"):
            lhs, rhs = unfold(s.lhs), unfold(s.rhs)
            if s.op == ">":
                return Rel("<", rhs, lhs)
            if s.op == "≥":
                return Rel("≤", rhs, lhs)
            return Conn("→", (Rel("=", lhs, rhs), FALSE))
        if isinstance(s, Conn) and s.op == "¬":
            return Conn("→", (unfold(s.args[0]), FALSE))
        return None

    return map_at_depth(p, fn)


def defeq(p: Term, q: Term) -> bool:
    return p == q or unfold(p) == unfold(q)


def whnf(p: Term) -> Term:
    """Unfold the head notation only (so `intro` sees `¬ p` and `a ≠ b` as implications)."""
    if isinstance(p, Conn) and p.op == "¬":
        return Conn("→", (p.args[0], FALSE))
    if isinstance(p, Rel) and p.op == "≠":
        return Conn("→", (Rel("=", p.lhs, p.rhs), FALSE))
    return p


def var_types(seq: Sequent) -> dict[int, Type]:
    return seq.var_types()


def check_in(seq: Sequent, t: Term) -> Type:
    """Type-check an argument term against the context."""
    return check_term(t, var_types(seq))


def need_prop(seq: Sequent, p: Term) -> None:
    check_prop(p, var_types(seq))


def fresh(seq: Sequent, uid: int) -> int:
    if not isinstance(uid, int) or uid in seq.uids():
        raise CoreError(f"local #{uid} is not fresh")
    return uid


def new_hyp(seq: Sequent, name: str, uid: int, prop: Term) -> Sequent:
    return seq.add(Decl(fresh(seq, uid), str(name), prop, False))


def new_var(seq: Sequent, name: str, uid: int, ty: Type) -> Sequent:
    check_type(ty)
    return seq.add(Decl(fresh(seq, uid), str(name), ty, True))


def shape(p: Term, op: str) -> Conn:
    p = whnf(p)
    if not (isinstance(p, Conn) and p.op == op):
        raise CoreError(f"expected a proposition of the form {op}")
    return p


def quant(p: Term, kind: str) -> Quant:
    if not (isinstance(p, Quant) and p.kind == kind):
        raise CoreError(f"expected a proposition of the form {kind}")
    return p


# -- logic (Lean's introduction and elimination rules) -------------------------------------
@rule("hyp")  # `exact h` / `assumption`
def r_hyp(seq, args, env):
    (h,) = args
    if not defeq(seq.hyp(h), seq.target):
        raise CoreError("the hypothesis does not match the goal")
    return []


@rule("true_intro")  # True.intro
def r_true(seq, args, env):
    if seq.target != TRUE:
        raise CoreError("the goal is not True")
    return []


@rule("intro")  # `intro`: ∀ binder -> new variable; implication -> new hypothesis
def r_intro(seq, args, env):
    name, uid = args
    t = whnf(seq.target)
    if isinstance(t, Quant) and t.kind == "∀":
        body = instantiate(t.body, FVar(fresh(seq, uid), t.vty, str(name)))
        return [new_var(seq, name, uid, t.vty).with_target(body)]
    if isinstance(t, Conn) and t.op == "→":
        return [new_hyp(seq, name, uid, t.args[0]).with_target(t.args[1])]
    raise CoreError("no binder or implication to introduce")


@rule("and_intro")  # And.intro
def r_and_intro(seq, args, env):
    p = shape(seq.target, "∧")
    return [seq.with_target(p.args[0]), seq.with_target(p.args[1])]


@rule("or_inl")  # Or.inl
def r_or_inl(seq, args, env):
    return [seq.with_target(shape(seq.target, "∨").args[0])]


@rule("or_inr")  # Or.inr
def r_or_inr(seq, args, env):
    return [seq.with_target(shape(seq.target, "∨").args[1])]


@rule("iff_intro")  # Iff.intro
def r_iff_intro(seq, args, env):
    p, q = shape(seq.target, "↔").args
    return [seq.with_target(Conn("→", (p, q))), seq.with_target(Conn("→", (q, p)))]


@rule("exists_intro")  # Exists.intro w
def r_exists_intro(seq, args, env):
    (w,) = args
    q = quant(seq.target, "∃")
    if check_in(seq, w) != q.vty:
        raise CoreError("the witness has the wrong type")
    return [seq.with_target(instantiate(q.body, w))]


@rule("exfalso")  # False.elim
def r_exfalso(seq, args, env):
    return [seq.with_target(FALSE)]


@rule("by_contra")  # Classical.byContradiction
def r_by_contra(seq, args, env):
    name, uid = args
    return [new_hyp(seq, name, uid, Conn("¬", (seq.target,))).with_target(FALSE)]


@rule("cut")  # `have h : P := proof; rest`
def r_cut(seq, args, env):
    prop, name, uid = args
    need_prop(seq, prop)
    return [seq.with_target(prop), new_hyp(seq, name, uid, prop)]


@rule("and_elim")  # And.left / And.right (`obtain ⟨a, b⟩ := h`)
def r_and_elim(seq, args, env):
    h, n1, u1, n2, u2 = args
    p, q = shape(seq.hyp(h), "∧").args
    s = new_hyp(seq, n1, u1, p)
    return [new_hyp(s, n2, u2, q)]


@rule("iff_elim")  # Iff.mp / Iff.mpr
def r_iff_elim(seq, args, env):
    h, n1, u1, n2, u2 = args
    p, q = shape(seq.hyp(h), "↔").args
    s = new_hyp(seq, n1, u1, Conn("→", (p, q)))
    return [new_hyp(s, n2, u2, Conn("→", (q, p)))]


@rule("or_elim")  # Or.elim (`rcases h with a | b`)
def r_or_elim(seq, args, env):
    h, n1, u1, n2, u2 = args
    p, q = shape(seq.hyp(h), "∨").args
    return [new_hyp(seq, n1, u1, p), new_hyp(seq, n2, u2, q)]


@rule("exists_elim")  # Exists.elim (`obtain ⟨x, hx⟩ := h`): x is a NEW local, never an old one
def r_exists_elim(seq, args, env):
    h, vname, vuid, hname, huid = args
    q = quant(seq.hyp(h), "∃")
    s = new_var(seq, vname, vuid, q.vty)
    return [new_hyp(s, hname, huid, instantiate(q.body, FVar(vuid, q.vty, str(vname))))]


@rule("false_elim")  # absurd from a hypothesis `False`
def r_false_elim(seq, args, env):
    (h,) = args
    if seq.hyp(h) != FALSE:
        raise CoreError("the hypothesis is not False")
    return []


@rule("absurd")  # absurd : a → ¬a → b
def r_absurd(seq, args, env):
    h, hn = args
    neg = whnf(seq.hyp(hn))
    if not (isinstance(neg, Conn) and neg.op == "→" and neg.args[1] == FALSE and defeq(neg.args[0], seq.hyp(h))):
        raise CoreError("the hypotheses are not P and ¬P")
    return []


@rule("spec")  # `h w` for h : ∀ x, P x  (`specialize`)
def r_spec(seq, args, env):
    h, w, name, uid = args
    q = quant(seq.hyp(h), "∀")
    if check_in(seq, w) != q.vty:
        raise CoreError("the argument has the wrong type")
    return [new_hyp(seq, name, uid, instantiate(q.body, w))]


@rule("mp")  # `h₁ h₂` for h₁ : P → Q, h₂ : P
def r_mp(seq, args, env):
    h_imp, h_arg, name, uid = args
    imp = shape(seq.hyp(h_imp), "→")
    if not defeq(imp.args[0], seq.hyp(h_arg)):
        raise CoreError("the argument does not match the premise")
    return [new_hyp(seq, name, uid, imp.args[1])]


@rule("apply")  # `apply h` for h : P → Q and goal Q
def r_apply(seq, args, env):
    (h,) = args
    imp = shape(seq.hyp(h), "→")
    if not defeq(imp.args[1], seq.target):
        raise CoreError("the conclusion does not match the goal")
    return [seq.with_target(imp.args[0])]


@rule("clear")  # `clear h`: nothing may mention it
def r_clear(seq, args, env):
    (h,) = args
    d = seq.get(h)
    users = seq.depends_on(h)
    if users:
        raise CoreError(f"cannot clear {d.name}: {', '.join(users)} depend(s) on it")
    return [seq.without(h)]


@rule("revert")  # `revert h`: the goal becomes ∀ x, … or h → …
def r_revert(seq, args, env):
    (h,) = args
    d = seq.get(h)
    rest = seq.without(h)
    if any(not e.is_var and h in fvars(e.value) for e in rest.decls):
        raise CoreError(f"cannot revert {d.name}: other hypotheses depend on it")
    if d.is_var:
        if isinstance(d.value, str) and d.value not in NUMERIC:
            raise CoreError("cannot revert this local")
        return [rest.with_target(Quant("∀", d.value, abstract(seq.target, h), d.name))]
    return [rest.with_target(Conn("→", (d.value, seq.target)))]


@rule("rename")  # display name only (`rename_i`, `rename … => …`)
def r_rename(seq, args, env):
    h, name = args
    seq.get(h)
    return [Sequent(tuple(Decl(d.uid, str(name), d.value, d.is_var) if d.uid == h else d for d in seq.decls),
                    seq.target)]


@rule("by_cases")  # Classical.em / `by_cases h : p`
def r_by_cases(seq, args, env):
    prop, name, u1, u2 = args
    need_prop(seq, prop)
    return [new_hyp(seq, name, u1, prop), new_hyp(seq, name, u2, Conn("¬", (prop,)))]


@rule("induction")  # Nat.rec: P 0 and ∀ k, P k → P (k + 1)
def r_induction(seq, args, env):
    x, kname, kuid, ihname, ihuid = args
    d = seq.get(x)
    if not (d.is_var and d.value == "ℕ"):
        raise CoreError("induction needs a variable of type ℕ")
    rest = seq.without(x)
    if any(not e.is_var and x in fvars(e.value) for e in rest.decls):
        raise CoreError("revert the hypotheses that mention the variable first")
    motive = abstract(seq.target, x)
    zero = rest.with_target(instantiate(motive, Lit(Fraction(0), "ℕ")))
    k = FVar(fresh(seq, kuid), "ℕ", str(kname))
    s = new_var(rest, kname, kuid, "ℕ")
    s = new_hyp(s, ihname, ihuid, instantiate(motive, k))
    return [zero, s.with_target(instantiate(motive, Op("+", (k, Lit(Fraction(1), "ℕ")), "ℕ")))]


# -- equality -------------------------------------------------------------------------------
@rule("refl")  # Eq.refl / Iff.refl / le_refl
def r_refl(seq, args, env):
    t = seq.target
    if isinstance(t, Rel) and t.op in ("=", "≤", "≥") and t.lhs == t.rhs:
        return []
    if isinstance(t, Conn) and t.op == "↔" and defeq(t.args[0], t.args[1]):
        return []
    raise CoreError("the two sides are not syntactically equal")


@rule("symm")  # Eq.symm
def r_symm(seq, args, env):
    t = seq.target
    if isinstance(t, Rel) and t.op == "=":
        return [seq.with_target(Rel("=", t.rhs, t.lhs))]
    raise CoreError("the goal is not an equation")


def _equation(seq: Sequent, h: int, rtl: bool) -> tuple[Term, Term]:
    e = seq.hyp(h)
    if isinstance(e, Rel) and e.op == "=":
        a, b = e.lhs, e.rhs
    elif isinstance(e, Conn) and e.op == "↔":  # propext
        a, b = e.args
    else:
        raise CoreError("rewriting needs an equation or an iff")
    return (b, a) if rtl else (a, b)


def _rewrite(p: Term, old: Term, new: Term) -> Term:
    out, n = replace_subterm(p, old, new)
    if n == 0:
        raise CoreError("did not find an instance of the pattern")
    return out


@rule("rewrite")  # Eq.mpr / propext (`rw [h]` on the goal)
def r_rewrite(seq, args, env):
    h, rtl = args
    a, b = _equation(seq, h, bool(rtl))
    return [seq.with_target(_rewrite(seq.target, a, b))]


@rule("rewrite_hyp")  # `rw [h] at h'`: h' is replaced by a new local at the end
def r_rewrite_hyp(seq, args, env):
    h, rtl, target_h, name, uid = args
    if h == target_h:
        raise CoreError("cannot rewrite a hypothesis with itself")
    a, b = _equation(seq, h, bool(rtl))
    new = _rewrite(seq.hyp(target_h), a, b)
    return [new_hyp(seq.without(target_h), name, uid, new)]


@rule("subst")  # `subst`: h : x = e (or e = x) with x a variable not in e
def r_subst(seq, args, env):
    (h,) = args
    e = seq.hyp(h)
    if not (isinstance(e, Rel) and e.op == "="):
        raise CoreError("subst needs an equation")
    for var, val in ((e.lhs, e.rhs), (e.rhs, e.lhs)):
        if isinstance(var, FVar) and seq.get(var.uid).is_var and var.uid not in fvars(val):
            break
    else:
        raise CoreError("subst needs a variable on one side that does not occur on the other")
    rest = seq.without(h).without(var.uid)
    decls = tuple(d if d.is_var else Decl(d.uid, d.name, replace_fvar(d.value, var.uid, val), False)
                  for d in rest.decls)
    out = Sequent(decls, replace_fvar(seq.target, var.uid, val))
    check_sequent(out)  # the value's locals must be declared before every use
    return [out]


@rule("congr")  # congrArg / congr: f a₁ … = f b₁ … from aᵢ = bᵢ (same function, same types)
def r_congr(seq, args, env):
    t = seq.target
    if not (isinstance(t, Rel) and t.op == "="):
        raise CoreError("congr needs an equation")
    a, b = t.lhs, t.rhs
    same_head = (isinstance(a, Op) and isinstance(b, Op) and a.op == b.op and a.ty == b.ty) or \
        (isinstance(a, App) and isinstance(b, App) and a.fn == b.fn)
    if not same_head or len(a.args) != len(b.args):
        raise CoreError("the two sides do not have the same head")
    out = []
    for x, y in zip(a.args, b.args):
        if x.ty != y.ty:
            raise CoreError("congr across different types")
        if x != y:
            out.append(seq.with_target(Rel("=", x, y)))
    return out


# -- facts from the library and from earlier declarations ---------------------------------
@rule("env")  # an earlier declaration of the same environment, checked by the core
def r_env(seq, args, env):
    decl, name, uid = args
    if decl not in env:
        raise CoreError(f"unknown declaration {decl}")
    return [new_hyp(seq, name, uid, env[decl])]


@rule("lemma")  # an instance of a reviewed Mathlib lemma (core/lemma_table.py)
def r_lemma(seq, args, env):
    from .lemma_table import lemma_statement
    lemma, ty, name, uid = args
    return [new_hyp(seq, name, uid, lemma_statement(lemma, ty))]


# -- arithmetic theory rules (core/evaluate.py, poly.py, certificate.py, normalize.py, omega.py)
@rule("eval")  # `decide` / `norm_num` on a closed proposition, with Lean's semantics
def r_eval(seq, args, env):
    from .evaluate import NotEvaluable, decide_prop
    if fvars(seq.target):
        raise CoreError("the goal is not closed")
    try:
        if not decide_prop(seq.target):
            raise CoreError("the proposition is false")
    except NotEvaluable as e:
        raise CoreError(f"cannot evaluate: {e}") from e
    return []


@rule("eval_hyp")  # a closed hypothesis that evaluates to False closes any goal
def r_eval_hyp(seq, args, env):
    from .evaluate import NotEvaluable, decide_prop
    (h,) = args
    p = seq.hyp(h)
    if fvars(p):
        raise CoreError("the hypothesis is not closed")
    try:
        if decide_prop(p):
            raise CoreError("the hypothesis is true")
    except NotEvaluable as e:
        raise CoreError(f"cannot evaluate: {e}") from e
    return []


@rule("ring")  # Mathlib `ring`: both sides have the same commutative-ring normal form
def r_ring(seq, args, env):
    from .poly import ring_equal
    t = seq.target
    if not (isinstance(t, Rel) and t.op == "=" and ring_equal(t.lhs, t.rhs)):
        raise CoreError("ring failed: the normal forms differ")
    return []


@rule("linarith")  # Positivstellensatz certificate (linarith / nlinarith / positivity)
def r_linarith(seq, args, env):
    from .certificate import check_linear_certificate
    (cert,) = args
    check_linear_certificate(seq, cert)
    return []


@rule("le_antisymm")  # le_antisymm: a = b from a ≤ b and b ≤ a (ordered types)
def r_le_antisymm(seq, args, env):
    t = seq.target
    if not (isinstance(t, Rel) and t.op == "=" and t.lhs.ty in NUMERIC):
        raise CoreError("the goal is not an equation of numbers")
    return [seq.with_target(Rel("≤", t.lhs, t.rhs)), seq.with_target(Rel("≤", t.rhs, t.lhs))]


@rule("omega")  # Lean's `omega` (trusted decision procedure, see core/omega.py)
def r_omega(seq, args, env):
    from .omega import check_omega
    (hyps,) = args
    check_omega(seq, tuple(hyps))
    return []


@rule("normalize")  # simp/norm_num/ring_nf/push_cast steps: P ↔ Q by the core's canonical form
def r_normalize(seq, args, env):
    from .normalize import canon
    (new,) = args
    need_prop(seq, new)
    if canon(new) != canon(seq.target):
        raise CoreError("the new goal is not equivalent by normalisation")
    return [seq.with_target(new)]


@rule("normalize_hyp")
def r_normalize_hyp(seq, args, env):
    from .normalize import canon
    h, new, name, uid = args
    need_prop(seq, new)
    if canon(new) != canon(seq.hyp(h)):
        raise CoreError("the new hypothesis is not equivalent by normalisation")
    return [new_hyp(seq.without(h), name, uid, new)]


@rule("interval_cases")  # Mathlib `interval_cases`: lo ≤ x < hi over ℕ/ℤ gives one case per value
def r_interval_cases(seq, args, env):
    x, lo_h, hi_h, name, uids = args
    d = seq.get(x)
    if not (d.is_var and d.value in ("ℕ", "ℤ")):
        raise CoreError("interval_cases needs an integer variable")
    xv = FVar(x, d.value, d.name)
    lo, lo_strict = _bound(seq.hyp(lo_h), xv, lower=True) if lo_h is not None else (0, False)
    if lo_h is None and d.value != "ℕ":
        raise CoreError("a lower bound is needed")
    hi, hi_strict = _bound(seq.hyp(hi_h), xv, lower=False)
    first = lo + 1 if lo_strict else lo
    last = hi - 1 if hi_strict else hi
    values = list(range(first, last + 1))
    if len(values) != len(uids) or len(values) > 1000:
        raise CoreError("one fresh local per case is needed (at most 1000 cases)")
    out = []
    for v, uid in zip(values, uids):
        lit = Lit(Fraction(v), d.value) if v >= 0 else Op("neg", (Lit(Fraction(-v), d.value),), d.value)
        out.append(new_hyp(seq, name, uid, Rel("=", xv, lit)))
    return out


def _int_lit(t: Term) -> int | None:
    if isinstance(t, Lit) and t.value.denominator == 1:
        return int(t.value)
    if isinstance(t, Op) and t.op == "neg" and isinstance(t.args[0], Lit) and t.args[0].value.denominator == 1:
        return -int(t.args[0].value)
    return None


def _bound(p: Term, x: Term, lower: bool) -> tuple[int, bool]:
    """A hypothesis bounding x by an integer literal: returns (bound, strict)."""
    p = unfold(p)
    if isinstance(p, Rel) and p.op in ("<", "≤"):
        strict = p.op == "<"
        if lower and p.rhs == x and _int_lit(p.lhs) is not None:
            return _int_lit(p.lhs), strict  # type: ignore[return-value]
        if not lower and p.lhs == x and _int_lit(p.rhs) is not None:
            return _int_lit(p.rhs), strict  # type: ignore[return-value]
    raise CoreError("the hypothesis is not a literal bound on the variable")


# -- transitivity (`calc`) ---------------------------------------------------------------
# (=, R) and (R, =) → R: Eq.trans / `h ▸` (R any relation, ≠ included);
# (<,<) lt_trans · (<,≤) lt_of_lt_of_le · (≤,<) lt_of_le_of_lt · (≤,≤) le_trans, the same for > ≥;
# (∣,∣) dvd_trans. Exactly the composed relation: no weakening of < into ≤.
TRANS_RELS = ("=", "≠", "<", "≤", ">", "≥", "∣")
TRANS = {("=", r): r for r in TRANS_RELS} | {(r, "="): r for r in TRANS_RELS} | {
    ("<", "<"): "<", ("<", "≤"): "<", ("≤", "<"): "<", ("≤", "≤"): "≤",
    (">", ">"): ">", (">", "≥"): ">", ("≥", ">"): ">", ("≥", "≥"): "≥",
    ("∣", "∣"): "∣",
}


@rule("trans")  # from a op1 mid and mid op2 c, the goal a R c with R = op1 ∘ op2
def r_trans(seq, args, env):
    mid, op1, op2 = args
    t = seq.target
    if not isinstance(t, Rel):
        raise CoreError("trans needs a relation as the goal")
    if TRANS.get((op1, op2)) != t.op:
        raise CoreError(f"cannot compose {op1} and {op2} into {t.op}")
    if check_in(seq, mid) != t.lhs.ty:
        raise CoreError("the middle term has the wrong type")
    left, right = Rel(op1, t.lhs, mid), Rel(op2, mid, t.rhs)
    need_prop(seq, left)
    need_prop(seq, right)
    return [seq.with_target(left), seq.with_target(right)]


# -- big operators ------------------------------------------------------------------------
@rule("range_unfold")  # Finset.sum_range_succ / prod_range_succ, sum_range_zero / prod_range_zero
def r_range_unfold(seq, args, env):
    """Adds `s = s'` for s = ∑/∏ over Finset.range hi: hi = n + 1 (or a numeral k ≥ 1, read as
    (k - 1) + 1 as Lean unifies ?n + 1 =?= k) gives the sum to n plus (times) the body at n;
    hi = 0 gives 0 (1)."""
    s, name, uid = args
    check_in(seq, s)
    if not (isinstance(s, BigOp) and s.kind == "range" and s.lo is None and s.vty == "ℕ"):
        raise CoreError("range_unfold needs a sum or product over Finset.range")
    hi = s.hi
    if isinstance(hi, Lit) and hi.value == 0:
        return [new_hyp(seq, name, uid, Rel("=", s, Lit(Fraction(0 if s.op == "∑" else 1), s.ty)))]
    if isinstance(hi, Op) and hi.op == "+" and hi.ty == "ℕ" and hi.args[1] == Lit(Fraction(1), "ℕ"):
        n = hi.args[0]
    elif isinstance(hi, Lit) and hi.value >= 1:
        n = Lit(hi.value - 1, "ℕ")
    else:
        raise CoreError("the upper bound is neither 0 nor of the form n + 1")
    rest = BigOp(s.op, s.vty, "range", None, n, s.body, s.ty, s.name)
    last = instantiate(s.body, n)
    return [new_hyp(seq, name, uid, Rel("=", s, Op("+" if s.op == "∑" else "*", (rest, last), s.ty)))]


# -- function equations (funext + congruence) --------------------------------------------------
def _function_equation(seq: Sequent, h: int) -> tuple[FVar, int, Term]:
    """h : ∀ x₁ … xₖ, f x₁ … xₖ = e with f a function variable and e free of binders:
    returns (f, k, e) (e's BVar(i) is x_{k-i})."""
    p, k = seq.hyp(h), 0
    while isinstance(p, Quant) and p.kind == "∀":
        p, k = p.body, k + 1
    if not (isinstance(p, Rel) and p.op == "=" and isinstance(p.lhs, App) and k > 0):
        raise CoreError("expected ∀ x…, f x… = e")
    if p.lhs.args != tuple(BVar(k - 1 - i, a.ty) for i, a in enumerate(p.lhs.args)):
        raise CoreError("the left side must be the function applied to the bound variables in order")
    if any(isinstance(s, (Quant, BigOp)) for s in subterms(p.rhs)):
        raise CoreError("the right side must not bind variables")
    return p.lhs.fn, k, p.rhs


def _apply_function_equation(t: Term, f: FVar, k: int, e: Term) -> Term:
    """Every `f a₁ … aₖ` in t (also under binders) replaced by e with xᵢ := aᵢ."""
    count = 0

    def at(s: Term, depth: int) -> Term | None:
        nonlocal count
        if isinstance(s, App) and s.fn == f and len(s.args) == k:
            count += 1
            values = s.args

            def plug(u: Term, _d: int) -> Term | None:  # e has no binders: BVar(i) is xₖ₋ᵢ
                return values[k - 1 - u.idx] if isinstance(u, BVar) else None

            return map_at_depth(e, plug)
        return None

    out = map_at_depth(t, at)
    if count == 0:
        raise CoreError("the function does not occur")
    return out


@rule("rewrite_forall")  # funext/congrArg: h : ∀ x…, f x… = e rewrites every f a… (also under ∑, ∀)
def r_rewrite_forall(seq, args, env):
    (h,) = args
    f, k, e = _function_equation(seq, h)
    return [seq.with_target(_apply_function_equation(seq.target, f, k, e))]


@rule("rewrite_forall_hyp")
def r_rewrite_forall_hyp(seq, args, env):
    h, target_h, name, uid = args
    if h == target_h:
        raise CoreError("cannot rewrite a hypothesis with itself")
    f, k, e = _function_equation(seq, h)
    new = _apply_function_equation(seq.hyp(target_h), f, k, e)
    return [new_hyp(seq.without(target_h), name, uid, new)]


__all__ = ["RULES", "premises", "defeq", "unfold", "whnf", "CoreError", "BVar"]

from . import field  # noqa: E402,F401  (registers field_simp / field_simp_hyp)
