"""Random well-typed arithmetic terms and propositions for the property tests of the core's
theory rules (evaluate, poly, normalize, omega), and a brute-force reference: substitute
numerals for the locals and evaluate. Loaded by path (tests use importlib mode)."""
from __future__ import annotations

import random
from fractions import Fraction

from lean_env.embedded.core.evaluate import NotEvaluable, decide_prop, evaluate
from lean_env.embedded.core.term import RANK, Conn, FVar, Lit, Op, Rel, Term, map_at_depth

N, Z, Q, R = "ℕ", "ℤ", "ℚ", "ℝ"
VARS = {ty: [FVar(10 * (RANK[ty] + 1) + i, ty, f"{ty}{i}") for i in range(3)] for ty in (N, Z, Q, R)}


def lit(v, ty: str) -> Term:
    """A numeral of any sign (negative ones as neg of a literal)."""
    v = Fraction(v)
    return Lit(v, ty) if v >= 0 else Op("neg", (Lit(-v, ty),), ty)


def op(o: str, *args: Term, ty: str | None = None) -> Term:
    """An operation node; its type is the first argument's unless given."""
    return Op(o, tuple(args), ty or args[0].ty)


def rand_term(rng: random.Random, ty: str, depth: int, nvars: int = 2, ops: str = "full") -> Term:
    if depth <= 0 or rng.random() < 0.25:
        if rng.random() < 0.6:
            return rng.choice(VARS[ty][:nvars])
        if ty in (N, Z) or rng.random() < 0.7:
            return Lit(Fraction(rng.randint(0, 4)), ty)
        return Lit(Fraction(rng.randint(0, 7), rng.randint(1, 4)), ty)
    sub = lambda t=ty, d=depth - 1: rand_term(rng, t, d, nvars, ops)
    choices = ["+", "*", "-", "^", "cast"] + (["neg"] if ty != N else [])
    if ops == "full":
        choices += ["/", "abs"] if ty != N else ["/", "%"]
        choices += {N: ["%", "gcd", "fact"], Z: ["%"], Q: ["inv"], R: ["inv", "sqrt"]}[ty]
    op = rng.choice(choices)
    if op == "cast":
        lower = [t for t in (N, Z, Q, R) if RANK[t] < RANK[ty]]
        if not lower:
            return sub()
        return Op("cast", (sub(rng.choice(lower)),), ty)
    if op == "^":
        e = Lit(Fraction(rng.randint(0, 3)), N) if rng.random() < 0.8 else rand_term(rng, N, 1, nvars, ops)
        return Op("^", (sub(), e), ty)
    if op in ("neg", "abs", "inv", "sqrt"):
        return Op(op, (sub(),), ty)
    if op == "fact":
        return Op("fact", (Op("%", (sub(), Lit(Fraction(6), N)), N),), N)
    if op == "gcd":
        return Op("gcd", (sub(), sub()), N)
    return Op(op, (sub(), sub()), ty)


def assignment(rng: random.Random, rational: bool = True) -> dict[int, Fraction]:
    out = {}
    for ty, vs in VARS.items():
        for v in vs:
            if ty == N:
                out[v.uid] = Fraction(rng.randint(0, 6))
            elif ty == Z or not rational:
                out[v.uid] = Fraction(rng.randint(-6, 6))
            else:
                out[v.uid] = Fraction(rng.randint(-6, 6), rng.randint(1, 3))
    return out


def subst(t: Term, env: dict[int, Fraction]) -> Term:
    def fn(s: Term, depth: int):
        if isinstance(s, FVar) and s.uid in env:
            return lit(env[s.uid], s.ty)
        return None
    return map_at_depth(t, fn)


def value(t: Term, env: dict[int, Fraction]) -> Fraction | None:
    try:
        return evaluate(subst(t, env))
    except NotEvaluable:
        return None


def truth(p: Term, env: dict[int, Fraction]) -> bool | None:
    try:
        return decide_prop(subst(p, env))
    except NotEvaluable:
        return None


def rand_prop(rng: random.Random, depth: int, types=(N, Z, R), tdepth: int = 2, nvars: int = 2,
              ops: str = "ring") -> Term:
    if depth <= 0 or rng.random() < 0.4:
        ty = rng.choice(types)
        rel = rng.choice(["=", "≠", "<", "≤", ">", "≥"] + (["∣"] if ty in (N, Z) else []))
        return Rel(rel, rand_term(rng, ty, tdepth, nvars, ops), rand_term(rng, ty, tdepth, nvars, ops))
    c = rng.choice(["¬", "∧", "∨", "→", "↔", "True", "False"])
    if c in ("True", "False"):
        return Conn(c, ())
    if c == "¬":
        return Conn("¬", (rand_prop(rng, depth - 1, types, tdepth, nvars, ops),))
    return Conn(c, tuple(rand_prop(rng, depth - 1, types, tdepth, nvars, ops) for _ in range(2)))
