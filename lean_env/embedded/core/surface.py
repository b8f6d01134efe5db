"""Trusted translation of elaborated statements (surface terms, named variables) into core
terms. It is a structural map: a name resolves to the innermost binder of that name, else to
the local the caller supplies; nothing else is decided here. The result is type-checked by the
core before use."""
from __future__ import annotations

from .. import terms as S
from .sequent import CoreError, Decl, Sequent, check_sequent
from .term import App, BigOp, BVar, Conn, FVar, Lit, Op, Pred, Quant, Rel, Term


def to_core(t: S.Term, names: dict[str, FVar], bound: tuple[str, ...] = ()) -> Term:
    def go(t: S.Term, bound: tuple[str, ...]) -> Term:
        if isinstance(t, S.Var):
            for i, b in enumerate(reversed(bound)):
                if b == t.name:
                    return BVar(i, t.ty)
            if t.name not in names:
                raise CoreError(f"unknown local {t.name}")
            return names[t.name]
        if isinstance(t, S.Num):
            return Lit(t.value, t.ty)
        if isinstance(t, S.Op):
            return Op(t.op, tuple(go(a, bound) for a in t.args), t.ty)
        if isinstance(t, S.App):
            fn = names.get(t.fn.name)
            if fn is None or t.fn.name in bound:
                raise CoreError(f"unknown function {t.fn.name}")
            return App(fn, tuple(go(a, bound) for a in t.args), t.ty)
        if isinstance(t, S.Rel):
            return Rel(t.op, go(t.lhs, bound), go(t.rhs, bound))
        if isinstance(t, S.Conn):
            return Conn(t.op, tuple(go(a, bound) for a in t.args))
        if isinstance(t, S.Pred):
            return Pred(t.name, tuple(go(a, bound) for a in t.args))
        if isinstance(t, S.Quant):
            return Quant(t.kind, t.vty, go(t.body, bound + (t.var,)), t.var)
        if isinstance(t, S.BigOp):
            lo = go(t.lo, bound) if t.lo is not None else None
            return BigOp(t.op, t.vty, t.kind, lo, go(t.hi, bound), go(t.body, bound + (t.var,)), t.ty, t.var)
        raise CoreError(f"not a term of the fragment: {type(t).__name__}")

    return go(t, bound)


def goal_to_sequent(hyps, target: S.Term, uids) -> tuple[Sequent, dict[str, FVar]]:
    """A statement's hypotheses [(name, type-or-prop, is_var)] and target -> a core sequent.
    `uids` supplies fresh ids. Returns the sequent and the name -> local map at its end."""
    names: dict[str, FVar] = {}
    decls = []
    for name, value, is_var in hyps:
        uid = next(uids)
        if is_var:
            names[name] = FVar(uid, value, name)
            decls.append(Decl(uid, name, value, True))
        else:
            decls.append(Decl(uid, name, to_core(value, names), False))
            names.pop(name, None)  # a hypothesis shadows a variable of the same name
    seq = Sequent(tuple(decls), to_core(target, names))
    check_sequent(seq)
    return seq, names
