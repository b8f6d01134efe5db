"""Witnesses for an existential goal, for the hammer: values solved from the goal's equations,
then small numbers.

`∃ n, n + 2 = 5` gives `use 3`; `∃ x, 2 * x = 3` gives `use 3 / 2`; `∃ x y, x + y = 5 ∧ x - y = 1`
gives `use 3, 2`; `∃ x, x = a + 1` gives `use a + 1`. Equations are read as polynomials with
rational coefficients (`+ - * / ^`, numerals, names, casts `↑x`, ascriptions `(x : ℝ)`); the
linear ones are solved together (exactly, with fractions), a one-unknown polynomial equation by
its rational roots. Anything else in the goal is ignored, never guessed at.

These are untrusted guesses, like every candidate tactic: the kernel elaborates `use 3 / 2`
against the binder's type and checks what follows, so a wrong witness (or ℕ's floor division
making `3 / 2` mean 1) only leaves a goal no tactic can close.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from itertools import product

Monomial = tuple[str, ...]          # sorted names, a name repeated for its power; () = the constant
Polynomial = dict[Monomial, Fraction]

NUMERIC_TYPES = ("ℕ", "ℤ", "ℚ", "ℝ")
MAX_SOLVED = 4            # witnesses solved from the goal, at most
MAX_POWER = 8             # `x ^ n` with larger n is not expanded
MAX_NUMERAL_POWER = 256   # `2 ^ n` is computed up to this n
MAX_PRODUCT_TERMS = 4096  # a product of polynomials with more term pairs is not expanded (cost)
ROOT_SEARCH = range(-20, 21)  # integer roots tried for one-unknown equations of degree > 2
SMALL_VALUES = {
    "ℕ": ("0", "1", "2", "3"),
    "ℤ": ("0", "1", "-1", "2"),
    "ℚ": ("0", "1", "-1", "2", "1 / 2"),
    "ℝ": ("0", "1", "-1", "2", "1 / 2"),
    None: ("0", "1", "2", "-1"),  # the type is unknown: the state does not print binder types
}


class NotPolynomial(ValueError):
    """The text is not a polynomial expression this module reads."""


# ---- polynomials -------------------------------------------------------------------------

def _add(p: Polynomial, q: Polynomial, sign: int = 1) -> Polynomial:
    out = dict(p)
    for m, c in q.items():
        out[m] = out.get(m, Fraction(0)) + sign * c
    return {m: c for m, c in out.items() if c != 0}


def _mul(p: Polynomial, q: Polynomial) -> Polynomial:
    if len(p) * len(q) > MAX_PRODUCT_TERMS:
        raise NotPolynomial("too large to expand")
    out: Polynomial = {}
    for (m1, c1), (m2, c2) in product(p.items(), q.items()):
        m = tuple(sorted(m1 + m2))
        out[m] = out.get(m, Fraction(0)) + c1 * c2
    return {m: c for m, c in out.items() if c != 0}


def _constant(p: Polynomial) -> Fraction | None:
    if not p:
        return Fraction(0)
    if set(p) == {()}:
        return p[()]
    return None


# ---- parsing -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([^\W\d][\w'₀-₉]*)|(.))", re.UNICODE)


def _tokens(text: str) -> list[str]:
    out = []
    for match in _TOKEN.finditer(text):
        token = next((g for g in match.groups() if g is not None), None)
        if token is not None and not token.isspace():
            out.append(token)
    return out


class _Parser:
    """Recursive descent over Lean's arithmetic precedence: `+ -` < `* /` < unary `-` < `^`."""

    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise NotPolynomial("unexpected end")
        self.pos += 1
        return token

    def parse(self) -> Polynomial:
        poly = self.expr()
        if self.peek() is not None:
            raise NotPolynomial(f"unexpected {self.peek()!r}")
        return poly

    def expr(self) -> Polynomial:
        poly = self.term()
        while self.peek() in ("+", "-"):
            sign = 1 if self.take() == "+" else -1
            poly = _add(poly, self.term(), sign)
        return poly

    def term(self) -> Polynomial:
        poly = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            right = self.unary()
            if op == "*":
                poly = _mul(poly, right)
                continue
            divisor = _constant(right)
            if divisor is None or divisor == 0:
                raise NotPolynomial("division by a non-constant or by zero")
            poly = _mul(poly, {(): 1 / divisor})
        return poly

    def unary(self) -> Polynomial:
        if self.peek() == "-":
            self.take()
            return _mul({(): Fraction(-1)}, self.unary())
        return self.power()

    def power(self) -> Polynomial:
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        exponent = _constant(self.unary())
        if exponent is None or exponent.denominator != 1 or exponent < 0:
            raise NotPolynomial("exponent is not a natural number")
        value = _constant(base)
        if value is not None and exponent <= MAX_NUMERAL_POWER:
            return {(): value ** int(exponent)} if value ** int(exponent) else {}
        if exponent > MAX_POWER:
            raise NotPolynomial("exponent too large to expand")
        out: Polynomial = {(): Fraction(1)}
        for _ in range(int(exponent)):
            out = _mul(out, base)
        return out

    def atom(self) -> Polynomial:
        token = self.take()
        if token == "↑":
            return self.atom()
        if token == "(":
            inner = self.expr()
            if self.peek() == ":":  # `(x : ℝ)`: the ascription does not change the value read here
                while self.peek() not in (")", None):
                    self.take()
            if self.take() != ")":
                raise NotPolynomial("unbalanced parentheses")
            return inner
        if token[0].isdigit():
            poly = {(): Fraction(token)}
        elif token[0].isalpha() or token[0] == "_":
            if "." in token or token in ("fun", "if", "then", "else", "let"):
                raise NotPolynomial(f"{token!r} is not a variable")
            poly = {(token,): Fraction(1)}
        else:
            raise NotPolynomial(f"unexpected {token!r}")
        nxt = self.peek()
        if nxt is not None and (nxt == "(" or nxt[0].isalnum() or nxt == "↑"):
            raise NotPolynomial("function application")
        return poly


