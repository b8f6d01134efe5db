"""Canonical keys of propositions, for the `normalize` rule (trusted).

The rule replaces a goal or hypothesis P by Q when canon(P) == canon(Q). So canon maps two
propositions to the same key ONLY IF they are equivalent for all values of the free locals (and
of the bound variables, under binders). It is not complete. Each key denotes a proposition:

  ("T",) ("F",)                True, False
  ("<", P) ("≤", P)            0 < value(P), 0 ≤ value(P)      (P a poly.Poly over atoms)
  ("=", {P, -P})               value(P) = 0
  ("dvd", {A, -A}, {B, -B})    A ∣ B in ℤ
  ("prime", P)                 Nat.Prime value(P)
  ("not", k) ("and", {k…}) ("or", {k…}) ("iff", {k₁, k₂}) ("Q", kind, vty, k)

Clauses (values as in evaluate.py / poly.py: every number is a real, casts are embeddings):
  * a > b is b < a, a ≥ b is b ≤ a, a ≠ b is ¬ a = b: Lean's definitions (GT.gt, GE.ge, Ne).
  * a < b ↔ 0 < P, a ≤ b ↔ 0 ≤ P, a = b ↔ P = 0, with P = poly(b) - poly(a): in any of ℕ ℤ ℚ ℝ
    the order and equality are those of the values in ℝ (Nat.cast_lt/le/inj, Int.cast_lt/le/inj,
    Rat.cast_lt/le/inj — this is also norm_cast's ↑a R ↑b ↔ a R b) and sub_pos, sub_nonneg,
    sub_eq_zero in ℝ. P is divided by m = max |coefficient| > 0 (div_pos_iff_of_pos_right,
    div_nonneg_iff, div_eq_zero_iff: dividing a real by a positive constant keeps its sign), and an
    equation is keyed by {P, -P} (neg_eq_zero). A constant P is decided (a closed comparison).
  * ¬(0 < P) ↔ 0 ≤ -P and ¬(0 ≤ P) ↔ 0 < -P (not_lt, not_le in ℝ); ¬¬p ↔ p (Classical.not_not);
    ¬True ↔ False, ¬False ↔ True (not_true_eq_false, not_false_eq_true).
  * ∧, ∨ are keyed by the SET of their flattened arguments (and_comm, and_assoc, and_self, or_…);
    True is dropped from ∧ and absorbs ∨, False the reverse (and_true, true_and, and_false, or_…);
    p → q ↔ ¬p ∨ q (Classical.imp_iff_not_or); p ↔ q by the set {p, q} (iff_comm), p ↔ p is True
    (iff_self), True ↔ q is q (true_iff), False ↔ q is ¬q (false_iff).
  * a ∣ b over ℕ is ↑a ∣ ↑b over ℤ (Int.natCast_dvd_natCast); a ∣ b ↔ -a ∣ b ↔ a ∣ -b (neg_dvd,
    dvd_neg); ±1 ∣ b (one_dvd), a ∣ 0 (dvd_zero); closed ones decided.
  * `Prime n` ↔ `Nat.Prime n` on ℕ (Nat.prime_iff); a closed one is decided (evaluate.is_prime).
  * ∀/∃: the body's key under the binder (its BVars are atoms: every clause holds for all values
    of them). ∀ x, True and ∃ x, True are True, ∀ x, False and ∃ x, False are False: every type
    here is inhabited (forall_const, exists_const).
"""
from __future__ import annotations

from fractions import Fraction

from .evaluate import NotEvaluable, is_prime
from .poly import Budget, Poly, to_poly
from .sequent import CoreError
from .term import Conn, Pred, Quant, Rel, Term

T, F = ("T",), ("F",)
_FLIP = {"<": "≤", "≤": "<"}


def _scaled(p: Poly) -> Poly:
    m = max(abs(c) for c in p.terms.values())
    return p.scale(Fraction(1) / m)


def _neg(k: tuple) -> tuple:
    if k in (T, F):
        return F if k == T else T
    if k[0] == "not":
        return k[1]
    if k[0] in _FLIP:  # ¬(0 < P) ↔ 0 ≤ -P ; ¬(0 ≤ P) ↔ 0 < -P
        return (_FLIP[k[0]], -k[1])
    return ("not", k)


def _junction(op: str, keys: list[tuple]) -> tuple:
    unit, absorb = (T, F) if op == "and" else (F, T)
    items: set = set()
    for k in keys:
        items |= k[1] if k[0] == op else {k}
    if absorb in items:
        return absorb
    items.discard(unit)
    if not items:
        return unit
    if len(items) == 1:
        return next(iter(items))
    return (op, frozenset(items))


class _Canon:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def poly(self, t: Term) -> Poly:
        return to_poly(t, self.budget)

    def prop(self, p: Term) -> tuple:
        if isinstance(p, Conn):
            if p.op in ("True", "False"):
                return T if p.op == "True" else F
            ks = [self.prop(a) for a in p.args]
            if p.op == "¬":
                return _neg(ks[0])
            if p.op in ("∧", "∨"):
                return _junction("and" if p.op == "∧" else "or", ks)
            if p.op == "→":
                return _junction("or", [_neg(ks[0]), ks[1]])
            if p.op == "↔":
                a, b = ks
                if a == b:
                    return T
                for x, y in ((a, b), (b, a)):
                    if x == T:
                        return y
                    if x == F:
                        return _neg(y)
                return ("iff", frozenset((a, b)))
        if isinstance(p, Rel):
            return self.rel(p)
        if isinstance(p, Pred):  # Prime n ↔ Nat.Prime n on ℕ
            n = self.poly(p.args[0])
            if n.is_const():
                try:
                    return T if is_prime(int(n.const_value())) else F
                except NotEvaluable:
                    pass
            return ("prime", n)
        if isinstance(p, Quant):
            body = self.prop(p.body)
            if body in (T, F):
                return body
            return ("Q", p.kind, p.vty, body)
        raise CoreError(f"cannot normalize {type(p).__name__}")

    def rel(self, r: Rel) -> tuple:
        op, a, b = r.op, r.lhs, r.rhs
        if op == "∣":
            pa, pb = self.poly(a), self.poly(b)
            if pb == Poly() or (pa.is_const() and abs(pa.const_value()) == 1):
                return T
            if pa.is_const() and pb.is_const():
                x, y = int(pa.const_value()), int(pb.const_value())
                return T if (y == 0 if x == 0 else y % x == 0) else F
            return ("dvd", frozenset((pa, -pa)), frozenset((pb, -pb)))
        if op == "≠":
            return _neg(self.rel(Rel("=", a, b)))
        if op in (">", "≥"):
            op, a, b = {">": "<", "≥": "≤"}[op], b, a
        p = self.poly(b) - self.poly(a)
        if p.is_const():
            k = p.const_value()
            return T if {"<": 0 < k, "≤": 0 <= k, "=": k == 0}[op] else F
        p = _scaled(p)
        if op == "=":
            return ("=", frozenset((p, -p)))
        return (op, p)


def canon(p: Term, budget: Budget | None = None) -> tuple:
    """A hashable key; equal keys only for equivalent propositions (see the module docstring)."""
    try:
        return _Canon(budget or Budget()).prop(p)
    except RecursionError as e:
        raise CoreError("proposition too large (too deep)") from e


def equivalent(p: Term, q: Term) -> bool:
    """The `normalize` rule's check: canon(p) == canon(q), under one shared budget."""
    b = Budget()
    return canon(p, b) == canon(q, b)
