"""Elaboration as Lean 4 does it (issue 13, "Elaboration as Lean 4 does it"; examples 2 and 3).

Lean's `binop%`/`binrel%` elaborator (Lean/Elab/Extra.lean): the leaves of an arithmetic tree
are elaborated without expected type, the maximal leaf type is chosen, smaller leaves get `↑`,
leaves of unknown type (numerals, `↑x`) take the maximal type. A property test compares the
elaborator with a small reference model of these rules written here, independently.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lean_env.embedded.errors import KernelError, Unsupported
from lean_env.embedded.statement import elaborate_theorem
from lean_env.embedded.terms import App, BigOp, Num, Op, Quant, Rel, Var


def goal(stmt: str):
    return elaborate_theorem(stmt).goal


def target_line(stmt: str) -> str:
    return goal(stmt).pretty().splitlines()[-1]


# -- issue 13, examples 2 and 3 ----------------------------------------------------------------
def test_sum_is_a_leaf_elaborated_in_its_own_type():
    g = goal("theorem sum_leaf : ∑ i in Finset.range 3, (i - 1) = (0 : ℤ) := by")
    assert g.pretty() == "⊢ ↑(∑ i ∈ Finset.range 3, (i - 1)) = 0"
    t = g.target
    assert isinstance(t, Rel) and t.lhs.ty == "ℤ" and t.rhs.ty == "ℤ"
    cast = t.lhs
    assert isinstance(cast, Op) and cast.op == "cast"
    s = cast.args[0]
    assert isinstance(s, BigOp) and s.ty == "ℕ" and s.body.ty == "ℕ" and s.body.op == "-"


def test_abs_is_a_leaf_elaborated_in_its_own_type():
    g = goal("theorem abs_leaf : |(7 : ℤ) / 2| = (7 / 2 : ℝ) := by")
    assert g.pretty() == "⊢ ↑|7 / 2| = 7 / 2"
    t = g.target
    assert t.lhs.op == "cast" and t.lhs.ty == "ℝ"
    a = t.lhs.args[0]
    assert a.op == "abs" and a.ty == "ℤ" and a.args[0].op == "/" and a.args[0].ty == "ℤ"
    assert t.rhs.ty == "ℝ" and t.rhs.op == "/"


def test_binder_type_comes_from_the_ascription():
    g = goal("theorem binder_all : ∀ n, (n : ℝ) ≥ 0 := by")
    assert isinstance(g.target, Quant) and g.target.vty == "ℝ"
    assert g.pretty() == "⊢ ∀ (n : ℝ), n ≥ 0"


def test_expected_type_is_propagated_into_abs_and_sums_outside_trees():
    # `(|e| : ℝ)`: `abs`'s result type is unified with ℝ before its argument is elaborated
    assert target_line("theorem t : (|(7 : ℤ) / 2| : ℝ) = 7 / 2 := by") == "⊢ |↑7 / 2| = 7 / 2"
    assert target_line("theorem t : (∑ i in Finset.range 3, i : ℝ) = 3 := by") == "⊢ ∑ i ∈ Finset.range 3, ↑i = 3"
    # ... but a leaf of a tree is elaborated without expected type
    assert target_line("theorem t : ∑ i in Finset.range 3, i = (3 : ℝ) := by") == "⊢ ↑(∑ i ∈ Finset.range 3, i) = 3"


def test_abs_of_a_natural_number_does_not_elaborate():
    with pytest.raises(KernelError):
        goal("theorem t (n : ℕ) (x : ℝ) : |n| = x := by")


def test_power_base_is_in_the_tree_exponent_is_alone():
    g = goal("theorem t (n : ℕ) (x : ℝ) : n ^ n = x := by")
    assert g.pretty().splitlines()[-1] == "⊢ ↑n ^ n = x"
    pow_ = g.target.lhs
    assert pow_.op == "^" and pow_.ty == "ℝ" and pow_.args[1] == Var("n", "ℕ")
    with pytest.raises(Unsupported):
        goal("theorem t (x : ℝ) (k : ℤ) : x ^ k = 1 := by")


def test_divisibility_is_an_application_left_argument_first():
    assert target_line("theorem t (n : ℤ) (p : ℕ) : ↑p ∣ n := by") == "⊢ ↑p ∣ n"
    assert target_line("theorem t (n : ℕ) (p : ℤ) : p ∣ n := by") == "⊢ p ∣ ↑n"
    with pytest.raises(KernelError):  # ℤ cannot be coerced to ℕ
        goal("theorem t (n : ℕ) (p : ℤ) : n ∣ p := by")
    g = goal("theorem t (n : ℕ) : 7 ∣ 2 ^ n - 1 := by")
    assert g.target.lhs.ty == "ℕ" and g.target.rhs.ty == "ℕ"


def test_natural_subtraction_and_negation():
    g = goal("theorem t (a b : ℕ) : a - b = 0 := by")
    assert g.target.lhs.op == "-" and g.target.lhs.ty == "ℕ"
    with pytest.raises(KernelError):  # Neg ℕ
        goal("theorem t (a : ℕ) : -a = 0 := by")
    assert target_line("theorem t (a : ℕ) (x : ℝ) : -a = x := by") == "⊢ -↑a = x"


def test_coercion_arrow_leaf_takes_the_maximal_type():
    assert target_line("theorem t (n : ℕ) (y : ℝ) : ↑n < y := by") == "⊢ ↑n < y"
    g = goal("theorem t (j : ℕ) : 3 * (7 * ↑j + 3) % 7 = 2 := by")
    assert g.pretty().splitlines()[-1] == "⊢ 3 * (7 * j + 3) % 7 = 2"
    # no leaf type is known: Lean resumes `↑j` (target `j`'s type) before default instances
    g = goal("theorem t (j : ℤ) : 3 * (7 * ↑j + 3) % 7 = 2 := by")
    assert g.pretty().splitlines()[-1] == "⊢ 3 * (7 * j + 3) % 7 = 2" and g.target.lhs.ty == "ℤ"
    with pytest.raises(Unsupported):  # two of them with different types: order not modelled
        goal("theorem t (j : ℤ) (n : ℕ) : ↑j + 1 = ↑n := by")
    with pytest.raises(Unsupported):  # `|↑n + 1|`'s `↑n` becomes ℕ before `instHAdd` meets ℝ
        goal("theorem t (n : ℕ) (x : ℝ) : |↑n + 1| = x := by")


def test_finset_sum_application_form():
    g = goal("theorem t : (Finset.sum (Finset.range 11) fun k => k) = 55 := by")
    assert g.pretty() == "⊢ ∑ k ∈ Finset.range 11, k = 55"
    assert isinstance(g.target.lhs, BigOp) and g.target.lhs.ty == "ℕ"
    g2 = goal("theorem t : (Finset.prod (Finset.range 3) fun (k : ℕ) ↦ (k + 1)) = 6 := by")
    assert g2.pretty() == "⊢ ∏ k ∈ Finset.range 3, (k + 1) = 6"


def test_constructs_outside_the_fragment_are_named():
    with pytest.raises(Unsupported) as e:
        goal("theorem t (f : ℕ → ℕ) (h : f = fun x => x) : True := by")
    assert "lambda" in e.value.construct
    with pytest.raises(Unsupported) as e:
        goal("theorem t (f : ℕ → ℕ) : Finset.sum (Finset.range 3) f = 0 := by")
    assert "Finset.sum" in e.value.construct


def test_icc_bound_variable_type_comes_from_the_tree():
    # `Finset.Icc 1 10 : Finset ?α`: the sum is a leaf of unknown type, unified with ℤ
    g = goal("theorem t : ∑ k in Finset.Icc 1 10, k = (55 : ℤ) := by")
    assert g.target.lhs.vty == "ℤ" and g.target.lhs.ty == "ℤ"
    g = goal("theorem t : ∑ k in Finset.Icc 1 10, k = 55 := by")
    assert g.target.lhs.vty == "ℕ"
    with pytest.raises(KernelError):  # LocallyFiniteOrder ℝ
        goal("theorem t : ∑ k in Finset.Icc 1 10, k = (55 : ℝ) := by")


# -- binder types -------------------------------------------------------------------------------
@pytest.mark.parametrize("stmt, ty", [
    ("theorem t : ∀ n, (n : ℝ) ≥ 0 := by", "ℝ"),  # ascription
    ("theorem t (f : ℕ → ℝ) : ∀ n, f n > 0 := by", "ℕ"),  # function argument
    ("theorem t (f : ℚ → ℝ) : ∃ x, f x > 0 := by", "ℚ"),
    ("theorem t : ∀ n, n + 1 > 0 := by", "ℕ"),  # only numerals: OfNat's default instance
    ("theorem t : ∀ x, x + (1 : ℝ) > 0 := by", "ℝ"),  # a leaf of a tree whose type is ℝ
    ("theorem t (y : ℚ) : ∀ x > 0, x * y = 2 := by", "ℚ"),  # binder predicate first, then the tree
    ("theorem t (f : ℕ → ℝ) : ∀ n, f n = 2 ∧ (n : ℝ) > 0 := by", "ℕ"),  # first constraint wins
    ("theorem t : ∀ n, ∑ i in Finset.range n, i = 3 := by", "ℕ"),
    ("theorem t (x : ℝ) : ∀ k, x ^ k = 1 := by", "ℕ"),  # exponent: Monoid.Pow default instance
])
def test_binder_types_by_unification(stmt, ty):
    t = goal(stmt).target
    assert isinstance(t, Quant) and t.vty == ty


def test_binder_type_fixed_by_a_later_tree_types_the_earlier_numerals():
    g = goal("theorem t : ∀ x, x + 1 = 2 ∧ (x : ℝ) = 3 := by")
    conj = g.target.body
    assert g.target.vty == "ℝ" and conj.args[0].lhs.args[1] == Num(1, "ℝ")


@pytest.mark.parametrize("stmt", [
    "theorem t : ∀ a b, a + b = b + a := by",  # nothing fixes the type
    "theorem t : ∀ x, x = x := by",
    "theorem t : ∃ x, ↑x = (2 : ℝ) := by",  # ↑ of a variable whose type is open
])
def test_undetermined_binder_types_are_refused(stmt):
    with pytest.raises(Unsupported):
        goal(stmt)


def test_contradicting_constraints_do_not_elaborate():
    with pytest.raises(KernelError):  # n : ℝ from the ascription, then `f n` needs ℕ
        goal("theorem t (f : ℕ → ℝ) : ∀ n, (n : ℝ) > 0 ∧ f n = 2 := by")


# -- property test against a reference model of binop% -------------------------------------------
VARS = {"n": "ℕ", "m": "ℕ", "i": "ℤ", "j": "ℤ", "q": "ℚ", "r": "ℚ", "x": "ℝ", "y": "ℝ"}
HEADER = "(n m : ℕ) (i j : ℤ) (q r : ℚ) (x y : ℝ) (f : ℕ → ℝ)"
RANKS = {"ℕ": 0, "ℤ": 1, "ℚ": 2, "ℝ": 3}
TYPES = list(RANKS)


class Reject(Exception):
    """Lean reports an error (or the elaborator may refuse)."""


# Trees: ("var", name) ("num", k) ("coe", name) ("asc", e, T) ("abs", e) ("sum", k, body)
# ("app", e) ("neg", e) ("bin", op, l, r) ("pow", base, k); the bound variable of a sum is `k0`.
def lean_text(e) -> str:
    tag = e[0]
    if tag == "var":
        return e[1]
    if tag == "num":
        return str(e[1])
    if tag == "coe":
        return f"↑{e[1]}"
    if tag == "asc":
        return f"({lean_text(e[1])} : {e[2]})"
    if tag == "abs":
        return f"|({lean_text(e[1])})|"
    if tag == "sum":
        return f"(∑ k0 in Finset.range {e[1]}, ({lean_text(e[2])}))"
    if tag == "app":
        return f"f ({lean_text(e[1])})"
    if tag == "neg":
        return f"(-({lean_text(e[1])}))"
    if tag == "bin":
        return f"({lean_text(e[2])} {e[1]} {lean_text(e[3])})"
    return f"(({lean_text(e[1])}) ^ {e[2]})"


def leaves(e, scope):
    if e[0] == "bin":
        return leaves(e[2], scope) + leaves(e[3], scope)
    if e[0] in ("neg",):
        return leaves(e[1], scope)
    if e[0] == "pow":
        return leaves(e[1], scope)
    return [e]


def natural(leaf, scope):
    """The type a leaf gets when elaborated without expected type (None: unknown)."""
    tag = leaf[0]
    if tag == "var":
        return scope[leaf[1]]
    if tag in ("num", "coe"):
        return None
    if tag == "asc":
        return leaf[2]
    if tag == "abs":
        return tree_max(leaf[1], scope, None)
    if tag == "sum":
        return tree_max(leaf[2], {**scope, "k0": "ℕ"}, None)
    return "ℝ"  # f : ℕ → ℝ


def tree_max(e, scope, start):
    best = start
    for leaf in leaves(e, scope):
        t = natural(leaf, scope)
        if t is not None and (best is None or RANKS[t] > RANKS[best]):
            best = t
    return best


def coerce(s, frm, to):
    if frm == to:
        return s
    if RANKS[frm] < RANKS[to]:
        return f"↑({s}):{to}"
    raise Reject


def build(e, ty, scope):
    """The tree at type `ty`: operators at `ty`, leaves coerced."""
    tag = e[0]
    if tag == "bin":
        if e[1] == "%" and ty in ("ℚ", "ℝ"):
            raise Reject
        return f"({e[1]} {build(e[2], ty, scope)} {build(e[3], ty, scope)}):{ty}"
    if tag == "neg":
        if ty == "ℕ":
            raise Reject
        return f"(neg {build(e[1], ty, scope)}):{ty}"
    if tag == "pow":
        return f"(^ {build(e[1], ty, scope)} {e[2]}:ℕ):{ty}"
    s, t = leaf_at(e, scope, natural(e, scope) or ty, in_tree=True)
    return coerce(s, t, ty)


def leaf_at(e, scope, ty, in_tree=False):
    """A leaf elaborated at `ty`: its own type, or (`in_tree`) the tree's type when it has
    none, or the expected type propagated into it (ascription, argument)."""
    tag = e[0]
    if tag == "var":
        return e[1], scope[e[1]]
    if tag == "num":
        return f"{e[1]}:{ty}", ty
    if tag == "coe":
        return coerce(e[1], scope[e[1]], ty), ty
    if tag == "asc":
        return expect(e[1], e[2], scope), e[2]
    if tag == "abs":
        if ty == "ℕ" or in_tree and natural(e, scope) is None and unknown_tree_type(e[1], scope, ty) != ty:
            raise Reject
        return f"|{build(e[1], ty, scope)}|:{ty}", ty
    if tag == "sum":
        inner = {**scope, "k0": "ℕ"}
        if in_tree and natural(e, scope) is None:
            unknown_tree_type(e[2], inner, ty)
        return f"∑k0<{e[1]}.{build(e[2], ty, inner)}:{ty}", ty
    return f"f({expect(e[1], 'ℕ', scope)}):ℝ", "ℝ"


def expect(e, ty, scope):
    """`e` elaborated against the known type `ty` (ascription, function argument)."""
    if e[0] in ("bin", "neg", "pow"):
        if tree_max(e, scope, ty) != ty:
            raise Reject
        return build(e, ty, scope)
    if e[0] in ("abs", "sum", "num", "coe"):  # the expected type reaches inside
        return leaf_at(e, scope, ty)[0]
    s, t = leaf_at(e, scope, natural(e, scope))
    return coerce(s, t, ty)


def pending(e, scope):
    """Types of the `↑v` whose target only default instances would fix: leaves of a tree (or of
    an abs/sum of unknown type inside it). Lean resumes them before default instances: each
    target becomes `v`'s own type."""
    out = set()
    for leaf in leaves(e, scope):
        if leaf[0] == "coe":
            out.add(scope[leaf[1]])
        elif leaf[0] == "abs" and natural(leaf, scope) is None:
            out |= pending(leaf[1], scope)
        elif leaf[0] == "sum" and natural(leaf, scope) is None:
            out |= pending(leaf[2], {**scope, "k0": "ℕ"})
    return out


