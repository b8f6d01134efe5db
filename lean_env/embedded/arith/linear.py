"""Comparisons as polynomials, and the linear-arithmetic core of linarith / nlinarith / omega.

A comparison `p op 0` (op in < ≤ = ≠) comes from a hypothesis `a R b` as p = a - b in the
ring normal form of the relation's type (ℕ facts are compared inside ℚ, where ℕ embeds
preserving + * and order). Monomials of degree > 1 and opaque atoms become fresh variables,
so the check is a sound relaxation; z3 decides it with exact rationals under a time limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations_with_replacement

import z3

from ..terms import Conn, Op, Rel, Term, NUMERIC
from .poly import Monomial, Normalizer, Poly

TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Comparison:
    poly: Poly
    op: str  # "<" | "≤" | "=" | "≠"
    ty: str


def comparison(p: Term) -> Comparison | None:
    """`p` as `poly op 0`, or None when `p` is not an order/equality fact between numbers."""
    neg = False
    while isinstance(p, Conn) and p.op == "¬":
        neg, p = not neg, p.args[0]
    if not isinstance(p, Rel) or p.op == "∣" or p.lhs.ty not in NUMERIC:
        return None
    op, lhs, rhs = p.op, p.lhs, p.rhs
    if op in (">", "≥"):
        op, lhs, rhs = {">": "<", "≥": "≤"}[op], rhs, lhs
    if neg:  # linear orders: ¬a < b ↔ b ≤ a, ¬a ≤ b ↔ b < a
        if op == "<":
            op, lhs, rhs = "≤", rhs, lhs
        elif op == "≤":
            op, lhs, rhs = "<", rhs, lhs
        else:
            op = "≠" if op == "=" else "="
    norm = Normalizer(lhs.ty)
    return Comparison(norm.norm(lhs) - norm.norm(rhs), op, lhs.ty)


def negate(c: Comparison) -> list[Comparison]:
    """The negation of `c` as a disjunction-free list when possible (= needs two cases)."""
    if c.op == "<":
        return [Comparison(-c.poly, "≤", c.ty)]
    if c.op == "≤":
        return [Comparison(-c.poly, "<", c.ty)]
    if c.op == "≠":
        return [Comparison(c.poly, "=", c.ty)]
    return [Comparison(c.poly, "≠", c.ty)]


def atom_is_nonneg(atom: Term) -> bool:
    """Facts true of every value of the atom: ℕ-valued atoms and casts from ℕ, |x|, √x."""
    if atom.ty == "ℕ":
        return True
    if isinstance(atom, Op) and atom.op == "cast" and atom.args[0].ty == "ℕ":
        return True
    return isinstance(atom, Op) and atom.op in ("abs", "sqrt")


class LinearProblem:
    """Linear (in)feasibility over monomials-as-variables.

    `exact_int_ops` (omega): ℕ truncated subtraction and division / modulo by a literal get
    their exact definitions (x = k*q + r, 0 ≤ r < |k|; x / 0 = 0, x % 0 = x).
    """

    def __init__(self, integer: bool = False, exact_int_ops: bool = False, even_powers_nonneg: bool = False):
        self.integer = integer
        self.exact_int_ops = exact_int_ops
        # linarith knows nothing about x^2 (an atom); nlinarith's squares make even powers ≥ 0
        self.even_powers_nonneg = even_powers_nonneg
        self.vars: dict[tuple, z3.ArithRef] = {}
        self.side: list[z3.BoolRef] = []

    def mono_var(self, m: Monomial) -> z3.ArithRef:
        key = tuple((repr(a), e) for a, e in m)
        v = self.vars.get(key)
        if v is None:
            name = f"m{len(self.vars)}"
            v = z3.Int(name) if self.integer else z3.Real(name)
            self.vars[key] = v
            if all(atom_is_nonneg(a) for a, _ in m) or (self.even_powers_nonneg and all(e % 2 == 0 for _, e in m)):
                self.side.append(v >= 0)
            if len(m) == 1 and m[0][1] == 1:
                self.define_atom(m[0][0], v)
        return v

    def define_atom(self, atom: Term, v: z3.ArithRef) -> None:
        """Add what is exactly known about an atom's value (always true facts only)."""
        if not isinstance(atom, Op):
            return
        if atom.op == "cast" and atom.args[0].ty in NUMERIC:
            inner = atom.args[0]
            self.side.append(v == self.linear(Normalizer(inner.ty).norm(inner)))
            return
        if not self.exact_int_ops or atom.ty not in ("ℕ", "ℤ"):
            return
        norm = Normalizer(atom.ty)
        if atom.op == "-" and atom.ty == "ℕ":
            a, b = self.linear(norm.norm(atom.args[0])), self.linear(norm.norm(atom.args[1]))
            self.side.append(v == z3.If(a >= b, a - b, 0))
        elif atom.op in ("/", "%"):
            k = norm.norm(atom.args[1])
            if not k.is_const():
                return
            kv = int(k.const_value())
            x = self.linear(norm.norm(atom.args[0]))
            if kv == 0:
                self.side.append(v == (0 if atom.op == "/" else x))
                return
            q, r = z3.FreshInt("q"), z3.FreshInt("r")
            self.side += [x == kv * q + r, r >= 0, r < abs(kv), v == (q if atom.op == "/" else r)]

    def linear(self, p: Poly) -> z3.ArithRef:
        acc = []
        for m, c in p.terms.items():
            coef = z3.RealVal(f"{c.numerator}/{c.denominator}") if not self.integer else z3.IntVal(int(c))
            acc.append(coef if m == () else coef * self.mono_var(m))
        return z3.Sum(acc) if acc else (z3.IntVal(0) if self.integer else z3.RealVal(0))

    def constraint(self, c: Comparison) -> z3.BoolRef:
        p = c.poly
        if self.integer and any(x.denominator != 1 for x in p.terms.values()):
            lcm = 1
            for x in p.terms.values():
                lcm = lcm * x.denominator // __import__("math").gcd(lcm, x.denominator)
            p = p.scale(Fraction(lcm))
        e = self.linear(p)
        zero = 0
        if c.op == "<":
            if c.ty in ("ℕ", "ℤ") and not self.integer:
                return e + 1 <= zero  # integer strengthening, as linarith's preprocessing
            return e < zero
        if c.op == "≤":
            return e <= zero
        if c.op == "=":
            return e == zero
        return e != zero


