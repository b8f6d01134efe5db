"""core/certificate.py: valid certificates are accepted, and each mutation of one is refused."""
from __future__ import annotations

import importlib.util
import itertools
import random
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_env.embedded.core.certificate import check_linear_certificate
from lean_env.embedded.core.sequent import CoreError, Decl, Sequent
from lean_env.embedded.core.term import FALSE, Conn, FVar, Rel

N, Z, Q, R = "ℕ", "ℤ", "ℚ", "ℝ"

_spec = importlib.util.spec_from_file_location("core_arith_gen", Path(__file__).with_name("arith_gen.py"))
gen = importlib.util.module_from_spec(_spec)
sys.modules["core_arith_gen"] = gen
_spec.loader.exec_module(gen)
lit, op = gen.lit, gen.op


def seq(vars_, hyps, target):
    decls = tuple(Decl(v.uid, v.name, v.ty, True) for v in vars_)
    decls += tuple(Decl(100 + k, f"h{k}", h, False) for k, h in enumerate(hyps))
    return Sequent(decls, target)


def H(k):
    return ("hyp", 100 + k)


G = ("neg_goal",)
x, y = FVar(1, R, "x"), FVar(2, R, "y")
i, j = FVar(3, Z, "i"), FVar(4, Z, "j")
n, m = FVar(5, N, "n"), FVar(6, N, "m")
one = lit(1, R)

# (description, sequent, certificate) — all valid
VALID = [
    ("transitivity", seq([x, y], [Rel("<", x, y), Rel("<", y, one)], Rel("<", x, one)), ((H(0), 1), (H(1), 1), (G, 1))),
    ("> and ≥ goals", seq([x, y], [Rel(">", y, x), Rel("≥", one, y)], Rel(">", one, x)), ((H(0), 1), (H(1), 1), (G, 1))),
    ("¬< hypothesis", seq([x, y], [Conn("¬", (Rel("<", y, x),)), Rel("<", y, one)], Rel("<", x, one)),
     ((H(0), 1), (H(1), 1), (G, 1))),
    ("¬ goal", seq([x, y], [Rel("<", x, y)], Conn("¬", (Rel("≤", y, x),))), ((H(0), 1), (G, 1))),
    ("equality, any sign", seq([x, y], [Rel("=", x, op("+", y, one)), Rel("≤", x, y)], FALSE), ((H(0), -1), (H(1), 1))),
    ("rational coefficients", seq([x], [Rel("<", op("*", lit(3, R), x), lit(1, R))], Rel("<", x, lit(Fraction(1, 2), R))),
     ((H(0), Fraction(1, 3)), (G, 1))),
    ("False goal", seq([x], [Rel("<", x, lit(0, R)), Rel("<", lit(0, R), x)], FALSE), ((H(0), 1), (H(1), 1))),
    ("integer strengthening", seq([i, j], [Rel("<", i, j)], Rel("≤", op("+", i, lit(1, Z)), j)), ((("int", H(0)), 1), (G, 1))),
    ("ℕ strict", seq([n], [Rel("<", lit(0, N), n)], Rel("≥", n, lit(1, N))), ((("int", H(0)), 1), (G, 1))),
    ("square", seq([x], [], Rel("≥", op("+", op("-", op("^", x, lit(2, N), ty=R), op("*", lit(2, R), x)), one), lit(0, R))),
     ((("sq", op("-", x, one)), 1), (G, 1))),
    ("positivity", seq([x], [], Rel("<", lit(0, R), op("+", op("^", x, lit(2, N), ty=R), one))), ((("sq", x), 1), (G, 1))),
    ("nonneg ℕ", seq([n], [], Rel("≤", lit(0, N), op("*", n, n))), ((("mul", ("nonneg", n), ("nonneg", n)), 1), (G, 1))),
    ("nonneg cast", seq([n, x], [Rel("=", op("cast", n, ty=R), x)], Rel("≥", x, lit(0, R))),
     ((("nonneg", op("cast", n, ty=R)), 1), (H(0), 1), (G, 1))),
    ("nonneg ↑↑", seq([n], [], Rel("≥", op("cast", op("cast", n, ty=Z), ty=R), lit(0, R))),
     ((("nonneg", op("cast", op("cast", n, ty=Z), ty=R)), 1), (G, 1))),
    ("nonneg abs, sqrt", seq([x], [], Rel("≥", op("+", op("abs", x), op("sqrt", x)), lit(0, R))),
     ((("nonneg", op("abs", x)), 1), (("nonneg", op("sqrt", x)), 1), (G, 1))),
    ("product of negatives", seq([x, y], [Rel("<", x, lit(0, R)), Rel("<", y, lit(0, R))], Rel(">", op("*", x, y), lit(0, R))),
     ((("mul", H(0), H(1)), 1), (G, 1))),
    ("mixed types", seq([n, x], [Rel("≤", op("cast", n, ty=R), x), Rel("<", x, lit(0, R))], FALSE),
     ((("nonneg", n), 1), (H(0), 1), (H(1), 1))),
]