def parse_polynomial(text: str) -> Polynomial:
    """The polynomial `text` denotes (over ℚ), or NotPolynomial."""
    try:
        return _Parser(text).parse()
    except RecursionError:  # absurdly nested brackets
        raise NotPolynomial("nested too deeply") from None


# ---- the goal's shape ----------------------------------------------------------------------

_OPEN, _CLOSE = "([{⟨", ")]}⟩"


def _split_top(text: str, sep: str) -> list[str]:
    """`text` split at `sep` characters outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _strip_parens(text: str) -> str:
    """`text` without brackets around the whole of it: `((a = b))` → `a = b`."""
    text = text.strip()
    while text.startswith("(") and _matching(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _matching(text: str, start: int) -> int:
    """Index of the bracket closing the one at `start` (-1 if none)."""
    depth = 0
    for i in range(start, len(text)):
        depth += text[i] in _OPEN
        depth -= text[i] in _CLOSE
        if depth == 0:
            return i
    return -1


_NAME = re.compile(r"[^\W\d][\w'₀-₉✝]*")


def _binders(text: str) -> list[tuple[str, str | None]]:
    """`x y`, `x y : ℝ`, `(x : ℝ) (y : ℤ)`, `x > 0`, `x ∈ S` → [(name, type or None)]."""
    text = text.strip()
    if text.startswith("("):
        out = []
        for group in re.findall(r"\(([^()]*)\)", text):
            names, _, typ = group.partition(":")
            out += [(n, typ.strip() or None) for n in names.split()]
        return out
    names, colon, typ = text.partition(":")
    relation = re.search(r"\s(>|<|≥|≤|≠|∈|∉)\s", names)
    if relation:  # `∃ x > 0, p` (binder predicate): one name, no type written
        first = _NAME.match(names.strip())
        return [(first.group(0), None)] if first else []
    return [(n, typ.strip() if colon else None) for n in names.split()]


def split_exists(target: str) -> tuple[list[tuple[str, str | None]], str] | None:
    """(binders, body) of a target `∃ x y, ∃ z, body` (nested ∃ merged), or None if it is not one."""
    binders: list[tuple[str, str | None]] = []
    body = _strip_parens(target)
    while body.startswith("∃") and not body.startswith("∃!"):
        head, *rest = _split_top(body[1:], ",")
        if not rest:
            break
        found = _binders(head)
        if not found:
            break
        binders += found
        body = _strip_parens(",".join(rest))
    return (binders, body) if binders else None


def binder_types(statement: str) -> dict[str, str]:
    """Name → type for every `∃` binder written with a type in `statement` (the source text,
    which states print without). A name bound with two types is left out."""
    types: dict[str, str] = {}
    clash: set[str] = set()
    for match in re.finditer("∃", statement):
        found = split_exists(statement[match.start():])
        if found is None:
            continue
        for name, typ in found[0]:
            if typ is None:
                continue
            if types.get(name, typ) != typ:
                clash.add(name)
            types[name] = typ
    return {n: t for n, t in types.items() if n not in clash}


def _equations(body: str) -> list[Polynomial]:
    """`lhs - rhs` for each conjunct of `body` that is one equation between polynomials."""
    out = []
    for conjunct in _split_top(body, "∧"):
        conjunct = _strip_parens(conjunct)
        sides = _split_top(conjunct, "=")
        if len(sides) != 2 or any(op in conjunct for op in ("∨", "→", "↔", "∀", "∃", "¬")):
            continue
        try:
            out.append(_add(parse_polynomial(sides[0]), parse_polynomial(sides[1]), -1))
        except NotPolynomial:
            continue
    return out


# ---- solving -------------------------------------------------------------------------------

def _solve_linear(equations: list[Polynomial], unknowns: list[str]) -> dict[str, Polynomial] | None:
    """Exact Gauss-Jordan elimination over the linear equations (other names are parameters);
    unknowns left free are set to 0. None when the system is inconsistent or has no linear one."""
    rows: list[tuple[list[Fraction], Polynomial]] = []
    for eq in equations:
        coeffs = [Fraction(0)] * len(unknowns)
        rest: Polynomial = {}
        linear = True
        for mono, c in eq.items():
            inside = [v for v in mono if v in unknowns]
            if not inside:
                rest[mono] = c
            elif len(mono) == 1:
                coeffs[unknowns.index(mono[0])] += c
            else:
                linear = False
                break
        if linear and any(coeffs):
            rows.append((coeffs, _mul(rest, {(): Fraction(-1)})))  # Σ a·x = -rest
    if not rows:
        return None
    pivots: list[int] = []
    r = 0
    for col in range(len(unknowns)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][0][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        coeffs, rhs = rows[r]
        scale = 1 / coeffs[col]
        rows[r] = ([c * scale for c in coeffs], _mul(rhs, {(): scale}))
        for i in range(len(rows)):
            if i != r and rows[i][0][col] != 0:
                factor = rows[i][0][col]
                rows[i] = ([a - factor * b for a, b in zip(rows[i][0], rows[r][0])],
                           _add(rows[i][1], _mul(rows[r][1], {(): factor}), -1))
        pivots.append(col)
        r += 1
    if any(not any(coeffs) and rhs for coeffs, rhs in rows[r:]):
        return None  # 0 = something nonzero
    solution: dict[str, Polynomial] = {u: {} for u in unknowns}  # free unknowns: 0
    for i, col in enumerate(pivots):
        solution[unknowns[col]] = rows[i][1]  # free columns drop out, as those unknowns are 0
    return solution


def _rational_roots(poly: Polynomial, name: str) -> list[Fraction]:
    """Rational roots of a polynomial in `name` alone: exact up to degree 2, integers beyond."""
    coeffs: dict[int, Fraction] = {}
    for mono, c in poly.items():
        if any(v != name for v in mono):
            return []
        coeffs[len(mono)] = c
    degree = max(coeffs, default=0)
    a, b, c = (coeffs.get(k, Fraction(0)) for k in (2, 1, 0))
    if degree == 1:
        return [-c / b]
    if degree == 2:
        disc = b * b - 4 * a * c
        root = _rational_sqrt(disc)
        if root is None:
            return []
        return sorted({(-b + root) / (2 * a), (-b - root) / (2 * a)}, key=lambda v: (v < 0, abs(v)))
    if degree > 2:
        return [Fraction(x) for x in sorted(ROOT_SEARCH, key=lambda v: (v < 0, abs(v)))
                if sum(k * Fraction(x) ** d for d, k in coeffs.items()) == 0]
    return []


def _rational_sqrt(q: Fraction) -> Fraction | None:
    if q < 0:
        return None
    num, den = _int_sqrt(q.numerator), _int_sqrt(q.denominator)
    return None if num is None or den is None else Fraction(num, den)


def _int_sqrt(n: int) -> int | None:
    root = math.isqrt(n)
    return root if root * root == n else None


# ---- rendering -----------------------------------------------------------------------------

def render_number(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    return f"{q.numerator} / {q.denominator}"


def render(poly: Polynomial) -> str:
    """A Lean term for the polynomial, constant last: `3`, `3 / 2`, `-1 / 3`, `a + 1`, `-b / 2 + 5 / 2`."""
    if not poly:
        return "0"
    text = ""
    for mono in sorted(poly, key=lambda m: (m == (), m)):
        c = poly[mono]
        sign, c = ("-" if c < 0 else "+"), abs(c)
        names = " * ".join(f"{v} ^ {mono.count(v)}" if mono.count(v) > 1 else v for v in dict.fromkeys(mono))
        if not names:
            piece = render_number(c)
        elif c == 1:
            piece = names
        elif c.denominator == 1:
            piece = f"{c.numerator} * {names}"
        else:
            piece = f"{c.numerator} * {names} / {c.denominator}" if c.numerator != 1 else f"{names} / {c.denominator}"
        if not text:
            text = piece if sign == "+" else f"-{piece}"
        else:
            text += f" {sign} {piece}"
    return text


def _fits(poly: Polynomial, typ: str | None) -> bool:
    """False for a constant that cannot be a value of `typ` (negative ℕ, fractional ℕ/ℤ)."""
    value = _constant(poly)
    if value is None or typ not in ("ℕ", "ℤ"):
        return True
    return value.denominator == 1 and (typ == "ℤ" or value >= 0)


# ---- the hammer's entry point ----------------------------------------------------------------

def witness_tactics(target: str, statement: str = "") -> tuple[list[str], list[str]]:
    """(`use` tactics with witnesses solved from `target`, `use` tactics with small values) for
    an existential target; ([], []) otherwise. `statement` (the theorem's source) supplies the
    binder types that states do not print."""
    found = split_exists(target)
    if found is None:
        return [], []
    binders, body = found
    if any("✝" in name for name, _ in binders):
        return [], []  # inaccessible names cannot appear in a witness; `use` still fills them
    known = binder_types(statement) if statement else {}
    types = [typ if typ in NUMERIC_TYPES else known.get(name) for name, typ in binders]
    types = [t if t in NUMERIC_TYPES else None for t in types]
    unknowns = [name for name, _ in binders]
    equations = _equations(body)

    solved: list[list[Polynomial]] = []
    linear = _solve_linear(equations, unknowns)
    if linear is not None:
        mentioned = {v for eq in equations for mono in eq for v in mono}
        last = max((i for i, u in enumerate(unknowns) if u in mentioned), default=-1)
        if last >= 0:
            solved.append([linear[u] for u in unknowns[:last + 1]])
    first = unknowns[0]
    for eq in equations:
        for root in _rational_roots(eq, first):
            solved.append([{(): root} if root else {}])

    tactics: list[str] = []
    for values in solved:
        if all(_fits(v, t) for v, t in zip(values, types)):
            tactics.append("use " + ", ".join(render(v) for v in values))
    tactics = list(dict.fromkeys(tactics))[:MAX_SOLVED]
    small = [f"use {value}" for value in SMALL_VALUES[types[0]]]
    return tactics, [t for t in small if t not in tactics]
