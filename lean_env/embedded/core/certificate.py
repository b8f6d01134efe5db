"""Positivstellensatz-style certificates: the rule behind linarith, nlinarith and positivity (trusted).

Interface: `check_linear_certificate(seq, cert)` returns None or raises CoreError.
The goal `seq.target` is `False` or a comparison a R b with R in < ≤ > ≥, possibly under one ¬
(¬(a = b), a ≠ b, a = b and ∣ are refused; the rules layer splits `a = b` into two ≤ goals).
A certificate is a tuple of (source, coefficient) pairs, coefficient an int or Fraction, where

    source ::= ("hyp", uid)        a hypothesis a R b, R in = < ≤ > ≥, or ¬(a R b), R in < ≤ > ≥
             | ("neg_goal",)       the negation of the goal (not for the goal False)
             | ("nonneg", t)       t ≥ 0 for t of a trusted shape (below)
             | ("sq", t)           t ^ 2 ≥ 0                                 (sq_nonneg)
             | ("mul", s1, s2)     the product of two facts (sign rules below)
             | ("int", s)          p ≥ 1 from an integral strict fact p > 0

Every source denotes a FACT `p ρ 0`, ρ in {>, ≥, =}, p a polynomial (poly.py), true for all values
of the locals satisfying the hypotheses and the negated goal:
  * a < b gives p = poly(b) - poly(a) > 0; a ≤ b gives ≥; a = b gives =; a > b, a ≥ b are b < a,
    b ≤ a (GT.gt / GE.ge unfold definitionally); ¬(a < b) is b ≤ a (not_lt) and ¬(a ≤ b) is b < a
    (not_le), valid in the linear orders ℕ ℤ ℚ ℝ. The negated goal: ¬G for a comparison G, and H
    for G = ¬H (Classical.not_not); the rule is then Classical.byContradiction.
  * nonneg t: t : ℕ (Nat.zero_le); t = |u| (abs_nonneg); t = √u (Real.sqrt_nonneg); t = ↑u with u
    itself of one of these shapes (Nat.cast_nonneg, Int.cast_nonneg, Rat.cast_nonneg).
  * mul: (≥,≥) → ≥ (mul_nonneg); (>,>) → > (mul_pos); (≥,>) (>,≥) → ≥ (mul_nonneg, le_of_lt);
    = with anything → = (zero_mul, mul_zero). Products may nest (degree is bounded by the caps).
  * int: a fact is INTEGRAL when its value is an integer: a comparison whose sides have type ℕ or ℤ
    (p's value is value(b) - value(a)), nonneg/sq of an ℕ/ℤ term, a product of integral facts,
    and `int` of one. For integral p > 0, p - 1 ≥ 0 (Int.add_one_le_iff; Nat.succ_le_of_lt).

Why mixing types is sound: by (★) of poly.py each p's value, at the actual values of the atoms,
is the real number value(b) - value(a) (or the product, square, …). Every value of ℕ ℤ ℚ ℝ is a
real number, the casts are order embeddings and ring homomorphisms (Nat.cast_le, Int.cast_lt,
Rat.cast_le, …), and to_poly on ℕ/ℤ uses only steps that commute with them, so each fact is a
true statement about real numbers. THE CHECK: coefficients of > and ≥ facts are ≥ 0 (= facts
any sign); Σ cᵢ·pᵢ normalises to a constant k; and k < 0, or k = 0 and some > fact has cᵢ > 0.
Evaluating the polynomial identity Σ cᵢ·pᵢ = k at the actual atom values gives k ≥ 0 (k > 0 in
the strict case), contradicting the check — so the hypotheses and the negated goal cannot all
hold, which proves the goal (and `False` from the hypotheses when the goal is False).
Caps: MAX_SOURCES source nodes; the polynomial caps of one poly.Budget for the whole check.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .poly import Budget, Poly, to_poly
from .sequent import CoreError, Sequent
from .term import FALSE, NUMERIC, Conn, Op, Rel, Term
from .typing import check_term

MAX_SOURCES = 400


@dataclass(frozen=True)
class Fact:
    poly: Poly
    rel: str  # ">" | "≥" | "="
    integral: bool


def comparison_fact(p: Term, budget: Budget) -> Fact:
    """The fact stated by a comparison, or by ¬ of an order comparison."""
    neg = isinstance(p, Conn) and p.op == "¬"
    if neg:
        p = p.args[0]  # type: ignore[attr-defined]
    if not isinstance(p, Rel) or p.op not in ("=", "<", "≤", ">", "≥"):
        raise CoreError("not a comparison")
    op, a, b = p.op, p.lhs, p.rhs
    if op in (">", "≥"):
        op, a, b = {">": "<", "≥": "≤"}[op], b, a
    if neg:
        if op == "=":
            raise CoreError("a disequality is not a usable fact")
        op, a, b = ("≤" if op == "<" else "<"), b, a
    poly = to_poly(b, budget) - to_poly(a, budget)
    return Fact(poly, {"<": ">", "≤": "≥", "=": "="}[op], a.ty in ("ℕ", "ℤ"))


def _nonneg_shape(t: Term) -> bool:
    if t.ty == "ℕ":
        return True
    if isinstance(t, Op) and t.op in ("abs", "sqrt"):
        return True
    return isinstance(t, Op) and t.op == "cast" and _nonneg_shape(t.args[0])


def _count(src: object, left: list[int]) -> None:
    """Count source nodes into left[0], stopping as soon as the cap is passed (a certificate
    may share sub-tuples, so its tree can be exponentially larger than its Python object)."""
    left[0] -= 1
    if left[0] < 0:
        raise CoreError("certificate too large")
    if not isinstance(src, tuple) or not src:
        raise CoreError("malformed certificate source")
    if src[0] in ("mul", "int"):
        for s in src[1:]:
            _count(s, left)


def _is_order(p: Term) -> bool:
    return isinstance(p, Rel) and p.op in ("<", "≤", ">", "≥")


class _Checker:
    def __init__(self, seq: Sequent) -> None:
        self.seq = seq
        self.budget = Budget()
        self.cache: dict[object, Fact] = {}

    def term(self, t: object) -> Term:
        """A certificate term must be well typed in the context (a wrong type would make the
        ℕ-nonnegativity or integrality claims false) and numeric."""
        try:
            ty = check_term(t, self.seq.var_types())  # type: ignore[arg-type]
        except Exception as e:  # IllTyped, or not a term at all
            raise CoreError(f"ill-typed certificate term: {e}") from e
        if ty not in NUMERIC:
            raise CoreError("certificate term is not a number")
        return t  # type: ignore[return-value]

    def fact(self, src: object) -> Fact:
        try:
            hash(src)
        except TypeError as e:
            raise CoreError("malformed certificate source") from e
        if src not in self.cache:
            self.cache[src] = self._fact(src)
        return self.cache[src]

    def _fact(self, src: object) -> Fact:
        kind = src[0] if isinstance(src, tuple) and src else None
        if kind == "hyp" and len(src) == 2 and type(src[1]) is int:  # type: ignore[arg-type]
            return comparison_fact(self.seq.hyp(src[1]), self.budget)  # type: ignore[index]
        if kind == "neg_goal" and len(src) == 1:  # type: ignore[arg-type]
            g = self.seq.target
            if _is_order(g):
                return comparison_fact(Conn("¬", (g,)), self.budget)
            if isinstance(g, Conn) and g.op == "¬" and _is_order(g.args[0]):
                return comparison_fact(g.args[0], self.budget)  # ¬¬H ↔ H (Classical.not_not)
            raise CoreError("the goal is not an order comparison")
        if kind in ("nonneg", "sq") and len(src) == 2:  # type: ignore[arg-type]
            t = self.term(src[1])  # type: ignore[index]
            p = to_poly(t, self.budget)
            if kind == "sq":
                return Fact(p.mul(p, self.budget), "≥", t.ty in ("ℕ", "ℤ"))
            if not _nonneg_shape(t):
                raise CoreError("not a term known to be nonnegative")
            return Fact(p, "≥", t.ty in ("ℕ", "ℤ"))
        if kind == "mul" and len(src) == 3:  # type: ignore[arg-type]
            f, g = self.fact(src[1]), self.fact(src[2])  # type: ignore[index]
            rel = "=" if "=" in (f.rel, g.rel) else ">" if f.rel == g.rel == ">" else "≥"
            return Fact(f.poly.mul(g.poly, self.budget), rel, f.integral and g.integral)
        if kind == "int" and len(src) == 2:  # type: ignore[arg-type]
            f = self.fact(src[1])  # type: ignore[index]
            if f.rel != ">" or not f.integral:
                raise CoreError("integer strengthening needs a strict fact between integers")
            return Fact(f.poly - Poly.const(1), "≥", True)
        raise CoreError(f"unknown certificate source {src!r:.80}")


def check_linear_certificate(seq: Sequent, cert: object) -> None:
    """Accept (return None) iff `cert` refutes the hypotheses plus the negated goal (see above)."""
    try:
        _check(seq, cert)
    except RecursionError as e:
        raise CoreError("certificate too deep") from e


def _check(seq: Sequent, cert: object) -> None:
    g = seq.target
    if not (g == FALSE or _is_order(g) or (isinstance(g, Conn) and g.op == "¬" and _is_order(g.args[0]))):
        raise CoreError("the goal is not False or an order comparison")
    if not isinstance(cert, tuple) or not cert:
        raise CoreError("a certificate is a nonempty tuple of (source, coefficient)")
    left = [MAX_SOURCES]
    for e in cert:
        if not (isinstance(e, tuple) and len(e) == 2):
            raise CoreError("a certificate entry is a (source, coefficient) pair")
        _count(e[0], left)
    chk = _Checker(seq)
    acc: dict = {}
    strict = False
    for src, c in cert:
        if isinstance(c, bool) or not isinstance(c, (int, Fraction)):
            raise CoreError("certificate coefficients are exact rationals")
        c = Fraction(c)
        f = chk.fact(src)
        if f.rel != "=" and c < 0:
            raise CoreError("negative coefficient on an inequality")
        chk.budget.spend(len(f.poly.terms))
        for m, pc in f.poly.terms.items():
            acc[m] = acc.get(m, 0) + c * pc
        strict = strict or (f.rel == ">" and c > 0)
    total = Poly(acc)  # Σ cᵢ·pᵢ
    if not total.is_const():
        raise CoreError("the combination is not a constant")
    k = total.const_value()
    if not (k < 0 or (k == 0 and strict)):
        raise CoreError(f"the combination gives {k} {'>' if strict else '≥'} 0, no contradiction")
