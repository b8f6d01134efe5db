"""A seeded generator of true theorems in the embedded kernel's fragment, with known difficulty.

Each item is a miniF2F-shaped row (`name, split, header, formal_statement, informal_statement,
informal_proof, source`) plus a reference proof (`tactics`, and `proof`: the indented block that
follows `:= by`), a `difficulty` (1 easy .. 3 hard), a `family` tag and `truth_check`: how the
statement was shown true in Python. Only true statements are emitted: every item is checked by
exact rational/integer evaluation of its *rendered text* (so a printing mistake cannot slip a
false statement through), by brute force over residues, or by evaluation on a grid large enough
to prove a polynomial identity. A check that fails raises `CurriculumError` (a generator bug).

Determinism: `generate(seed, split, per_family)` depends only on its arguments. Splits are
disjoint by construction: a statement (its text after `theorem NAME`) belongs to the held-out
split exactly when a fixed hash of that text falls in HELDOUT_BUCKETS (one fifth of them), so no
train item of ANY seed or size can equal a held-out item of any seed. The held-out split also
has its own random stream and name prefix (`curriculum_heldout_…`).

    python -m training.curriculum --seed 0 --per-family 20 --split train --out build/curriculum.jsonl
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import product
from math import gcd as _gcd
from pathlib import Path
from typing import Any, Callable, Iterable

# miniF2F's own header (datasets/minif2f/valid.jsonl), so rows mix with miniF2F rows.
MINIF2F_HEADER = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
SPLITS = ("train", "heldout")
NAME_PREFIX = {"train": "curriculum", "heldout": "curriculum_heldout"}
PROOF_INDENT = "  "
HELDOUT_BUCKETS = (0,)  # of 5 hash buckets: a fifth of all statements are held out


class CurriculumError(AssertionError):
    """A generated statement failed its truth check: a bug in this generator, never data to keep."""


@dataclass(frozen=True)
class CurriculumItem:
    name: str
    split: str
    header: str
    formal_statement: str
    tactics: list[str]
    difficulty: int
    family: str
    truth_check: str
    informal_statement: str = ""
    source: str = ""
    informal_proof: str = ""

    @property
    def proof(self) -> str:
        """The reference proof as the block after `:= by` (the miniF2F `proof` field)."""
        return render_tactics(self.tactics)

    def to_json(self) -> dict:
        row = asdict(self)
        row["proof"] = self.proof
        return row

    @classmethod
    def from_json(cls, row: dict) -> "CurriculumItem":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__ if k in row})


def render_tactics(tactics: list[str]) -> str:
    """The block after `:= by`: one tactic per line, indented two spaces (as miniF2F proofs)."""
    return "\n".join(PROOF_INDENT + t for t in tactics)


# =============================================================================== exact evaluator
# A small evaluator for the arithmetic text this module prints: numerals, variables, function
# application `f x` / `f (e)`, + - * / % ^, unary -, parentheses, `(e : T)` ascriptions. Lean's
# semantics per domain: ℕ subtraction truncates at 0, ℕ/ℤ `/` floors (divisors here are > 0),
# `%` is the non-negative remainder, ℝ/ℚ are exact rationals with x / 0 = 0.

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9'₀-₉]*)|(\S))")
Value = Fraction
Env = dict[str, "Value | Callable[[Value], Value]"]


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise CurriculumError(f"evaluator: cannot read {text[pos:]!r}")
        out.append(m.group(m.lastindex))
        pos = m.end()
    return tuple(out)


class _Evaluator:
    PREC = {"+": 65, "-": 65, "*": 70, "/": 70, "%": 70, "^": 75}

    def __init__(self, text: str, env: Env, domain: str):
        self.toks, self.pos, self.env, self.domain, self.text = _tokens(text), 0, env, domain, text

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise CurriculumError(f"evaluator: expected {expected or 'a token'} at {tok!r} in {self.text!r}")
        self.pos += 1
        return tok

    def expr(self, min_prec: int = 0) -> Value:
        if self.peek() == "-":
            self.take()
            left = self.apply("neg", self.expr(75), None)
        else:
            left = self.application()
        while (op := self.peek()) in self.PREC and self.PREC[op] >= min_prec:
            self.take()
            right = self.expr(self.PREC[op] if op == "^" else self.PREC[op] + 1)
            left = self.apply(op, left, right)
        return left

    def application(self) -> Value:
        tok = self.peek()
        if tok is not None and tok in self.env and callable(self.env[tok]):
            self.take()
            return self.env[tok](self.atom())
        return self.atom()

    def atom(self) -> Value:
        tok = self.take()
        if tok == "(":
            value = self.expr()
            if self.peek() == ":":
                self.take()
                ascribed = self.take()
                if ascribed != self.domain:
                    raise CurriculumError(f"evaluator: ascription {ascribed} in a {self.domain} statement: {self.text!r}")
            self.take(")")
            return value
        if tok.isdigit():
            return Fraction(int(tok))
        if tok in self.env and not callable(self.env[tok]):
            return self.env[tok]  # type: ignore[return-value]
        raise CurriculumError(f"evaluator: unknown name {tok!r} in {self.text!r}")

    def apply(self, op: str, a: Value, b: Value | None) -> Value:
        integral = self.domain in ("ℕ", "ℤ")
        if op == "neg":
            if self.domain == "ℕ":
                raise CurriculumError(f"evaluator: unary minus on ℕ in {self.text!r}")
            return -a
        assert b is not None
        if op == "+":
            return a + b
        if op == "-":
            return max(a - b, Fraction(0)) if self.domain == "ℕ" else a - b
        if op == "*":
            return a * b
        if op == "^":
            if b.denominator != 1 or b < 0:
                raise CurriculumError(f"evaluator: exponent {b} is not a natural number in {self.text!r}")
            return a ** int(b)
        if op == "/":
            if b == 0:
                return Fraction(0)
            return Fraction((a // b) if integral else a / b)
        if op == "%":
            if not integral:
                raise CurriculumError(f"evaluator: % outside ℕ/ℤ in {self.text!r}")
            return a if b == 0 else a - b * (a // b)
        raise CurriculumError(f"evaluator: unknown operator {op}")


def evaluate(text: str, env: Env, domain: str) -> Value:
    """Exact value of an arithmetic term of this module's printed fragment."""
    ev = _Evaluator(text, env, domain)
    value = ev.expr()
    if ev.peek() is not None:
        raise CurriculumError(f"evaluator: trailing {ev.toks[ev.pos:]} in {text!r}")
    if domain in ("ℕ", "ℤ") and value.denominator != 1:
        raise CurriculumError(f"evaluator: non-integer {value} in {domain}: {text!r}")
    return value


