"""Tactics with Lean's names, structure and messages (whole proofs through the checker)."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("emb_helpers", Path(__file__).with_name("helpers.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)
accepted, errors_of = helpers.accepted, helpers.errors_of

LIN = "theorem t (x y : ℝ) (h₀ : x + y = 10) (h₁ : x - y = 2) : x = 6 := by"


def test_linarith_proves_linear_goals_and_fails_with_lean_message():
    assert accepted(LIN, "linarith")
    errs = errors_of(LIN.replace("x = 6", "x = 7"), "linarith")
    assert errs and errs[0].startswith("linarith failed")


def test_linarith_treats_nonlinear_terms_as_atoms_but_nlinarith_multiplies():
    s = "theorem t (a b : ℝ) : 2 * a * b ≤ a ^ 2 + b ^ 2 := by"
    assert not accepted(s, "linarith")
    assert accepted(s, "nlinarith [sq_nonneg (a - b)]")
    assert accepted("theorem t (x : ℝ) (h : 0 < x) : 0 < x ^ 2 + x := by", "positivity")


def test_unknown_tactic_and_unsolved_goals_messages():
    assert errors_of(LIN, "frobnicate")[0].startswith("unknown tactic")
    errs = errors_of("theorem t (p q : ℕ) (h : p = q) : p = q ∧ q = p := by", "constructor\n  · exact h")
    assert errs and errs[0].startswith("unsolved goals\ncase right")


def test_structure_focus_have_cases_and_combinators():
    s = "theorem t (x y : ℝ) (h : 0 < x ∧ 0 < y) : 0 < x * y ∧ 0 < x + y := by"
    assert accepted(s, "obtain ⟨hx, hy⟩ := h\n  constructor\n  · exact mul_pos hx hy\n  · linarith")
    assert accepted(s, "cases' h with hx hy\n  have hxy : 0 < x * y := by positivity\n  exact ⟨hxy, by linarith⟩")
    assert accepted(s, "constructor <;> nlinarith [h.1, h.2]")
    assert accepted(s, "refine ⟨?_, ?_⟩\n  all_goals nlinarith [h.1, h.2]")
    # a failing nested `have ... := by` is an error even though the proof continues (Lean's recovery)
    assert not accepted(s, "have bad : x < 0 := by linarith\n  constructor <;> nlinarith [h.1, h.2]")


def test_nat_semantics_in_tactics():
    assert not accepted("theorem t (a b : ℕ) : a - b + b = a := by", "omega")
    assert accepted("theorem t (a b : ℕ) (h : b ≤ a) : a - b + b = a := by", "omega")
    assert not accepted("theorem t (a b : ℕ) : a - b + b = a := by", "ring")
    assert accepted("theorem t (n : ℕ) (h₀ : n % 7 = 5) : 5 * n % 7 = 4 := by", "omega")
    assert accepted("theorem t : (29 ^ 13 - 5 ^ 13) % 7 = 3 := by", "norm_num")
    assert not accepted("theorem t : (29 ^ 13 - 5 ^ 13) % 7 = 2 := by", "norm_num")


def test_rw_simp_calc_and_lemmas():
    assert accepted("theorem t (a b : ℝ) (h : a = 2 * b) (hb : b = 3) : a = 6 := by", "rw [h, hb]\n  norm_num")
    assert accepted("theorem t (f : ℝ → ℝ) (h₀ : ∀ x, f x = 2 * x + 1) : f 3 = 7 := by", "simp_all")
    assert accepted("theorem t (a b : ℝ) (h : a = b + 1) : a > b := by",
                    "calc\n    a = b + 1 := h\n    _ > b := by linarith")
    assert accepted("theorem t (x : ℝ) (hx : x ≠ 0) (h : 3 / x = 1) : x = 3 := by", "field_simp at h\n  linarith")
    assert not accepted("theorem t (x : ℝ) (h : 3 / x = 1) : x = 3 := by", "field_simp at h\n  linarith")
    assert accepted("theorem t (x : ℤ) (h : 2 ≤ x ∧ x ≤ 4) (h2 : x ≠ 3) (h3 : x ≠ 2) : x = 4 := by",
                    "interval_cases x <;> simp_all")


def test_ring_and_decide():
    assert accepted("theorem t (a b : ℝ) : (a + b) ^ 2 = a ^ 2 + 2 * a * b + b ^ 2 := by", "ring")
    assert not accepted("theorem t (a b : ℝ) : (a + b) ^ 2 = a ^ 2 + b ^ 2 := by", "ring")
    assert accepted("theorem t : 2004 % 12 = 0 := by", "decide")
    assert not accepted("theorem t : 2004 % 12 = 1 := by", "decide")


def test_prime_predicate_is_decided_on_literals_only():
    assert accepted("theorem t : Nat.Prime 97 := by", "norm_num")
    assert not accepted("theorem t : Nat.Prime 91 := by", "norm_num")
    assert not accepted("theorem t (p : ℕ) (h : Nat.Prime p) : p ≥ 3 := by", "omega")
    assert accepted("theorem t (p : ℕ) (h : Nat.Prime p) (h2 : p = 4) : False := by", "subst h2\n  norm_num at h")


def test_sorry_is_never_a_proof():
    assert not accepted(LIN, "sorry")
    assert not accepted(LIN, "have h : x = 6 := by sorry\n  exact h")


def test_cast_tactics_use_only_cast_identities():
    assert accepted("theorem t (a b : ℕ) (h : (a : ℝ) + 1 = b) : a + 1 = b := by", "exact_mod_cast h")
    # Mathlib's `norm_cast` is `norm_cast0 <;> try trivial`: the normalised h closes the goal itself
    assert accepted("theorem t (a b : ℕ) (h : (a : ℝ) < b) : a < b := by", "norm_cast at h")
    assert not accepted("theorem t (a b : ℕ) (h : (a : ℝ) < b) : a < b := by", "norm_cast at h\n  exact h")
    assert accepted("theorem t (a b : ℤ) (h : (a : ℝ) - b = 1) : a - b = 1 := by", "exact_mod_cast h")
    # ℕ subtraction does not commute with the cast: `↑a - ↑b = 1` is not `a - b = 1` syntactically
    assert not accepted("theorem t (a b : ℕ) (h : (a : ℝ) - b = 1) : a - b = 1 := by", "exact_mod_cast h")
    assert not accepted("theorem t (a : ℤ) (h : (a : ℝ) = 1 / 2) : False := by", "norm_cast at h")


def test_induction_sum_lemmas_and_tauto():
    s = "theorem t (n : ℕ) : ∑ k ∈ Finset.range n, (2 * k + 1) = n ^ 2 := by"
    proof = "induction n with\n  | zero => simp\n  | succ m ih =>\n    rw [Finset.sum_range_succ, ih]\n    ring"
    assert accepted(s, proof)
    assert accepted(s, "induction' n with m ih\n  · simp\n  · rw [Finset.sum_range_succ, ih]\n    ring")
    assert not accepted(s.replace("= n ^ 2", "= n ^ 2 + 1"), proof)
    assert accepted("theorem t : ∑ k ∈ Finset.range 4, (k + 1) = 10 := by", "simp [Finset.sum_range_succ]")
    assert accepted("theorem t (x y : ℝ) (h : x < 1 ∨ y < 1) (h2 : ¬x < 1) : y < 1 := by", "tauto")
    assert not accepted("theorem t (x y : ℝ) (h : x < 1 ∨ y < 1) : y < 1 := by", "tauto")


def test_aesop_stand_in_and_contrapose():
    assert accepted("theorem t (f : ℝ → ℝ) (h : ∀ x, f x = 2 * x) : f 1 = 2 ∧ f 2 = 4 := by", "aesop")
    assert not accepted("theorem t (f : ℝ → ℝ) (h : ∀ x, f x = 2 * x) : f 1 = 2 ∧ f 2 = 5 := by", "aesop")
    assert accepted("theorem t (x : ℝ) (h : x ^ 2 < 1) : x < 1 := by", "contrapose! h\n  nlinarith")


def test_rename_i_names_the_shadowed_variable_in_every_hypothesis():
    s = "theorem t (x : ℕ) (h : x = 2) : ∀ y : ℕ, y = y → x = 2 := by"
    # `intro x` shadows the old x (now `x✝`, also inside h); rename_i gives it back a name
    assert accepted(s, "intro x\n  rename_i z\n  intro _\n  have hz : z = 2 := h\n  exact hz")
    assert not accepted(s, "intro x\n  rename_i z\n  intro _\n  have hz : x = 2 := h\n  exact hz")
    assert not accepted(s, "intro x\n  intro _\n  have hz : x = 2 := h\n  exact hz")


def test_at_clauses_rewrite_exactly_the_named_hypotheses():
    neg = "theorem t (x : ℝ) (h : ¬ x ≤ 1) : 1 < x := by"
    assert accepted(neg, "push_neg at h\n  exact h")
    assert not accepted(neg, "exact h")  # without the rewrite h is still a negation
    assert not accepted(neg.replace(": 1 < x", ": 2 < x"), "push_neg at h\n  exact h")
    cast = "theorem t (a b : ℕ) (h : ((a + b : ℕ) : ℝ) = 3) : (a : ℝ) + b = 3 := by"
    assert accepted(cast, "push_cast at h\n  exact h")
    assert not accepted(cast.replace("+ b = 3", "+ b = 4"), "push_cast at h\n  exact h")


def test_parenthesised_tactics_around_then_all_are_read_as_lean_reads_them():
    s = "theorem paren_then (x : ℝ) (h : x = 2) : x + 1 = 3 ∧ x * 2 = 4 := by"
    assert accepted(s, "(constructor) <;> (linarith)")
    assert accepted(s, "(constructor <;> linarith)")
    # `(a)(b)` is not one parenthesised block: it must not run as `a)(b`.
    assert not accepted(s, "(constructor)(linarith)")
    wrong = "theorem paren_then_false (x : ℝ) (h : x = 2) : x + 1 = 3 ∧ x * 2 = 5 := by"
    assert not accepted(wrong, "(constructor) <;> (linarith)")
