"""The `omega` rule: linear integer arithmetic decided by z3 (trusted, the one rule without a
certificate).

`check_omega(seq, hyp_uids)` accepts iff z3 answers `unsat` for  hyps ∧ ¬target ∧ definitions
within TIMEOUT_MS; `sat`, `unknown`, a timeout or a proposition outside the fragment is a
CoreError. TRUST: z3's `unsat` on quantifier-free linear integer arithmetic (QF_LIA), and the
encoding below, which is exact: every ℕ/ℤ term becomes a z3 Int whose value is the term's value.
  * ℕ/ℤ variables are Ints, an ℕ one with x ≥ 0; numerals; + ; ℤ - and neg; ↑ from ℕ to ℤ is
    the identity on values (Int.ofNat); |a| = if a ≥ 0 then a else -a (abs_of_nonneg/abs_of_neg).
  * ℕ a - b = if a ≥ b then a - b else 0 (Nat.sub_eq_zero_of_le, Nat.cast_sub).
  * a / k, a % k for a numeral k ≠ 0: fresh q, r with a = k·q + r ∧ 0 ≤ r < |k|, which defines
    Int.ediv / Int.emod uniquely (Int.emod_add_ediv, Int.emod_nonneg, Int.emod_lt; on ℕ the same
    as Nat.div / Nat.mod); a / 0 = 0, a % 0 = a (Int.ediv_zero, Int.emod_zero). These are
    definitions of fresh names, true for the one value they must take, so asserting them globally
    is sound under any connective.
  * k ∣ e for a numeral k: e % k = 0 (Int.dvd_iff_emod_eq_zero; 0 ∣ e ↔ e = 0 also fits).
  * c · a with a numeral factor is linear; any other ℕ/ℤ subterm (x·y, x / y, x ^ n, gcd, a sum,
    f x, …) is an ATOM: one fresh Int per distinct term (equal terms, equal values), ≥ 0 at ℕ;
    a closed one is replaced by its value (evaluate.py). Atomising only forgets information.
  * ∧ ∨ ¬ → ↔ True False. Anything else (ℚ/ℝ, quantifiers, primality) is refused.
"""
from __future__ import annotations

import z3

from .evaluate import NotEvaluable, Steps, evaluate
from .sequent import CoreError, Sequent
from .term import BVar, Conn, FVar, Lit, Op, Pred, Quant, Rel, Term, fvars, has_loose_bvars

TIMEOUT_MS = 2000


class _Enc:
    def __init__(self) -> None:
        self.vars: dict[object, z3.ArithRef] = {}
        self.side: list[z3.BoolRef] = []
        self.steps = Steps()  # one evaluation budget for all closed atoms

    def var(self, key: object, nat: bool) -> z3.ArithRef:
        if key not in self.vars:
            v = z3.Int(f"x{key}") if isinstance(key, int) else z3.FreshInt("atom")
            self.vars[key] = v
            if nat:
                self.side.append(v >= 0)
        return self.vars[key]

    @staticmethod
    def lit(e: z3.ArithRef) -> int | None:
        """The value of an encoded term when it simplifies to a numeral."""
        e = z3.simplify(e)
        return e.as_long() if z3.is_int_value(e) else None

    def divmod(self, a: z3.ArithRef, k: int) -> tuple[z3.ArithRef, z3.ArithRef]:
        if k == 0:
            return z3.IntVal(0), a
        q, r = z3.FreshInt("q"), z3.FreshInt("r")
        self.side += [a == k * q + r, r >= 0, r < abs(k)]
        return q, r

    def num(self, t: Term) -> z3.ArithRef:
        if t.ty not in ("ℕ", "ℤ"):
            raise CoreError(f"omega: a term of type {t.ty}")
        if isinstance(t, Lit):
            return z3.IntVal(int(t.value))
        if isinstance(t, FVar):
            return self.var(t.uid, t.ty == "ℕ")
        if not fvars(t) and not has_loose_bvars(t):  # a closed term: its value (evaluate.py)
            try:
                return z3.IntVal(int(evaluate(t, self.steps)))
            except NotEvaluable:
                pass
        if isinstance(t, Op):
            op, a = t.op, t.args
            if op == "+":
                return self.num(a[0]) + self.num(a[1])
            if op == "-" and t.ty == "ℤ":
                return self.num(a[0]) - self.num(a[1])
            if op == "-":
                x, y = self.num(a[0]), self.num(a[1])
                return z3.If(x >= y, x - y, 0)
            if op == "neg":
                return -self.num(a[0])
            if op == "cast":
                return self.num(a[0])
            if op == "abs":
                x = self.num(a[0])
                return z3.If(x >= 0, x, -x)
            if op in ("*", "/", "%"):
                x, y = self.num(a[0]), self.num(a[1])
                kx, ky = self.lit(x), self.lit(y)
                if op == "*" and (kx is not None or ky is not None):
                    return kx * y if kx is not None else ky * x  # type: ignore[operator]
                if op != "*" and ky is not None:
                    return self.divmod(x, ky)[0 if op == "/" else 1]
        if isinstance(t, BVar) or has_loose_bvars(t):
            raise CoreError("omega: a loose bound variable")
        return self.var(t, t.ty == "ℕ")

    def prop(self, p: Term) -> z3.BoolRef:
        if isinstance(p, Conn):
            if p.op in ("True", "False"):
                return z3.BoolVal(p.op == "True")
            xs = [self.prop(a) for a in p.args]
            return {"¬": lambda: z3.Not(xs[0]), "∧": lambda: z3.And(xs), "∨": lambda: z3.Or(xs),
                    "→": lambda: z3.Implies(xs[0], xs[1]), "↔": lambda: xs[0] == xs[1]}[p.op]()
        if isinstance(p, Rel):
            a = self.num(p.lhs)
            b = self.num(p.rhs)
            if p.op == "∣":
                k = self.lit(a)
                if k is None:
                    raise CoreError("omega: divisibility by a non-numeral")
                return self.divmod(b, k)[1] == 0
            return {"=": a == b, "≠": a != b, "<": a < b, "≤": a <= b, ">": a > b, "≥": a >= b}[p.op]
        if isinstance(p, (Quant, Pred)):
            raise CoreError(f"omega: {type(p).__name__} outside linear integer arithmetic")
        raise CoreError("omega: not a proposition")


def check_omega(seq: Sequent, hyp_uids: tuple[int, ...] | list[int]) -> None:
    """Accept iff z3 proves the listed hypotheses entail the target (see the module docstring)."""
    enc = _Enc()
    try:
        hyps = [enc.prop(seq.hyp(u)) for u in hyp_uids]
        goal = enc.prop(seq.target)
    except RecursionError as e:
        raise CoreError("omega: proposition too deep") from e
    s = z3.Solver()
    s.set("timeout", TIMEOUT_MS)
    s.add(*hyps, z3.Not(goal), *enc.side)
    r = s.check()
    if r != z3.unsat:
        raise CoreError("omega: " + ("the goal does not follow" if r == z3.sat else "no answer in time"))
