"""Ground evaluation with Lean 4 + Mathlib semantics (trusted).

`evaluate(t)` computes the exact rational value of a closed numeric term; `decide_prop(p)` the
truth of a closed, quantifier-free proposition. Every value is the number the term denotes in
Lean; since ℕ ⊂ ℤ ⊂ ℚ ⊂ ℝ embed by the casts (`Nat.cast`, `Int.cast`, `Rat.cast` are injective
ring homomorphisms), one exact `Fraction` represents a value of any of the four types.

Lean's meaning of each operation (the only places where the types differ):
  * ℕ `a - b` is truncated: max(a - b, 0)                                  (Nat.sub)
  * ℕ/ℤ `a / b`, `a % b` are `Int.ediv`/`Int.emod` (E-rounding: 0 ≤ a % b < |b| for b ≠ 0),
    with a / 0 = 0 and a % 0 = a. Lean 4 core, src/Init/Data/Int/DivMod/Basic.lean:
    `instance : Div Int where div := Int.ediv` / `instance : Mod Int where mod := Int.emod`
    ("The Div and Mod syntax uses ediv and emod"); on ℕ they agree with Nat.div / Nat.mod.
  * ℚ/ℝ `a / b = a * b⁻¹` with 0⁻¹ = 0 (div_zero, inv_zero)
  * `Real.sqrt x` = 0 for x < 0 (Real.sqrt_eq_zero'); an irrational root is NotEvaluable
  * `Int.gcd m n = Nat.gcd m.natAbs n.natAbs`; `Nat.lcm`; `Nat.factorial`; `0 ^ 0 = 1` (pow_zero)
  * `∑ i in Finset.range n, f i` sums i = 0 … n-1; `Finset.Icc a b` is a … b (empty if a > b).

Caps (an exceeded cap is NotEvaluable, an ordinary failure): numbers of more than MAX_BITS bits,
powers that would exceed it (checked before computing), big operators of more than MAX_TERMS
terms, more than MAX_STEPS nodes visited in one call
(or one shared Steps budget), primality above MAX_PRIME, n! above MAX_FACT.
"""
from __future__ import annotations

import math
from fractions import Fraction

from .sequent import CoreError
from .term import App, BigOp, BVar, Conn, FVar, Lit, Op, Pred, Quant, Rel, Term

MAX_BITS = 100_000
MAX_TERMS = 100_000
MAX_STEPS = 300_000
MAX_PRIME = 10 ** 12
MAX_FACT = 5_000


class NotEvaluable(CoreError):
    """Not closed, irrational, outside the fragment, or too large to evaluate."""


def ediv(a: int, b: int) -> int:
    """Int.ediv: b > 0 ⇒ ⌊a / b⌋; b < 0 ⇒ -⌊a / |b|⌋; b = 0 ⇒ 0."""
    if b == 0:
        return 0
    q = a // abs(b)
    return q if b > 0 else -q


def emod(a: int, b: int) -> int:
    """Int.emod: a - b * ediv a b, in [0, |b|) for b ≠ 0; a % 0 = a."""
    return a - b * ediv(a, b)


def fit(x: Fraction) -> Fraction:
    if x.numerator.bit_length() > MAX_BITS or x.denominator.bit_length() > MAX_BITS:
        raise NotEvaluable("number too large")
    return x


def power(base: Fraction, e: int) -> Fraction:
    """base ^ e, refused before computing when the result would exceed MAX_BITS."""
    if e == 0 or base in (0, 1):
        return Fraction(1) if e == 0 else base
    if base == -1:
        return Fraction(1 if e % 2 == 0 else -1)
    bits = max(abs(base.numerator).bit_length(), base.denominator.bit_length())
    if (bits - 1) * e > MAX_BITS:  # |num|^e or den^e has at least (bits - 1) * e + 1 bits
        raise NotEvaluable("power too large")
    return fit(base ** e)


def exact_sqrt(x: Fraction) -> Fraction:
    """Real.sqrt of a rational: 0 for x < 0, exact when num and den (coprime) are squares."""
    if x < 0:
        return Fraction(0)
    rn, rd = math.isqrt(x.numerator), math.isqrt(x.denominator)
    if rn * rn != x.numerator or rd * rd != x.denominator:
        raise NotEvaluable("irrational square root")
    return Fraction(rn, rd)


def is_prime(n: int) -> bool:
    """Nat.Prime n by trial division (n ≤ MAX_PRIME)."""
    if n > MAX_PRIME:
        raise NotEvaluable("number too large for a primality test")
    if n < 4:
        return n >= 2
    if n % 2 == 0 or n % 3 == 0:
        return False
    i = 5
    while i * i <= n:
        if n % i == 0 or n % (i + 2) == 0:
            return False
        i += 6
    return True


class Steps:
    """Nodes left to visit; one object may be shared by several evaluations (poly.Budget)."""

    def __init__(self, steps: int = MAX_STEPS) -> None:
        self.steps = steps