def infeasible(comparisons: list[Comparison], integer: bool = False, timeout_ms: int = TIMEOUT_MS,
               exact_int_ops: bool = False, even_powers_nonneg: bool = False) -> bool:
    """True iff z3 proves the comparisons jointly unsatisfiable (unknown counts as no)."""
    prob = LinearProblem(integer, exact_int_ops, even_powers_nonneg)
    cs = [prob.constraint(c) for c in comparisons]
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(*cs, *prob.side)
    return s.check() == z3.unsat


def products(comparisons: list[Comparison], limit: int = 30) -> list[Comparison]:
    """nlinarith's preprocessing: pairwise products of the comparisons (sign rules)."""
    out = []
    usable = [c for c in comparisons if c.op in ("<", "≤", "=")][:limit]
    for a, b in combinations_with_replacement(usable, 2):
        if a.ty != b.ty:
            continue
        prod = a.poly * b.poly
        # both are "p op 0" with p ≤ 0 / p < 0 / p = 0: the product is ≥ 0, > 0, or = 0
        if a.op == "=" or b.op == "=":
            out.append(Comparison(prod, "=", a.ty))
        elif a.op == "<" and b.op == "<":
            out.append(Comparison(-prod, "<", a.ty))
        else:
            out.append(Comparison(-prod, "≤", a.ty))
    return out
