"""rw / simp / norm_num / simp_all on the trusted core: every change is a core step (rewrite with a
hypothesis or a lemma instance, `normalize` by the core's canonical form, `eval`), and what the
core cannot justify is not done."""
import importlib.util
from pathlib import Path

from lean_env.embedded import bridge
from lean_env.embedded.errors import KernelError
from lean_env.embedded.goals import pretty_goals
from lean_env.embedded.proof_check import check_proof  # noqa: F401  (the final check exists)
from lean_env.embedded.statement import elaborate_theorem
from lean_env.embedded.tactics.engine import TacticContext, run_block

_spec = importlib.util.spec_from_file_location("emb_helpers", Path(__file__).with_name("helpers.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)
accepted, errors_of = helpers.accepted, helpers.errors_of


def state_after(statement: str, proof: str) -> str:
    """The goals after `proof` (one tactic per line), printed as Lean prints them; or the error."""
    g = bridge.start_goal(elaborate_theorem(statement).goal)
    src = "  " + proof.replace("\n", "\n  ")
    ctx = TacticContext(src)
    try:
        out = run_block(ctx, 0, len(src), (g,))
    except KernelError as e:
        return "error: " + e.message
    return pretty_goals(out) if out else "no goals"


def test_rw_with_hypotheses_and_lemmas_is_a_core_rewrite():
    s = "theorem t (a b c : ℝ) (h : a * b = c) : b * a = c := by"
    assert state_after(s, "rw [mul_comm]") == "a b c : ℝ\nh : a * b = c\n⊢ a * b = c"
    assert state_after(s, "rw [mul_comm] at h") == "a b c : ℝ\nh : b * a = c\n⊢ b * a = c"
    assert accepted(s, "rw [mul_comm]\n  assumption")
    assert accepted(s, "rwa [mul_comm] at h")
    assert accepted("theorem t (a b : ℝ) (h : a = 2 * b) (hb : b = 3) : a = 2 * 3 := by", "rw [h, hb]")
    assert not accepted("theorem t (a b : ℝ) (h : a = 2 * b) (hb : b = 3) : a = 2 * 4 := by", "rw [h, hb]")
    s2 = "theorem t (x y : ℝ) (h : x = 2) (h2 : y = x + 1) : y = 3 := by"
    assert state_after(s2, "rw [h] at h2").endswith("h2 : y = 2 + 1\n⊢ y = 3")
    err = state_after(s2, "rw [h2] at h")
    assert err.startswith("error: tactic 'rewrite' failed, did not find instance of the pattern")


def test_rw_lemma_arguments_and_side_goals():
    s = "theorem t (x : ℝ) (h : x < 0) : |x| = -x := by"
    assert accepted(s, "rw [abs_of_neg h]")
    assert state_after(s, "rw [abs_of_neg]") == "x : ℝ\nh : x < 0\n⊢ x < 0"
    assert accepted(s, "rw [abs_of_neg]\n  assumption")
    # the side condition of a lemma is a goal, never assumed
    assert state_after("theorem t (x : ℝ) : Real.sqrt x ^ 2 = x := by", "rw [Real.sq_sqrt]") == "x : ℝ\n⊢ 0 ≤ x"
    assert not accepted("theorem t (x : ℝ) : Real.sqrt x ^ 2 = x := by", "rw [Real.sq_sqrt]")
    assert accepted("theorem t (x : ℝ) (h₀ : x ≠ 0) : x / x = 1 := by", "rw [div_self h₀]")
    assert not accepted("theorem t (x : ℝ) (h₀ : x ≠ 1) : x / x = 1 := by", "rw [div_self h₀]")


def test_rw_nat_literal_offsets_and_range_lemmas():
    s = "theorem t (a : ℝ) (h : a ^ 4 = 16) : a ^ 3 * a = 16 := by"
    assert state_after(s, "rw [pow_succ] at h").endswith("h : a ^ 3 * a = 16\n⊢ a ^ 3 * a = 16")
    assert accepted(s, "rwa [pow_succ] at h")
    s2 = "theorem t (n : ℕ) : ∑ k ∈ Finset.range n, (2 * k + 1) = n ^ 2 := by"
    out = state_after(s2, "induction' n with m ih\n· simp\n· rw [Finset.sum_range_succ, ih]")
    assert out.endswith("⊢ m ^ 2 + (2 * m + 1) = (m + 1) ^ 2"), out
    assert accepted("theorem t : ∑ k ∈ Finset.range 4, (k + 1) = 10 := by", "simp [Finset.sum_range_succ]")
    assert not accepted("theorem t : ∑ k ∈ Finset.range 4, (k + 1) = 11 := by", "simp [Finset.sum_range_succ]")


def test_simp_and_norm_num_normalise_through_the_core():
    assert accepted("theorem t : (29 ^ 13 - 5 ^ 13) % 7 = 3 := by", "norm_num")
    assert not accepted("theorem t : (29 ^ 13 - 5 ^ 13) % 7 = 2 := by", "norm_num")
    assert accepted("theorem t : Nat.Prime 97 := by", "norm_num")
    assert not accepted("theorem t : Nat.Prime 91 := by", "norm_num")
    assert state_after("theorem t (x : ℝ) (h : x = 2) : x + 0 = 2 := by", "simp").endswith("⊢ x = 2")
    assert state_after("theorem t (x : ℝ) (h : ¬ x < 2) : 2 ≤ x := by", "simp at h").startswith("x : ℝ\nh : 2 ≤ x")
    assert accepted("theorem t (x : ℝ) (h : x = 2) : x + 0 = 2 := by", "simp [h]")
    assert not accepted("theorem t (x : ℝ) (h : x = 2) : x + 0 = 3 := by", "simp [h]")
    assert errors_of("theorem t (a b : ℕ) : a - b + b = a := by", "simp")[0] == "simp made no progress"
    assert errors_of("theorem t (x : ℝ) : x / x = 1 := by", "norm_num")[0] == "norm_num failed to simplify"


def test_simp_at_hypotheses_and_simp_all():
    assert accepted("theorem t (p : ℕ) (h : Nat.Prime p) (h2 : p = 4) : False := by", "rw [h2] at h\n  norm_num at h")
    assert accepted("theorem t (f : ℝ → ℝ) (h₀ : ∀ x, f x = 2 * x + 1) : f 3 = 7 := by", "simp_all")
    assert not accepted("theorem t (f : ℝ → ℝ) (h₀ : ∀ x, f x = 2 * x + 1) : f 3 = 8 := by", "simp_all")
    assert accepted("theorem t (x : ℤ) (h2 : x ≠ 3) (h : x = 3) : x = 4 := by", "simp_all")
    assert accepted("theorem t (x y : ℕ) (h₀ : x = 2) (h₁ : y = 3) : x + y = 5 := by", "norm_num [h₀, h₁] at *")
    assert accepted("theorem t (x y : ℕ) (h₀ : x = 2) (h₁ : y = 3) : x + y = 5 := by", "simp [*]")
    assert not accepted("theorem t (x y : ℕ) (h₀ : x = 2) (h₁ : y = 3) : x + y = 6 := by", "simp [*]")
    s = "theorem t (x y : ℝ) (h : x = 2) (h2 : y = x + 1) : y = 3 := by"
    assert state_after(s, "simp [h] at h2") == "x y : ℝ\nh : x = 2\nh2 : y = 3\n⊢ y = 3"
    assert accepted(s, "simp_all")
    # a shadowed hypothesis talks about the old x: simp_all cannot use it for the new one
    assert not accepted("theorem t (x : ℝ) (h : x = 1) : ∀ x : ℝ, x = 1 := by", "intro x\n  simp_all")


def test_known_false_leaves_are_rejected():
    for stmt in ("theorem sum_leaf : ∑ i in Finset.range 3, (i - 1) = (0 : ℤ) := by",
                 "theorem abs_leaf : |(7 : ℤ) / 2| = (7 / 2 : ℝ) := by"):
        for tac in ("norm_num", "simp", "simp_all", "norm_num [abs_of_nonneg]", "decide"):
            try:
                ok = accepted(stmt, tac)
            except KernelError:
                ok = False
            assert not ok, (stmt, tac)
