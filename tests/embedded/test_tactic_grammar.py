"""Text after a tactic that Lean's parser rejects fails here too, even where the tactic would
otherwise close the goal (a model writes `nlinarith [h₀] at h₁`; Lean cannot read that proof)."""
import importlib.util
from pathlib import Path

import pytest

from lean_env.embedded.tactics.engine import REGISTRY
from lean_env.embedded.tactics.grammar import ARGUMENT_SHAPES, check_arguments

_spec = importlib.util.spec_from_file_location("emb_helpers", Path(__file__).with_name("helpers.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)
accepted, errors_of = helpers.accepted, helpers.errors_of

EASY = "theorem t (x : ℝ) (h₀ : x = 2) (h₁ : x + 1 = 3) : x = 2 := by"


@pytest.mark.parametrize("proof", [
    "nlinarith [h₀] at h₁", "linarith foo bar", "linarith 37", "assumption h₀", "tauto [h₀]",
    "simp_all [h₀] at h₁", "simpa [h₀] at h₁", "trivial now", "aesop foo", "linarith! only [h₀] extra",
])
def test_junk_after_a_tactic_that_would_close_the_goal_is_a_syntax_error(proof):
    errors = errors_of(EASY, proof)
    assert errors and "Lean's parser rejects it" in errors[0], errors


@pytest.mark.parametrize("statement, proof", [
    (EASY, "linarith"), (EASY, "linarith only [h₀]"), (EASY, "nlinarith [h₀,\n    sq_nonneg x]"),
    (EASY, "linarith -- a comment"), (EASY, "assumption"), (EASY, "simpa using h₀"), (EASY, "simp_all"),
    (EASY, "rwa [h₀] at h₁"), ("theorem t (x : ℝ) (h : x = 1) : x + x = 2 := by", "ring_nf\n  linarith"),
    ("theorem t (x y : ℝ) (h₀ : x + 0 = 2) (h₁ : y = x) : y = 2 := by", "norm_num at h₀\n  linarith"),
    ("theorem t (x y : ℝ) (h₀ : x + 0 = 2) (h₁ : y = x) : y = 2 := by", "simp only [add_zero] at h₀\n  linarith"),
    ("theorem t (a b : ℝ) : a ^ 2 + b ^ 2 ≥ 2 * a * b := by", "nlinarith [sq_nonneg (a - b)] -- hint"),
])
def test_the_forms_lean_accepts_still_check(statement, proof):
    assert accepted(statement, proof), errors_of(statement, proof)


def test_every_listed_tactic_exists_and_unlisted_ones_parse_their_own_arguments():
    assert set(ARGUMENT_SHAPES) <= set(REGISTRY)
    assert check_arguments("norm_num", " [h₀] at h₁ ⊢") is None and check_arguments("norm_num", " foo") is not None
    assert check_arguments("rw", " anything") is None  # rw reads its rewrite list itself
