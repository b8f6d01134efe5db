"""Core rules for `field_simp` (registered into core.rules.RULES by its last line).

field_simp(nz, new) / field_simp_hyp(h, nz, new, name, uid): replace the goal (the hypothesis h)
P by `new` Q, where P and Q are both equations `L = R` or both disequations (`L ≠ R`, `¬ L = R`)
between numbers, and the listed hypotheses nz state that some terms are nonzero:
`t ≠ 0`, `¬ t = 0`, `0 < t`, `t > 0`, `t < 0`, `0 > t` (ne_of_gt, ne_of_lt).

Check: E_P = poly(L_P) - poly(R_P) and E_Q likewise (poly.py, value semantics in ℝ) have the
same CLEARED form (below). Each step of the clearing multiplies or divides a polynomial by a
value known to be nonzero, so E = 0 ↔ cleared(E) = 0; equal cleared forms give E_P = 0 ↔ E_Q = 0,
hence P ↔ Q (and ¬P ↔ ¬Q). Mathlib: field_simp's simp set (div_eq_iff, eq_div_iff,
div_add_div, ne_eq, mul_inv_cancel₀) with the side conditions discharged by the hypotheses.
  1. Denominators: an atom `inv A` (poly.py writes x⁻¹, a / b, for non-numeral b this way) whose
     argument's polynomial a = poly(A) is KNOWN NONZERO: a monomial c·x₁^e₁⋯ (c ≠ 0) whose atoms
     xᵢ are all nonzero atoms, or a constant multiple of the polynomial of a listed term. With
     k the largest exponent of `inv A` in E, E is multiplied by a^k and `inv A ^ e` in each
     monomial becomes a^(k-e): a value identity because value(inv A) · value(A) = 1 when A ≠ 0
     (mul_inv_cancel₀). The result is E · Π a^k with Π a^k ≠ 0 (mul_ne_zero, pow_ne_zero).
  2. Content: E is divided by x^j for each nonzero atom x, j its least exponent over E's
     monomials (mul_eq_zero with x ≠ 0), and by the coefficient of its first monomial in a fixed
     order (a nonzero rational).
Nonzero atoms: the atoms of a listed term whose polynomial is a monomial c·x₁^e₁⋯ with c ≠ 0
(a product is nonzero only if each factor is: mul_ne_zero_iff, pow_ne_zero_iff).
"""
from __future__ import annotations

from fractions import Fraction

from .poly import Budget, Poly, skey, to_poly
from .rules import check_in, need_prop, new_hyp, rule
from .sequent import CoreError, Sequent
from .term import NUMERIC, Conn, Lit, Op, Rel, Term

MAX_CLEAR_EXPONENT = 16


def _zero(t: Term) -> bool:
    return isinstance(t, Lit) and t.value == 0


def _nonzero_term(p: Term) -> Term:
    """t for a hypothesis stating t ≠ 0 (in one of the accepted shapes)."""
    if isinstance(p, Conn) and p.op == "¬" and isinstance(p.args[0], Rel) and p.args[0].op == "=":
        p = Rel("≠", p.args[0].lhs, p.args[0].rhs)
    if isinstance(p, Rel) and p.lhs.ty in NUMERIC:
        if p.op == "≠" and _zero(p.rhs):
            return p.lhs
        if p.op in ("<", ">") and _zero(p.lhs):
            return p.rhs
        if p.op in ("<", ">") and _zero(p.rhs):
            return p.lhs
    raise CoreError("a nonzero hypothesis must read t ≠ 0, ¬ t = 0, 0 < t, t > 0, t < 0 or 0 > t")


def _monic(p: Poly) -> Poly:
    if not p.terms:
        return p
    first = min(p.terms, key=lambda m: sorted((skey(a.t), e) for a, e in m))
    return p.scale(Fraction(1) / p.terms[first])


class _Nonzero:
    def __init__(self, seq: Sequent, uids, budget: Budget) -> None:
        self.atoms: set = set()
        self.sums: set = set()
        self.budget = budget
        for u in uids:
            p = to_poly(_nonzero_term(seq.hyp(u)), budget)
            if len(p.terms) == 1:
                (m, c), = p.terms.items()
                if c != 0:
                    self.atoms |= {a.t for a, _ in m}
            elif p.terms:
                self.sums.add(_monic(p))

    def known(self, a: Poly) -> bool:
        if len(a.terms) == 1:
            (m, c), = a.terms.items()
            return c != 0 and all(x.t in self.atoms for x, _ in m)
        return bool(a.terms) and _monic(a) in self.sums

    def clear(self, e: Poly) -> Poly:
        dens = {}
        for m in e.terms:
            for x, _ in m:
                if isinstance(x.t, Op) and x.t.op == "inv" and x not in dens:
                    a = to_poly(x.t.args[0], self.budget)
                    if self.known(a):
                        dens[x] = a
        if dens:
            top = {x: max(dict(m).get(x, 0) for m in e.terms) for x in dens}
            if any(k > MAX_CLEAR_EXPONENT for k in top.values()):
                raise CoreError("denominator exponent too large")
            out = Poly()
            for m, c in e.terms.items():
                d = dict(m)
                term = Poly({frozenset((x, k) for x, k in d.items() if x not in dens): c})
                for x, a in dens.items():
                    term = term.mul(a.pow(top[x] - d.get(x, 0), self.budget), self.budget)
                out = out + term
            e = out
        for x in {a for m in e.terms for a, _ in m if a.t in self.atoms}:
            j = min((dict(m).get(x, 0) for m in e.terms), default=0)
            if j > 0:
                e = Poly({frozenset((y, k - j if y == x else k) for y, k in m if not (y == x and k == j)): c
                          for m, c in e.terms.items()})
        return _monic(e)


def _equation(p: Term) -> tuple[bool, Term, Term]:
    """(negated, L, R) for L = R, L ≠ R, ¬ L = R."""
    neg = False
    if isinstance(p, Conn) and p.op == "¬":
        neg, p = True, p.args[0]
    if isinstance(p, Rel) and p.op == "≠" and not neg:
        neg, p = True, Rel("=", p.lhs, p.rhs)
    if not (isinstance(p, Rel) and p.op == "=" and p.lhs.ty in NUMERIC):
        raise CoreError("field_simp needs an equation or a disequation of numbers")
    return neg, p.lhs, p.rhs


def _equivalent(seq: Sequent, old: Term, new: Term, nz) -> None:
    budget = Budget()
    n1, l1, r1 = _equation(old)
    n2, l2, r2 = _equation(new)
    if n1 != n2:
        raise CoreError("field_simp keeps the shape of the proposition")
    for t in (l2, r2):
        check_in(seq, t)
    z = _Nonzero(seq, tuple(nz), budget)
    e1 = z.clear(to_poly(l1, budget) - to_poly(r1, budget))
    e2 = z.clear(to_poly(l2, budget) - to_poly(r2, budget))
    if e1 != e2:
        raise CoreError("the new proposition is not equivalent by clearing the known-nonzero denominators")


@rule("field_simp")
def r_field_simp(seq, args, env):
    nz, new = args
    need_prop(seq, new)
    _equivalent(seq, seq.target, new, nz)
    return [seq.with_target(new)]


@rule("field_simp_hyp")
def r_field_simp_hyp(seq, args, env):
    h, nz, new, name, uid = args
    need_prop(seq, new)
    _equivalent(seq, seq.hyp(h), new, nz)
    return [new_hyp(seq.without(h), name, uid, new)]