def deferred(e, scope, linked=True):
    """Types of the `↑v` in `e` linked to `e`'s type only through an operator's default
    instance (`↑v + 1`), not directly (`↑v`, `-↑v`, `|↑v|`)."""
    tag = e[0]
    if tag == "coe":
        return set() if linked else {scope[e[1]]}
    if tag == "neg":
        return deferred(e[1], scope, linked)
    if tag == "bin":
        return deferred(e[2], scope, False) | deferred(e[3], scope, False)
    if tag == "pow":
        return deferred(e[1], scope, False)
    if tag == "abs" and natural(e, scope) is None:
        return deferred(e[1], scope, linked)
    if tag == "sum" and natural(e, scope) is None:
        return deferred(e[2], {**scope, "k0": "ℕ"}, linked)
    return set()


def unknown_tree_type(e, scope, ty):
    """An abs/sum leaf of unknown type placed at `ty`: its deferred `↑v` must already be `ty`
    (Lean resumes them, at their own type, before the default instances meet `ty`)."""
    if deferred(e, scope) - {ty}:
        raise Reject
    return ty


def reference(lhs, rel, rhs):
    both = ("bin", "+", lhs, rhs)
    ty = tree_max(both, VARS, None)
    if ty is None:  # no known leaf: the `↑v` fix the type, else numerals default to ℕ
        kinds = pending(both, VARS)
        if len(kinds) > 1:
            raise Reject
        ty = kinds.pop() if kinds else "ℕ"
    return f"{build(lhs, ty, VARS)} {rel} {build(rhs, ty, VARS)}"


