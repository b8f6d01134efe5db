"""The arithmetic tactics on the trusted core: linarith / nlinarith / positivity produce
certificates the core checks; omega, decide, ring, ring_nf, field_simp and interval_cases go
through core rules; false goals are rejected; one nlinarith stays within the tactic limit."""
import importlib.util
import time
from pathlib import Path

import pytest

from lean_env.embedded import bridge
from lean_env.embedded.core.check import check
from lean_env.embedded.core.rules import premises
from lean_env.embedded.core.sequent import CoreError
from lean_env.embedded.statement import elaborate_theorem
from lean_env.embedded.tactics.engine import TACTIC_MODE_SECONDS, TacticContext, run_block

_spec = importlib.util.spec_from_file_location("emb_helpers", Path(__file__).with_name("helpers.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)
accepted, errors_of = helpers.accepted, helpers.errors_of



def run(stmt: str, proof: str):
    """Run `proof` on the statement's core goal; returns (ctx, root goal, remaining goals)."""
    goal = bridge.start_goal(elaborate_theorem(stmt).goal)
    ctx = TacticContext(proof)
    rest = run_block(ctx, 0, len(proof), (goal,))
    return ctx, goal, rest


def rules_used(stmt: str, proof: str) -> dict:
    ctx, goal, rest = run(stmt, proof)
    assert rest == ()
    report = check(bridge.sequent(goal), ctx.assign.proof(goal.handle))
    assert report.complete
    return dict(report.rules)


def test_linarith_produces_a_checked_certificate():
    used = rules_used("theorem t (x y : ℝ) (h₀ : x + y = 10) (h₁ : x - y = 2) : x = 6 := by", "linarith")
    assert used == {"le_antisymm": 1, "linarith": 2}
    assert rules_used("theorem t (x y : ℕ) (h : x < y) : x + 1 ≤ y := by", "linarith") == {"linarith": 1}
    assert rules_used("theorem t (a b : ℝ) (h : a < b) (h2 : b < a) : a = 7 ∧ b = 1 := by", "linarith") == \
        {"exfalso": 1, "linarith": 1}


def test_certificate_of_linarith_is_exact_rationals_and_rejected_when_tampered():
    ctx, goal, _ = run("theorem t (x : ℝ) (h : 3 * x < 1) : x < 1 / 3 := by", "linarith")
    rule, args, _ = ctx.assign.data[goal.handle]
    assert rule == "linarith"
    (cert,) = args
    seq = bridge.sequent(goal)
    premises(seq, "linarith", (cert,))  # accepted as produced
    bad = tuple((src, -c) for src, c in cert)
    with pytest.raises(CoreError):
        premises(seq, "linarith", (bad,))
    false_seq = bridge.sequent(bridge.start_goal(elaborate_theorem(
        "theorem t (x : ℝ) (h : 3 * x < 1) : x < 1 / 4 := by").goal))
    with pytest.raises(CoreError):
        premises(false_seq, "linarith", (cert,))


def test_nlinarith_hints_become_checked_hypotheses():
    s = "theorem t (a b : ℝ) : 2 * a * b ≤ a ^ 2 + b ^ 2 := by"
    assert not accepted(s, "linarith")
    used = rules_used(s, "nlinarith [sq_nonneg (a - b)]")
    assert used["cut"] == 1 and used["linarith"] == 2
    assert accepted("theorem t (x y z : ℝ) (hx : 0 < x) (hy : 0 < y) (hz : 0 < z) : 0 < x * y * z := by",
                    "nlinarith [mul_pos (mul_pos hx hy) hz]")
    assert accepted("theorem t (x y : ℝ) (h : 0 < x ∧ 0 < y) : 0 < x * y := by", "nlinarith [h.1, h.2]")
    assert accepted("theorem t (x : ℝ) (h : x ^ 2 < 1) : x < 1 := by", "nlinarith")
    assert not accepted("theorem t (x : ℝ) (h : x ^ 2 < 1) : x < 0 := by", "nlinarith [sq_nonneg x]")


def test_positivity_and_its_limits():
    assert accepted("theorem t (x : ℝ) (h : 0 < x) : 0 < x ^ 2 + x := by", "positivity")
    assert accepted("theorem t (x : ℝ) : 0 ≤ x ^ 2 + |x| := by", "positivity")
    assert accepted("theorem t (x : ℝ) (h : 1 < x) : x ≠ 0 := by", "positivity")
    assert accepted("theorem t (n : ℕ) (x : ℝ) : 0 ≤ (n : ℝ) * x ^ 2 := by", "positivity")
    assert not accepted("theorem t (x : ℝ) (h : x ≠ 0) : x ^ 2 > 0 := by", "positivity")  # not certifiable: fails
    assert not accepted("theorem t (x : ℝ) : 0 < x ^ 2 := by", "positivity")  # false at x = 0
    assert not accepted("theorem t (x y : ℝ) (h : 0 < x) : 0 < x - y := by", "positivity")


def test_omega_decide_ring_go_through_core_rules():
    assert rules_used("theorem t (a b : ℕ) (h : b ≤ a) : a - b + b = a := by", "omega") == {"omega": 1}
    assert not accepted("theorem t (a b : ℕ) : a - b + b = a := by", "omega")
    assert rules_used("theorem t : 2004 % 12 = 0 := by", "decide") == {"eval": 1}
    assert not accepted("theorem t : 2004 % 12 = 1 := by", "decide")
    assert rules_used("theorem t (a b : ℝ) : (a + b) ^ 2 = a ^ 2 + 2 * a * b + b ^ 2 := by", "ring") == {"ring": 1}
    assert not accepted("theorem t (a b : ℕ) : a - b + b = a := by", "ring")
    errs = errors_of("theorem t (a b : ℝ) : (a + b) ^ 2 = a ^ 2 + b ^ 2 := by", "ring")
    assert errs and errs[0].startswith("unsolved goals")


def test_ring_nf_normalizes_through_the_core():
    ctx, goal, rest = run("theorem t (a b : ℝ) (h : (a + b) ^ 2 = 0) : a * b = 0 := by", "ring_nf at h")
    (g,) = rest
    assert ctx.assign.data[goal.handle][0] == "normalize_hyp"
    assert bridge.is_view(g)


def test_field_simp_needs_nonzero_side_conditions_the_core_checks():
    # issue 13, example 4: `¬ (x = 1)` is not `x ≠ 0` (false at x = 0)
    assert not accepted("theorem field_simp_neq (x : ℝ) (h : ¬ (x = 1)) : x / x = 1 := by", "field_simp")
    assert accepted("theorem t (x : ℝ) (h : x ≠ 0) : x / x = 1 := by", "field_simp")
    assert accepted("theorem t (x : ℝ) (hx : x ≠ 0) (h : 3 / x = 1) : x = 3 := by", "field_simp at h\n  linarith")
    assert not accepted("theorem t (x : ℝ) (h : 3 / x = 1) : x = 3 := by", "field_simp at h\n  linarith")
    assert accepted("theorem t (x : ℝ) (hx : 0 < x) : 1 / x + 1 = (1 + x) / x := by", "field_simp")
    assert accepted("theorem t (x : ℝ) : 1 / (x ^ 2 + 1) * (x ^ 2 + 1) = 1 := by", "field_simp")


def test_field_simp_rule_rejects_unjustified_clearing():
    from lean_env.embedded.core import field  # noqa: F401
    from lean_env.embedded.core import term as C
    goal = bridge.start_goal(elaborate_theorem("theorem t (x : ℝ) (h : ¬ (x = 1)) : x / x = 1 := by").goal)
    seq = bridge.sequent(goal)
    h = seq.decls[-1].uid
    x = seq.decls[0]
    one = C.Lit(1, "ℝ")
    xv = C.FVar(x.uid, "ℝ", "x")
    with pytest.raises(CoreError):
        premises(seq, "field_simp", ((h,), C.Rel("=", xv, xv)))
    with pytest.raises(CoreError):
        premises(seq, "field_simp", ((), C.Rel("=", one, one)))


def test_interval_cases_splits_through_the_core():
    used = rules_used("theorem t (x : ℤ) (h : 2 ≤ x ∧ x ≤ 4) (h2 : x ≠ 3) (h3 : x ≠ 2) : x = 4 := by",
                      "interval_cases x <;> omega")
    assert used["interval_cases"] == 1 and used["subst"] == 3
    ctx, goal, rest = run("theorem t (x : ℕ) (h : x < 3) : x * x < 5 := by", "interval_cases x")
    assert [g.target for g in rest] and all(bridge.is_view(g) for g in rest) and len(rest) == 3
    assert not accepted("theorem t (x : ℕ) (h : x < 3) : x * x < 4 := by", "interval_cases x <;> omega")


CUBIC = ("theorem cubic (x y z : ℝ) (hx : 0 < x) (hy : 0 < y) (hz : 0 < z) (h : x + y + z = 1) : "
         "x * y * z ≤ 1 / 28 := by")
CUBIC_HINTS = ("nlinarith [mul_pos (mul_pos hx hy) hz, sq_nonneg (x - y), sq_nonneg (y - z), sq_nonneg (x - z), "
               "mul_pos hx hy, mul_pos hy hz, mul_pos hx hz, sq_nonneg (x * y - z), sq_nonneg (x * z - y), "
               "sq_nonneg (y * z - x), mul_pos (mul_pos hx hx) hy, mul_pos (mul_pos hz hz) hy, "
               "mul_pos (mul_pos hx hz) hy]")


def test_one_nlinarith_with_a_dozen_cubic_hints_stays_within_the_tactic_limit(server):
    """issue 13, example 6: a single tactic is bounded inside (z3 time-outs, product caps)."""
    env = server.call({"cmd": helpers.HEADER})["env"]
    r = server.call({"cmd": CUBIC + "\n  sorry", "env": env})
    root = r["sorries"][0]["proofState"]
    t0 = time.monotonic()
    out = server.call({"tactic": CUBIC_HINTS, "proofState": root})
    elapsed = time.monotonic() - t0
    assert elapsed <= TACTIC_MODE_SECONDS + 1, elapsed
    assert out.get("proofStatus") != "Completed"  # the statement is false (x = y = z = 1/3)
