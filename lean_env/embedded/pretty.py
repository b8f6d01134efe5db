"""Print typed terms and goals the way Lean 4's delaborator does.

Each printer returns (text, precedence); a child is parenthesised when its precedence is below
what its position needs (Lean's parenthesizer does the same with the notations' levels).
"""
from __future__ import annotations

from .terms import App, BigOp, Conn, Num, Op, Pred, Quant, Rel, Term, Type, Var, free_vars

MAX = 1024
ATOM = 1100
INFIX = {"+": (65, 65, 66), "-": (65, 65, 66), "*": (70, 70, 71), "/": (70, 70, 71), "%": (70, 70, 71),
         "^": (75, 76, 75)}
LOGIC = {"∧": (35, 36, 35), "∨": (30, 31, 30), "→": (25, 26, 25), "↔": (20, 21, 21)}
BINDER_PRED_OPS = (">", "≥", "<", "≤")


def pp_type(ty: Type) -> str:
    return str(ty)


APP = 1000  # application: below MAX, so `f (g x)` and `√(f x)` get parentheses


def _wrap(text_prec: tuple[str, int], need: int) -> str:
    text, prec = text_prec
    return f"({text})" if prec < need else text


def _rhs(text_prec: tuple[str, int], need: int) -> str:
    """A binder (∀/∃, prec 0) at the right end of an infix needs no parentheses, as in Lean."""
    text, prec = text_prec
    if prec == 0:
        return text
    return f"({text})" if prec < need else text


def _lhs(text_prec: tuple[str, int], need: int) -> str:
    text, prec = text_prec
    return f"({text})" if prec < need or _open_right(text_prec) else text


def _open_right(text_prec: tuple[str, int]) -> bool:
    return text_prec[1] < 0 or text_prec[1] == 0


def pp(t: Term) -> str:
    return _pp(t)[0]


def _infix(lhs: tuple[str, int], op: str, rhs: tuple[str, int], prec: int, lp: int, rp: int) -> tuple[str, int]:
    text = f"{_lhs(lhs, lp)} {op} {_rhs(rhs, rp)}"
    # a trailing binder keeps the whole expression "open on the right": mark it with -prec
    if rhs[1] == 0 or rhs[1] < 0:
        return text, -prec if prec else 0
    return text, prec


def _pp(t: Term) -> tuple[str, int]:
    if isinstance(t, Var):
        return t.name, ATOM
    if isinstance(t, Num):
        if t.text is not None:
            return t.text, ATOM
        return str(t.value.numerator), ATOM
    if isinstance(t, Op):
        return _pp_op(t)
    if isinstance(t, App):
        parts = [t.fn.name] + [_wrap(_pp(a), MAX) for a in t.args]
        return " ".join(parts), APP
    if isinstance(t, Rel):
        return _infix(_pp(t.lhs), t.op, _pp(t.rhs), 50, 51, 51)
    if isinstance(t, Conn):
        if t.op in ("True", "False"):
            return t.op, ATOM
        if t.op == "¬":
            inner = _pp(t.args[0])
            return "¬" + (inner[0] if inner[1] == 0 else _wrap(inner, 40)), (MAX if inner[1] != 0 else 0)
        prec, lp, rp = LOGIC[t.op]
        return _infix(_pp(t.args[0]), t.op, _pp(t.args[1]), prec, lp, rp)
    if isinstance(t, Quant):
        return _pp_quant(t), 0
    if isinstance(t, Pred):
        if t.name == "Nat.Prime":  # field notation, `(a + b).Prime`
            return _wrap(_pp(t.args[0]), ATOM) + ".Prime", APP
        return t.name + " " + " ".join(_wrap(_pp(a), MAX) for a in t.args), APP
    if isinstance(t, BigOp):
        if t.kind == "range":
            fs = f"Finset.range {_wrap(_pp(t.hi), ATOM)}"
        else:
            fs = f"Finset.Icc {_wrap(_pp(t.lo), ATOM)} {_wrap(_pp(t.hi), ATOM)}"
        return f"{t.op} {t.var} ∈ {fs}, {_wrap(_pp(t.body), 67)}", 67
    raise TypeError(f"cannot print {t!r}")


def _pp_op(t: Op) -> tuple[str, int]:
    op, a = t.op, t.args
    if op in INFIX:
        prec, lp, rp = INFIX[op]
        return _infix(_pp(a[0]), op, _pp(a[1]), prec, lp, rp)
    if op == "neg":
        return "-" + _wrap(_pp(a[0]), 75), 75
    if op == "cast":
        return "↑" + _wrap(_pp(a[0]), MAX), MAX
    if op == "inv":
        return _wrap(_pp(a[0]), MAX) + "⁻¹", MAX
    if op == "abs":
        return f"|{_pp(a[0])[0]}|", ATOM
    if op == "sqrt":
        return "√" + _wrap(_pp(a[0]), MAX), MAX
    if op == "fact":
        # `n !` (with a space: `n!` would read as an identifier), but `3!` for numerals
        inner = _wrap(_pp(a[0]), ATOM)
        return inner + ("!" if isinstance(a[0], Num) or inner.endswith(")") else " !"), 10000
    if op in ("gcd", "lcm"):
        if not isinstance(a[0], Num):  # Lean's field notation: `a.gcd b`, `(n + 7).gcd b`
            return f"{_wrap(_pp(a[0]), ATOM)}.{op} {_wrap(_pp(a[1]), MAX)}", APP
        return f"Nat.{op} {_wrap(_pp(a[0]), ATOM)} {_wrap(_pp(a[1]), ATOM)}", MAX
    raise TypeError(f"cannot print operator {op}")


def _pp_quant(t: Quant) -> str:
    # `∀ x, x > 0 → P` prints as `∀ x > 0, P` (binder predicate); `∃ x, x > 0 ∧ P` likewise.
    if t.kind == "∀" and t.var not in free_vars(t.body):
        return f"{pp_type(t.vty)} → {_wrap(_pp(t.body), 25)}"
    link = "→" if t.kind == "∀" else "∧"
    body = t.body
    if (isinstance(body, Conn) and body.op == link and isinstance(body.args[0], Rel)
            and body.args[0].op in BINDER_PRED_OPS and body.args[0].lhs == Var(t.var, t.vty)
            and t.var not in free_vars(body.args[0].rhs)):
        guard = body.args[0]
        return f"{t.kind} {t.var} {guard.op} {_wrap(_pp(guard.rhs), 51)}, {_pp(body.args[1])[0]}"
    names = [t.var]
    while (isinstance(body, Quant) and body.kind == t.kind and body.vty == t.vty
           and not _has_binder_pred(body) and body.var in free_vars(body.body)):
        names.append(body.var)
        body = body.body
    if t.kind == "∃":
        return f"∃ {' '.join(names)}, {_pp(body)[0]}"
    return f"∀ ({' '.join(names)} : {pp_type(t.vty)}), {_pp(body)[0]}"


def _has_binder_pred(t: Quant) -> bool:
    link = "→" if t.kind == "∀" else "∧"
    b = t.body
    return (isinstance(b, Conn) and b.op == link and isinstance(b.args[0], Rel)
            and b.args[0].op in BINDER_PRED_OPS and b.args[0].lhs == Var(t.var, t.vty))
