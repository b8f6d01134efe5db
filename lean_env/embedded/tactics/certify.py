"""Untrusted certificate producers for the arithmetic tactics (linarith, nlinarith, positivity…).

The trusted core checks Positivstellensatz-style certificates (core/certificate.py): a tuple of
(source, coefficient) whose combination of facts `p ρ 0` is a constant contradiction. This module
only FINDS such certificates: it lists candidate sources, computes their facts with the core's own
polynomial normal form, and asks z3 (linear real arithmetic, exact rationals) for coefficients —
the Farkas dual of linarith's problem. Whatever it returns is checked by the core through
`ctx.apply(goal, "linarith", cert)`; a bug here can make a tactic fail, never succeed.

Resource bounds: every search takes the tactic context's deadline; z3 gets the time left (capped),
product lists are capped, and the polynomial work of each fact is capped by the core's Budget.
Exceeding a cap is an ordinary failure (None).
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from fractions import Fraction

from ..core import term as C
from ..core.certificate import MAX_SOURCES, _Checker
from ..core.poly import Budget, Poly, canonical_term
from ..core.sequent import CoreError, Sequent

Z3_CAP_S = 6.0  # at most this long per z3 call (and never past the deadline)
MAX_PRODUCT_BASE = 24  # nlinarith multiplies at most this many facts pairwise
MAX_COLUMNS = 1500


class OutOfTime(Exception):
    pass


def check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise OutOfTime()


def is_order(p: C.Term) -> bool:
    return isinstance(p, C.Rel) and p.op in ("<", "≤", ">", "≥")


def is_comparison(p: C.Term) -> bool:
    """A fact the certificate checker reads: a R b (R in = < ≤ > ≥) or ¬(a R b) (R an order)."""
    if isinstance(p, C.Conn) and p.op == "¬":
        return is_order(p.args[0])
    return isinstance(p, C.Rel) and p.op in ("=", "<", "≤", ">", "≥") and p.lhs.ty in C.NUMERIC


def hyp_sources(seq: Sequent, only: Iterable[int] | None = None) -> list[tuple]:
    keep = set(only) if only is not None else None
    return [("hyp", d.uid) for d in seq.decls
            if not d.is_var and is_comparison(d.value) and (keep is None or d.uid in keep)]


def size(src: tuple) -> int:
    if src[0] in ("mul", "int"):
        return 1 + sum(size(s) for s in src[1:])
    return 1


class Pool:
    """Candidate sources of one sequent with their facts (computed by the core's checker code,
    so the polynomials are exactly those the check will compute)."""

    def __init__(self, seq: Sequent, deadline: float) -> None:
        self.chk = _Checker(seq)
        self.deadline = deadline
        self.items: list[tuple[tuple, object]] = []
        self.seen: set = set()

    def fact(self, src: tuple):
        self.chk.budget = Budget()  # each fact gets its own allowance
        try:
            return self.chk.fact(src)
        except (CoreError, ValueError, TypeError, IndexError, AttributeError, KeyError, RecursionError):
            return None

    def add(self, src: tuple) -> bool:
        check_deadline(self.deadline)
        if src in self.seen or len(self.items) >= MAX_COLUMNS:
            return False
        self.seen.add(src)
        f = self.fact(src)
        if f is None:
            return False
        if f.rel == ">" and f.integral:  # linarith's preprocessing over ℕ/ℤ: p > 0 ⇒ p ≥ 1
            g = self.fact(("int", src))
            if g is not None:
                src, f = ("int", src), g
        self.items.append((src, f))
        return True

    def atoms(self) -> set:
        out: set = set()
        for _, f in self.items:
            out |= f.poly.atoms()
        return out

    def add_nonneg_atoms(self) -> None:
        """ℕ-valued atoms (and |·|, √, casts of them) are ≥ 0 (Nat.zero_le, abs_nonneg …)."""
        for a in sorted(self.atoms(), key=repr):
            if _nonneg_shape(a):
                self.add(("nonneg", a))


def _nonneg_shape(t: C.Term) -> bool:
    if t.ty == "ℕ":
        return True
    if isinstance(t, C.Op) and t.op in ("abs", "sqrt"):
        return True
    return isinstance(t, C.Op) and t.op == "cast" and _nonneg_shape(t.args[0])


def solve(pool: Pool, deadline: float) -> tuple | None:
    """Nonnegative coefficients (any sign for equalities) making Σ cᵢ·pᵢ a constant k with
    k < 0, or k = 0 and a strict fact used: the Farkas dual, solved by z3 over ℚ."""
    import z3
    items = pool.items
    if not items:
        return None
    left = deadline - time.monotonic()
    if left <= 0.05:
        raise OutOfTime()
    s = z3.Solver()
    s.set("timeout", max(1, int(min(left - 0.05, Z3_CAP_S) * 1000)))
    cs = [z3.Real(f"c{i}") for i in range(len(items))]
    rows: dict = {}
    strict = []
    for i, (_, f) in enumerate(items):
        if f.rel != "=":
            s.add(cs[i] >= 0)
        if f.rel == ">":
            strict.append(cs[i])
        for m, c in f.poly.terms.items():
            rows.setdefault(m, []).append((i, c))
    const = rows.pop(frozenset(), [])

    def lin(entries):
        return z3.Sum([z3.Q(c.numerator, c.denominator) * cs[i] for i, c in entries]) if entries else z3.RealVal(0)

    for entries in rows.values():
        s.add(lin(entries) == 0)
    k = lin(const)
    s.add(k <= 0)
    s.add(-k + (z3.Sum(strict) if strict else z3.RealVal(0)) == 1)
    check_deadline(deadline)
    if s.check() != z3.sat:
        if time.monotonic() > deadline:
            raise OutOfTime()
        return None
    model = s.model()
    cert = []
    for i, (src, _) in enumerate(items):
        v = model.eval(cs[i], model_completion=True)
        val = Fraction(v.numerator_as_long(), v.denominator_as_long())
        if val != 0:
            cert.append((src, val))
    if not cert or sum(size(src) for src, _ in cert) > MAX_SOURCES:
        return None
    return tuple(cert)


# -- nlinarith's preprocessing --------------------------------------------------------------------
def square_base(t: C.Term) -> C.Term | None:
    """t = s ^ (2k) or t = s * s: the term whose square t is."""
    if isinstance(t, C.Op) and t.op == "^" and isinstance(t.args[1], C.Lit):
        e = t.args[1].value
        if e.denominator == 1 and e % 2 == 0 and e > 0:
            return t.args[0] if e == 2 else C.Op("^", (t.args[0], C.Lit(e / 2, "ℕ")), t.ty)
    if isinstance(t, C.Op) and t.op == "*" and t.args[0] == t.args[1]:
        return t.args[0]
    return None


def square_sources(props: Iterable[C.Term]) -> list[tuple]:
    """nlinarith: `sq_nonneg t` / `mul_self_nonneg t` for every square in the hypotheses and goal."""
    out: list[tuple] = []
    for p in props:
        for t in C.subterms(p):
            if t.ty in C.NUMERIC and not C.has_loose_bvars(t):
                b = square_base(t)
                if b is not None and ("sq", b) not in out:
                    out.append(("sq", b))
    return out


def even_monomial_sources(pool: Pool) -> list[tuple]:
    """`m ≥ 0` for monomials with even exponents only (as squares of half monomials)."""
    out = []
    for _, f in list(pool.items):
        for m in f.poly.terms:
            if len(m) and all(e % 2 == 0 for _, e in m) and sum(e for _, e in m) >= 2:
                half = Poly({frozenset((a, e // 2) for a, e in m): Fraction(1)})
                ty = max((getattr(a, 't', a).ty for a, _ in m), key=lambda t: C.RANK.get(t, 0))
                try:
                    out.append(("sq", canonical_term(half, ty)))
                except ValueError:
                    continue
    return out


def products(base: list[tuple], pool: Pool) -> None:
    """Lean's nlinarith: the pairwise products (with repetition) of the comparisons."""
    usable = [(src, f) for src, f in base][:MAX_PRODUCT_BASE]
    for i in range(len(usable)):
        for j in range(i, len(usable)):
            pool.add(("mul", usable[i][0], usable[j][0]))


def find_certificate(seq: Sequent, sources: list[tuple], deadline: float, nonlinear: bool = False,
                     squares: Iterable[tuple] = ()) -> tuple | None:
    """A certificate refuting the hypotheses `sources` (plus the negated goal when it is an order
    comparison), or None. With `nonlinear`, nlinarith's squares and pairwise products are added."""
    pool = Pool(seq, deadline)
    g = seq.target
    if is_order(g) or (isinstance(g, C.Conn) and g.op == "¬" and is_order(g.args[0])):
        pool.add(("neg_goal",))
    for s in sources:
        pool.add(s)
    if nonlinear:
        for s in squares:
            pool.add(s)
    pool.add_nonneg_atoms()
    if not nonlinear:
        return solve(pool, deadline)
    # first try without products (cheap), then with them
    cert = solve(pool, deadline)
    if cert is not None:
        return cert
    base = list(pool.items)
    products(base, pool)
    for s in even_monomial_sources(pool):
        pool.add(s)
    pool.add_nonneg_atoms()
    return solve(pool, deadline)
