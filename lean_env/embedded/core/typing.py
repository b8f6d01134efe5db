"""Well-formedness of core terms: every term a tactic hands to the core is type-checked here.

An ill-typed term (e.g. `Op("-", (a : ℕ, b : ℕ), ty="ℝ")`) would make the arithmetic rules
read it with the wrong semantics, so the core accepts no term that fails these checks. The
signatures are Mathlib's instances restricted to ℕ ℤ ℚ ℝ.
"""
from __future__ import annotations

from fractions import Fraction

from .term import NUMERIC, RANK, App, Arrow, BigOp, BVar, Conn, FVar, Lit, Op, Pred, Quant, Rel, Term, Type


class IllTyped(Exception):
    pass


RING_OPS = {"+": NUMERIC, "*": NUMERIC, "-": NUMERIC, "/": NUMERIC, "%": ("ℕ", "ℤ")}
UNARY_SAME = {"neg": ("ℤ", "ℚ", "ℝ"), "abs": ("ℤ", "ℚ", "ℝ"), "inv": ("ℚ", "ℝ")}
CONN_ARITY = {"∧": 2, "∨": 2, "→": 2, "↔": 2, "¬": 1, "True": 0, "False": 0}
RELATIONS = {"=": NUMERIC, "≠": NUMERIC, "<": NUMERIC, "≤": NUMERIC, ">": NUMERIC, "≥": NUMERIC,
             "∣": ("ℕ", "ℤ")}
PREDICATES = {"Nat.Prime", "Prime"}


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise IllTyped(msg)


def check_type(ty: Type) -> None:
    if isinstance(ty, Arrow):
        _need(ty.dom in NUMERIC or isinstance(ty.dom, Arrow), f"bad domain {ty.dom}")
        _need(ty.cod in NUMERIC or isinstance(ty.cod, Arrow), f"bad codomain {ty.cod}")
        check_type(ty.dom)
        check_type(ty.cod)
        return
    _need(ty in NUMERIC or ty == "Prop", f"unknown type {ty!r}")


def check_term(t: Term, locals_: dict[int, Type], bound: tuple[Type, ...] = ()) -> Type:
    """The type of `t`, after checking every node; `locals_` maps fvar uids to their types."""
    if isinstance(t, FVar):
        _need(t.uid in locals_, f"unknown local {t.name} (#{t.uid})")
        _need(locals_[t.uid] == t.ty, f"local {t.name} used at the wrong type")
        _need(not isinstance(t.ty, Arrow), f"function {t.name} not applied")
        return t.ty
    if isinstance(t, BVar):
        _need(0 <= t.idx < len(bound), "loose bound variable")
        _need(bound[-1 - t.idx] == t.ty, "bound variable used at the wrong type")
        return t.ty
    if isinstance(t, Lit):
        # exact values only: a float (or bool) would be read one way by evaluation, another by poly
        _need(type(t.value) in (int, Fraction) and t.ty in NUMERIC and t.value >= 0, "bad numeral")
        _need(t.ty in ("ℚ", "ℝ") or t.value.denominator == 1, "non-integer numeral in ℕ/ℤ")
        return t.ty
    if isinstance(t, Op):
        args = [check_term(a, locals_, bound) for a in t.args]
        op, ty = t.op, t.ty
        if op in RING_OPS:
            _need(len(args) == 2 and ty in RING_OPS[op] and args == [ty, ty], f"ill-typed {op}")
        elif op in UNARY_SAME:
            _need(len(args) == 1 and ty in UNARY_SAME[op] and args[0] == ty, f"ill-typed {op}")
        elif op == "^":
            _need(len(args) == 2 and ty in NUMERIC and args == [ty, "ℕ"], "ill-typed ^")
        elif op == "sqrt":
            _need(args == ["ℝ"] and ty == "ℝ", "ill-typed √")
        elif op == "fact":
            _need(args == ["ℕ"] and ty == "ℕ", "ill-typed !")
        elif op == "gcd":
            _need(ty == "ℕ" and args in (["ℕ", "ℕ"], ["ℤ", "ℤ"]), "ill-typed gcd")
        elif op == "lcm":
            _need(ty == "ℕ" and args == ["ℕ", "ℕ"], "ill-typed lcm")
        elif op == "cast":
            _need(len(args) == 1 and args[0] in RANK and ty in RANK and RANK[args[0]] < RANK[ty], "ill-typed ↑")
        else:
            raise IllTyped(f"unknown operation {op!r}")
        return ty
    if isinstance(t, App):
        _need(t.fn.uid in locals_ and locals_[t.fn.uid] == t.fn.ty, f"unknown function {t.fn.name}")
        fty: Type = t.fn.ty
        for a in t.args:
            _need(isinstance(fty, Arrow), f"{t.fn.name} applied to too many arguments")
            assert isinstance(fty, Arrow)
            _need(check_term(a, locals_, bound) == fty.dom, f"argument of {t.fn.name} of the wrong type")
            fty = fty.cod
        _need(fty == t.ty and not isinstance(fty, Arrow), f"{t.fn.name} partially applied")
        return t.ty
    if isinstance(t, Rel):
        a, b = check_term(t.lhs, locals_, bound), check_term(t.rhs, locals_, bound)
        _need(t.op in RELATIONS and a == b and a in RELATIONS[t.op], f"ill-typed relation {t.op}")
        return "Prop"
    if isinstance(t, Conn):
        _need(t.op in CONN_ARITY and len(t.args) == CONN_ARITY[t.op], f"bad connective {t.op}")
        for a in t.args:
            _need(check_term(a, locals_, bound) == "Prop", f"{t.op} of a non-proposition")
        return "Prop"
    if isinstance(t, Quant):
        _need(t.kind in ("∀", "∃"), "bad quantifier")
        check_type(t.vty)
        _need(t.vty != "Prop", "quantifier over propositions")
        _need(t.kind == "∀" or t.vty in NUMERIC, "∃ over functions")
        _need(check_term(t.body, locals_, bound + (t.vty,)) == "Prop", "quantifier body not a proposition")
        return "Prop"
    if isinstance(t, BigOp):
        _need(t.op in ("∑", "∏") and t.kind in ("range", "Icc"), "bad big operator")
        _need(t.vty in ("ℕ", "ℤ") and (t.kind == "Icc" or t.vty == "ℕ"), "big operator index type")
        _need((t.lo is None) == (t.kind == "range"), "big operator bounds")
        for b in (t.lo, t.hi):
            if b is not None:
                _need(check_term(b, locals_, bound) == t.vty, "big operator bound type")
        _need(t.ty in NUMERIC and check_term(t.body, locals_, bound + (t.vty,)) == t.ty, "big operator body type")
        return t.ty
    if isinstance(t, Pred):
        _need(t.name in PREDICATES and len(t.args) == 1, f"unknown predicate {t.name}")
        _need(check_term(t.args[0], locals_, bound) == "ℕ", "predicate argument type")
        return "Prop"
    raise IllTyped(f"not a core term: {type(t).__name__}")


def check_prop(t: Term, locals_: dict[int, Type]) -> None:
    _need(check_term(t, locals_) == "Prop", "expected a proposition")
