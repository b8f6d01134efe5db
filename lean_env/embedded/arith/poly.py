"""Commutative-ring normal form of typed terms: polynomials over atoms with exact rationals.

Only steps that are identities in the term's type are taken: in ℕ, `-`, `/`, `%` are not ring
operations (truncated / floor) so they stay atoms; in ℤ, `/` and `%` stay atoms; in ℚ/ℝ,
`a / b` is `a * b⁻¹` with `b⁻¹` an atom (or an exact rational when b is a nonzero numeral,
`x / 0 = 0` when b is 0). Casts `↑` distribute over + * ^ (and - from ℤ), which is true for
ℕ→ℤ→ℚ→ℝ. Anything else is an opaque atom, so a normal form never claims a false identity.
"""
from __future__ import annotations

from fractions import Fraction

from ..errors import TacticFailed
from ..terms import NUMERIC, App, BigOp, Num, Op, Term

Monomial = tuple[tuple[Term, int], ...]  # sorted (atom, exponent) pairs
MAX_EXPONENT = 64
# Caps, so that no normal form runs past the tactic limit (or nests deeper than the translation
# into the core can follow): exceeding one is an ordinary tactic failure.
MAX_MONOMIALS = 400
MAX_PRODUCTS = 200_000


def _key(t: Term) -> str:
    return repr(t)


