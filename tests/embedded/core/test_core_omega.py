"""core/omega.py on its own: the encoding is exact (ℕ truncation, Int.ediv/emod of negatives)."""
from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_env.embedded.core.evaluate import NotEvaluable, decide_prop
from lean_env.embedded.core.omega import check_omega
from lean_env.embedded.core.sequent import CoreError, Decl, Sequent
from lean_env.embedded.core.term import FALSE, TRUE, BVar, Conn, FVar, Op, Pred, Quant, Rel

_spec = importlib.util.spec_from_file_location("core_arith_gen", Path(__file__).with_name("arith_gen.py"))
gen = importlib.util.module_from_spec(_spec)
sys.modules["core_arith_gen"] = gen
_spec.loader.exec_module(gen)

N, Z, R = "ℕ", "ℤ", "ℝ"
lit = gen.lit


def op(o, *args, ty=None):
    return Op(o, tuple(args), ty or args[0].ty)


x, y = FVar(1, N, "x"), FVar(2, N, "y")
i, j = FVar(3, Z, "i"), FVar(4, Z, "j")
r = FVar(5, R, "r")
VARS = (Decl(1, "x", N, True), Decl(2, "y", N, True), Decl(3, "i", Z, True), Decl(4, "j", Z, True), Decl(5, "r", R, True))


def seq(hyps, target):
    return Sequent(VARS + tuple(Decl(100 + k, f"h{k}", h, False) for k, h in enumerate(hyps)), target)


def ok(hyps, target, use=None):
    s = seq(hyps, target)
    check_omega(s, tuple(range(100, 100 + len(hyps))) if use is None else use)


def no(hyps, target, use=None, match=None):
    with pytest.raises(CoreError, match=match):
        ok(hyps, target, use)


def ediv(a, b):
    return op("/", a, b)


def emod(a, b):
    return op("%", a, b)


TRUE_GOALS = [
    ([Rel("<", x, y)], Rel("≤", op("+", x, lit(1, N)), y)),
    ([], Rel("≥", op("+", op("-", x, y), y), x)),                                  # truncated: (x - y) + y ≥ x
    ([Rel("≤", y, x)], Rel("=", op("+", op("-", x, y), y), x)),
    ([], Rel("=", op("-", lit(2, N), lit(5, N)), lit(0, N))),
    ([], Rel("=", ediv(lit(-7, Z), lit(2, Z)), lit(-4, Z))),                       # Int.ediv of a negative
    ([], Rel("=", emod(lit(-7, Z), lit(2, Z)), lit(1, Z))),
    ([], Rel("=", ediv(lit(7, Z), lit(-2, Z)), lit(-3, Z))),
    ([], Rel("=", ediv(lit(-7, Z), lit(-2, Z)), lit(4, Z))),
    ([], Rel("=", emod(lit(-7, Z), lit(-2, Z)), lit(1, Z))),
    ([], Rel("=", ediv(i, lit(0, Z)), lit(0, Z))),
    ([], Rel("=", emod(i, lit(0, Z)), i)),
    ([], Rel("≤", op("*", ediv(i, lit(2, Z)), lit(2, Z)), i)),
    ([], Conn("∧", (Rel("≤", lit(0, Z), emod(i, lit(-3, Z))), Rel("<", emod(i, lit(-3, Z)), lit(3, Z))))),
    ([], Rel("=", op("+", op("*", lit(3, N), ediv(x, lit(3, N))), emod(x, lit(3, N))), x)),
    ([Rel("∣", lit(2, Z), i)], Rel("=", emod(i, lit(2, Z)), lit(0, Z))),
    ([Rel("=", emod(i, lit(4, Z)), lit(2, Z))], Rel("∣", lit(2, Z), i)),
    ([], Conn("∨", (Rel("≤", i, lit(3, Z)), Rel("≥", i, lit(4, Z))))),
    ([Rel("≤", y, x)], Rel("=", op("cast", op("-", x, y), ty=Z), op("-", op("cast", x, ty=Z), op("cast", y, ty=Z)))),
    ([], Rel("≥", op("*", x, y), lit(0, N))),                                        # ℕ atom x*y ≥ 0
    ([Rel("=", op("*", i, j), lit(5, Z))], Rel("≠", op("*", i, j), lit(4, Z))),      # atoms: same term, same value
    ([], Rel("≥", op("abs", i), i)),
    ([Conn("↔", (Rel("<", i, j), TRUE))], Conn("→", (Rel("<", j, i), FALSE))),
    ([], Rel("=", op("^", lit(2, N), lit(10, N)), lit(1024, N))),                    # closed atom evaluated
]

FALSE_GOALS = [
    ([], Rel("=", op("+", op("-", x, y), y), x)),                                  # false at x=0, y=1
    ([], Rel("=", ediv(lit(-7, Z), lit(2, Z)), lit(-3, Z))),                       # T-division would say -3
    ([], Rel("=", emod(lit(-7, Z), lit(2, Z)), lit(-1, Z))),
    ([], Rel("=", op("*", ediv(i, lit(2, Z)), lit(2, Z)), i)),
    ([], Conn("∨", (Rel("≤", i, lit(3, Z)), Rel("≥", i, lit(5, Z))))),
    ([], Rel("=", op("cast", op("-", x, y), ty=Z), op("-", op("cast", x, ty=Z), op("cast", y, ty=Z)))),  # issue 13, ex. 4
    ([], Rel("≥", op("*", i, j), lit(0, Z))),                                        # ℤ product can be negative
    ([], Rel("=", ediv(i, j), lit(0, Z))),
    ([Rel("∣", lit(2, Z), i)], Rel("∣", lit(4, Z), i)),
    ([], FALSE),
]


