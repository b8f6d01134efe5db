"""Sequents and rule applications the trusted core must refuse (shared by the rule tests and the
mutation test). Each case is (description, rule, sequent, args)."""
from __future__ import annotations

from fractions import Fraction

from lean_env.embedded.core.sequent import Decl, Sequent
from lean_env.embedded.core.term import FALSE, BVar, Conn, FVar, Lit, Op, Quant, Rel

N, Z, R = "ℕ", "ℤ", "ℝ"


def lit(v, ty=N):
    return Lit(Fraction(v), ty)


def var(uid, ty=N, name=None):
    return FVar(uid, ty, name or f"x{uid}")


x, y = var(1, N, "x"), var(2, N, "y")
z = var(3, N, "z")
xr = var(4, R, "r")
a, b = var(5, N, "a"), var(6, N, "b")

X_Y = (Decl(1, "x", N, True), Decl(2, "y", N, True))
HX0 = Decl(10, "hx", Rel("=", x, lit(0)), False)
HXY = Decl(11, "hxy", Rel("<", x, y), False)


def seq(*decls, target=FALSE):
    return Sequent(tuple(decls), target)


# the congr example: ((a - b : ℕ) : ℝ) = (((a : ℤ) - b : ℤ) : ℝ)
CONGR_TYPES = Rel("=", Op("cast", (Op("-", (a, b), N),), R),
                  Op("cast", (Op("-", (Op("cast", (a,), Z), Op("cast", (b,), Z)), Z),), R))

REJECT = [
    ("hyp: a different proposition", "hyp", seq(*X_Y, HXY, target=Rel("<", y, x)), (11,)),
    ("hyp: a variable is not a proof", "hyp", seq(*X_Y, target=Rel("<", x, y)), (1,)),
    ("intro: uid already in use", "intro", seq(*X_Y, target=Quant("∀", N, Rel("=", BVar(0, N), BVar(0, N)), "n")),
     ("n", 2)),
    ("intro: nothing to introduce", "intro", seq(*X_Y, target=Rel("=", x, y)), ("h", 20)),
    ("exists_intro: witness of another type", "exists_intro",
     seq(Decl(4, "r", R, True), target=Quant("∃", N, Rel("=", BVar(0, N), lit(0)), "n")), (xr,)),
    ("exists_intro: ill-typed witness", "exists_intro",
     seq(*X_Y, target=Quant("∃", R, Rel("=", BVar(0, R), lit(0, R)), "t")), (Op("-", (x, y), R),)),
    ("cut: proposition with an unknown local", "cut", seq(*X_Y), (Rel("=", z, lit(0)), "h", 20)),
    ("cut: uid already in use", "cut", seq(*X_Y, HX0), (Rel("=", x, x), "h", 10)),
    ("exists_elim: the new variable reuses an old uid (capture)", "exists_elim",
     seq(*X_Y, Decl(12, "h", Quant("∃", N, Rel("=", BVar(0, N), lit(1)), "z"), False)), (12, "x", 1, "hz", 21)),
    ("clear: a hypothesis depends on it", "clear", seq(*X_Y, HX0), (1,)),
    ("clear: the goal depends on it", "clear", seq(*X_Y, target=Rel("=", x, x)), (1,)),
    ("revert: another hypothesis depends on it", "revert", seq(*X_Y, HX0), (1,)),
    ("spec: argument of another type", "spec",
     seq(Decl(4, "r", R, True), Decl(12, "h", Quant("∀", N, Rel("≤", lit(0), BVar(0, N)), "n"), False)),
     (12, xr, "h'", 20)),
    ("mp: the argument does not match", "mp",
     seq(*X_Y, HX0, Decl(12, "h", Conn("→", (Rel("=", y, lit(0)), FALSE)), False)), (12, 10, "h'", 20)),
    ("apply: the conclusion does not match", "apply",
     seq(*X_Y, Decl(12, "h", Conn("→", (Rel("=", y, lit(0)), Rel("=", x, lit(1)))), False),
         target=Rel("=", x, lit(2))), (12,)),
    ("induction: not a ℕ variable", "induction",
     seq(Decl(4, "r", R, True), target=Rel("=", xr, xr)), (4, "k", 20, "ih", 21)),
    ("induction: on a hypothesis, not a variable", "induction",
     seq(*X_Y, HX0, target=Rel("=", x, x)), (10, "k", 20, "ih", 21)),
    ("induction: a hypothesis mentions the variable", "induction",
     seq(*X_Y, HX0, target=Rel("=", x, x)), (1, "k", 20, "ih", 21)),
    ("refl: different sides", "refl", seq(*X_Y, target=Rel("=", x, y)), ()),
    ("rewrite: no occurrence", "rewrite", seq(*X_Y, HX0, target=Rel("=", y, lit(0))), (10, False)),
    ("rewrite: not an equation", "rewrite", seq(*X_Y, HXY, target=Rel("<", x, y)), (11, False)),
    ("subst: the variable occurs on the other side", "subst",
     seq(*X_Y, Decl(12, "h", Rel("=", x, Op("+", (x, lit(1)), N)), False)), (12,)),
    ("congr: across different types (issue example 4)", "congr",
     seq(Decl(5, "a", N, True), Decl(6, "b", N, True), target=CONGR_TYPES), ()),
    ("congr: different heads", "congr", seq(*X_Y, target=Rel("=", Op("+", (x, y), N), Op("*", (x, y), N))), ()),
    ("false_elim: the hypothesis is not False", "false_elim", seq(*X_Y, HX0), (10,)),
    ("absurd: not P and ¬P", "absurd",
     seq(*X_Y, HX0, Decl(12, "h", Conn("¬", (Rel("=", y, lit(0)),)), False)), (10, 12)),
    ("le_antisymm: not an equation", "le_antisymm", seq(*X_Y, target=Rel("≤", x, y)), ()),
    ("interval_cases: wrong number of cases", "interval_cases",
     seq(*X_Y, Decl(12, "h", Rel("<", x, lit(3)), False), target=Rel("=", x, x)), (1, None, 12, "h", (20, 21))),
    ("interval_cases: not a literal bound", "interval_cases",
     seq(*X_Y, HXY, target=Rel("=", x, x)), (1, None, 11, "h", (20,))),
    ("by_contra: uid already in use", "by_contra", seq(*X_Y, HX0, target=Rel("=", x, lit(0))), ("h", 10)),
    ("and_intro: not a conjunction", "and_intro", seq(*X_Y, target=Rel("=", x, x)), ()),
    ("eval: a false closed proposition", "eval", seq(target=Rel("=", Op("-", (lit(0), lit(1)), N), lit(1))), ()),
    ("unknown rule", "sorry", seq(*X_Y), ()),
]
REJECT += [
    ("trans: weakening < from ≤ steps", "trans", seq(*X_Y, target=Rel("<", x, y)), (y, "≤", "≤")),
    ("trans: middle term of another type", "trans", seq(*X_Y, Decl(4, "r", R, True), target=Rel("≤", x, y)),
     (xr, "≤", "≤")),
]
from lean_env.embedded.core.term import BigOp  # noqa: E402

