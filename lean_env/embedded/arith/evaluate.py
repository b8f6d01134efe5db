"""Exact evaluation of terms with Lean's semantics (ℕ truncated subtraction, floor division,
Int.emod `%`, `x / 0 = 0`, `√` of a negative is 0, exponents in ℕ).

Used by `decide`, `norm_num`, `rfl` on closed terms, and by the soundness tests (brute force).
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Mapping

from ..terms import App, BigOp, Conn, Num, Op, Pred, Quant, Rel, Term, Var
from .poly import exact_sqrt, int_divmod

MAX_BITS = 400000  # refuse to build numbers larger than 2^400000: not a decision, just a cap
MAX_EXPANSION = 100000


class NotEvaluable(Exception):
    """The term has free variables, function symbols, an irrational value, or is too large."""


Env = Mapping[str, Fraction]


def evaluate(t: Term, env: Env | None = None, funcs: Mapping[str, Callable] | None = None) -> Fraction:
    env = env or {}
    if isinstance(t, Num):
        return t.value
    if isinstance(t, Var):
        if t.name in env:
            return Fraction(env[t.name])
        raise NotEvaluable(f"free variable {t.name}")
    if isinstance(t, App):
        if funcs and t.fn.name in funcs:
            return Fraction(funcs[t.fn.name](*[evaluate(a, env, funcs) for a in t.args]))
        raise NotEvaluable(f"function {t.fn.name}")
    if isinstance(t, BigOp):
        lo = evaluate(t.lo, env, funcs) if t.lo is not None else Fraction(0)
        hi = evaluate(t.hi, env, funcs)
        last = int(hi) - (1 if t.kind == "range" else 0)
        if last - int(lo) > MAX_EXPANSION:
            raise NotEvaluable("sum too long")
        acc = Fraction(0 if t.op == "∑" else 1)
        for k in range(int(lo), last + 1):
            v = evaluate(t.body, {**env, t.var: Fraction(k)}, funcs)
            acc = acc + v if t.op == "∑" else acc * v
        return acc
    if not isinstance(t, Op):
        raise NotEvaluable(f"not a number: {type(t).__name__}")
    op, ty = t.op, t.ty
    vals = [evaluate(a, env, funcs) for a in t.args]
    if op == "+":
        return vals[0] + vals[1]
    if op == "*":
        return vals[0] * vals[1]
    if op == "-":
        d = vals[0] - vals[1]
        return max(d, Fraction(0)) if ty == "ℕ" else d
    if op == "neg":
        return -vals[0]
    if op == "/":
        if ty in ("ℕ", "ℤ"):
            return int_divmod("/", vals[0], vals[1])
        return Fraction(0) if vals[1] == 0 else vals[0] / vals[1]
    if op == "%":
        if ty in ("ℕ", "ℤ"):
            return int_divmod("%", vals[0], vals[1])
        raise NotEvaluable("% on a field")
    if op == "^":
        base, e = vals[0], int(vals[1])
        bits = abs(base.numerator).bit_length() + abs(base.denominator).bit_length()
        if bits * e > MAX_BITS:
            raise NotEvaluable("power too large")
        return base ** e
    if op == "abs":
        return abs(vals[0])
    if op == "cast":
        return vals[0]
    if op == "sqrt":
        r = exact_sqrt(vals[0])
        if r is None:
            raise NotEvaluable("irrational square root")
        return r
    if op == "fact":
        if vals[0] > 500:
            raise NotEvaluable("factorial too large")
        return Fraction(math.factorial(int(vals[0])))
    if op in ("gcd", "lcm"):
        a, b = int(vals[0]), int(vals[1])
        return Fraction(math.gcd(a, b) if op == "gcd" else math.lcm(a, b))
    raise NotEvaluable(f"operator {op}")


def holds(p: Term, env: Env | None = None, funcs: Mapping[str, Callable] | None = None,
          domain: Mapping[str, range] | None = None) -> bool:
    """Truth of a proposition under `env`; quantifiers only over a finite `domain` per type."""
    env = env or {}
    if isinstance(p, Rel):
        a, b = evaluate(p.lhs, env, funcs), evaluate(p.rhs, env, funcs)
        if p.op == "=":
            return a == b
        if p.op == "≠":
            return a != b
        if p.op == "<":
            return a < b
        if p.op == "≤":
            return a <= b
        if p.op == ">":
            return a > b
        if p.op == "≥":
            return a >= b
        if p.op == "∣":
            # a ∣ b ↔ ∃ c, b = a * c (so 0 ∣ b ↔ b = 0)
            if p.lhs.ty in ("ℚ", "ℝ"):  # in a field every nonzero element divides everything
                return a != 0 or b == 0
            return b == 0 if a == 0 else (b / a).denominator == 1
        raise NotEvaluable(p.op)
    if isinstance(p, Conn):
        if p.op == "True":
            return True
        if p.op == "False":
            return False
        if p.op == "¬":
            return not holds(p.args[0], env, funcs, domain)
        if p.op == "∧":
            return holds(p.args[0], env, funcs, domain) and holds(p.args[1], env, funcs, domain)
        if p.op == "∨":
            return holds(p.args[0], env, funcs, domain) or holds(p.args[1], env, funcs, domain)
        if p.op == "→":
            return (not holds(p.args[0], env, funcs, domain)) or holds(p.args[1], env, funcs, domain)
        if p.op == "↔":
            return holds(p.args[0], env, funcs, domain) == holds(p.args[1], env, funcs, domain)
    if isinstance(p, Pred):
        n = evaluate(p.args[0], env, funcs)
        if n > 10 ** 12:
            raise NotEvaluable("number too large for a primality check")
        return is_prime(int(n))
    if isinstance(p, Quant):
        if domain is None or p.vty not in domain:
            raise NotEvaluable("quantifier over an infinite type")
        results = (holds(p.body, {**env, p.var: Fraction(v)}, funcs, domain) for v in domain[p.vty])
        return all(results) if p.kind == "∀" else any(results)
    raise NotEvaluable(f"cannot evaluate {type(p).__name__}")


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True
