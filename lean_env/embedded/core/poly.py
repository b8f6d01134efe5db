"""Commutative-ring normal form (trusted): polynomials over atoms with exact rational coefficients.

Value semantics. Every numeric term denotes a real number (ℕ ⊂ ℤ ⊂ ℚ ⊂ ℝ, see evaluate.py).
`to_poly(t)` returns a polynomial P over ATOMS (core terms, compared structurally — which is
α-equivalence here, FVars by uid) such that, for every value of the locals and bound variables,

    value(t) = P(value(atom₁), …, value(atomₙ))        computed in ℝ.             (★)

Each step below is an identity about these values; the Mathlib lemma is the one that makes it
an identity in the term's own type (so the real-valued claim is the cast of Lean's identity):
  * `a + b`, `a * b`, numerals: ring operations of every type, and ℕ→ℤ→ℚ→ℝ are injective
    ring homomorphisms (Nat.cast_add/mul/ofNat, Int.cast_add/mul, Rat.cast_add/mul).
  * `a - b`, `-a` on ℤ/ℚ/ℝ (sub_eq_add_neg; Int.cast_sub/neg, Rat.cast_sub/neg). On ℕ, `a - b` is
    truncated: it is an ATOM (never expanded).
  * `a ^ n` with n's normal form a constant e ≤ MAX_EXPONENT: the product of e copies (pow_succ,
    Nat.cast_pow, Int.cast_pow, Rat.cast_pow); a constant base is computed exactly; otherwise an atom.
  * `↑a`: the value of a cast is the value of its argument (Nat.cast, Int.cast, Rat.cast embed;
    ↑↑a = ↑a is Int.cast_natCast, Rat.cast_natCast, Rat.cast_intCast), so ↑a has a's normal form;
    a's own operations keep a's semantics (↑(a - b : ℕ) keeps the ℕ atom `a - b`).
  * ℚ/ℝ `a / b = a * b⁻¹` (div_eq_mul_inv) and `b⁻¹`: c⁻¹ for a numeral c (0⁻¹ = 0, inv_zero);
    for a monomial (c·x₁^e₁⋯)⁻¹ = c⁻¹·(x₁⁻¹)^e₁⋯ (mul_inv, inv_pow: identities of a commutative
    group with zero, true also when some xᵢ = 0 because 0⁻¹ = 0); (x⁻¹)⁻¹ = x (inv_inv);
    otherwise an atom `(…)⁻¹`. x · x⁻¹ is NOT simplified (it is 0 when x = 0).
  * ℕ/ℤ `/` `%`, |·|, √, !, gcd, lcm, ∑, ∏, function applications, variables: ATOMS. Their numeric
    arguments are first replaced by a canonical term of their normal form (equal values, so the
    atom's value is unchanged: congruence); a closed atom is replaced by its exact value
    (evaluate.py) when that is computable.
Hence (★) holds by induction, and equal normal forms mean equal values for all values of the
locals — the polynomial identity `ring` proves. Caps: MAX_MONOMIALS per polynomial, MAX_WORK
monomial products (and MAX_NODES term nodes) per Budget, coefficients of evaluate.MAX_BITS;
exceeding one raises CoreError("… too large"), an ordinary failure.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction

from .evaluate import MAX_BITS, NotEvaluable, Steps, evaluate, power
from .sequent import CoreError
from .term import NUMERIC, RANK, App, BigOp, BVar, FVar, Lit, Op, Term, fvars, has_loose_bvars, rebuild

MAX_EXPONENT = 64
MAX_MONOMIALS = 20_000
MAX_WORK = 100_000
MAX_NODES = 100_000

Mono = frozenset  # of (_Atom, exponent ≥ 1) pairs, each atom at most once


class _Atom:
    """An atom term with its hash computed once (term hashes are recomputed on every call, and
    monomial products hash atoms constantly). Equality is the term's (α-equivalence)."""

    __slots__ = ("h", "t")

    def __init__(self, t: Term) -> None:
        self.t, self.h = t, hash(t)

    def __eq__(self, o: object) -> bool:
        return self is o or (isinstance(o, _Atom) and self.h == o.h and self.t == o.t)

    def __hash__(self) -> int:
        return self.h


class Budget(Steps):
    """Work allowance shared by the normalisations of one rule application: monomial products,
    term nodes, and (inherited) evaluation steps for closed atoms."""

    def __init__(self, work: int = MAX_WORK) -> None:
        super().__init__()
        self.left = work
        self.nodes = MAX_NODES

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise CoreError("polynomial arithmetic too large")


def _mono_mul(a: Mono, b: Mono) -> Mono:
    if not a or not b:
        return a or b
    d = dict(a)
    for x, e in b:
        d[x] = d.get(x, 0) + e
    return frozenset(d.items())