def test_product_with_an_equation():
    # x = 0 ⊢ x * y ≤ 0: the products of the equation (fact -x = 0) with (y ± 1)² are equations,
    # usable with any sign: ¼(-x)(y+1)² - ¼(-x)(y-1)² = -xy, and the negated goal is xy > 0
    s = seq([x, y], [Rel("=", x, lit(0, R))], Rel("≤", op("*", x, y), lit(0, R)))
    cert = ((("mul", H(0), ("sq", op("+", y, one))), Fraction(1, 4)),
            (("mul", H(0), ("sq", op("-", y, one))), Fraction(-1, 4)), (G, 1))
    check_linear_certificate(s, cert)
    # the same with the equation weakened to x ≤ 0: a ≥ fact may not take the negative coefficient
    s = seq([x, y], [Rel("≤", x, lit(0, R))], Rel("≤", op("*", x, y), lit(0, R)))
    _reject(s, cert, "negative")


@pytest.mark.parametrize("desc,sq,cert", VALID, ids=[v[0] for v in VALID])
def test_valid_accepted(desc, sq, cert):
    check_linear_certificate(sq, cert)


def _reject(sq, cert, match=None):
    with pytest.raises(CoreError, match=match):
        check_linear_certificate(sq, cert)


def test_negative_coefficient_on_an_inequality():
    s2 = seq([x, y], [Rel("<", x, y)], Rel("<", y, x))  # false goal
    _reject(s2, ((H(0), -1), (G, 1)), "negative")
    _reject(s2, ((H(0), 1), (G, -1)), "negative")


def test_strict_fact_needed():
    s = seq([x, y], [Rel("≤", x, y), Rel("≤", y, one)], Rel("<", x, one))  # x = y = 1 refutes it
    _reject(s, ((H(0), 1), (H(1), 1), (G, 1)), "no contradiction")
    s = seq([x, y], [Rel("<", x, y), Rel("≤", y, one)], Rel("<", x, one))
    check_linear_certificate(s, ((H(0), 1), (H(1), 1), (G, 1)))
    _reject(s, ((H(0), 0), (H(1), 1), (G, 1)))  # the strict fact with coefficient 0 does not count


def test_integer_strengthening_only_on_integers():
    s = seq([x, y], [Rel("<", x, y)], Rel("≤", op("+", x, one), y))
    _reject(s, ((("int", H(0)), 1), (G, 1)), "integer")
    s = seq([i, j], [Rel("≤", i, j)], Rel("≤", op("+", i, lit(1, Z)), j))
    _reject(s, ((("int", H(0)), 1), (G, 1)), "integer")  # ≤ is not strict
    s = seq([i, j], [Rel("<", i, j)], Rel("≤", op("+", i, lit(1, Z)), j))
    _reject(s, ((("int", ("int", H(0))), 1), (G, 1)), "integer")
    # ↑i < ↑j in ℝ: the sides are real-typed, so no strengthening (even though the values are integers)
    s = seq([i, j], [Rel("<", op("cast", i, ty=R), op("cast", j, ty=R))], Rel("≤", op("+", op("cast", i, ty=R), one), op("cast", j, ty=R)))
    _reject(s, ((("int", H(0)), 1), (G, 1)), "integer")


def test_nonneg_only_of_trusted_shapes():
    _reject(seq([i], [], Rel("≤", lit(0, Z), i)), ((("nonneg", i), 1), (G, 1)), "nonnegative")
    _reject(seq([x], [], Rel("≤", lit(0, R), x)), ((("nonneg", x), 1), (G, 1)), "nonnegative")
    _reject(seq([i], [], Rel("≤", lit(0, R), op("cast", i, ty=R))), ((("nonneg", op("cast", i, ty=R)), 1), (G, 1)))
    _reject(seq([x], [], Rel("≤", lit(0, R), op("neg", op("abs", x)))), ((("nonneg", op("neg", op("abs", x))), 1), (G, 1)))
    # a term claiming the ℤ local i has type ℕ is ill-typed in the context
    fake = FVar(3, N, "i")
    _reject(seq([i], [], Rel("≤", lit(0, Z), i)), ((("nonneg", fake), 1), (G, 1)), "ill-typed")
    _reject(seq([i], [], Rel("≤", lit(0, Z), i)), ((("nonneg", FVar(99, N, "ghost")), 1), (G, 1)), "ill-typed")