REJECT += [
    ("range_unfold: not over Finset.range", "range_unfold",
     seq(*X_Y, target=Rel("=", x, x)), (Op("+", (x, y), N), "h", 20)),
    ("range_unfold: bound neither 0 nor n + 1", "range_unfold", seq(*X_Y, target=Rel("=", x, x)),
     (BigOp("∑", N, "range", None, Op("+", (x, lit(2)), N), BVar(0, N), N, "i"), "h", 20)),
]

XR = Decl(4, "r", R, True)
REJECT += [
    ("field_simp: ¬ (x = 1) is not a nonzero fact (issue example 4)", "field_simp",
     seq(XR, Decl(12, "h", Conn("¬", (Rel("=", xr, lit(1, R)),)), False),
         target=Rel("=", Op("/", (xr, xr), R), lit(1, R))), ((12,), Rel("=", xr, xr))),
    ("field_simp: a nonzero denominator is needed", "field_simp",
     seq(XR, target=Rel("=", Op("/", (xr, xr), R), lit(1, R))), ((), Rel("=", xr, xr))),
]

from lean_env.embedded.core.term import App, Arrow  # noqa: E402

F = FVar(40, Arrow(N, N), "f")
DF = Decl(40, "f", Arrow(N, N), True)
FX = App(F, (BVar(0, N),), N)
REJECT += [
    ("rewrite_forall: the left side is not f applied to the bound variables", "rewrite_forall",
     seq(*X_Y, DF, Decl(13, "hf", Quant("∀", N, Rel("=", App(F, (Op("+", (BVar(0, N), lit(1)), N),), N),
                                                   lit(0)), "n"), False),
         target=Rel("=", App(F, (x,), N), lit(0))), (13,)),
    ("rewrite_forall: the function does not occur", "rewrite_forall",
     seq(*X_Y, DF, Decl(13, "hf", Quant("∀", N, Rel("=", FX, lit(0)), "n"), False), target=Rel("=", x, lit(0))),
     (13,)),
]
