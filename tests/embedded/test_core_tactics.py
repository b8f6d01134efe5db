"""Structural tactics and proof terms on the trusted core (issue 13): locals are identified by
unique ids, never by names; shadowing shows Lean's `x✝`; `clear` checks dependencies."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("emb_helpers", Path(__file__).with_name("helpers.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)
accepted, errors_of = helpers.accepted, helpers.errors_of


def goal_after(statement: str, proof: str) -> str:
    """The goal left by `proof` (as Lean prints it in its `unsolved goals` error)."""
    errs = errors_of(statement, proof)
    assert errs and errs[0].startswith("unsolved goals\n"), errs
    return errs[0][len("unsolved goals\n"):]


U1 = "theorem u1_false : False := by"
U1_PROOF = ("obtain ⟨z, hz⟩ : ∃ z : ℕ, z = 0 := ⟨0, by norm_num⟩\n  clear z\n"
            "  obtain ⟨z, hz'⟩ : ∃ z : ℕ, z = 1 := ⟨1, by norm_num⟩\n  exfalso\n  omega")


def test_issue_example_1_clear_of_a_used_local_is_rejected():
    assert not accepted(U1, U1_PROOF)
    errs = errors_of(U1, U1_PROOF)
    assert errs[0] == "tactic 'clear' failed, variable 'hz' depends on 'z'\nz : ℕ\nhz : z = 0\n⊢ False"
    assert errors_of("theorem t (x : ℕ) (h : x = 1) : x = 1 := by", "clear x")[0].startswith(
        "tactic 'clear' failed, variable 'h' depends on 'x'")
    assert errors_of("theorem t (x : ℕ) : x = 1 := by", "clear x")[0].startswith(
        "tactic 'clear' failed, target depends on 'x'")
    # clearing in a valid order works (Lean clears the later local first)
    assert goal_after("theorem t (x : ℕ) (h : x = 1) : 1 = 1 := by", "clear x h") == "⊢ 1 = 1"


def test_a_new_local_never_captures_an_old_one():
    # without the clear: the second z shadows the first; hz still speaks of the old one
    proof = ("obtain ⟨z, hz⟩ : ∃ z : ℕ, z = 0 := ⟨0, by norm_num⟩\n"
             "  obtain ⟨z, hz'⟩ : ∃ z : ℕ, z = 1 := ⟨1, by norm_num⟩\n  exfalso")
    assert goal_after(U1, proof) == "z✝ : ℕ\nhz : z✝ = 0\nz : ℕ\nhz' : z = 1\n⊢ False"
    assert not accepted(U1, proof + "\n  omega")
    assert not accepted(U1, proof + "\n  linarith")
    assert not accepted(U1, proof + "\n  simp_all")


def test_intro_shadowing():
    s = "theorem t (x : ℕ) (h : x = 2) : ∀ x : ℕ, x = 2 := by"
    assert goal_after(s, "intro x") == "x✝ : ℕ\nh : x✝ = 2\nx : ℕ\n⊢ x = 2"
    assert goal_after(s, "intro") == "x : ℕ\nh : x = 2\nx✝ : ℕ\n⊢ x✝ = 2"
    for tac in ("exact h", "assumption", "omega", "linarith", "simp_all", "rw [h]"):
        assert not accepted(s, "intro x\n  " + tac), tac
    # rename_i names the inaccessible local: it is the old x, in every hypothesis
    assert goal_after(s, "intro x\n  rename_i z") == "z : ℕ\nh : z = 2\nx : ℕ\n⊢ x = 2"
    assert not accepted(s, "intro x\n  rename_i z\n  exact h")


def test_have_shadowing():
    s = "theorem t (x : ℕ) (h : x = 2) : x = 2 := by"
    assert goal_after(s, "have h : x + 0 = 2 := by omega") == "x : ℕ\nh✝ : x = 2\nh : x + 0 = 2\n⊢ x = 2"
    assert accepted(s, "have h : x + 0 = 2 := by omega\n  omega")
    assert not accepted(s.replace(": x = 2 := by", ": x = 3 := by"), "have h : x + 0 = 2 := by omega\n  omega")
    assert goal_after(s, "replace h : x + 0 = 2 := by omega") == "x : ℕ\nh : x + 0 = 2\n⊢ x = 2"
    # `have x` over a variable: the hypothesis named x does not capture the variable
    assert goal_after(s, "have x : 1 = 1 := rfl") == "x✝ : ℕ\nh : x✝ = 2\nx : 1 = 1\n⊢ x✝ = 2"


def test_obtain_and_rcases_shadowing():
    s = "theorem t (x : ℕ) (h2 : ∃ x : ℕ, x = 2) : x = 2 := by"
    assert goal_after(s, "obtain ⟨x, hx⟩ := h2") == "x✝ x : ℕ\nhx : x = 2\n⊢ x✝ = 2"
    assert goal_after(s, "rcases h2 with ⟨x, hx⟩") == "x✝ x : ℕ\nhx : x = 2\n⊢ x✝ = 2"
    assert goal_after(s, "obtain ⟨_, hx⟩ := h2") == "x w✝ : ℕ\nhx : w✝ = 2\n⊢ x = 2"
    for proof in ("obtain ⟨x, hx⟩ := h2\n  exact hx", "rcases h2 with ⟨x, hx⟩\n  omega",
                  "obtain ⟨x, rfl⟩ := h2\n  rfl", "cases' h2 with x hx\n  linarith"):
        assert not accepted(s, proof), proof
    assert accepted(s.replace(": x = 2 := by", ": ∃ y : ℕ, y = 2 := by"), "obtain ⟨x, hx⟩ := h2\n  exact ⟨x, hx⟩")


def test_statement_binders_shadowing():
    # was a hole: the statement's goal was built by renaming the target's `x` to the older `x✝`
    s = "theorem t (x : ℕ) (h : x = 1) (x : ℕ) : x = 1 := by"
    assert goal_after(s, "intros") == "x✝ : ℕ\nh : x✝ = 1\nx : ℕ\n⊢ x = 1"
    assert not accepted(s, "exact h")


def test_statement_binder_shadowed_by_a_quantifier():
    s = "theorem t (x : ℕ) (h : x = 1) : ∀ x : ℕ, x = 1 := by"
    for proof in ("exact fun x => h", "intro y\n  exact h", "exact h"):
        assert not accepted(s, proof), proof
    assert accepted("theorem t (x : ℕ) (h : x = 1) : ∀ y : ℕ, x = 1 := by", "exact fun y => h")


def test_proof_terms_compile_into_core_steps():
    s = "theorem t (x y : ℝ) (h : 0 < x ∧ 0 < y) : 0 < x * y ∧ 0 < x + y := by"
    assert accepted(s, "exact ⟨mul_pos h.1 h.2, add_pos h.1 h.2⟩") or accepted(
        s, "obtain ⟨hx, hy⟩ := h\n  exact ⟨mul_pos hx hy, add_pos hx hy⟩")
    assert not accepted(s, "obtain ⟨hx, hy⟩ := h\n  exact ⟨mul_pos hx hy, add_pos hx hx⟩")
    assert accepted("theorem t (a b : ℝ) (h : a < b) : b ≠ a := by", "exact h.ne'")
    assert not accepted("theorem t (a b : ℝ) (h : a < b) : a ≠ b := by", "exact h.ne'")
    assert accepted("theorem t (a : ℝ) (h : |a| ≤ 3) : a ≤ 3 := by", "exact (abs_le.mp h).2")
    assert not accepted("theorem t (a : ℝ) (h : |a| ≤ 3) : a ≤ 2 := by", "exact (abs_le.mp h).2")
    assert accepted("theorem t : ∃ n : ℕ, n + 1 = 3 := by", "exact ⟨2, by norm_num⟩")
    assert not accepted("theorem t : ∃ n : ℕ, n + 1 = 3 := by", "exact ⟨3, by norm_num⟩")
    assert accepted("theorem t (f : ℝ → ℝ) (h : ∀ x, f x = 2) : f 3 = 2 := by", "specialize h 3\n  exact h")
    assert accepted("theorem t (x : ℝ) : x > 0 → x ≥ 0 := by", "exact fun hx => le_of_lt hx")
    assert accepted("theorem t (x : ℝ) (hx : 0 < x) : 0 ≤ x := by", "apply le_of_lt\n  exact hx")
    # term-mode proofs go through the core too
    assert accepted("theorem t (a : ℝ) (h : 0 < a) : 0 < a * a := by", "exact mul_pos h h")
    res = helpers.check_command(helpers.HEADER + "\ntheorem t (a : ℝ) (h : 0 < a) : 0 < a * a := mul_pos h h",
                                allow_imports=True, env_lemmas={})
    assert not [m for m in res.messages if m.severity == "error"]
    res = helpers.check_command(helpers.HEADER + "\ntheorem t (a : ℝ) (h : 0 < a) : 0 < a + a := mul_pos h h",
                                allow_imports=True, env_lemmas={})
    assert [m for m in res.messages if m.severity == "error"]


def test_subst_follows_lean_direction():
    s = "theorem t (a b : ℕ) (hab : a = b) (h : 0 < a) : 0 < b := by"
    assert goal_after(s, "subst hab") == "a : ℕ\nh : 0 < a\n⊢ 0 < a"  # b := a
    assert goal_after(s, "subst a") == "b : ℕ\nh : 0 < b\n⊢ 0 < b"
    assert accepted(s, "subst hab\n  exact h")
