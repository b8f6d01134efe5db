"""core/poly.py: ring normal forms are identities of the values (unit, property and cap tests)."""
from __future__ import annotations

import importlib.util
import random
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_env.embedded.core.poly import canonical_term, ring_equal, to_poly
from lean_env.embedded.core.sequent import CoreError
from lean_env.embedded.core.term import BigOp, BVar, FVar, Op
from lean_env.embedded.core.typing import check_term

_spec = importlib.util.spec_from_file_location("core_arith_gen", Path(__file__).with_name("arith_gen.py"))
gen = importlib.util.module_from_spec(_spec)
sys.modules["core_arith_gen"] = gen
_spec.loader.exec_module(gen)

N, Z, Q, R = "ℕ", "ℤ", "ℚ", "ℝ"
lit, op = gen.lit, gen.op


a, b = FVar(1, N, "a"), FVar(2, N, "b")
i, j = FVar(3, Z, "i"), FVar(4, Z, "j")
x, y = FVar(5, R, "x"), FVar(6, R, "y")
q = FVar(7, Q, "q")
up = lambda t, ty: op("cast", t, ty=ty)

EQUAL = [
    (op("^", op("+", i, j), lit(2, N), ty=Z), op("+", op("+", op("*", i, i), op("*", lit(2, Z), op("*", i, j))), op("*", j, j))),
    (op("+", op("-", i, j), j), i),                                      # ℤ subtraction is a ring operation
    (op("/", op("+", i, j), lit(2, Z)), op("/", op("+", j, i), lit(2, Z))),  # atom arguments normalised
    (op("/", x, lit(0, R)), lit(0, R)),                                  # x / 0 = 0
    (op("/", x, lit(2, R)), op("*", x, lit(Fraction(1, 2), R))),
    (op("inv", op("*", x, y)), op("*", op("inv", x), op("inv", y))),     # mul_inv
    (op("inv", op("inv", x)), x),                                        # inv_inv
    (op("/", x, op("*", lit(2, R), op("^", y, lit(2, N), ty=R))), op("*", op("*", x, lit(Fraction(1, 2), R)), op("^", op("inv", y), lit(2, N), ty=R))),
    (up(up(a, Z), R), up(a, R)),                                         # Int.cast_natCast
    (up(op("-", i, j), R), op("-", up(i, R), up(j, R))),                 # Int.cast_sub
    (up(op("/", q, lit(3, Q)), R), op("/", up(q, R), lit(3, R))),        # Rat.cast_div
    (up(op("*", a, op("+", b, lit(1, N))), Z), op("+", op("*", up(a, Z), up(b, Z)), up(a, Z))),
    (op("-", lit(3, N), lit(5, N)), lit(0, N)),                          # closed truncated subtraction
    (op("/", lit(-7, Z), lit(2, Z)), lit(-4, Z)),                        # closed ediv
    (op("^", lit(2, N), lit(100, N)), lit(2 ** 100, N)),
    (op("^", x, op("+", lit(1, N), lit(1, N)), ty=R), op("*", x, x)),
]

DIFFERENT = [
    (op("+", op("-", a, b), b), a),                                      # ℕ subtraction truncates
    (up(op("-", a, b), R), op("-", up(a, R), up(b, R))),                 # issue 13, example 4 (congr_types)
    (up(op("-", a, b), R), up(op("-", up(a, Z), up(b, Z)), R)),
    (op("*", x, op("inv", x)), lit(1, R)),                               # x·x⁻¹ is 0 at x = 0
    (op("/", x, x), lit(1, R)),
    (op("*", op("/", i, lit(2, Z)), lit(2, Z)), i),                      # ℤ division is floor
    (op("inv", op("+", x, y)), op("+", op("inv", x), op("inv", y))),
    (op("abs", x), x),
    (op("sqrt", op("*", x, x)), x),
    (up(op("/", i, j), R), op("/", up(i, R), up(j, R))),
]


@pytest.mark.parametrize("s,t", EQUAL)
def test_ring_equal(s, t):
    assert ring_equal(s, t)


@pytest.mark.parametrize("s,t", DIFFERENT)
def test_not_ring_equal(s, t):
    assert not ring_equal(s, t)


def _check_at(t, env):
    """(★): the value of t equals its normal form's value at the atoms' values."""
    v = gen.value(t, env)
    p = to_poly(t)
    vals = {}
    for atom in p.atoms():
        av = gen.value(atom, env)
        if av is None:
            return
        vals[atom] = av
    if v is None:
        return
    assert p.eval(lambda at: vals[at]) == v, (t, p)
    ty = t.ty
    try:
        c = canonical_term(p, ty)
    except ValueError:
        return
    check_term(c, {u.uid: u.ty for vs in gen.VARS.values() for u in vs})
    assert gen.value(c, env) == v


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10 ** 9), st.sampled_from([N, Z, Q, R]))
def test_normal_form_has_the_value(seed, ty):
    rng = random.Random(seed)
    t = gen.rand_term(rng, ty, 4, nvars=3)
    for _ in range(3):
        _check_at(t, gen.assignment(rng))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10 ** 9))
def test_ring_equal_implies_equal_values(seed):
    rng = random.Random(seed)
    ty = rng.choice([N, Z, Q, R])
    s, t = gen.rand_term(rng, ty, 3, nvars=1), gen.rand_term(rng, ty, 3, nvars=1)
    if ring_equal(s, t):
        for _ in range(4):
            env = gen.assignment(rng)
            vs, vt = gen.value(s, env), gen.value(t, env)
            if vs is not None and vt is not None:
                assert vs == vt, (s, t)


def test_bound_variables_are_atoms():
    body = op("+", BVar(0, N), op("*", lit(2, N), BVar(0, N)))
    s = BigOp("∑", N, "range", None, a, body, N)
    t = BigOp("∑", N, "range", None, a, op("*", lit(3, N), BVar(0, N)), N)
    assert ring_equal(s, t)
    closed = BigOp("∑", N, "range", None, lit(4, N), body, N)
    assert to_poly(closed) == to_poly(lit(18, N))


@pytest.mark.parametrize("t", [
    op("^", op("+", op("+", x, y), op("+", up(i, R), up(a, R))), lit(64, N), ty=R),   # expansion too large
    op("^", op("^", op("^", op("*", lit(3, R), x), lit(64, N), ty=R), lit(64, N), ty=R), lit(64, N), ty=R),
    op("*", op("^", lit(2, N), lit(10 ** 9, N)), a),                                  # numeral too large
    op("*", op("^", op("+", x, op("+", y, lit(1, R))), lit(40, N), ty=R),
        op("^", op("+", x, op("+", y, lit(2, R))), lit(40, N), ty=R)),
])
def test_caps_fail_fast(t):
    t0 = time.process_time()
    with pytest.raises(CoreError, match="too large"):
        to_poly(t)
    assert time.process_time() - t0 < 1


def test_large_exponent_of_a_variable_is_an_atom():
    p = to_poly(op("^", x, lit(1000, N), ty=R))
    assert len(p.terms) == 1 and not p.is_const()
    assert ring_equal(op("^", op("+", x, lit(0, R)), lit(1000, N), ty=R), op("^", x, lit(1000, N), ty=R))


def test_term_size_cap():
    t = x
    for _ in range(17):  # a balanced sum of 2^17 leaves: over MAX_NODES
        t = Op("+", (t, t), R)
    t0 = time.process_time()
    with pytest.raises(CoreError, match="too large"):
        to_poly(t)
    assert time.process_time() - t0 < 1