class _Eval:
    def __init__(self, budget: Steps | None) -> None:
        self.budget = budget or Steps()

    def num(self, t: Term, env: tuple[Fraction, ...]) -> Fraction:
        """Value of numeric `t`; env[-1 - i] is the value of BVar(i)."""
        self.budget.steps -= 1
        if self.budget.steps < 0:
            raise NotEvaluable("evaluation too long")
        if isinstance(t, Lit):
            return t.value
        if isinstance(t, BVar):
            if t.idx >= len(env):
                raise NotEvaluable("loose bound variable")
            return env[-1 - t.idx]
        if isinstance(t, (FVar, App)):
            raise NotEvaluable("not a closed term")
        if isinstance(t, BigOp):
            return self.bigop(t, env)
        if not isinstance(t, Op):
            raise NotEvaluable(f"not a number: {type(t).__name__}")
        v = [self.num(a, env) for a in t.args]
        op, ty = t.op, t.ty
        if op == "+":
            return fit(v[0] + v[1])
        if op == "*":
            return fit(v[0] * v[1])
        if op == "-":
            return max(v[0] - v[1], Fraction(0)) if ty == "ℕ" else fit(v[0] - v[1])
        if op == "neg":
            return -v[0]
        if op == "/" and ty in ("ℕ", "ℤ"):
            return Fraction(ediv(int(v[0]), int(v[1])))
        if op == "%" and ty in ("ℕ", "ℤ"):
            return Fraction(emod(int(v[0]), int(v[1])))
        if op == "/":
            return Fraction(0) if v[1] == 0 else fit(v[0] / v[1])
        if op == "inv":
            return Fraction(0) if v[0] == 0 else 1 / v[0]
        if op == "^":
            return power(v[0], int(v[1]))
        if op == "abs":
            return abs(v[0])
        if op == "cast":  # ℕ → ℤ → ℚ → ℝ preserve the value (Nat.cast, Int.cast, Rat.cast)
            return v[0]
        if op == "sqrt":
            return exact_sqrt(v[0])
        if op == "fact":
            if v[0] > MAX_FACT:
                raise NotEvaluable("factorial too large")
            return Fraction(math.factorial(int(v[0])))
        if op == "gcd":  # Nat.gcd, Int.gcd (via natAbs)
            return Fraction(math.gcd(abs(int(v[0])), abs(int(v[1]))))
        if op == "lcm":  # Nat.lcm (lcm 0 n = 0)
            return fit(Fraction(math.lcm(int(v[0]), int(v[1]))))
        raise NotEvaluable(f"operation {op} at {ty}")

    def bigop(self, t: BigOp, env: tuple[Fraction, ...]) -> Fraction:
        hi = int(self.num(t.hi, env))
        lo, last = (0, hi - 1) if t.kind == "range" else (int(self.num(t.lo, env)), hi)  # type: ignore[arg-type]
        if last - lo + 1 > MAX_TERMS:
            raise NotEvaluable("big operator with too many terms")
        acc = Fraction(0 if t.op == "∑" else 1)
        for k in range(lo, last + 1):
            x = self.num(t.body, env + (Fraction(k),))
            acc = fit(acc + x if t.op == "∑" else acc * x)
        return acc

    def prop(self, p: Term) -> bool:
        if isinstance(p, Rel):
            a, b = self.num(p.lhs, ()), self.num(p.rhs, ())
            if p.op == "∣":  # a ∣ b ↔ ∃ c, b = a * c (so 0 ∣ b ↔ b = 0); ℕ/ℤ only
                return b == 0 if a == 0 else int(b) % int(a) == 0
            return {"=": a == b, "≠": a != b, "<": a < b, "≤": a <= b, ">": a > b, "≥": a >= b}[p.op]
        if isinstance(p, Conn):
            if p.op in ("True", "False"):
                return p.op == "True"
            v = [self.prop(a) for a in p.args]
            return {"¬": lambda: not v[0], "∧": lambda: v[0] and v[1], "∨": lambda: v[0] or v[1],
                    "→": lambda: (not v[0]) or v[1], "↔": lambda: v[0] == v[1]}[p.op]()
        if isinstance(p, Pred):  # Prime n ↔ Nat.Prime n on ℕ (Nat.prime_iff)
            return is_prime(int(self.num(p.args[0], ())))
        if isinstance(p, Quant):
            raise NotEvaluable("quantifier")
        raise NotEvaluable(f"not a proposition: {type(p).__name__}")


def evaluate(t: Term, budget: Steps | None = None) -> Fraction:
    """The exact value of the closed numeric term `t` (raises NotEvaluable)."""
    try:
        return _Eval(budget).num(t, ())
    except RecursionError as e:
        raise NotEvaluable("term too deep") from e


def decide_prop(p: Term, budget: Steps | None = None) -> bool:
    """The truth of the closed quantifier-free proposition `p` (raises NotEvaluable)."""
    try:
        return _Eval(budget).prop(p)
    except RecursionError as e:
        raise NotEvaluable("term too deep") from e
