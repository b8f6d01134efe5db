"""The trusted core's rules: what they derive, and what they refuse."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from lean_env.embedded.core.check import Proof, check
from lean_env.embedded.core.rules import premises
from lean_env.embedded.core.sequent import CoreError, Decl, Sequent
from lean_env.embedded.core.term import FALSE, BVar, Conn, FVar, Quant, Rel

_spec = importlib.util.spec_from_file_location("core_cases", Path(__file__).with_name("cases.py"))
cases = importlib.util.module_from_spec(_spec)
sys.modules["core_cases"] = cases
_spec.loader.exec_module(cases)
N, lit, var, seq, X_Y, HX0 = cases.N, cases.lit, cases.var, cases.seq, cases.X_Y, cases.HX0


@pytest.mark.parametrize("desc,rule,sq,args", cases.REJECT, ids=[c[0] for c in cases.REJECT])
def test_rule_refuses(desc, rule, sq, args):
    with pytest.raises(CoreError):
        premises(sq, rule, args)


def test_intro_binds_a_new_local_by_uid_not_by_name():
    # ∀ x, x = x with a local already named x: the new local is a different one
    target = Quant("∀", N, Rel("=", BVar(0, N), BVar(0, N)), "x")
    (p,) = premises(seq(*X_Y, target=target), "intro", ("x", 30))
    new = p.target.lhs
    assert isinstance(new, FVar) and new.uid == 30 and new.name == "x"
    assert p.decls[-1] == Decl(30, "x", N, True)
    assert new != cases.x  # same name, different local


def test_exists_elim_then_clear_cannot_lose_a_dependency():
    # issue example 1: obtain ⟨z, hz⟩ : ∃ z, z = 0; clear z must fail while hz mentions z
    h = Decl(12, "h", Quant("∃", N, Rel("=", BVar(0, N), lit(0)), "z"), False)
    (p,) = premises(seq(h), "exists_elim", (12, "z", 20, "hz", 21))
    with pytest.raises(CoreError, match="depend"):
        premises(p, "clear", (20,))


def test_induction_premises():
    target = Rel("≤", lit(0), cases.x)
    zero, step = premises(seq(*X_Y, target=target), "induction", (1, "k", 20, "ih", 21))
    assert zero.target == Rel("≤", lit(0), lit(0))
    k = FVar(20, N, "k")
    assert step.decls[-1].value == Rel("≤", lit(0), k)
    assert step.target.rhs.op == "+"


def test_interval_cases_one_goal_per_value():
    h = Decl(12, "h", Rel("<", cases.x, lit(3)), False)
    goals = premises(seq(*X_Y, h, target=Rel("=", cases.x, cases.x)), "interval_cases", (1, None, 12, "hx", (20, 21, 22)))
    assert [g.decls[-1].value.rhs for g in goals] == [lit(0), lit(1), lit(2)]


def test_check_counts_holes_and_rejects_wrong_arity():
    s = seq(*X_Y, target=Conn("∧", (Rel("=", cases.x, cases.x), Rel("=", cases.y, cases.y))))
    rep = check(s, Proof("and_intro", (), (Proof("refl", ()), None)))
    assert rep.holes == 1 and not rep.complete
    rep = check(s, Proof("and_intro", (), (Proof("refl", ()), Proof("refl", ()))))
    assert rep.complete and rep.rules["refl"] == 2
    with pytest.raises(CoreError):
        check(s, Proof("and_intro", (), (Proof("refl", ()),)))


def test_check_rejects_an_ill_typed_sequent():
    bad = Sequent((Decl(1, "x", N, True),), Rel("=", FVar(1, "ℝ", "x"), lit(0, "ℝ")))
    with pytest.raises(CoreError):
        check(bad, None)


def test_no_rule_proves_false_from_nothing():
    empty = seq(target=FALSE)
    for rule, args in [("exfalso", ()), ("by_contra", ("h", 1)), ("intro", ("h", 1)), ("refl", ()), ("eval", ()),
                       ("true_intro", ()), ("and_intro", ()), ("or_inl", ())]:
        try:
            subgoals = premises(empty, rule, args)
        except CoreError:
            continue
        assert subgoals, f"{rule} closed ⊢ False"


def test_rewrite_forall_rewrites_under_binders():
    # hf : ∀ n, f n = n + 1 turns ∑ i ∈ range 3, f i into ∑ i ∈ range 3, (i + 1)
    from lean_env.embedded.core.term import App, Arrow, BigOp, Op
    f = FVar(40, Arrow(N, N), "f")
    hf = Decl(13, "hf", Quant("∀", N, Rel("=", App(f, (BVar(0, N),), N), Op("+", (BVar(0, N), lit(1)), N)), "n"),
              False)
    total = BigOp("∑", N, "range", None, lit(3), App(f, (BVar(0, N),), N), N, "i")
    s = seq(*X_Y, Decl(40, "f", Arrow(N, N), True), hf, target=Rel("=", total, lit(6)))
    (p,) = premises(s, "rewrite_forall", (13,))
    assert p.target.lhs.body == Op("+", (BVar(0, N), lit(1)), N)
    assert check(p, Proof("eval", ())).complete