class Poly:
    """A polynomial: {monomial: nonzero Fraction}. Equality and hash ignore insertion order."""

    __slots__ = ("_hash", "terms")

    def __init__(self, terms: dict | None = None) -> None:
        # coefficients are exact: int when integral (fast arithmetic), else Fraction; never float
        self.terms: dict[Mono, int | Fraction] = {}
        for m, c in (terms or {}).items():
            if type(c) is not int and type(c) is not Fraction:
                raise TypeError(f"inexact coefficient {c!r}")
            if c != 0:
                if c.numerator.bit_length() > MAX_BITS or c.denominator.bit_length() > MAX_BITS:
                    raise CoreError("polynomial coefficient too large")
                self.terms[m] = c.numerator if c.denominator == 1 else c
        if len(self.terms) > MAX_MONOMIALS:
            raise CoreError("polynomial too large")
        self._hash: int | None = None

    @staticmethod
    def const(c: Fraction | int) -> Poly:
        return Poly({frozenset(): Fraction(c)})

    @staticmethod
    def atom(t: Term) -> Poly:
        return Poly({frozenset({(_Atom(t), 1)}): Fraction(1)})

    def __add__(self, o: Poly) -> Poly:
        out = dict(self.terms)
        for m, c in o.terms.items():
            out[m] = out.get(m, 0) + c
        return Poly(out)

    def scale(self, k: Fraction | int) -> Poly:  # k exact
        return Poly({m: c * k for m, c in self.terms.items()})

    def __neg__(self) -> Poly:
        return self.scale(-1)

    def __sub__(self, o: Poly) -> Poly:
        return self + (-o)

    def mul(self, o: Poly, budget: Budget) -> Poly:
        budget.spend(len(self.terms) * len(o.terms))
        out: dict[Mono, Fraction] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in o.terms.items():
                m = _mono_mul(m1, m2)
                out[m] = out.get(m, 0) + c1 * c2
        return Poly(out)

    def pow(self, e: int, budget: Budget) -> Poly:
        out = Poly.const(1)
        for _ in range(e):
            out = out.mul(self, budget)
        return out

    def is_const(self) -> bool:
        return all(not m for m in self.terms)

    def const_value(self) -> Fraction:
        return Fraction(self.terms.get(frozenset(), 0))

    def __eq__(self, o: object) -> bool:
        return isinstance(o, Poly) and self.terms == o.terms

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self.terms.items()))
        return self._hash

    def __repr__(self) -> str:
        return " + ".join(f"{c}·" + "·".join(f"{skey(a.t)}^{e}" for a, e in sorted(m, key=_fkey))
                          for m, c in self.terms.items()) or "0"

    def eval(self, atom_value: Callable[[Term], Fraction]) -> Fraction:
        """The value at given atom values (for tests and tactics)."""
        return sum((c * _prod(atom_value(a.t) ** e for a, e in m) for m, c in self.terms.items()), Fraction(0))

    def atoms(self) -> set[Term]:
        return {a.t for m in self.terms for a, _ in m}


def _prod(xs: Iterable[Fraction]) -> Fraction:
    out = Fraction(1)
    for x in xs:
        out *= x
    return out


def skey(t: Term) -> str:
    """A name-free structural string, used ONLY to order monomials deterministically."""
    if isinstance(t, FVar):
        return f"#{t.uid}"
    if isinstance(t, BVar):
        return f"^{t.idx}"
    if isinstance(t, Lit):
        return f"{t.value}:{t.ty}"
    if isinstance(t, App):
        head = f"@{t.fn.uid}"
    elif isinstance(t, BigOp):
        head = f"{t.op}{t.kind}{t.vty}"
    else:
        head = str(getattr(t, "op", "") or getattr(t, "kind", "") or getattr(t, "name", ""))
    return f"{head}:{t.ty}(" + ",".join(skey(c) for c in t.children()) + ")"


def _fkey(ae: tuple[_Atom, int]) -> tuple[str, int]:
    return skey(ae[0].t), ae[1]


def _as_type(a: Term, ty: str) -> Term:
    if a.ty == ty:
        return a
    if a.ty not in RANK or RANK[a.ty] > RANK[ty]:
        raise ValueError("atom of a larger type")
    return Op("cast", (a,), ty)


def canonical_term(p: Poly, ty: str) -> Term:
    """A well-typed term of type `ty` whose value is p's (ValueError when none is built: a
    negative or fractional coefficient in ℕ, a fractional one in ℤ, an atom of a larger type)."""
    out: Term | None = None
    for m, c in sorted(p.terms.items(), key=lambda mc: sorted(map(_fkey, mc[0]))):
        if (ty == "ℕ" and c < 0) or (ty in ("ℕ", "ℤ") and c.denominator != 1):
            raise ValueError("coefficient not of the type")
        mono: Term | None = None
        for a, e in sorted(m, key=_fkey):
            f = _as_type(a.t, ty)
            f = f if e == 1 else Op("^", (f, Lit(Fraction(e), "ℕ")), ty)
            mono = f if mono is None else Op("*", (mono, f), ty)
        k = Lit(Fraction(abs(c)), ty)
        piece = k if mono is None else mono if abs(c) == 1 else Op("*", (k, mono), ty)
        if out is None:
            out = piece if c > 0 else Op("neg", (piece,), ty)
        else:
            out = Op("+" if c > 0 else "-", (out, piece), ty)
    return out if out is not None else Lit(Fraction(0), ty)


