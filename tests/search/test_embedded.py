"""Both searches with the hammer policy on the embedded kernel (through the REPL client):
simple theorems are proved and re-verified, false variants of them are not."""

import pytest

from lean_env import Theorem, open_env
from search import SearchBudget, prove
from search.policy import HammerPolicy

HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n"

# (name, true statement, false variant); each true one has a short hammer proof.
CASES = [
    ("lin", "theorem lin (x : ℝ) (h₀ : x + 2 = 5) : x = 3 := by",
     "theorem lin (x : ℝ) (h₀ : x + 2 = 5) : x = 4 := by"),
    ("amgm", "theorem amgm (a b : ℝ) : a * b ≤ (a ^ 2 + b ^ 2) / 2 := by",
     "theorem amgm (a b : ℝ) : a * b ≤ (a ^ 2 + b ^ 2) / 4 := by"),
    ("modular", "theorem modular (n : ℕ) (h₀ : n % 5 = 3) : 2 * n % 5 = 1 := by",
     "theorem modular (n : ℕ) (h₀ : n % 5 = 3) : 2 * n % 5 = 2 := by"),
    ("numeral", "theorem numeral : (2 : ℕ) ^ 10 = 1024 := by",
     "theorem numeral : (2 : ℕ) ^ 10 = 1000 := by"),
    ("conj", "theorem conj (x y : ℝ) (h₀ : x = 2 * y) (h₁ : y = 3) : x = 6 ∧ y = 3 := by",
     "theorem conj (x y : ℝ) (h₀ : x = 2 * y) (h₁ : y = 3) : x = 7 ∧ y = 3 := by"),
    ("forall_sq", "theorem forall_sq : ∀ x : ℝ, x ^ 2 ≥ 0 := by",
     "theorem forall_sq : ∀ x : ℝ, x ^ 2 > 0 := by"),
    # needs two goals in turn: constructor, then one tactic per goal (first goal first)
    ("two_goals", "theorem two_goals (x : ℝ) (h₀ : 2 * x = 6) : x = 3 ∧ x ^ 2 = 9 := by",
     "theorem two_goals (x : ℝ) (h₀ : 2 * x = 6) : x = 3 ∧ x ^ 2 = 8 := by"),
]
ALGORITHMS = ["best-first", "rmaxts"]
BUDGET = SearchBudget(max_expansions=48, time_limit_s=60.0, max_env_calls=64, tactic_timeout_s=10.0)


@pytest.fixture(scope="module")
def env():
    with open_env("embedded") as e:
        yield e


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_hammer_proves_the_simple_theorems(env, algorithm):
    results = [prove(Theorem(name, HEADER, true), env, HammerPolicy(), algorithm=algorithm, budget=BUDGET)
               for name, true, _ in CASES]
    proved = {r.name: r for r in results if r.status == "proved"}
    assert set(proved) == {name for name, _, _ in CASES}, {r.name: (r.status, r.error, r.stop_reason) for r in results}
    for r in proved.values():
        assert r.backend == "embedded kernel" and r.proof
        assert r.tree.check_consistency() == []
        assert r.env_calls <= BUDGET.max_env_calls and r.expansions <= BUDGET.max_expansions
        # the reported proof checks again from scratch
        assert env.verify(Theorem(r.name, HEADER, dict((n, t) for n, t, _ in CASES)[r.name]), r.proof).ok
    two = proved["two_goals"]
    assert two.proof.startswith("  constructor\n") and len(two.proof.splitlines()) == 3
    assert any(d["num_goals"] == 2 for _, d in two.tree.graph.nodes(data=True))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_hammer_proves_nothing_false(env, algorithm):
    for name, _, false in CASES:
        result = prove(Theorem(name, HEADER, false), env, HammerPolicy(), algorithm=algorithm, budget=BUDGET)
        assert result.status == "failed" and result.proof is None, (name, result)
        assert result.env_calls <= BUDGET.max_env_calls and result.expansions <= BUDGET.max_expansions
        assert result.tree.check_consistency() == []


def test_tree_of_a_real_search_exports_and_reimports(env):
    from search.tree import ProofTree
    name, true, _ = CASES[4]
    result = prove(Theorem(name, HEADER, true), env, HammerPolicy(), budget=BUDGET)
    again = ProofTree.from_json(result.tree.to_json())
    assert again.to_json() == result.tree.to_json()
    assert again.proof_tactics() == result.tree.proof_tactics()


class AdversarialPolicy:
    """sorry, garbage, cheats, no-progress and heavy tactics, every time."""

    TACTICS = ["sorry", "admit", "exact (sorry : False).elim", "garbage (((", "native_decide", "repeat rfl",
               "repeat norm_num at h₀", "intro y", "exact?",
               "nlinarith [sq_nonneg (x - 1), sq_nonneg (x + 1), sq_nonneg (x * x - 3), sq_nonneg (x * x * x - 2)]",
               "theorem cheat : False := sorry", "decide"]

    async def propose(self, requests, k):
        from search.policy import Candidate
        return [[Candidate(t, -0.1 * i) for i, t in enumerate(self.TACTICS[:k])] for _ in requests]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_adversarial_policy_on_the_kernel_ends_failed_within_budget(env, algorithm):
    theorem = Theorem("lin", HEADER, CASES[0][2])  # the false variant
    budget = SearchBudget(max_expansions=12, time_limit_s=30.0, max_env_calls=30, tactic_timeout_s=0.05)
    result = prove(theorem, env, AdversarialPolicy(), algorithm=algorithm, budget=budget)
    assert result.status == "failed" and result.proof is None and result.stop_reason != "proved" and result.error
    assert result.env_calls <= 30 and result.expansions <= 12
    assert result.tree.check_consistency() == []
    outcomes = {f["outcome"] for _, d in result.tree.graph.nodes(data=True) for f in d["failures"]}
    assert "rejected" in outcomes  # the guard stopped sorry & co. before they reached the kernel
