"""Existential goals: the hammer proposes witnesses solved from the goal, then small values, and
the searches prove such theorems on the embedded kernel (which checks every witness)."""
import pytest

from lean_env import Theorem, open_env
from search import SearchBudget, prove
from search.policy import HammerPolicy, hammer_tactics
from search.witnesses import parse_polynomial, render, split_exists, witness_tactics

HEADER = "import Mathlib\n"


@pytest.mark.parametrize("target, statement, solved", [
    ("∃ n, n + 2 = 5", "theorem e : ∃ n : ℕ, n + 2 = 5 := by", ["use 3"]),
    ("∃ x, 2 * x = 3", "theorem e : ∃ x : ℝ, 2 * x = 3 := by", ["use 3 / 2"]),
    ("∃ x, x + 5 = 2", "theorem e : ∃ x : ℤ, x + 5 = 2 := by", ["use -3"]),
    ("∃ x, x + 5 = 2", "theorem e : ∃ x : ℕ, x + 5 = 2 := by", []),      # -3 is no natural number
    ("∃ x, 2 * x = 3", "theorem e : ∃ (x : ℤ), 2 * x = 3 := by", []),   # nor 3/2 an integer
    ("∃ x, 3 * x + 1 = 0", "", ["use -1 / 3"]),                         # type unknown: keep it
    ("∃ x y, x + y = 5 ∧ x - y = 1", "", ["use 3, 2"]),
    ("∃ x, ∃ y, (x + y = 5 ∧ (x - y = 1))", "", ["use 3, 2"]),
    ("∃ x y, y = 2", "", ["use 0, 2"]),                                 # x is free: 0
    ("∃ n, 0 < n ∧ n * 3 = 12", "", ["use 4"]),
    ("∃ x > 0, x + 1 = 3", "", ["use 2"]),
    ("∃ x, x = a + 1", "", ["use a + 1"]),
    ("∃ x, x ^ 2 - 5 * x + 6 = 0", "", ["use 2", "use 3"]),
    ("∃ x, x ^ 2 = 4 ∧ x < 0", "", ["use 2", "use -2"]),
    ("∃ x, x ^ 3 = 27", "", ["use 3"]),
    ("∃ x, (↑x : ℝ) / 2 = 1.5", "", ["use 3"]),
    ("∃ x, x ^ 2 = 2", "", []),              # irrational: no guess
    ("∃ x, f x = 2", "", []),                # not a polynomial
    ("∃ x y, x + y = 1 ∧ x + y = 2", "", []),  # inconsistent
    ("∃ x, 2 ^ 10 * x = 2", "", ["use 1 / 512"]),
    ("∃ x, ((a + b + c + d) ^ 8) ^ 8 = x", "", []),              # too big to expand: skipped
    ("∃ x, " + "(" * 3000 + "x" + ")" * 3000 + " = 1", "", []),  # too deep: skipped, no crash
])
def test_witnesses_solved_from_the_goal(target, statement, solved):
    assert witness_tactics(target, statement)[0] == solved


def test_small_values_follow_the_binder_type_and_skip_the_solved_ones():
    assert witness_tactics("∃ n, n + 2 = 5", "theorem e : ∃ n : ℕ, n + 2 = 5 := by")[1] == \
        ["use 0", "use 1", "use 2"]
    assert "use -1" in witness_tactics("∃ z, z * z = z", "theorem e : ∃ z : ℤ, z * z = z := by")[1]
    assert "use 1 / 2" in witness_tactics("∃ x, x < 1", "theorem e : ∃ x : ℝ, x < 1 := by")[1]
    assert witness_tactics("x = 2", "") == ([], [])
    assert witness_tactics("∃! x, x = 2", "") == ([], [])
    assert witness_tactics("∃ x✝, x✝ = 2", "") == ([], [])


def test_binders_and_polynomials_are_read_like_lean():
    assert split_exists("∃ (x : ℝ) (n : ℕ), x = n") == ([("x", "ℝ"), ("n", "ℕ")], "x = n")
    assert split_exists("∃ x y : ℤ, ∃ z, x = y + z") == ([("x", "ℤ"), ("y", "ℤ"), ("z", None)], "x = y + z")
    assert split_exists("∀ x, ∃ y, x = y") is None
    assert render(parse_polynomial("-x^2 + 3*x*y - 1/2")) == "-x ^ 2 + 3 * x * y - 1 / 2"
    assert render(parse_polynomial("(5 - b) / 2")) == "-b / 2 + 5 / 2"


def test_the_hammer_puts_solved_witnesses_first_and_guesses_after_norm_num():
    tactics = hammer_tactics("⊢ ∃ n, n + 2 = 5", "theorem e : ∃ n : ℕ, n + 2 = 5 := by")
    assert tactics[:5] == ["use 3", "norm_num", "use 0", "use 1", "use 2"]
    assert len(tactics) == len(set(tactics)) and "linarith" in tactics
    assert not any(t.startswith("use") for t in hammer_tactics("x : ℝ\n⊢ x ^ 2 ≥ 0"))


@pytest.fixture(scope="module")
def env():
    with open_env("embedded") as e:
        yield e


EXISTENTIALS = [
    ("theorem e : ∃ n : ℕ, n + 2 = 5 := by", "  use 3"),
    ("theorem e : ∃ x : ℤ, x + 5 = 2 := by", "  use -3"),
    ("theorem e : ∃ x : ℝ, 2 * x = 3 := by", "  use 3 / 2\n  norm_num"),
    ("theorem e : ∃ x : ℚ, 3 * x + 1 = 0 := by", "  use -1 / 3\n  norm_num"),
    ("theorem e : ∃ x y : ℝ, x + y = 5 ∧ x - y = 1 := by", "  use 3, 2\n  norm_num"),
    ("theorem e : ∃ n : ℕ, 0 < n ∧ n * 3 = 12 := by", "  use 4\n  norm_num"),
    ("theorem e : ∀ a : ℤ, ∃ b : ℤ, a + b = 0 := by", "  intro a\n  use -a\n  norm_num"),
]


@pytest.mark.parametrize("algorithm", ["best-first", "rmaxts"])
def test_the_hammer_proves_existentials_on_the_kernel(env, algorithm):
    budget = SearchBudget(max_expansions=32, time_limit_s=60.0, tactic_timeout_s=10.0)
    for statement, proof in EXISTENTIALS:
        theorem = Theorem("e", HEADER, statement)
        result = prove(theorem, env, HammerPolicy(), algorithm=algorithm, budget=budget)
        assert result.status == "proved" and result.proof == proof, (statement, result.error)
        assert result.stop_reason == "proved" and env.verify(theorem, result.proof).ok


@pytest.mark.parametrize("statement", [
    "theorem e : ∃ n : ℕ, n + 5 = 2 := by",       # the solution, -3, is not a natural number
    "theorem e : ∃ x : ℤ, 2 * x = 3 := by",       # nor is 3/2 an integer (and ℤ division floors)
    "theorem e : ∃ x : ℝ, x ^ 2 = -1 := by",
])
def test_false_existentials_end_with_no_candidates_left(env, statement):
    result = prove(Theorem("e", HEADER, statement), env, HammerPolicy(),
                   budget=SearchBudget(max_expansions=64, time_limit_s=60.0))
    assert result.status == "failed" and result.proof is None
    assert result.stop_reason == "no candidates left" and "tactics tried at" in result.error