_RELATIONS = ("≠", "≤", "≥", "∣", "=", "<", ">")


def holds(prop: str, env: Env, domain: str) -> bool:
    """Truth of `e₁ REL e₂` or a conjunction of such (top-level ∧ only), evaluated exactly."""
    if "∧" in prop:
        return all(holds(part, env, domain) for part in prop.split("∧"))
    for rel in _RELATIONS:
        depth, at = 0, -1
        for i, ch in enumerate(prop):
            depth += ch == "("
            depth -= ch == ")"
            if ch == rel and depth == 0:
                at = i
                break
        if at >= 0:
            lhs, rhs = evaluate(prop[:at], env, domain), evaluate(prop[at + 1:], env, domain)
            return {
                "=": lhs == rhs, "≠": lhs != rhs, "<": lhs < rhs, "≤": lhs <= rhs, ">": lhs > rhs,
                "≥": lhs >= rhs, "∣": (rhs == 0) if lhs == 0 else (rhs / lhs).denominator == 1,
            }[rel]
    raise CurriculumError(f"no relation in proposition {prop!r}")


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise CurriculumError(f"truth check failed: {what}")


def _grid(variables: list[str], degree: int) -> Iterable[dict[str, Fraction]]:
    """{0..degree}^k: two polynomials of degree ≤ d in each variable agreeing here are equal."""
    for point in product(range(degree + 1), repeat=len(variables)):
        yield {v: Fraction(p) for v, p in zip(variables, point)}


# =============================================================================== text helpers

def _term(coef: int, var: str, first: bool) -> str:
    """`coef * var` as a summand: sign handled by the caller's + / -."""
    magnitude = abs(coef)
    body = var if magnitude == 1 else f"{magnitude} * {var}"
    if first:
        return f"-{body}" if coef < 0 else body
    return f" - {body}" if coef < 0 else f" + {body}"