def render(t) -> str:
    """The elaborator's term in the reference's notation."""
    if isinstance(t, Var):
        return t.name
    if isinstance(t, Num):
        return f"{t.value}:{t.ty}"
    if isinstance(t, Rel):
        return f"{render(t.lhs)} {t.op} {render(t.rhs)}"
    if isinstance(t, App):
        return f"{t.fn.name}({render(t.args[0])}):{t.ty}"
    if isinstance(t, BigOp):
        assert t.kind == "range" and t.vty == "ℕ"
        return f"∑{t.var}<{t.hi.value}.{render(t.body)}:{t.ty}"
    assert isinstance(t, Op), t
    if t.op == "cast":
        return f"↑({render(t.args[0])}):{t.ty}"
    if t.op == "abs":
        return f"|{render(t.args[0])}|:{t.ty}"
    if t.op == "neg":
        return f"(neg {render(t.args[0])}):{t.ty}"
    if t.op == "^":
        return f"(^ {render(t.args[0])} {t.args[1].value}:{t.args[1].ty}):{t.ty}"
    return f"({t.op} {render(t.args[0])} {render(t.args[1])}):{t.ty}"


def trees(bound: bool):
    names = list(VARS) + (["k0"] if bound else [])
    leaf = st.one_of(
        st.sampled_from(names).map(lambda v: ("var", v)),
        st.integers(0, 9).map(lambda k: ("num", k)),
        st.sampled_from(names).map(lambda v: ("coe", v)),
    )

    def extend(sub):
        return st.one_of(
            st.tuples(st.just("bin"), st.sampled_from(["+", "-", "*", "/", "%"]), sub, sub),
            st.tuples(st.just("neg"), sub),
            st.tuples(st.just("pow"), sub, st.integers(0, 3)),
            st.tuples(st.just("asc"), sub, st.sampled_from(TYPES)),
            st.tuples(st.just("abs"), sub),
            st.tuples(st.just("app"), sub),
        )

    return st.recursive(leaf, extend, max_leaves=5)


def with_sums():
    body = trees(bound=True).filter(lambda b: ("var", "k0") in leaves(b, {}) or ("coe", "k0") in leaves(b, {}))
    sums = st.tuples(st.just("sum"), st.integers(0, 4), body)
    return st.one_of(trees(bound=False), sums,
                     st.tuples(st.just("bin"), st.sampled_from(["+", "*"]), sums, trees(bound=False)))


@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(with_sums(), st.sampled_from(["=", "<", "≤", "≠"]), with_sums())
def test_binop_elaboration_matches_the_reference_model(lhs, rel, rhs):
    stmt = f"theorem t {HEADER} : {lean_text(lhs)} {rel} {lean_text(rhs)} := by"
    try:
        expected = reference(lhs, rel, rhs)
    except Reject:
        expected = None
    try:
        got = render(goal(stmt).target)
    except KernelError:
        got = None
    assert got == expected, stmt
