"""Soundness: no tactic ever closes a false goal.

1. Property tests: random arithmetic statements over ℕ/ℤ/ℝ (Lean semantics: truncated ℕ
   subtraction, floor division, emod, x / 0 = 0) whose falsity is confirmed by exact evaluation
   at a counterexample; every tactic must fail on them.
2. Mutation tests: the numerals of miniF2F-valid goals that the kernel proves are perturbed until
   a counterexample (checked by exact evaluation) shows the goal false; neither the published
   proof nor any tactic of a hammer battery may prove the mutant.
"""
import importlib.util
import itertools
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lean_env.embedded.arith.evaluate import NotEvaluable, holds
from lean_env.embedded.errors import KernelError
from lean_env.embedded.statement import elaborate_theorem
from lean_env.embedded.terms import Num, Term, rebuild

_spec = importlib.util.spec_from_file_location("emb_helpers", Path(__file__).with_name("helpers.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)

TACTICS = [
    "linarith", "nlinarith [sq_nonneg (x - y), sq_nonneg (x + y), mul_self_nonneg x]", "positivity",
    "norm_num", "norm_num [h₀, h₁] at *", "simp", "simp_all", "omega", "decide", "ring", "ring_nf",
    "field_simp", "rfl", "assumption", "simp_all\n  linarith", "interval_cases x <;> simp_all",
    "constructor <;> linarith", "exact h₀", "rw [h₀]", "nlinarith [h₀, h₁]", "exact_mod_cast h₀",
    "norm_cast at h₀ ⊢", "push_cast\n  linarith", "by_cases hx : x = 0 <;> simp_all",
    "obtain ⟨a, b⟩ := h₀", "constructor <;> omega", "tauto", "induction x <;> simp_all",
    "aesop", "contrapose! h₀\n  nlinarith",
]
GRID = {
    "ℕ": [Fraction(v) for v in range(0, 7)],
    "ℤ": [Fraction(v) for v in range(-4, 5)],
    "ℝ": [Fraction(v, 2) for v in range(-6, 7)],
}


def counterexample(goal, grid_values) -> dict | None:
    names = [h.name for h in goal.hyps if h.is_var]
    types = {h.name: h.value for h in goal.hyps if h.is_var}
    if any(t not in grid_values for t in types.values()):
        return None  # function variables: no finite search
    for values in itertools.product(*[grid_values[types[n]] for n in names]):
        env = dict(zip(names, values))
        try:
            if all(holds(p, env) for _, p in goal.props()) and not holds(goal.target, env):
                return env
        except NotEvaluable:
            return None
    return None


def expr(ty: str):
    """Expressions in x, y; `cast` means ℕ variables used inside ℝ arithmetic."""
    leaves = ["x", "y", "0", "1", "2", "3", "5"]
    if ty == "cast":
        leaves = ["(x : ℝ)", "(y : ℝ)", "((x - y : ℕ) : ℝ)", "((x / 2 : ℕ) : ℝ)", "0", "1", "2", "3"]
    leaf = st.sampled_from(leaves)
    ops = ["+", "-", "*", "/"] + (["%"] if ty in ("ℕ", "ℤ") else [])

    def extend(children):
        options = [
            st.tuples(children, st.sampled_from(ops), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            children.map(lambda c: f"{c} ^ 2"),
        ]
        if ty != "ℕ":
            options.append(children.map(lambda c: f"|{c}|"))
        if ty in ("ℝ", "cast"):
            options.append(children.map(lambda c: f"Real.sqrt ({c})"))
        return st.one_of(*options)

    return st.recursive(leaf, extend, max_leaves=5)


@st.composite
def statements(draw):
    ty = draw(st.sampled_from(["ℕ", "ℤ", "ℝ", "cast"]))
    rel = st.sampled_from(["=", "≤", "<", "≠"])
    e = expr(ty)
    # hypotheses are often trivially satisfiable, so that many goals can be refuted on the grid
    h0 = f"{draw(e)} {draw(rel)} {draw(e)}" if draw(st.booleans()) else "x = x"
    h1 = f"{draw(e)} {draw(rel)} {draw(e)}" if draw(st.booleans()) else "y = y"
    goal = f"{draw(e)} {draw(rel)} {draw(e)}"
    if draw(st.booleans()):
        goal = f"{goal} ∧ {draw(e)} {draw(rel)} {draw(e)}"
    var_ty = "ℕ" if ty == "cast" else ty
    return f"theorem t (x y : {var_ty}) (h₀ : {h0}) (h₁ : {h1}) : {goal} := by"


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(statements())
def test_no_tactic_proves_a_false_random_statement(stmt):
    try:
        goal = elaborate_theorem(stmt).goal
    except KernelError:
        return
    cex = counterexample(goal, GRID)
    if cex is None:
        return  # not known to be false: nothing to check
    for tac in TACTICS:
        assert not helpers.closes(goal, tac), f"{tac!r} proved a false statement {stmt} (counterexample {cex})"
    FALSE_SEEN.append(stmt)


FALSE_SEEN: list[str] = []


def test_property_test_saw_false_statements():
    """Guards the property test against vacuity (runs after it, in file order)."""
    assert len(FALSE_SEEN) >= 30, len(FALSE_SEEN)


def test_false_statements_with_lean_semantics_are_not_proved():
    cases = [
        ("theorem t (a b : ℕ) : a - b + b = a := by", {"a": 0, "b": 1}),
        ("theorem t (a : ℕ) : a / 2 * 2 = a := by", {"a": 1}),
        ("theorem t (a : ℤ) : a % 3 = a - 3 * (a / 3) + 1 := by", {"a": 0}),
        ("theorem t (x : ℝ) : x / x = 1 := by", {"x": 0}),
        ("theorem t (x : ℝ) : Real.sqrt (x ^ 2) = x := by", {"x": -1}),
        ("theorem t (x : ℝ) : Real.sqrt x ^ 2 = x := by", {"x": -1}),
        ("theorem t (n : ℕ) (h : n - 3 = 0) : n = 3 := by", {"n": 0}),
        ("theorem t (x : ℤ) : (-x) / 2 = -(x / 2) := by", {"x": 1}),
    ]
    for stmt, env in cases:
        goal = elaborate_theorem(stmt).goal
        fenv = {k: Fraction(v) for k, v in env.items()}
        assert not holds(goal.target, fenv) and all(holds(p, fenv) for _, p in goal.props())
        for tac in TACTICS + ["simp [Real.sqrt_sq]", "rw [Real.sq_sqrt]", "field_simp\n  ring", "nlinarith [Real.sqrt_nonneg x, Real.sq_sqrt (le_refl 0)]"]:
            assert not helpers.closes(goal, tac), f"{tac!r} proved false {stmt}"


def _mutants(target: Term):
    """Targets with one numeral changed (v+1, v-1, 2v+1), in a fixed order."""
    nums = []

    def walk(t, path):
        if isinstance(t, Num):
            nums.append(path)
        for i, c in enumerate(t.children()):
            walk(c, path + (i,))

    walk(target, ())

    def put(t, path, new):
        if not path:
            return new
        kids = list(t.children())
        kids[path[0]] = put(kids[path[0]], path[1:], new)
        return rebuild(t, kids)

    def get(t, path):
        for i in path:
            t = t.children()[i]
        return t

    for path in nums:
        old = get(target, path)
        for v in (old.value + 1, old.value - 1, 2 * old.value + 1):
            if v >= 0 and v != old.value:
                yield put(target, path, Num(Fraction(v), old.ty, None))


MUTATION_GRID = {
    "ℕ": [Fraction(v) for v in range(0, 13)],
    "ℤ": [Fraction(v) for v in range(-12, 13)],
    "ℚ": [Fraction(v) for v in range(-12, 13)],
    "ℝ": [Fraction(v) for v in range(-12, 13)],
}
HAMMERS = ["linarith", "nlinarith", "norm_num", "omega", "simp_all", "decide"]


def test_mutated_minif2f_goals_are_not_proved():
    statements = {r["name"]: r for r in helpers.load("valid.jsonl")}
    checked = 0
    for row in helpers.load("valid_proofs.jsonl"):
        st_row = statements[row["name"]]
        if row.get("preamble"):
            continue
        try:
            th = elaborate_theorem(st_row["formal_statement"])
        except KernelError:
            continue
        if sum(h.is_var for h in th.goal.hyps) > 3:
            continue
        proof = row["proof"]
        if not helpers.closes(th.goal, proof):
            continue  # only goals the kernel proves are interesting to falsify
        for target in itertools.islice(_mutants(th.goal.target), 4):
            mutant = replace(th.goal, target=target)
            if counterexample(mutant, MUTATION_GRID) is None:
                continue
            checked += 1
            for tac in [proof] + HAMMERS:
                assert not helpers.closes(mutant, tac), f"{row['name']}: {tac!r} proved a false mutant {mutant.pretty()}"
    print(f"mutants checked: {checked}")
    assert checked >= 20  # the test must actually exercise mutants



def test_shadowed_variables_are_not_captured():
    # `intro x` over an existing `x`: the old one becomes `x✝` everywhere, h keeps meaning x✝ = 1
    s = "theorem t (x : ℝ) (h : x = 1) : ∀ x : ℝ, x = 1 := by"
    for proof in ("intro x\n  exact h", "intro x\n  linarith", "intro x\n  simp_all", "intro y\n  rename_i z\n  linarith",
                  "intro x\n  rename_i y\n  exact h"):
        assert not helpers.accepted(s, proof), proof
    s2 = "theorem t (x : ℝ) (h : x = 1) (h2 : ∃ x : ℝ, x = 2) : x = 2 := by"
    assert not helpers.accepted(s2, "obtain ⟨x, hx⟩ := h2\n  linarith")
    assert helpers.accepted(s2.replace(": x = 2 := by", ": ∃ y : ℝ, y = 2 := by"), "obtain ⟨x, hx⟩ := h2\n  exact ⟨x, hx⟩")


def test_bound_variables_are_compared_without_capture():
    s = "theorem t (f : ℝ → ℝ) (c : ℝ) (h : ∀ y, f y = c) : ∀ c, f c = c := by"
    for proof in ("exact h", "assumption", "intro d\n  exact h d", "simpa using h"):
        assert not helpers.accepted(s, proof), proof
    assert helpers.accepted("theorem t (f : ℝ → ℝ) (h : ∀ y, f y = 2) : ∀ x, f x = 2 := by", "exact h")