def linear_text(coefs: dict[str, int], const: int = 0) -> str:
    """`a * x + b * y - c` with Lean-style signs (no `+ -`); zero coefficients dropped."""
    parts = []
    for var, coef in coefs.items():
        if coef:
            parts.append(_term(coef, var, not parts))
    if const or not parts:
        parts.append(str(const) if not parts else (f" - {abs(const)}" if const < 0 else f" + {const}"))
    return "".join(parts)


def _nonzero(rng: random.Random, lo: int, hi: int) -> int:
    while True:
        v = rng.randint(lo, hi)
        if v:
            return v


@dataclass(frozen=True)
class _Draft:
    """A statement before naming: binders, goal, proof, and its truth-check description."""

    binders: str
    goal: str
    tactics: list[str]
    difficulty: int
    truth_check: str
    informal: str

    def statement(self, name: str) -> str:
        binders = f" {self.binders}" if self.binders else ""
        return f"theorem {name}{binders} : {self.goal} := by"


# =============================================================================== families
# Each family draws one random instance, checks its truth on the rendered text, returns a draft.

def linear_equation(rng: random.Random) -> _Draft:
    x = rng.randint(-9, 12)
    if rng.random() < 0.5:
        a, b = _nonzero(rng, -7, 9), rng.randint(-20, 20)
        lhs, rhs, level = linear_text({"x": a}, b), str(a * x + b), 1
    else:  # x on both sides
        a, c = _nonzero(rng, -7, 9), _nonzero(rng, -7, 9)
        while c == a:
            c = _nonzero(rng, -7, 9)
        b = rng.randint(-20, 20)
        lhs, rhs, level = linear_text({"x": a}, b), linear_text({"x": c}, a * x + b - c * x), 2
    hyp = f"{lhs} = {rhs}"
    slope = evaluate(lhs, {"x": Fraction(1)}, "ℝ") - evaluate(lhs, {"x": Fraction(0)}, "ℝ") - (
        evaluate(rhs, {"x": Fraction(1)}, "ℝ") - evaluate(rhs, {"x": Fraction(0)}, "ℝ"))
    _require(slope != 0 and holds(hyp, {"x": Fraction(x)}, "ℝ"), f"{hyp} has the unique root {x}")
    return _Draft(f"(x : ℝ) (h₀ : {hyp})", f"x = {x}", ["linarith"], level,
                  f"affine in x with slope {slope} ≠ 0, and x = {x} satisfies it exactly: the unique root",
                  f"Solve {hyp} for x; show x = {x}.")