@pytest.mark.parametrize("hyps,goal", TRUE_GOALS)
def test_true_goals(hyps, goal):
    ok(hyps, goal)


@pytest.mark.parametrize("hyps,goal", FALSE_GOALS)
def test_false_goals(hyps, goal):
    no(hyps, goal, match="does not follow")


def test_issue_example_1_distinct_locals():
    # two locals both displayed as z: z = 0 and z' = 1 do not contradict each other
    z1, z2 = FVar(7, N, "z"), FVar(8, N, "z")
    s = Sequent((Decl(7, "z", N, True), Decl(8, "z", N, True), Decl(9, "hz", Rel("=", z1, lit(0, N)), False),
                 Decl(10, "hz'", Rel("=", z2, lit(1, N)), False)), FALSE)
    with pytest.raises(CoreError):
        check_omega(s, (9, 10))


def test_only_listed_hypotheses():
    no([Rel("<", i, lit(0, Z)), Rel("<", lit(0, Z), i)], FALSE, use=(100,))
    ok([Rel("<", i, lit(0, Z)), Rel("<", lit(0, Z), i)], FALSE, use=(100, 101))
    with pytest.raises(CoreError):
        ok([], FALSE, use=(1,))  # a variable is not a hypothesis
    with pytest.raises(CoreError):
        ok([], FALSE, use=(999,))


@pytest.mark.parametrize("goal", [
    Rel("≤", r, op("+", r, lit(1, R))),                                     # real arithmetic
    Quant("∀", N, Rel("≥", BVar(0, N), lit(0, N))),
    Pred("Nat.Prime", (lit(7, N),)),
    Rel("∣", i, j),                                                           # divisibility by a non-numeral
])
def test_outside_the_fragment(goal):
    no([], goal)


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10 ** 9))
def test_closed_props_agree_with_evaluation(seed):
    """On closed propositions omega must accept exactly the true ones (decide_prop's verdict)."""
    rng = random.Random(seed)
    p = gen.subst(gen.rand_prop(rng, 1, types=(N, Z), tdepth=2, nvars=1, ops="full"), gen.assignment(rng))
    try:
        truth = decide_prop(p)
    except NotEvaluable:
        return
    if truth:
        check_omega(Sequent((), p), ())
    else:
        with pytest.raises(CoreError):
            check_omega(Sequent((), p), ())


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10 ** 9))
def test_encoding_at_pinned_points(seed):
    """Locals pinned by hypotheses v = value, so the z3 encoding (not evaluate) computes every
    ℕ subtraction, ediv and emod: a false goal must be refused, and a true one without atoms
    (ring operations, / and % by numerals) accepted."""
    rng = random.Random(seed)
    p = gen.rand_prop(rng, 1, types=(N, Z), tdepth=2, nvars=2, ops=rng.choice(["ring", "full"]))
    env = gen.assignment(rng)
    vs = [v for ty in (N, Z) for v in gen.VARS[ty]]
    pins = [Rel("=", v, lit(env[v.uid], v.ty)) for v in vs]
    s = Sequent(tuple(Decl(v.uid, v.name, v.ty, True) for v in vs)
                + tuple(Decl(200 + k, f"p{k}", h, False) for k, h in enumerate(pins)), p)
    truth = gen.truth(p, env)
    if truth is None:
        return
    try:
        check_omega(s, tuple(range(200, 200 + len(pins))))
        accepted = True
    except CoreError:
        accepted = False
    assert not (accepted and not truth), (p, env)
    if truth and _linear(p):
        assert accepted, (p, env)


def _linear(t):
    """No atoms: * only by a numeral, / % ∣ only by numerals, no gcd/fact/^ of a local."""
    from lean_env.embedded.core.term import Lit, subterms
    for s_ in subterms(t):
        if isinstance(s_, Op) and s_.op in ("gcd", "fact", "lcm", "^"):
            return False
        if isinstance(s_, Op) and s_.op == "*" and not any(isinstance(a_, Lit) for a_ in s_.args):
            return False
        if isinstance(s_, (Op, Rel)) and getattr(s_, "op", "") in ("/", "%", "∣"):
            d = s_.args[1] if isinstance(s_, Op) else s_.lhs
            if not isinstance(d, Lit):
                return False
    return True


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10 ** 9))
def test_accepted_goals_hold_at_points(seed):
    rng = random.Random(seed)
    p = gen.rand_prop(rng, 1, types=(N, Z), tdepth=2, nvars=2, ops="full")
    vs = [v for ty in (N, Z) for v in gen.VARS[ty]]
    s = Sequent(tuple(Decl(v.uid, v.name, v.ty, True) for v in vs), p)
    try:
        check_omega(s, ())
    except CoreError:
        return
    for _ in range(20):
        env = gen.assignment(rng)
        t = gen.truth(p, env)
        assert t in (True, None), (p, env)
