"""Structured and cast tactics through the trusted core: calc (the `trans` rule), suffices,
congr (typed: issue 13's `congr_types` is rejected), tauto, induction, contrapose, the cast
tactics (each cast step a `normalize` step). Proofs use only tactics the core checks."""
import importlib.util
import time
from pathlib import Path

import pytest

from lean_env.embedded.core.check import Proof, check
from lean_env.embedded.core.rules import premises
from lean_env.embedded.core.sequent import CoreError, Decl, Sequent
from lean_env.embedded.core.term import FVar, Rel

_spec = importlib.util.spec_from_file_location("emb_helpers", Path(__file__).with_name("helpers.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)
accepted, errors_of = helpers.accepted, helpers.errors_of


# -- the core's `trans` rule ------------------------------------------------------------------
A, B, C = FVar(1, "ℝ", "a"), FVar(2, "ℝ", "b"), FVar(3, "ℝ", "c")
N = FVar(4, "ℕ", "n")


def seq(target, *hyps):
    decls = [Decl(v.uid, v.name, v.ty, True) for v in (A, B, C, N)]
    decls += [Decl(10 + i, f"h{i}", p, False) for i, p in enumerate(hyps)]
    return Sequent(tuple(decls), target)


def test_trans_composes_exactly_the_lemma_table():
    s = seq(Rel("<", A, C))
    assert premises(s, "trans", (B, "≤", "<")) == [s.with_target(Rel("≤", A, B)), s.with_target(Rel("<", B, C))]
    assert len(premises(s, "trans", (B, "=", "<"))) == 2
    for bad in ((B, "≤", "≤"), (B, "<", ">"), (B, "≠", "≠"), (B, "≠", "<")):
        with pytest.raises(CoreError):
            premises(s, "trans", bad)  # ≤ ≤ gives ≤ (no strengthening); < > and ≠ ≠ compose to nothing
    with pytest.raises(CoreError):
        premises(seq(Rel("≤", A, C)), "trans", (B, "<", "<"))  # no weakening either: Lean's calc needs `<`
    with pytest.raises(CoreError):
        premises(s, "trans", (N, "=", "<"))  # the middle term must have the sides' type
    with pytest.raises(CoreError):
        premises(s, "trans", (FVar(99, "ℝ", "z"), "=", "<"))  # … and be a term of the context
    ne = seq(Rel("≠", A, C))
    assert len(premises(ne, "trans", (B, "=", "≠"))) == 2


def test_trans_proof_checks_and_a_wrong_one_does_not():
    s = seq(Rel("<", A, C), Rel("≤", A, B), Rel("<", B, C))
    good = Proof("trans", (B, "≤", "<"), (Proof("hyp", (10,)), Proof("hyp", (11,))))
    assert check(s, good).complete
    swapped = Proof("trans", (B, "≤", "<"), (Proof("hyp", (11,)), Proof("hyp", (10,))))
    with pytest.raises(CoreError):
        check(s, swapped)


# -- calc / suffices -------------------------------------------------------------------------
def test_calc_chains_through_the_core():
    s = "theorem t (a b c d : ℝ) (h1 : a ≤ b) (h2 : b < c) (h3 : c = d) : a < d := by"
    assert accepted(s, "calc a ≤ b := h1\n    _ < c := by assumption\n    _ = d := h3")
    # the chain proves `a < d`; a goal that differs only by notation is accepted (defeq)
    assert accepted(s.replace(": a < d", ": d > a"), "calc a ≤ b := h1\n    _ < c := h2\n    _ = d := h3")
    # the composed relation must be the goal's: `<` does not prove `≤`, and no step proof may be wrong
    assert not accepted(s.replace(": a < d", ": a ≤ d"), "calc a ≤ b := h1\n    _ < c := h2\n    _ = d := h3")
    assert not accepted(s, "calc a ≤ b := h1\n    _ < c := h1\n    _ = d := h3")
    assert not accepted(s, "calc a ≤ b := h1\n    _ < c := by exfalso\n    _ = d := h3")
    errs = errors_of(s, "calc a ≤ b := h1\n    c < d := h2")
    assert errs and errs[0].startswith("invalid 'calc' step, left-hand side is")


def test_suffices_cuts_through_the_core():
    s = "theorem t (x y : ℝ) (h : x < y) : x < y := by"
    assert accepted(s, "suffices h2 : x < y by assumption\n  assumption")
    assert accepted(s, "suffices h2 : x < y from h2\n  assumption")
    assert not accepted(s, "suffices h2 : y < x from h2\n  assumption")
    errs = errors_of("theorem t (x y : ℝ) (h : x < y) : x < 3 := by", "suffices h2 : y ≤ 3")
    assert errs and "h2 : y ≤ 3" in errs[0] and errs[0].rstrip().endswith("⊢ y ≤ 3")


# -- congr -----------------------------------------------------------------------------------
def test_congr_types_is_rejected():
    """Issue 13, example 4: Lean's `congr` cannot identify ↑(a - b : ℕ) with ↑(↑a - ↑b : ℤ)
    (a = 0, b = 1 makes the statement false)."""
    s = "theorem congr_types (a b : ℕ) : ((a - b : ℕ) : ℝ) = (((a : ℤ) - b : ℤ) : ℝ) := by"
    assert not accepted(s, "congr; congr; all_goals omega")
    assert not accepted(s, "congr")
    assert not accepted(s, "congr 1\n  all_goals omega")
    errs = errors_of(s, "congr")
    assert errs and errs[0].startswith("congr failed")


def test_congr_splits_same_type_arguments_and_closes_by_rfl_and_assumption():
    s = "theorem t (a b : ℕ) (h : a = b) : ((a + 1 : ℕ) : ℝ) = ((b + 1 : ℕ) : ℝ) := by"
    assert accepted(s, "congr")
    errs = errors_of("theorem t (x y : ℝ) (h : x = y) : x + 2 * y = y + 2 * x := by", "congr")
    assert errs == ["unsolved goals\nx y : ℝ\nh : x = y\n⊢ y = x"]
    errs = errors_of("theorem t (x y : ℝ) (h : x = y) : (x + 1) * 2 = (y + 1) * 2 := by", "congr 1")
    assert errs == ["unsolved goals\nx y : ℝ\nh : x = y\n⊢ x + 1 = y + 1"]


# -- tauto -----------------------------------------------------------------------------------
def test_tauto_is_classical_propositional_logic_over_atoms_up_to_notation():
    assert accepted("theorem t (x y : ℝ) (h : x < 1 ∨ y < 1) (h2 : ¬x < 1) : y < 1 := by", "tauto")
    assert accepted("theorem t (x y : ℝ) (h : x < 1 ∨ y < 1) (h2 : ¬ (1 > x)) : y < 1 := by", "tauto")
    assert not accepted("theorem t (x y : ℝ) (h : x < 1 ∨ y < 1) : y < 1 := by", "tauto")
    # `1 ≤ x` is not the atom `¬x < 1` (that needs arithmetic, not propositional logic)
    assert not accepted("theorem t (x y : ℝ) (h : x < 1 ∨ y < 1) (h2 : 1 ≤ x) : y < 1 := by", "tauto")
    assert accepted("theorem t (p q : ℝ) : (p < q → q < p) → ¬ (q < p) → ¬ (p < q) := by", "tauto")
    assert accepted("theorem t (p q : ℝ) : (p < q ↔ q < p) → (q < p ↔ p < q) := by", "tauto")
    assert accepted("theorem t (p q : ℝ) : (p < q ∧ q ≠ p) ∨ ¬ (p < q) ∨ q = p := by", "tauto")
    assert not accepted("theorem t (p q : ℝ) : (p < q ∧ q ≠ p) ∨ ¬ (p < q) := by", "tauto")
    assert accepted("theorem t (x : ℝ) : ∀ y : ℝ, x = y → x = y := by", "tauto")
    assert accepted("theorem t (x : ℝ) : x = x ∨ x < 0 := by", "tauto")


def test_tauto_stays_within_bounds():
    atoms = [f"x{i} < {i}" for i in range(12)]
    hyp = " ∨ ".join(atoms)
    s = f"theorem t (x0 x1 x2 x3 x4 x5 x6 x7 x8 x9 x10 x11 : ℝ) (h : {hyp}) : x0 < 0 := by"
    t = time.monotonic()
    assert not accepted(s, "tauto")
    chain = " → ".join(atoms) + " → " + " ∧ ".join(atoms)
    good = f"theorem t (x0 x1 x2 x3 x4 x5 x6 x7 x8 x9 x10 x11 : ℝ) : {chain} := by"
    assert accepted(good, "tauto")
    assert time.monotonic() - t < 8


# -- induction -------------------------------------------------------------------------------
def test_induction_reverts_and_reintroduces_dependent_hypotheses():
    s = "theorem t (n m : ℕ) (h : m < n) (h2 : 0 < m) : 0 < n := by"
    errs = errors_of(s, "induction' n with k ih")
    assert errs == [("unsolved goals\ncase zero\nm : ℕ\nh2 : 0 < m\nh : m < 0\n⊢ 0 < 0\n\n"
                     "case succ\nm : ℕ\nh2 : 0 < m\nk : ℕ\nih : m < k → 0 < k\nh : m < k + 1\n⊢ 0 < k + 1")]
    s2 = "theorem t (n : ℕ) (h : 0 < n) : 0 < n := by"
    assert accepted(s2, "induction n <;> assumption")
    assert accepted(s2, "induction n with\n  | zero => assumption\n  | succ k ih => assumption")
    assert not accepted(s2, "induction' n with k ih\n  · assumption\n  · exact ih")
    assert not accepted(s2.replace(": 0 < n :=", ": 1 < n :="), "induction n <;> assumption")


# -- contrapose ------------------------------------------------------------------------------
def test_contrapose_through_the_core():
    s = "theorem t (x : ℝ) (h : x ^ 2 < 1) (h3 : 0 < x) : x < 1 := by"
    assert errors_of(s, "contrapose h") == ["unsolved goals\nx : ℝ\nh3 : 0 < x\nh : ¬x < 1\n⊢ ¬x ^ 2 < 1"]
    assert errors_of("theorem t (x : ℝ) : x ^ 2 < 1 → x < 1 := by", "contrapose") == \
        ["unsolved goals\nx : ℝ\n⊢ ¬x < 1 → ¬x ^ 2 < 1"]
    assert accepted("theorem t (x : ℝ) (h : x < 1) : x < 1 := by", "contrapose h\n  assumption")
    assert not accepted("theorem t (x : ℝ) (h : x < 1) : x < 2 := by", "contrapose h\n  assumption")


# -- casts -----------------------------------------------------------------------------------
def test_cast_tactics_are_normalize_steps():
    assert accepted("theorem t (a b : ℕ) (h : (a : ℝ) + 1 = b) : a + 1 = b := by", "exact_mod_cast h")
    assert accepted("theorem t (a b : ℕ) (h : a + b = 3) : (a : ℝ) + b = 3 := by", "exact_mod_cast h")
    assert accepted("theorem t (a b : ℤ) (h : (a : ℝ) - b = 1) : a - b = 1 := by", "exact_mod_cast h")
    assert accepted("theorem t (a b : ℕ) (h : (a : ℝ) + 1 = b) : a + 1 = b := by", "assumption_mod_cast")
    assert accepted("theorem t (a b : ℕ) (h : (a : ℝ) < b) : a < b := by", "norm_cast at h")
    cast = "theorem t (a b : ℕ) (h : ((a + b : ℕ) : ℝ) = 3) : (a : ℝ) + b = 3 := by"
    assert accepted(cast, "push_cast at h\n  assumption")
    assert not accepted(cast.replace("+ b = 3", "+ b = 4"), "push_cast at h\n  assumption")
    assert accepted("theorem t (a b : ℕ) (h : (a : ℝ) + b = 3) : ((a + b : ℕ) : ℝ) = 3 := by", "push_cast\n  assumption")


def test_truncated_subtraction_and_division_never_pass_a_cast():
    sub = "theorem t (a b : ℕ) (h : (a : ℝ) - b = 3) : ((a - b : ℕ) : ℝ) = 3 := by"
    div = "theorem t (a b : ℕ) (h : (a : ℝ) / b = 3) : ((a / b : ℕ) : ℝ) = 3 := by"
    for s in (sub, div):
        for proof in ("push_cast\n  assumption", "exact_mod_cast h", "assumption_mod_cast", "norm_cast",
                      "norm_cast at h ⊢"):
            assert not accepted(s, proof), (s, proof)
    assert not accepted("theorem t (a b : ℕ) (h : (a : ℝ) - b = 1) : a - b = 1 := by", "exact_mod_cast h")
    assert not accepted("theorem t (a : ℤ) (h : (a : ℝ) = 1 / 2) : False := by", "norm_cast at h")
    idiv = "theorem t (a b : ℤ) (h : (a : ℝ) / b = 3) : ((a / b : ℤ) : ℝ) = 3 := by"
    assert not accepted(idiv, "exact_mod_cast h")
    assert not accepted(idiv, "push_cast\n  assumption")
