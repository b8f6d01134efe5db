"""core/evaluate.py: Lean's semantics of closed terms, and the caps."""
from __future__ import annotations

import importlib.util
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from lean_env.embedded.core.evaluate import NotEvaluable, decide_prop, ediv, emod, evaluate, is_prime
from lean_env.embedded.core.term import BigOp, BVar, Conn, FVar, Pred, Quant, Rel

N, Z, Q, R = "ℕ", "ℤ", "ℚ", "ℝ"

_spec = importlib.util.spec_from_file_location("core_arith_gen", Path(__file__).with_name("arith_gen.py"))
gen = importlib.util.module_from_spec(_spec)
sys.modules["core_arith_gen"] = gen
_spec.loader.exec_module(gen)
lit, op = gen.lit, gen.op


# Lean 4 core, src/Init/Data/Int/DivMod/Basic.lean, the #eval examples of Int.ediv / Int.emod
@pytest.mark.parametrize("a,b,q,r", [(7, 0, 0, 7), (0, 7, 0, 0), (12, 6, 2, 0), (12, -6, -2, 0), (-12, 6, -2, 0),
                                     (-12, -6, 2, 0), (12, 7, 1, 5), (12, -7, -1, 5), (-12, 7, -2, 2),
                                     (-12, -7, 2, 2)])
def test_int_ediv_emod_match_lean(a, b, q, r):
    assert (ediv(a, b), emod(a, b)) == (q, r)
    assert evaluate(op("/", lit(a, Z), lit(b, Z))) == q
    assert evaluate(op("%", lit(a, Z), lit(b, Z))) == r


@pytest.mark.parametrize("term,expected", [
    (op("-", lit(3, N), lit(5, N)), 0),                       # ℕ truncated subtraction
    (op("-", lit(3, Z), lit(5, Z)), -2),
    (op("/", lit(7, N), lit(2, N)), 3),
    (op("/", lit(7, N), lit(0, N)), 0),                       # x / 0 = 0
    (op("%", lit(7, N), lit(0, N)), 7),                       # x % 0 = x
    (op("/", lit(7, R), lit(0, R)), 0),
    (op("/", lit(7, Q), lit(2, Q)), Fraction(7, 2)),
    (op("inv", lit(0, R)), 0),                                # 0⁻¹ = 0
    (op("inv", lit(4, Q)), Fraction(1, 4)),
    (op("sqrt", lit(-4, R)), 0),                              # √ of a negative is 0
    (op("sqrt", lit(Fraction(9, 4), R)), Fraction(3, 2)),
    (op("gcd", lit(-4, Z), lit(6, Z), ty=N), 2),             # Int.gcd via natAbs
    (op("gcd", lit(0, N), lit(0, N), ty=N), 0),
    (op("lcm", lit(4, N), lit(6, N), ty=N), 12),
    (op("lcm", lit(0, N), lit(6, N), ty=N), 0),
    (op("fact", lit(5, N)), 120),
    (op("fact", lit(0, N)), 1),
    (op("^", lit(0, Z), lit(0, N), ty=Z), 1),                # 0 ^ 0 = 1
    (op("^", lit(-2, Z), lit(3, N), ty=Z), -8),
    (op("abs", lit(-3, Z)), 3),
    (op("cast", op("-", lit(1, N), lit(2, N)), ty=Z), 0),    # ↑(1 - 2 : ℕ) = 0
    (op("cast", op("/", lit(7, Z), lit(2, Z)), ty=R), 3),    # ↑((7 : ℤ) / 2) = 3 (issue 13, example 2)
])
def test_values(term, expected):
    assert evaluate(term) == expected


def test_big_operators():
    i = BVar(0, N)
    s = BigOp("∑", N, "range", None, lit(3, N), op("-", i, lit(1, N)), N)  # ∑ i < 3, (i - 1) in ℕ
    assert evaluate(s) == 1  # 0 + 0 + 1 (issue 13, example 2: the leaf is in ℕ)
    assert evaluate(BigOp("∏", N, "Icc", lit(1, N), lit(5, N), i, N)) == 120
    assert evaluate(BigOp("∑", N, "Icc", lit(5, N), lit(1, N), i, N)) == 0  # empty
    assert evaluate(BigOp("∏", N, "range", None, lit(0, N), i, N)) == 1
    k = BVar(0, Z)
    assert evaluate(BigOp("∑", Z, "Icc", lit(-3, Z), lit(2, Z), k, Z)) == -3
    # nested: ∑ i < 4, ∑ j ∈ Icc 0 i, (j * i)  — BVar(1) is the outer index inside the inner body
    inner = BigOp("∑", N, "Icc", lit(0, N), BVar(0, N), op("*", BVar(0, N), BVar(1, N)), N)
    assert evaluate(BigOp("∑", N, "range", None, lit(4, N), inner, N)) == sum(j * i for i in range(4) for j in range(i + 1))


def test_propositions():
    assert decide_prop(Rel("∣", lit(0, N), lit(0, N)))
    assert not decide_prop(Rel("∣", lit(0, N), lit(3, N)))
    assert decide_prop(Rel("∣", lit(-3, Z), lit(6, Z)))
    assert not decide_prop(Rel("∣", lit(4, Z), lit(-6, Z)))
    assert decide_prop(Conn("→", (Conn("False", ()), Rel("=", lit(1, N), lit(2, N)))))
    assert decide_prop(Conn("↔", (Rel("<", lit(1, R), lit(2, R)), Rel("≥", lit(2, Z), lit(-1, Z)))))
    assert decide_prop(Pred("Nat.Prime", (lit(97, N),)))
    assert not decide_prop(Pred("Prime", (lit(1, N),)))
    assert not decide_prop(Pred("Nat.Prime", (lit(91, N),)))
    assert decide_prop(Pred("Nat.Prime", (lit(999999999989, N),)))
    assert [n for n in range(30) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


@pytest.mark.parametrize("term", [
    FVar(1, N, "x"),
    op("sqrt", lit(2, R)),                                     # irrational
    op("^", lit(2, N), lit(10 ** 9, N)),                       # power refused before computing
    op("^", lit(Fraction(3, 2), Q), lit(10 ** 6, N)),
    op("^", op("^", lit(2, N), lit(60000, N)), lit(2, N)),     # a result over the bit cap
    op("fact", lit(100000, N)),
    BigOp("∑", N, "range", None, lit(10 ** 6, N), BVar(0, N), N),   # too many terms
    BigOp("∑", N, "range", None, lit(2000, N),                        # nested: too many steps
          BigOp("∑", N, "range", None, lit(2000, N), BVar(1, N), N), N),
])
def test_not_evaluable_fast(term):
    t0 = time.process_time()
    with pytest.raises(NotEvaluable):
        evaluate(term)
    assert time.process_time() - t0 < 3


def test_big_but_allowed():
    assert evaluate(op("^", lit(-1, Z), lit(10 ** 30, N), ty=Z)) == 1
    assert evaluate(op("^", lit(2, N), lit(50000, N))) == 2 ** 50000


def test_decide_refuses():
    with pytest.raises(NotEvaluable):
        decide_prop(Quant("∀", N, Rel("=", BVar(0, N), BVar(0, N))))
    with pytest.raises(NotEvaluable):
        decide_prop(Pred("Nat.Prime", (op("+", lit(10 ** 12, N), lit(39, N)),)))