def _closed(t: Term) -> bool:
    return not fvars(t) and not has_loose_bvars(t)


class _Norm:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def poly(self, t: Term) -> Poly:
        self.budget.nodes -= 1
        if self.budget.nodes < 0:
            raise CoreError("term too large")
        if isinstance(t, Lit):
            return Poly.const(t.value)
        if not isinstance(t, Op):
            return self.atom(t)
        op, a, ty = t.op, t.args, t.ty
        if op in ("+", "neg") or (op == "-" and ty != "ℕ"):
            return self.linear(t)
        if op == "*":
            return self.poly(a[0]).mul(self.poly(a[1]), self.budget)
        if op == "cast":
            return self.poly(a[0])
        if op == "/" and ty in ("ℚ", "ℝ"):
            return self.poly(a[0]).mul(self.inv(self.poly(a[1]), ty, a[1]), self.budget)
        if op == "inv":
            return self.inv(self.poly(a[0]), ty, a[0])
        if op == "^":
            base, ex = self.poly(a[0]), self.poly(a[1])
            if not ex.is_const():
                return self.atom(Op("^", (self.canon(base, ty, a[0]), self.canon(ex, "ℕ", a[1])), ty), True)
            e = int(ex.const_value())  # an ℕ value: an integer ≥ 0
            if base.is_const():
                try:
                    return Poly.const(power(base.const_value(), e))
                except NotEvaluable as err:
                    raise CoreError("power too large") from err
            if e <= MAX_EXPONENT:
                return base.pow(e, self.budget)
            return self.atom(Op("^", (self.canon(base, ty, a[0]), Lit(Fraction(e), "ℕ")), ty), True)
        return self.atom(t)

    def linear(self, t: Term) -> Poly:
        """A chain of + - neg (ℕ: + only) summed into one dictionary, each summand's size charged
        (so long sums and towers of negations cost linear, not quadratic, work)."""
        acc: dict[Mono, int | Fraction] = {}
        stack = [(t, 1)]
        while stack:
            s, sign = stack.pop()
            if isinstance(s, Op) and (s.op in ("+", "neg") or (s.op == "-" and s.ty != "ℕ")):
                self.budget.nodes -= 1
                if s.op == "neg":
                    stack.append((s.args[0], -sign))
                else:
                    stack += [(s.args[0], sign), (s.args[1], -sign if s.op == "-" else sign)]
                continue
            q = self.poly(s)
            self.budget.spend(len(q.terms))
            for m, c in q.terms.items():
                acc[m] = acc.get(m, 0) + sign * c
        if self.budget.nodes < 0:
            raise CoreError("term too large")
        return Poly(acc)

    def canon(self, p: Poly, ty: str, fallback: Term) -> Term:
        try:
            return canonical_term(p, ty)
        except ValueError:
            return fallback

    def inv(self, p: Poly, ty: str, orig: Term) -> Poly:
        """p⁻¹ in ℚ/ℝ; `orig` is a term of type `ty` with p's value (for the atom fallback)."""
        if p.is_const():
            c = p.const_value()
            return Poly.const(0 if c == 0 else Fraction(1) / c)
        if len(p.terms) == 1 and all(RANK[x.ty] <= RANK[ty] for x in p.atoms()):
            (m, c), = p.terms.items()
            out = Poly.const(Fraction(1) / c)
            for xa, e in m:
                x = xa.t
                if isinstance(x, Op) and x.op == "inv":
                    xi = self.poly(x.args[0])  # (x⁻¹)⁻¹ = x
                else:
                    xi = self.atom(Op("inv", (_as_type(x, ty),), ty), True)
                out = out.mul(xi.pow(e, self.budget), self.budget)
            return out
        return self.atom(Op("inv", (self.canon(p, ty, orig),), ty), True)

    def atom(self, t: Term, args_done: bool = False) -> Poly:
        if not args_done:
            kids = t.children()
            new = [self.canon(self.poly(k), k.ty, k) if k.ty in NUMERIC else k for k in kids]
            if any(x is not k for x, k in zip(new, kids)):
                t = rebuild(t, new)
        if _closed(t):
            try:
                return Poly.const(evaluate(t, self.budget))
            except NotEvaluable:
                pass
        return Poly.atom(t)


def to_poly(t: Term, budget: Budget | None = None) -> Poly:
    """The normal form of the numeric term `t` (see the module docstring for (★))."""
    try:
        return _Norm(budget or Budget()).poly(t)
    except RecursionError as e:
        raise CoreError("term too large (too deep)") from e


def ring_equal(a: Term, b: Term, budget: Budget | None = None) -> bool:
    """Do `a` and `b` have the same value for all values of the locals, by ring normalisation?"""
    budget = budget or Budget()
    return to_poly(a, budget) == to_poly(b, budget)
