"""core/normalize.py: equal keys only for equivalent propositions."""
from __future__ import annotations

import importlib.util
import random
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_env.embedded.core.normalize import canon, equivalent
from lean_env.embedded.core.term import FALSE, TRUE, BVar, Conn, FVar, Pred, Quant, Rel

_spec = importlib.util.spec_from_file_location("core_arith_gen", Path(__file__).with_name("arith_gen.py"))
gen = importlib.util.module_from_spec(_spec)
sys.modules["core_arith_gen"] = gen
_spec.loader.exec_module(gen)

N, Z, Q, R = "ℕ", "ℤ", "ℚ", "ℝ"
lit, op = gen.lit, gen.op


def neg(p):
    return Conn("¬", (p,))


a, b = FVar(1, N, "a"), FVar(2, N, "b")
i, j = FVar(3, Z, "i"), FVar(4, Z, "j")
x, y = FVar(5, R, "x"), FVar(6, R, "y")
up = lambda t, ty: op("cast", t, ty=ty)
P, Qp = Rel("<", x, y), Rel("=", i, j)

SAME = [
    (Rel(">", x, y), Rel("<", y, x)),                                   # GT.gt
    (Rel("≥", x, y), Rel("≤", y, x)),
    (Rel("≠", x, y), neg(Rel("=", x, y))),                              # Ne
    (Rel("=", x, y), Rel("=", y, x)),
    (Rel("≤", op("*", lit(2, R), x), lit(4, R)), Rel("≤", x, lit(2, R))),
    (Rel("<", op("+", x, lit(1, R)), y), Rel("<", lit(0, R), op("-", op("-", y, x), lit(1, R)))),
    (Rel("≤", up(a, R), up(b, R)), Rel("≤", a, b)),                    # Nat.cast_le
    (Rel("=", up(i, R), up(j, R)), Rel("=", i, j)),                    # Int.cast_inj
    (Rel("<", up(a, Z), up(b, Z)), Rel("<", a, b)),
    (neg(Rel("<", x, y)), Rel("≤", y, x)),                              # not_lt
    (neg(Rel("≤", i, j)), Rel("<", j, i)),                              # not_le
    (neg(neg(P)), P),
    (Conn("∧", (P, Qp)), Conn("∧", (Qp, P))),
    (Conn("∧", (P, P)), P),
    (Conn("∨", (P, Conn("∨", (Qp, P)))), Conn("∨", (Qp, P))),
    (Conn("→", (P, Qp)), Conn("∨", (neg(P), Qp))),
    (Conn("↔", (P, Qp)), Conn("↔", (Qp, P))),
    (Conn("↔", (P, P)), TRUE),
    (Conn("∧", (TRUE, P)), P),
    (Conn("∨", (FALSE, P)), P),
    (Conn("→", (FALSE, P)), TRUE),
    (Rel("=", op("+", lit(2, N), lit(2, N)), lit(4, N)), TRUE),       # closed
    (Rel("<", lit(3, Z), op("/", lit(7, Z), lit(2, Z))), FALSE),
    (Rel("∣", op("neg", i), j), Rel("∣", i, j)),                        # neg_dvd
    (Rel("∣", up(a, Z), up(b, Z)), Rel("∣", a, b)),                    # Int.natCast_dvd_natCast
    (Rel("∣", lit(1, N), a), TRUE),
    (Rel("∣", lit(3, Z), lit(-6, Z)), TRUE),
    (Pred("Prime", (op("+", a, lit(0, N)),)), Pred("Nat.Prime", (a,))),
    (Pred("Nat.Prime", (lit(97, N),)), TRUE),
    (Quant("∀", R, Rel(">", BVar(0, R), x)), Quant("∀", R, Rel("<", x, BVar(0, R)))),
    (Quant("∃", N, Conn("∨", (TRUE, Rel("=", BVar(0, N), a)))), TRUE),
]

DIFFERENT = [
    (Rel("=", op("-", a, b), lit(0, N)), Rel("=", a, b)),              # ℕ truncated subtraction
    (Rel("<", x, y), Rel("≤", x, y)),
    (Rel("≤", x, y), Rel("≤", y, x)),
    (Rel("<", x, y), Rel("<", y, x)),
    (Rel("≤", op("*", lit(-2, R), x), lit(4, R)), Rel("≤", x, lit(-2, R))),   # dividing by a negative
    (Rel("=", up(op("-", a, b), Z), op("-", up(a, Z), up(b, Z))), TRUE),
    (Rel("∣", i, j), Rel("∣", j, i)),
    (Rel("∣", lit(2, Z), i), Rel("∣", lit(4, Z), i)),
    (Quant("∀", R, Rel("<", x, BVar(0, R))), Quant("∃", R, Rel("<", x, BVar(0, R)))),
    (Quant("∀", N, Rel("≤", lit(0, N), BVar(0, N))), Quant("∀", Z, Rel("≤", lit(0, Z), BVar(0, Z)))),
    (Conn("→", (P, Qp)), Conn("→", (Qp, P))),
    (Conn("↔", (P, Qp)), Conn("∧", (P, Qp))),
    (neg(Rel("=", x, y)), Rel("<", x, y)),
    (Rel("=", op("*", x, op("inv", x)), lit(1, R)), TRUE),
    (Pred("Nat.Prime", (a,)), Pred("Nat.Prime", (b,))),
]


@pytest.mark.parametrize("p,q", SAME)
def test_same_key(p, q):
    assert canon(p) == canon(q)
    assert equivalent(p, q)


@pytest.mark.parametrize("p,q", DIFFERENT)
def test_different_key(p, q):
    assert canon(p) != canon(q)


def _agree(p, q, rng, points=12):
    for _ in range(points):
        env = gen.assignment(rng, rational=rng.random() < 0.5)
        tp, tq = gen.truth(p, env), gen.truth(q, env)
        if tp is not None and tq is not None:
            assert tp == tq, (p, q, env)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10 ** 9))
def test_equal_keys_mean_equal_truth(seed):
    """Many small random propositions over one or two locals; every pair in a bucket of equal
    keys must have the same truth value at random points."""
    rng = random.Random(seed)
    buckets = defaultdict(list)
    for _ in range(60):
        p = gen.rand_prop(rng, 2, tdepth=1, nvars=1, ops=rng.choice(["ring", "full"]))
        buckets[canon(p)].append(p)
    for ps in buckets.values():
        for q in ps[1:]:
            _agree(ps[0], q, rng)


def test_collisions_happen():
    """The property test above is only meaningful if equal keys of different props occur."""
    rng = random.Random(0)
    buckets = defaultdict(set)
    for _ in range(3000):
        p = gen.rand_prop(rng, 2, tdepth=1, nvars=1)
        buckets[canon(p)].add(p)
    assert sum(len(v) - 1 for v in buckets.values()) > 300
