"""Core rule for the ∑/∏ unfolding lemmas used by `rw`/`simp` (registered into core.rules.RULES).

range_unfold(s, name, uid): `s` must be a big operator over `Finset.range hi` (type-checked in
the context, so it is closed). Adds the hypothesis `name : s = s'` where
  * hi is `n + 1` (ℕ), or a numeral k ≥ 1 (then n = k - 1, Lean unifies `?n + 1 =?= k`):
      s' = (∑ x ∈ range n, f x) + f n          Finset.sum_range_succ
      s' = (∏ x ∈ range n, f x) * f n          Finset.prod_range_succ
  * hi is the numeral 0:
      s' = 0 (∑) / 1 (∏)                       Finset.sum_range_zero / Finset.prod_range_zero
The new hypothesis is an ordinary equation: `rewrite`/`rewrite_hyp` use it, `clear` removes it.
"""
from __future__ import annotations

from fractions import Fraction

from .rules import check_in, new_hyp, rule
from .sequent import CoreError
from .term import BigOp, Lit, Op, Rel, instantiate


@rule("range_unfold")
def r_range_unfold(seq, args, env):
    s, name, uid = args
    check_in(seq, s)
    if not (isinstance(s, BigOp) and s.kind == "range" and s.lo is None and s.vty == "ℕ"):
        raise CoreError("range_unfold needs a sum or product over Finset.range")
    hi = s.hi
    if isinstance(hi, Lit) and hi.value == 0:
        return [new_hyp(seq, name, uid, Rel("=", s, Lit(Fraction(0 if s.op == "∑" else 1), s.ty)))]
    if isinstance(hi, Op) and hi.op == "+" and hi.ty == "ℕ" and hi.args[1] == Lit(Fraction(1), "ℕ"):
        n = hi.args[0]
    elif isinstance(hi, Lit) and hi.value >= 1:
        n = Lit(hi.value - 1, "ℕ")
    else:
        raise CoreError("the upper bound is neither 0 nor of the form n + 1")
    rest = BigOp(s.op, s.vty, "range", None, n, s.body, s.ty, s.name)
    last = instantiate(s.body, n)
    return [new_hyp(seq, name, uid, Rel("=", s, Op("+" if s.op == "∑" else "*", (rest, last), s.ty)))]