def _solve2(rows: list[tuple[Fraction, Fraction, Fraction]]) -> tuple[Fraction, Fraction] | None:
    (a1, b1, c1), (a2, b2, c2) = rows
    det = a1 * b2 - a2 * b1
    if det == 0:
        return None
    return (c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det


def linear_system(rng: random.Random) -> _Draft:
    x, y = rng.randint(-8, 10), rng.randint(-8, 10)
    while True:
        a1, b1, a2, b2 = (_nonzero(rng, -6, 6) for _ in range(4))
        if a1 * b2 - a2 * b1:
            break
    eq1 = f"{linear_text({'x': a1, 'y': b1})} = {a1 * x + b1 * y}"
    eq2 = f"{linear_text({'x': a2, 'y': b2})} = {a2 * x + b2 * y}"
    rows = []
    for eq in (eq1, eq2):  # coefficients read back from the text, not from the draw
        lhs, rhs = eq.split("=")
        at = lambda px, py, lhs=lhs: evaluate(lhs, {"x": Fraction(px), "y": Fraction(py)}, "ℝ")  # noqa: E731
        rows.append((at(1, 0) - at(0, 0), at(0, 1) - at(0, 0), evaluate(rhs, {}, "ℝ") - at(0, 0)))
    solution = _solve2(rows)
    _require(solution == (x, y), f"{eq1}, {eq2} has the unique solution ({x}, {y})")
    check = f"2×2 system read back from the text, determinant ≠ 0, unique solution (x, y) = ({x}, {y})"
    if rng.random() < 0.5:
        return _Draft(f"(x y : ℝ) (h₀ : {eq1}) (h₁ : {eq2})", f"x = {x}", ["linarith"], 2, check,
                      f"Given {eq1} and {eq2}, show x = {x}.")
    return _Draft(f"(x y : ℝ) (h₀ : {eq1}) (h₁ : {eq2})", f"x = {x} ∧ y = {y}",
                  ["constructor <;> linarith"], 3, check, f"Solve {eq1}, {eq2}; show x = {x} and y = {y}.")


def linear_inequality(rng: random.Random) -> _Draft:
    a, b = rng.randint(1, 9), rng.randint(-20, 20)
    c = rng.randint(-20, 40)
    rel = rng.choice(["<", "≤"])
    bound = Fraction(c - b, a)
    slack = rng.randint(0, 3)
    d = -((-bound.numerator) // bound.denominator) + slack  # ⌈bound⌉ + slack ≥ bound
    hyp = f"{linear_text({'x': a}, b)} {rel} {c}"
    goal = f"x {rel} {d}"
    lhs = linear_text({"x": a}, b)
    slope = evaluate(lhs, {"x": Fraction(1)}, "ℝ") - evaluate(lhs, {"x": Fraction(0)}, "ℝ")
    root = (Fraction(c) - evaluate(lhs, {"x": Fraction(0)}, "ℝ")) / slope
    _require(slope > 0 and root <= d, f"{hyp} implies {goal}")
    return _Draft(f"(x : ℝ) (h₀ : {hyp})", goal, ["linarith"], 1,
                  f"slope {slope} > 0 so the hypothesis means x {rel} {root}, and {root} ≤ {d}",
                  f"If {hyp}, show {goal}.")


# Wide enough that a model sees hundreds of distinct statements, not a few dozen to memorise.
QUADRATIC_MAX_COEF = 12


def quadratic_inequality(rng: random.Random) -> _Draft:
    # The hint is written with numbers copied from the statement (no square roots to take), so
    # a small model can learn it: lhs - rhs = hint² / scale with scale > 0.
    shape = rng.randrange(3)
    if shape == 0:  # m²a² + n²b² ≥ 2mn·ab; hint 2·m²·a - 2mn·b = 2m·(ma - nb)
        m, n = rng.randint(1, QUADRATIC_MAX_COEF), rng.randint(1, QUADRATIC_MAX_COEF)
        lhs = f"{linear_text({'a ^ 2': m * m, 'b ^ 2': n * n})}"
        rhs = f"{2 * m * n} * a * b"
        variables = ["a", "b"]
        square = f"2 * {m * m} * a - {2 * m * n} * b" if m > 1 else f"2 * a - {2 * m * n} * b"
        scale = Fraction(4 * m * m)
    elif shape == 1:  # (ma + nb)² ≥ 4mn·ab; hint ma - nb
        m, n = rng.randint(1, QUADRATIC_MAX_COEF), rng.randint(1, QUADRATIC_MAX_COEF)
        square = f"{linear_text({'a': m, 'b': -n})}"
        lhs = f"({linear_text({'a': m, 'b': n})}) ^ 2"
        rhs = f"{4 * m * n} * a * b"
        variables = ["a", "b"]
        scale = Fraction(1)
    else:  # a² + k² ≥ 2k·a; hint 2a - 2k = 2(a - k)
        k = _nonzero(rng, -2 * QUADRATIC_MAX_COEF, 2 * QUADRATIC_MAX_COEF)
        lhs, rhs = f"a ^ 2 + {k * k}", f"{2 * k} * a" if k > 0 else f"-{2 * abs(k)} * a"
        square = f"2 * a - {2 * k}" if k > 0 else f"2 * a + {2 * abs(k)}"
        variables = ["a"]
        scale = Fraction(4)
    hint = f"sq_nonneg ({square})"
    # scale·(lhs - rhs) = square² everywhere on a degree-2 grid: an identity, so lhs ≥ rhs always.
    for point in _grid(variables, 2):
        diff = evaluate(lhs, point, "ℝ") - evaluate(rhs, point, "ℝ")
        _require(scale * diff == evaluate(square, point, "ℝ") ** 2, f"{scale} * ({lhs} - ({rhs})) = ({square})^2")
    binders = "(a b : ℝ)" if len(variables) == 2 else "(a : ℝ)"
    return _Draft(binders, f"{lhs} ≥ {rhs}", [f"nlinarith [{hint}]"], 2,
                  f"{scale} * (lhs - rhs) equals ({square})^2 on the grid {{0,1,2}}^{len(variables)}, "
                  "hence identically",
                  f"Show {lhs} ≥ {rhs} for all real {' and '.join(variables)}.")


def modular_arithmetic(rng: random.Random) -> _Draft:
    if rng.random() < 0.5:
        a, b, c, m = rng.randint(10, 99), rng.randint(2, 40), rng.randint(0, 50), rng.randint(3, 13)
        expr = f"({a} * {b} + {c}) % {m}"
        r = (a * b + c) % m
        _require(holds(f"{expr} = {r}", {}, "ℕ"), f"{expr} = {r}")
        return _Draft("", f"{expr} = {r}", ["norm_num"], 1, f"evaluated exactly in ℕ: {expr} = {r}",
                      f"Compute ({a}·{b} + {c}) mod {m}.")
    m2 = rng.randint(2, 7)
    m1 = m2 * rng.randint(2, 5)
    r1 = rng.randint(0, m1 - 1)
    goal, hyp = f"n % {m2} = {r1 % m2}", f"n % {m1} = {r1}"
    # Both sides depend only on n mod lcm(m1, m2), which divides m1 * m2: brute force is exhaustive.
    cases = [n for n in range(m1 * m2) if holds(hyp, {"n": Fraction(n)}, "ℕ")]
    _require(bool(cases) and all(holds(goal, {"n": Fraction(n)}, "ℕ") for n in cases), f"{hyp} → {goal}")
    return _Draft(f"(n : ℕ) (h₀ : {hyp})", goal, ["omega"], 2,
                  f"every n < {m1 * m2} (a full period) with {hyp} has {goal}",
                  f"If n leaves remainder {r1} mod {m1}, show it leaves {r1 % m2} mod {m2}.")


def divisibility(rng: random.Random) -> _Draft:
    if rng.random() < 0.5:
        k = rng.randint(2, 19)
        n = k * rng.randint(2, 60)
        _require(holds(f"{k} ∣ {n}", {}, "ℕ"), f"{k} ∣ {n}")
        return _Draft("", f"{k} ∣ {n}", ["norm_num"], 1, f"{n} = {k} * {n // k}", f"Show {k} divides {n}.")
    k = rng.randint(2, 9)
    c1, c2 = _nonzero(rng, -5, 5), _nonzero(rng, -5, 5)
    goal = f"{k} ∣ {linear_text({'a': c1, 'b': c2})}"
    hyps = (f"{k} ∣ a", f"{k} ∣ b")
    # Divisibility by k depends only on residues mod k: checking a, b ∈ [0, k) is exhaustive.
    for a, b in product(range(k), repeat=2):
        env = {"a": Fraction(a), "b": Fraction(b)}
        if all(holds(h, env, "ℤ") for h in hyps):
            _require(holds(goal, env, "ℤ"), f"{hyps} → {goal}")
    return _Draft(f"(a b : ℤ) (h₀ : {hyps[0]}) (h₁ : {hyps[1]})", goal, ["omega"], 2,
                  f"checked over all residues of a, b mod {k}", f"If {k} divides a and b, show {goal}.")


def polynomial_identity(rng: random.Random) -> _Draft:
    factors = 2 if rng.random() < 0.6 else 3
    linear_forms = []
    for _ in range(factors):
        linear_forms.append((_nonzero(rng, -3, 3), rng.randint(-3, 3)))  # p*a + q*b
    # expand the product of (p a + q b) symbolically: coefficient of a^i b^(d-i)
    coeffs = [1]
    for p, q in linear_forms:
        nxt = [0] * (len(coeffs) + 1)
        for i, c in enumerate(coeffs):  # c · a^i b^(deg-i)
            nxt[i + 1] += c * p
            nxt[i] += c * q
        coeffs = nxt
    degree = len(coeffs) - 1
    monomials: dict[str, int] = {}
    for i in range(degree, -1, -1):
        a_part = "" if i == 0 else ("a" if i == 1 else f"a ^ {i}")
        b_part = "" if degree - i == 0 else ("b" if degree - i == 1 else f"b ^ {degree - i}")
        monomials[" * ".join(p for p in (a_part, b_part) if p)] = coeffs[i]
    rhs = linear_text(monomials)
    lhs = " * ".join(f"({linear_text({'a': p, 'b': q})})" for p, q in linear_forms)
    for point in _grid(["a", "b"], degree):
        _require(evaluate(lhs, point, "ℝ") == evaluate(rhs, point, "ℝ"), f"{lhs} = {rhs}")
    return _Draft("(a b : ℝ)", f"{lhs} = {rhs}", ["ring"], 1 if degree == 2 else 2,
                  f"both sides agree on the grid {{0..{degree}}}^2 (degree {degree} per variable): an identity",
                  f"Expand {lhs}.")


def closed_computation(rng: random.Random) -> _Draft:
    domain = rng.choice(["ℕ", "ℤ", "ℝ"])
    a, e, b, c = rng.randint(2, 9), rng.randint(2, 5), rng.randint(2, 30), rng.randint(2, 30)
    if domain == "ℝ":
        d = rng.randint(2, 8)
        expr = f"({a} ^ {e} + {b} * {c} / {d} : ℝ)"
    elif domain == "ℤ":
        expr = f"({b} * {c} - {a} ^ {e} : ℤ)"
    else:
        expr = f"({a} ^ {e} + {b} * {c} : ℕ)"
    value = evaluate(expr, {}, domain)
    shown = str(value.numerator) if value.denominator == 1 else f"{value.numerator} / {value.denominator}"
    if value < 0:
        shown = f"-{shown.lstrip('-')}"
    goal = f"{expr} = {shown}"
    _require(holds(goal, {}, domain), goal)
    return _Draft("", goal, ["norm_num"], 1, f"evaluated exactly in {domain}", f"Compute {expr[1:].split(' :')[0]}.")


def conjunction(rng: random.Random) -> _Draft:
    if rng.random() < 0.5:
        k, m = rng.randint(2, 9), rng.randint(3, 11)
        n = k * rng.randint(2, 30)
        r = (n + 1) % m
        parts = (f"{k} ∣ {n}", f"({n} + 1) % {m} = {r}")
        for part in parts:
            _require(holds(part, {}, "ℕ"), part)
        return _Draft("", " ∧ ".join(parts), ["constructor <;> norm_num"], 2,
                      "each conjunct evaluated exactly in ℕ", f"Show {parts[0]} and {parts[1]}.")
    x = rng.randint(-6, 9)
    a, b = _nonzero(rng, 1, 7), rng.randint(-10, 10)
    hyp = f"{linear_text({'x': a}, b)} = {a * x + b}"
    lower = x - rng.randint(1, 5)
    goal = f"x = {x} ∧ x > {lower}"
    _require(holds(hyp, {"x": Fraction(x)}, "ℝ") and holds(goal, {"x": Fraction(x)}, "ℝ"), goal)
    return _Draft(f"(x : ℝ) (h₀ : {hyp})", goal, ["constructor <;> linarith"], 3,
                  f"the hypothesis has the unique root {x} (slope {a} ≠ 0), which satisfies both conjuncts",
                  f"Given {hyp}, show x = {x} and x > {lower}.")


def _witness(value: int) -> str:
    return str(value) if value >= 0 else f"({value})"


def _cramer(num: tuple[int, int, int, int], den: tuple[int, int, int, int]) -> str:
    """`(p * q - r * s) / (t * u - v * w)`, negative numbers in parentheses."""
    p, q, r, t = (_witness(v) for v in num)
    a, b, c, d = (_witness(v) for v in den)
    return f"({p} * {q} - {r} * {t}) / ({a} * {b} - {c} * {d})"


def _check_witness(body: str, names: list[str], witnesses: list[str], values: list[int], domain: str) -> None:
    """The witness terms evaluate (with Lean's semantics in `domain`) to values that satisfy the body."""
    got = [evaluate(w, {}, domain) for w in witnesses]
    _require(got == [Fraction(v) for v in values], f"witnesses {witnesses} evaluate to {values} in {domain}")
    _require(holds(body, {n: Fraction(v) for n, v in zip(names, values)}, domain), f"witness {values} for {body}")


def existential(rng: random.Random) -> _Draft:
    # `use` may close ℕ/ℤ goals by rfl; `<;> norm_num` finishes what is left and is a no-op otherwise.
    # Where a closed form exists the witness is written as a term built from the statement's own
    # numbers (the model copies, norm_num computes): (c - b) / a, or Cramer's rule for 2×2 systems.
    shape = rng.randrange(3)
    if shape == 1:  # two integer unknowns pinned by a 2×2 system
        x, y = rng.randint(-9, 12), rng.randint(-9, 12)
        while True:
            a1, b1, a2, b2 = (_nonzero(rng, -5, 5) for _ in range(4))
            if a1 * b2 - a2 * b1:
                break
        c1, c2 = a1 * x + b1 * y, a2 * x + b2 * y
        body = (f"{linear_text({'x': a1, 'y': b1})} = {c1} ∧ "
                f"{linear_text({'x': a2, 'y': b2})} = {c2}")
        det = (a1, b2, a2, b1)
        wx, wy = _cramer((c1, b2, c2, b1), det), _cramer((a1, c2, a2, c1), det)
        _check_witness(body, ["x", "y"], [wx, wy], [x, y], "ℤ")
        return _Draft("", f"∃ x y : ℤ, {body}", [f"use {wx}, {wy} <;> norm_num"], 3,
                      f"Cramer's rule gives (x, y) = ({x}, {y}), which satisfies both equations exactly in ℤ",
                      f"Find integers x, y with {body}.")
    if shape == 2:  # Chinese remainder: a natural number with two prescribed remainders
        while True:
            m1, m2 = rng.randint(3, 11), rng.randint(3, 11)
            if m1 != m2 and _gcd(m1, m2) == 1:
                break
        r1, r2 = rng.randint(0, m1 - 1), rng.randint(0, m2 - 1)
        body = f"n % {m1} = {r1} ∧ n % {m2} = {r2}"
        n = next(k for k in range(m1 * m2) if holds(body, {"n": Fraction(k)}, "ℕ"))
        return _Draft("", f"∃ n : ℕ, {body}", [f"use {n} <;> norm_num"], 3,
                      f"the witness n = {n} (least solution, found by search below {m1 * m2}) satisfies it in ℕ",
                      f"Find n with remainder {r1} mod {m1} and {r2} mod {m2}.")
    domain = rng.choice(["ℕ", "ℤ", "ℝ"])
    x = rng.randint(0, 12) if domain == "ℕ" else rng.randint(-9, 12)
    a, b = rng.randint(2, 9), rng.randint(0, 20)
    c = a * x + b
    body = f"{linear_text({'x': a}, b)} = {c}"
    witness = f"({_witness(c)} - {b}) / {a}" if b else f"{_witness(c)} / {a}"
    _check_witness(body, ["x"], [witness], [x], domain)
    return _Draft("", f"∃ x : {domain}, {body}", [f"use {witness} <;> norm_num"], 2,
                  f"the witness {witness} = {x} satisfies the body exactly in {domain}",
                  f"Find x in {domain} with {body}.")


def function_equation(rng: random.Random) -> _Draft:
    slope, intercept = _nonzero(rng, -5, 6), rng.randint(-9, 9)
    law = f"∀ x, f x = {linear_text({'x': slope}, intercept)}"
    body = linear_text({"x": slope}, intercept)
    f = lambda v: evaluate(body, {"x": v}, "ℝ")  # noqa: E731  (the law's right side, read from text)
    level = rng.choice([1, 2, 3])
    if level == 1:
        c = rng.randint(-5, 8)
        value = f(Fraction(c))
        goal = f"f {c if c >= 0 else f'({c})'} = {value}"
        _require(holds(goal, {"f": f}, "ℝ"), goal)
        return _Draft(f"(f : ℝ → ℝ) (h₀ : {law})", goal, ["norm_num [h₀]"], 1,
                      "the law pins f; the goal evaluated exactly", f"With f(x) = {body}, compute f({c}).")
    if level == 2:
        c = rng.randint(0, 5)
        value = f(f(Fraction(c)))
        goal = f"f (f {c}) = {value}"
        _require(holds(goal, {"f": f}, "ℝ"), goal)
        return _Draft(f"(f : ℝ → ℝ) (h₀ : {law})", goal, ["norm_num [h₀]"], 2,
                      "the law pins f; the goal evaluated exactly", f"With f(x) = {body}, compute f(f({c})).")
    # level 3: a, b unknown; two values of f pin them down
    p, q = rng.randint(1, 3), rng.randint(4, 6)
    vp, vq = slope * p + intercept, slope * q + intercept
    rows = [(Fraction(p), Fraction(1), Fraction(vp)), (Fraction(q), Fraction(1), Fraction(vq))]
    _require(_solve2(rows) == (slope, intercept), "two values of an affine f pin its slope")
    return _Draft(f"(a b : ℝ) (f : ℝ → ℝ) (h₀ : ∀ x, f x = a * x + b) (h₁ : f {p} = {vp}) (h₂ : f {q} = {vq})",
                  f"a = {slope}", ["rw [h₀] at h₁ h₂", "linarith"], 3,
                  f"a·{p} + b = {vp} and a·{q} + b = {vq} have determinant {p - q} ≠ 0 and unique solution "
                  f"a = {slope}, b = {intercept}",
                  f"f(x) = ax + b with f({p}) = {vp}, f({q}) = {vq}; find a.")


FAMILIES: dict[str, Callable[[random.Random], _Draft]] = {
    "linear_equation": linear_equation,
    "linear_system": linear_system,
    "linear_inequality": linear_inequality,
    "quadratic_inequality": quadratic_inequality,
    "modular_arithmetic": modular_arithmetic,
    "divisibility": divisibility,
    "polynomial_identity": polynomial_identity,
    "closed_computation": closed_computation,
    "conjunction": conjunction,
    "existential": existential,
    "function_equation": function_equation,
}


# =============================================================================== generation

def _body(statement: str) -> str:
    """The statement without `theorem NAME`: what makes two items the same problem."""
    return statement.split(" ", 2)[2] if statement.count(" ") >= 2 else statement


def split_of(statement: str) -> str:
    """The split a statement belongs to, from a fixed hash of its text after `theorem NAME`."""
    digest = hashlib.sha256(_body(statement).encode("utf-8")).digest()
    return "heldout" if digest[0] % 5 in HELDOUT_BUCKETS else "train"


def _draw(seed: int, split: str, per_family: int, families: Iterable[str]) -> list[CurriculumItem]:
    items, seen = [], set()
    for family in families:
        rng = random.Random(f"curriculum:{seed}:{split}:{family}")
        attempts = 0
        count = 0
        while count < per_family:
            attempts += 1
            if attempts > 60 * per_family + 100:
                break  # the family's space is small; keep what is distinct
            draft = FAMILIES[family](rng)
            name = f"{NAME_PREFIX[split]}_{seed}_{family}_{count}"
            statement = draft.statement(name)
            if _body(statement) in seen or split_of(statement) != split:
                continue
            seen.add(_body(statement))
            items.append(CurriculumItem(
                name=name, split=split, header=MINIF2F_HEADER, formal_statement=statement,
                tactics=list(draft.tactics), difficulty=draft.difficulty, family=family,
                truth_check=draft.truth_check, informal_statement=draft.informal,
                source=f"training.curriculum seed={seed} split={split} family={family}",
            ))
            count += 1
    return items


def generate(seed: int = 0, split: str = "train", per_family: int = 10,
             families: Iterable[str] | None = None) -> list[CurriculumItem]:
    """`per_family` true theorems per family (fewer if a family's space runs out), deterministic.

    Train and held-out items never share a statement, whatever the seeds and sizes (`split_of`).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    chosen = list(families) if families is not None else list(FAMILIES)
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    return _draw(seed, split, per_family, chosen)


def write_jsonl(items: Iterable[Any], path: str | Path) -> int:
    """Write one JSON line per item (anything with `to_json()`); returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path) -> list[CurriculumItem]:
    with Path(path).open(encoding="utf-8") as f:
        return [CurriculumItem.from_json(json.loads(line)) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write generated curriculum theorems as miniF2F-style JSONL.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=SPLITS, default="train")
    parser.add_argument("--per-family", type=int, default=20)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    n = write_jsonl(generate(args.seed, args.split, args.per_family), args.out)
    print(f"wrote {n} theorems to {args.out}")


if __name__ == "__main__":
    main()