def test_product_signs():
    # x < 0, y > 0 ⊢ x * y > 0 is false; the product fact is -x·y > 0, which cannot be flipped
    s = seq([x, y], [Rel("<", x, lit(0, R)), Rel(">", y, lit(0, R))], Rel(">", op("*", x, y), lit(0, R)))
    _reject(s, ((("mul", H(0), H(1)), 1), (G, 1)))
    _reject(s, ((("mul", H(0), H(1)), -1), (G, 1)), "negative")
    # x ≤ 0, y ≤ 0 ⊢ x * y > 0 is false (x = 0): a ≥·≥ product is not strict
    s = seq([x, y], [Rel("≤", x, lit(0, R)), Rel("≤", y, lit(0, R))], Rel(">", op("*", x, y), lit(0, R)))
    _reject(s, ((("mul", H(0), H(1)), 1), (G, 1)), "no contradiction")
    # x < 0, y ≤ 0 ⊢ x * y > 0 false (y = 0): (>, ≥) is only ≥
    s = seq([x, y], [Rel("<", x, lit(0, R)), Rel("≤", y, lit(0, R))], Rel(">", op("*", x, y), lit(0, R)))
    _reject(s, ((("mul", H(0), H(1)), 1), (G, 1)), "no contradiction")


def test_goal_shapes():
    h = [Rel("<", x, lit(0, R)), Rel("<", lit(0, R), x)]  # contradictory hypotheses
    for g in (Rel("=", x, y), Rel("≠", x, y), Conn("¬", (Rel("=", x, y),)), Conn("∧", (FALSE, FALSE))):
        _reject(seq([x, y], h, g), ((H(0), 1), (H(1), 1)), "goal")
    _reject(seq([x], h, FALSE), ((H(0), 1), (H(1), 1), (G, 1)), "goal")  # no negated goal for False
    _reject(seq([x, y], [Rel("≠", x, y)], Rel("<", x, y)), ((H(0), 1), (G, 1)), "comparison")
    _reject(seq([x, y], [Conn("¬", (Rel("=", x, y),))], Rel("<", x, y)), ((H(0), 1), (G, 1)), "disequality")


def test_malformed_certificates():
    s = seq([x], [Rel("<", x, lit(0, R)), Rel("<", lit(0, R), x)], FALSE)
    for cert in [(), ((H(0), 1.0), (H(1), 1)), ((H(0), True), (H(1), 1)), ((("hyp", 1), 1),), ((("hyp", "100"), 1),),
                 ((("bogus",), 1),), ((("sq", "x"), 1),), [(H(0), 1), (H(1), 1)], ((H(0), 1, 2),), ((("hyp", 999), 1),)]:
        _reject(s, cert)


def test_size_caps():
    s = seq([x], [Rel("<", x, lit(0, R)), Rel("<", lit(0, R), x)], FALSE)
    _reject(s, tuple((H(0), 1) for _ in range(401)) + ((H(1), 1),), "too large")
    src = H(0)
    for _ in range(200):  # a shared DAG whose tree is astronomically large
        src = ("mul", src, src)
    t0 = time.process_time()
    _reject(s, ((src, 1),), "too large")
    big = op("^", op("+", op("+", x, lit(1, R)), op("sqrt", x)), lit(60, N), ty=R)
    _reject(s, ((("mul", ("sq", big), ("sq", big)), 1),), "too large")
    assert time.process_time() - t0 < 2


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10 ** 9))
def test_accepted_refutations_have_no_model(seed):
    """Random linear facts over ℤ with random nonnegative coefficients: when the core accepts a
    refutation of the hypotheses, brute force finds no integer point satisfying them (ℤ facts
    hold at integer points only, so this checks the integer strengthening too)."""
    rng = random.Random(seed)
    vs = [i, j]
    hyps = []
    for _ in range(rng.randint(2, 4)):
        e = lit(rng.randint(-3, 3), Z)
        for v in vs:
            e = op("+", e, op("*", lit(rng.randint(-2, 2), Z), v))
        hyps.append(Rel(rng.choice(["<", "≤", "=", ">", "≥"]), e, lit(rng.randint(-2, 2), Z)))
    s = seq(vs, hyps, FALSE)
    accepted = False
    srcs = [H(k) for k in range(len(hyps))] + [("int", H(k)) for k in range(len(hyps)) if hyps[k].op in "<>"]
    for cs in itertools.product(range(3), repeat=len(srcs)):
        if len(srcs) > 5:
            break
        try:
            check_linear_certificate(s, tuple((src, c) for src, c in zip(srcs, cs) if c))
            accepted = True
            break
        except CoreError:
            pass
    if accepted:
        from lean_env.embedded.core.evaluate import decide_prop
        from lean_env.embedded.core.term import replace_fvar
        for a, b in itertools.product(range(-8, 9), repeat=2):
            vals = [decide_prop(replace_fvar(replace_fvar(h, 3, lit(a, Z)), 4, lit(b, Z))) for h in hyps]
            assert not all(vals), (hyps, a, b)