class Poly:
    """A polynomial: monomial -> nonzero Fraction coefficient."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[Monomial, Fraction] | None = None):
        self.terms = {m: c for m, c in (terms or {}).items() if c != 0}

    @staticmethod
    def const(c: Fraction | int) -> "Poly":
        return Poly({(): Fraction(c)})

    @staticmethod
    def atom(t: Term) -> "Poly":
        return Poly({((t, 1),): Fraction(1)})

    def __add__(self, o: "Poly") -> "Poly":
        out = dict(self.terms)
        for m, c in o.terms.items():
            out[m] = out.get(m, Fraction(0)) + c
        return Poly(out)

    def scale(self, k: Fraction) -> "Poly":
        return Poly({m: c * k for m, c in self.terms.items()})

    def __neg__(self) -> "Poly":
        return self.scale(Fraction(-1))

    def __sub__(self, o: "Poly") -> "Poly":
        return self + (-o)

    def __mul__(self, o: "Poly") -> "Poly":
        if len(self.terms) * len(o.terms) > MAX_PRODUCTS:
            raise TacticFailed("the polynomial expansion is too large")
        out: dict[Monomial, Fraction] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in o.terms.items():
                m = mono_mul(m1, m2)
                out[m] = out.get(m, Fraction(0)) + c1 * c2
        if len(out) > MAX_MONOMIALS:
            raise TacticFailed(f"the polynomial expansion is too large (over {MAX_MONOMIALS} monomials)")
        return Poly(out)

    def pow(self, n: int) -> "Poly":
        out = Poly.const(1)
        for _ in range(n):
            out = out * self
        return out

    def is_const(self) -> bool:
        return all(m == () for m in self.terms)

    def const_value(self) -> Fraction:
        return self.terms.get((), Fraction(0))

    def key(self) -> tuple:
        return tuple(sorted(((tuple((_key(a), e) for a, e in m), c) for m, c in self.terms.items())))

    def __eq__(self, o: object) -> bool:
        return isinstance(o, Poly) and self.key() == o.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return f"Poly({self.terms})"


def mono_mul(a: Monomial, b: Monomial) -> Monomial:
    d: dict[Term, int] = {}
    for t, e in a + b:
        d[t] = d.get(t, 0) + e
    return tuple(sorted(d.items(), key=lambda te: _key(te[0])))


class Normalizer:
    """Turns terms into `Poly`s; `field` allows division by nonzero numerals and inverse atoms.

    Like Mathlib's `ring`, numerals are computed through + - * ^ and casts only; closed ℕ/ℤ
    `/` `%`, gcd, lcm, `!`, `√`, `|·|` and finite sums stay atoms unless `eval_closed` (which
    norm_num-like callers use) asks for their exact values.
    """

    def __init__(self, ty: str, eval_closed: bool = False):
        self.ty = ty
        self.field = ty in ("ℚ", "ℝ")
        self.eval_closed = eval_closed

    def norm(self, t: Term) -> Poly:
        ty = t.ty
        if isinstance(t, Num):
            return Poly.const(t.value)
        if isinstance(t, Op):
            a = t.args
            if t.op == "+":
                return self.norm(a[0]) + self.norm(a[1])
            if t.op == "*":
                return self.norm(a[0]) * self.norm(a[1])
            if t.op == "neg" and ty != "ℕ":
                return -self.norm(a[0])
            if t.op == "-" and ty != "ℕ":
                return self.norm(a[0]) - self.norm(a[1])
            if t.op == "-" and ty == "ℕ":
                x, y = self.norm(a[0]), self.norm(a[1])
                if x.is_const() and y.is_const():
                    return Poly.const(max(x.const_value() - y.const_value(), Fraction(0)))
                return Poly.atom(t)
            if t.op == "^":
                e = Normalizer("ℕ").norm(a[1])
                if e.is_const() and e.const_value() <= MAX_EXPONENT:
                    return self.norm(a[0]).pow(int(e.const_value()))
                return Poly.atom(Op("^", (to_term(self.norm(a[0]), a[0].ty), a[1]), ty))
            if t.op == "/" and ty in ("ℚ", "ℝ"):
                return self.norm(a[0]) * self.inverse(self.norm(a[1]), ty)
            if t.op in ("/", "%") and ty in ("ℕ", "ℤ"):
                x, y = self.norm(a[0]), self.norm(a[1])
                if x.is_const() and y.is_const() and self.eval_closed:
                    return Poly.const(int_divmod(t.op, x.const_value(), y.const_value()))
                return Poly.atom(Op(t.op, (to_term(x, ty), to_term(y, ty)), ty))
            if t.op == "cast":
                inner = a[0]
                return self.norm_cast(inner, ty)
            if t.op == "abs":
                x = self.norm(a[0])
                if x.is_const() and self.eval_closed:
                    return Poly.const(abs(x.const_value()))
                return Poly.atom(Op("abs", (to_term(x, ty),), ty))
            if t.op == "fact":
                x = Normalizer("ℕ").norm(a[0])
                if x.is_const() and x.const_value() <= 200 and self.eval_closed:
                    import math
                    return Poly.const(math.factorial(int(x.const_value())))
            if t.op == "sqrt":
                x = Normalizer("ℝ").norm(a[0])
                if x.is_const() and self.eval_closed:
                    r = exact_sqrt(x.const_value())
                    if r is not None:
                        return Poly.const(r)
                return Poly.atom(Op("sqrt", (to_term(x, "ℝ"),), "ℝ"))
            if t.op in ("gcd", "lcm"):
                x, y = Normalizer(a[0].ty).norm(a[0]), Normalizer(a[1].ty).norm(a[1])
                if x.is_const() and y.is_const() and self.eval_closed:
                    import math
                    xv, yv = int(x.const_value()), int(y.const_value())
                    return Poly.const(math.gcd(xv, yv) if t.op == "gcd" else math.lcm(xv, yv))
        if isinstance(t, App):
            args = tuple(to_term(Normalizer(x.ty, self.eval_closed).norm(x), x.ty) if x.ty in NUMERIC else x
                         for x in t.args)
            return Poly.atom(App(t.fn, args, t.ty))
        if isinstance(t, BigOp) and self.eval_closed:
            expanded = expand_bigop(t)
            if expanded is not None:
                return self.norm(expanded)
        return Poly.atom(t)

    def norm_cast(self, inner: Term, target: str) -> Poly:
        src = inner.ty
        if isinstance(inner, Num):
            return Poly.const(inner.value)
        if isinstance(inner, Op):
            a = inner.args
            if inner.op in ("+", "*"):
                lhs, rhs = self.norm_cast(a[0], target), self.norm_cast(a[1], target)
                return lhs + rhs if inner.op == "+" else lhs * rhs
            if inner.op == "^":
                e = Normalizer("ℕ").norm(a[1])
                if e.is_const() and e.const_value() <= MAX_EXPONENT:
                    return self.norm_cast(a[0], target).pow(int(e.const_value()))
            if inner.op in ("-", "neg") and src != "ℕ":
                if inner.op == "neg":
                    return -self.norm_cast(a[0], target)
                return self.norm_cast(a[0], target) - self.norm_cast(a[1], target)
            if inner.op == "cast":
                return self.norm_cast(a[0], target)
        p = Normalizer(src, self.eval_closed).norm(inner)
        if p.is_const() and (src != "ℕ" or p.const_value() >= 0):
            return Poly.const(p.const_value())
        return Poly.atom(Op("cast", (to_term(p, src),), target))

    def inverse(self, p: Poly, ty: str) -> Poly:
        if p.is_const():
            c = p.const_value()
            return Poly.const(0 if c == 0 else 1 / c)
        if len(p.terms) == 1:
            # (c · x^e ⋯)⁻¹ = c⁻¹ · (x⁻¹)^e ⋯ holds in every field (also when x = 0)
            (m, c), = p.terms.items()
            out = Poly.const(1 / c)
            for atom, e in m:
                out = out * self._inv_atom(atom, ty).pow(e)
            return out
        return Poly.atom(Op("inv", (to_term(p, ty),), ty))

    def _inv_atom(self, atom: Term, ty: str) -> Poly:
        return Poly.atom(Op("inv", (atom,), ty))


def int_divmod(op: str, x: Fraction, y: Fraction) -> Fraction:
    """Lean's ℕ/ℤ `/` and `%` (Int.ediv / Int.emod): x / 0 = 0, x % 0 = x."""
    xi, yi = int(x), int(y)
    if yi == 0:
        return Fraction(0) if op == "/" else Fraction(xi)
    q = xi // yi if yi > 0 else -(xi // -yi)
    r = xi - yi * q
    if r < 0:  # Euclidean: remainder in [0, |y|)
        q, r = (q - 1, r + yi) if yi > 0 else (q + 1, r - yi)
    return Fraction(q if op == "/" else r)


