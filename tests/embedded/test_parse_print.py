"""Parsing, elaboration (Lean's numerals and casts) and Lean-style goal printing."""
import importlib.util
from pathlib import Path

import pytest

from lean_env.embedded.errors import KernelError, Unsupported
from lean_env.embedded.statement import elaborate_theorem
from lean_env.embedded.terms import Rel

_spec = importlib.util.spec_from_file_location("emb_helpers", Path(__file__).with_name("helpers.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def pretty(stmt: str) -> str:
    return elaborate_theorem(stmt).goal.pretty()


def test_groups_same_type_hypotheses_and_prints_turnstile():
    s = "theorem t (x y : ℝ) (z : ℕ) (h₀ : 0 < x) (h₁ : 0 < x) : x + y = z := by"
    assert pretty(s) == "x y : ℝ\nz : ℕ\nh₀ h₁ : 0 < x\n⊢ x + y = ↑z"


def test_casts_follow_binop_elaboration():
    # the ascription types the whole tree: leaves of type ℕ get ↑, numerals become ℝ
    g = elaborate_theorem("theorem t (a b : ℕ) (h : (a + b : ℝ) = 2) : (a / b : ℝ) < a := by").goal
    assert g.pretty().splitlines()[-2:] == ["h : ↑a + ↑b = 2", "⊢ ↑a / ↑b < ↑a"]
    g2 = elaborate_theorem("theorem t (a b : ℕ) (h : ((a + b : ℕ) : ℝ) = 2) : True := by").goal
    assert "h : ↑(a + b) = 2" in g2.pretty()


def test_exponents_are_natural_and_real_exponents_are_rejected():
    g = elaborate_theorem("theorem t (x : ℝ) (n : ℕ) : x ^ n = x ^ 2 := by").goal
    assert isinstance(g.target, Rel) and g.target.lhs.args[1].ty == "ℕ"
    with pytest.raises(Unsupported) as e:
        elaborate_theorem("theorem t (x y : ℝ) : x ^ y = 1 := by")
    assert "rpow" in e.value.construct


def test_binder_predicates_and_untyped_binders():
    s = "theorem t (f : ℝ → ℝ) (h₀ : ∀ x > 0, ∀ y > 0, f (x * y) = f x / y) (h₁ : ∀ x, f x = 2 * x) : f 1 = 2 := by"
    lines = pretty(s).splitlines()
    assert lines[1] == "h₀ : ∀ x > 0, ∀ y > 0, f (x * y) = f x / y"
    assert lines[2] == "h₁ : ∀ (x : ℝ), f x = 2 * x"


def test_precedence_and_special_notation():
    s = "theorem t (a : ℤ) (x : ℝ) (n : ℕ) : ¬7 ∣ a ∧ (-x) ^ 2 = -x ^ 2 + |x - 1| * Real.sqrt (x + 1) ∨ n ! = 3! := by"
    assert pretty(s).splitlines()[-1] == "⊢ ¬7 ∣ a ∧ (-x) ^ 2 = -x ^ 2 + |x - 1| * √(x + 1) ∨ n ! = 3!"


def test_prime_prints_with_field_notation():
    s = "theorem t (a b : ℕ) (h₀ : Nat.Prime a) (h₁ : Nat.Prime (a + b)) : Nat.Prime b := by"
    assert pretty(s) == "a b : ℕ\nh₀ : a.Prime\nh₁ : (a + b).Prime\n⊢ b.Prime"


def test_unsupported_constructs_are_rejected_with_position():
    stmt = "theorem t (x : ℝ) (h : Real.log x = 1) : x > 0 := by"
    with pytest.raises(Unsupported) as e:
        elaborate_theorem(stmt)
    assert e.value.construct == "Real.log" and stmt[e.value.pos:].startswith("Real.log")


def test_all_valid_statements_parse_or_reject_cleanly_and_coverage_targets():
    rows = helpers.load("valid.jsonl")
    states = {r["name"]: r["initial_state"] for r in helpers.load("valid_initial_states.jsonl")}
    parsed = matched = with_state = 0
    for row in rows:
        try:
            th = elaborate_theorem(row["formal_statement"])
        except KernelError:
            continue  # a clear rejection; anything else (a crash) fails the test
        parsed += 1
        if row["name"] in states:
            with_state += 1
            matched += " ".join(th.goal.pretty().split()) == " ".join(states[row["name"]].split())
    assert parsed / len(rows) >= 0.60
    assert matched / with_state >= 0.90


def test_comments_nest_and_are_skipped_alike_by_the_lexer_and_the_tactic_reader():
    from lean_env.embedded.errors import ParseError
    from lean_env.embedded.lexer import tokenize
    from lean_env.embedded.tactics.script import blank_comments
    from lean_env.lean_text import scan

    text = "a /- outer /- inner -/ still comment -/ b -- tail\nc"
    assert [t.text for t in tokenize(text)] == ["a", "b", "c", ""]
    blanked = blank_comments(text)
    assert len(blanked) == len(text) and blanked.split() == ["a", "b", "c"]
    assert blanked == scan(text).code  # no strings here, so both readers blank the same spans
    unclosed = "a /- never /- closed -/"
    with pytest.raises(ParseError, match="unterminated comment"):
        tokenize(unclosed)
    assert blank_comments(unclosed).split() == ["a"]  # the tactic reader blanks to the end