def exact_sqrt(x: Fraction) -> Fraction | None:
    """√x when x is a perfect square rational (0 for x < 0, as Real.sqrt)."""
    import math
    if x < 0:
        return Fraction(0)
    n, d = x.numerator, x.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    if rn * rn == n and rd * rd == d:
        return Fraction(rn, rd)
    return None


def expand_bigop(t: BigOp, limit: int = 400) -> Term | None:
    """Unfold a sum/product with literal bounds into + / * of instantiated bodies."""
    from ..terms import substitute
    lo_p = Normalizer(t.vty).norm(t.lo) if t.lo is not None else Poly.const(0)
    hi_p = Normalizer(t.vty).norm(t.hi)
    if not (lo_p.is_const() and hi_p.is_const()):
        return None
    lo = int(lo_p.const_value())
    hi = int(hi_p.const_value()) - (1 if t.kind == "range" else 0)
    if hi - lo + 1 > limit:
        return None
    op = "+" if t.op == "∑" else "*"
    acc: Term = Num(Fraction(0 if op == "+" else 1), t.ty)
    for k in range(lo, hi + 1):
        acc = Op(op, (acc, substitute(t.body, t.var, Num(Fraction(k), t.vty))), t.ty)
    return acc


def to_term(p: Poly, ty: str) -> Term:
    """A term denoting `p` (used for atoms' canonical arguments and ring_nf output)."""
    from ..terms import num
    out: Term | None = None
    items = sorted(p.terms.items(), key=lambda mc: (sum(e for _, e in mc[0]), [_key(a) for a, _ in mc[0]]))
    for m, c in items:
        mono: Term | None = None
        for atom, e in m:
            base = atom
            f = base if e == 1 else Op("^", (base, Num(Fraction(e), "ℕ")), ty)
            mono = f if mono is None else Op("*", (mono, f), ty)
        coef = abs(c)
        if mono is None:
            piece = num(coef, ty)
        elif coef != 1:
            piece = Op("*", (mono, num(coef, ty)), ty)
        else:
            piece = mono
        if out is None:
            out = piece if c > 0 else (Op("neg", (piece,), ty) if ty != "ℕ" else piece)
        else:
            out = Op("+" if c > 0 else "-", (out, piece), ty)
    return out if out is not None else Num(Fraction(0), ty)

