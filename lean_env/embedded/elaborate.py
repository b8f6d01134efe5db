"""Elaboration: surface syntax -> typed terms, with Lean's numeral and coercion rules.

Lean elaborates an arithmetic tree (`binop%`: + - * / %, unary -, and both sides of a
relation) by collecting its leaves, taking the largest leaf type in ℕ < ℤ < ℚ < ℝ (or the
expected type when larger), and coercing the smaller leaves with `↑`. Numerals take the
tree's type (ℕ when nothing fixes it). Exponents of `^` are elaborated on their own (ℕ).
Binder variables without a type get one from their uses (function arguments, sibling leaves).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import ElabError, Unsupported
from .syntax import Binder, Syn
from .terms import (
    NUMERIC, RANK, Arrow, App, BigOp, Conn, Num, Op, Pred, Quant, Rel, Term, Type, Var, FALSE, TRUE,
)

ARITH_BINOPS = {"+", "-", "*", "/", "%"}
RELS = {"=", "≠", "<", ">", "≤", "≥", "∣"}
LOGIC = {"∧", "∨", "→", "↔"}
SQRT_NAMES = {"Real.sqrt", "sqrt"}
ABS_NAMES = {"abs", "|"}
GCD_NAMES = {"Nat.gcd": "gcd", "gcd": "gcd", "Nat.lcm": "lcm", "lcm": "lcm", "Int.gcd": "gcd"}
FACT_NAMES = {"Nat.factorial", "factorial"}
PREDICATES = {"Nat.Prime": "Nat.Prime", "Prime": "Prime"}


def join(a: Type | None, b: Type | None) -> Type | None:
    if a is None:
        return b
    if b is None:
        return a
    if a in RANK and b in RANK:
        return a if RANK[a] >= RANK[b] else b
    if a == b:
        return a
    raise ElabError(f"type mismatch: cannot unify {a} and {b}")


@dataclass
class Context:
    """Local declarations visible to elaboration: name -> type (None = not yet known)."""

    types: dict[str, Type | None]

    def extended(self, name: str, ty: Type | None) -> "Context":
        d = dict(self.types)
        d[name] = ty
        return Context(d)


def elab_type(s: Syn) -> Type:
    if s.kind == "type":
        if s.val not in NUMERIC and s.val != "Prop":
            raise Unsupported(f"type {s.val}", s.pos)
        return s.val
    if s.kind == "arrow":
        dom, cod = elab_type(s.kids[0]), elab_type(s.kids[1])
        if dom == "Prop" or cod == "Prop":
            raise Unsupported("predicate-valued function variable", s.pos)
        return Arrow(dom, cod)
    if s.kind == "ident":
        raise Unsupported(f"type {s.val}", s.pos)
    raise Unsupported("this type", s.pos)


def _unparen(s: Syn) -> Syn:
    while s.kind == "paren":
        s = s.kids[0]
    return s


class Elaborator:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    # -- natural types (no expected type) -----------------------------------------------
    def infer(self, s: Syn) -> Type | None:
        k = s.kind
        if k == "num":
            return None
        if k == "paren":
            return self.infer(s.kids[0])
        if k == "ident":
            if s.val in self.ctx.types:
                return self.ctx.types[s.val]
            if s.val in ("True", "False"):
                return "Prop"
            raise ElabError(f"unknown identifier '{s.val}'", s.pos)
        if k == "coe":
            return None
        if k == "ascribe":
            return elab_type(s.val)
        if k == "binop":
            if s.val in ARITH_BINOPS:
                return join(self.infer(s.kids[0]), self.infer(s.kids[1]))
            if s.val == "^":
                return self.infer(s.kids[0])
            return "Prop"
        if k == "neg":
            return self.infer(s.kids[0])
        if k in ("not", "forall", "exists"):
            return "Prop"
        if k == "abs":
            return self.infer(s.kids[0])
        if k == "sqrt":
            return "ℝ"
        if k == "fact":
            return "ℕ"
        if k == "bigop":
            op, var, vty, finset = s.val
            return Elaborator(self.ctx.extended(var, self._bigop_var_type(s))).infer(s.kids[0])
        if k == "app":
            head = s.kids[0]
            if head.kind == "ident":
                name = head.val
                if name in SQRT_NAMES:
                    return "ℝ"
                if name in ABS_NAMES:
                    return self.infer(s.kids[1])
                if name in GCD_NAMES:
                    return "ℕ"
                if name in FACT_NAMES:
                    return "ℕ"
                fty = self.ctx.types.get(name)
                if isinstance(fty, Arrow):
                    ty: Type = fty
                    for _ in s.kids[1:]:
                        if not isinstance(ty, Arrow):
                            raise ElabError(f"function expected: {name} applied to too many arguments", s.pos)
                        ty = ty.cod
                    return ty
                if name in self.ctx.types:
                    raise ElabError(f"function expected: '{name}' is not a function", s.pos)
                raise Unsupported(f"function {name}", head.pos)
            raise Unsupported("application of a non-identifier", s.pos)
        if k == "inv":
            raise Unsupported("⁻¹ (inverse)", s.pos)
        if k == "proj":
            raise Unsupported("projection .1/.2 in a statement", s.pos)
        raise Unsupported(f"{k} term", s.pos)

    def _bigop_var_type(self, s: Syn) -> Type:
        op, var, vty, finset = s.val
        if vty is not None:
            return elab_type(vty)
        f = _unparen(finset)
        if f.kind == "app" and f.kids[0].kind == "ident" and f.kids[0].val in ("Finset.range", "range"):
            return "ℕ"
        if f.kind == "app" and f.kids[0].kind == "ident" and f.kids[0].val in ("Finset.Icc", "Icc") and len(f.kids) == 3:
            return join(join(self.infer(f.kids[1]), self.infer(f.kids[2])), None) or "ℕ"
        raise Unsupported("sum over a Finset other than Finset.range / Finset.Icc", finset.pos)

    # -- elaboration at a known numeric type --------------------------------------------
    def coerce(self, t: Term, target: Type, pos: int) -> Term:
        if t.ty == target:
            return t
        if t.ty in RANK and target in RANK and RANK[t.ty] < RANK[target]:
            return Op("cast", (t,), target)
        raise ElabError(f"type mismatch: term has type {t.ty} but is expected to have type {target}", pos)

    def num(self, s: Syn, target: Type) -> Term:
        text = s.val
        if "." in text:
            if target in ("ℕ", "ℤ"):
                raise ElabError(f"failed to synthesize OfScientific {target}", s.pos)
            return Num(Fraction(text), target, text)
        return Num(Fraction(int(text)), target)

    def elab(self, s: Syn, target: Type) -> Term:
        """Elaborate an arithmetic expression at numeric type `target`."""
        k = s.kind
        if target == "Prop":
            return self.prop(s)
        if k == "num":
            return self.num(s, target)
        if k == "paren":
            return self.elab(s.kids[0], target)
        if k == "ident":
            ty = self.var_type(s, target)
            return self.coerce(Var(s.val, ty), target, s.pos)
        if k == "coe":
            inner_ty = self.infer(s.kids[0])
            if inner_ty is None:
                inner_ty = target
            inner = self.elab(s.kids[0], inner_ty)
            return self.coerce(inner, target, s.pos)
        if k == "ascribe":
            ty = elab_type(s.val)
            inner = self.elab(s.kids[0], ty)
            return self.coerce(inner, target, s.pos)
        if k == "binop" and s.val in ARITH_BINOPS:
            a, b = self.elab(s.kids[0], target), self.elab(s.kids[1], target)
            return Op(s.val, (a, b), target)
        if k == "binop" and s.val == "^":
            base = self.elab(s.kids[0], target)
            ety = self.infer(s.kids[1])
            if ety not in (None, "ℕ"):
                raise Unsupported("real/rational exponent (rpow/zpow)", s.kids[1].pos)
            exp = self.elab(s.kids[1], "ℕ")
            return Op("^", (base, exp), target)
        if k == "neg":
            if target == "ℕ":
                raise ElabError("failed to synthesize Neg ℕ", s.pos)
            return Op("neg", (self.elab(s.kids[0], target),), target)
        if k == "abs":
            return Op("abs", (self.elab(s.kids[0], target),), target)
        if k == "sqrt":
            return self.coerce(Op("sqrt", (self.elab(s.kids[0], "ℝ"),), "ℝ"), target, s.pos)
        if k == "fact":
            return self.coerce(Op("fact", (self.elab(s.kids[0], "ℕ"),), "ℕ"), target, s.pos)
        if k == "bigop":
            return self.bigop(s, target)
        if k == "app":
            return self.app(s, target)
        if k == "binop":
            raise ElabError(f"a proposition ({s.val}) where a number of type {target} is expected", s.pos)
        self.infer(s)  # raises the precise Unsupported / error
        raise Unsupported(f"{k} term", s.pos)

    def var_type(self, s: Syn, target: Type) -> Type:
        if s.val not in self.ctx.types:
            raise ElabError(f"unknown identifier '{s.val}'", s.pos)
        ty = self.ctx.types[s.val]
        if ty is None:  # binder whose type is still open: it takes the expected type
            self.ctx.types[s.val] = target
            return target
        return ty

    def app(self, s: Syn, target: Type) -> Term:
        head, args = s.kids[0], s.kids[1:]
        if head.kind != "ident":
            raise Unsupported("application of a non-identifier", s.pos)
        name = head.val
        if name in SQRT_NAMES and len(args) == 1:
            return self.coerce(Op("sqrt", (self.elab(args[0], "ℝ"),), "ℝ"), target, s.pos)
        if name in ABS_NAMES and len(args) == 1:
            return Op("abs", (self.elab(args[0], target),), target)
        if name in GCD_NAMES and len(args) == 2:
            argty = "ℤ" if name == "Int.gcd" else "ℕ"
            t = Op(GCD_NAMES[name], (self.elab(args[0], argty), self.elab(args[1], argty)), "ℕ")
            return self.coerce(t, target, s.pos)
        if name in FACT_NAMES and len(args) == 1:
            return self.coerce(Op("fact", (self.elab(args[0], "ℕ"),), "ℕ"), target, s.pos)
        fty = self.ctx.types.get(name)
        if not isinstance(fty, Arrow):
            self.infer(s)
            raise ElabError(f"function expected: '{name}'", s.pos)
        out_args = []
        ty: Type = fty
        for a in args:
            if not isinstance(ty, Arrow):
                raise ElabError(f"function expected: {name} applied to too many arguments", s.pos)
            out_args.append(self.elab(a, ty.dom))
            ty = ty.cod
        if isinstance(ty, Arrow):
            raise Unsupported("partially applied function", s.pos)
        return self.coerce(App(Var(name, fty), tuple(out_args), ty), target, s.pos)

    def bigop(self, s: Syn, target: Type) -> Term:
        op, var, vty_syn, finset = s.val
        vty = self._bigop_var_type(s)
        f = _unparen(finset)
        fname = f.kids[0].val
        if fname in ("Finset.range", "range") and len(f.kids) == 2:
            lo, hi, kind = None, self.elab(f.kids[1], vty), "range"
        elif fname in ("Finset.Icc", "Icc") and len(f.kids) == 3:
            lo, hi, kind = self.elab(f.kids[1], vty), self.elab(f.kids[2], vty), "Icc"
        else:
            raise Unsupported("sum over this Finset", finset.pos)
        inner = Elaborator(self.ctx.extended(var, vty))
        body = inner.elab(s.kids[0], target)
        return BigOp(op, var, vty, kind, lo, hi, body, target)

    # -- propositions -------------------------------------------------------------------
    def prop(self, s: Syn) -> Term:
        k = s.kind
        if k == "paren":
            return self.prop(s.kids[0])
        if k == "ident" and s.val in ("True", "False"):
            return TRUE if s.val == "True" else FALSE
        if k == "not":
            return Conn("¬", (self.prop(s.kids[0]),))
        if k == "binop" and s.val in LOGIC:
            return Conn(s.val, (self.prop(s.kids[0]), self.prop(s.kids[1])))
        if k == "binop" and s.val in RELS:
            ty = join(self.infer(s.kids[0]), self.infer(s.kids[1]))
            if ty is None:
                ty = "ℕ"  # only numerals and still-open binders: Lean's default instance
            if ty == "Prop":
                if s.val in ("=", "≠"):
                    raise Unsupported("equality of propositions", s.pos)
                raise ElabError("a proposition where a number is expected", s.pos)
            if isinstance(ty, Arrow):
                raise Unsupported("equality of functions", s.pos)
            return Rel(s.val, self.elab(s.kids[0], ty), self.elab(s.kids[1], ty))
        if k in ("forall", "exists"):
            return self.quant(s)
        if k == "ident" and s.val.endswith(".Prime") and s.val[: -len(".Prime")] in self.ctx.types:
            base = Syn("ident", s.pos, s.end - 6, s.val[: -len(".Prime")])
            return Pred("Nat.Prime", (self.elab(base, "ℕ"),))
        if k == "ident":
            if s.val in self.ctx.types:
                raise ElabError(f"type expected, '{s.val}' is not a proposition", s.pos)
            raise Unsupported(f"predicate {s.val}", s.pos)
        if k == "app" and s.kids[0].kind == "ident" and s.kids[0].val in PREDICATES and len(s.kids) == 2:
            return Pred(PREDICATES[s.kids[0].val], (self.elab(s.kids[1], "ℕ"),))
        if k == "ident" and s.val.endswith(".Prime") and s.val[: -len(".Prime")] in self.ctx.types:
            return Pred("Nat.Prime", (self.elab(Syn("ident", s.pos, s.end - 6, s.val[: -len(".Prime")]), "ℕ"),))
        if k == "app" and s.kids[0].kind == "ident":
            name = s.kids[0].val
            raise Unsupported(f"predicate {name}", s.pos)
        if k == "ascribe" and elab_type(s.val) == "Prop":
            return self.prop(s.kids[0])
        raise ElabError("expected a proposition", s.pos)

    def quant(self, s: Syn) -> Term:
        binders: tuple[Binder, ...] = s.val
        body_syn = s.kids[0]
        return self._quant(s.kind, list(binders), body_syn)

    def _quant(self, kind: str, binders: list[Binder], body_syn: Syn) -> Term:
        if not binders:
            return self.prop(body_syn)
        b = binders[0]
        names = list(b.names)
        name = names[0]
        rest_binders = ([Binder(tuple(names[1:]), b.type, b.pred)] if len(names) > 1 else []) + binders[1:]
        if b.type is not None:
            ty = elab_type(b.type)
        else:
            ty = guess_binder_type(name, b, rest_binders, body_syn, self.ctx)
        if ty == "Prop" or isinstance(ty, Arrow) and kind == "∃":
            raise Unsupported("quantifier over propositions or functions", body_syn.pos)
        inner = Elaborator(self.ctx.extended(name, ty))
        body = inner._quant("forall" if kind == "forall" else "exists", rest_binders, body_syn)
        if b.pred is not None:
            op, bound = b.pred
            guard = Rel(op, Var(name, ty), inner.elab(bound, ty))
            body = Conn("→", (guard, body)) if kind == "forall" else Conn("∧", (guard, body))
        return Quant("∀" if kind == "forall" else "∃", name, ty, body)


def _leaves(s: Syn) -> list[Syn]:
    s = _unparen(s)
    if s.kind == "binop" and (s.val in ARITH_BINOPS or s.val in RELS):
        return _leaves(s.kids[0]) + _leaves(s.kids[1])
    if s.kind == "binop" and s.val == "^":
        return _leaves(s.kids[0])
    if s.kind in ("neg", "abs"):
        return _leaves(s.kids[0])
    return [s]


def guess_binder_type(name: str, b: Binder, rest: list[Binder], body: Syn, ctx: Context) -> Type:
    """Unification-lite for `∀ x, ...`: the type `x` must have from its uses, ℕ by default."""
    found: list[Type] = []
    probe = Elaborator(ctx.extended(name, None))

    def visit(s: Syn) -> None:
        if s.kind == "app" and s.kids[0].kind == "ident":
            fty = ctx.types.get(s.kids[0].val)
            for a in s.kids[1:]:
                if isinstance(fty, Arrow):
                    if _unparen(a).kind == "ident" and _unparen(a).val == name:
                        found.append(fty.dom)
                    fty = fty.cod
        if s.kind == "binop" and (s.val in ARITH_BINOPS or s.val in RELS or s.val == "^"):
            leaves = _leaves(s)
            if any(l.kind == "ident" and l.val == name for l in leaves):
                for l in leaves:
                    if l.kind == "ident" and l.val == name:
                        continue
                    try:
                        t = probe.infer(l)
                    except Exception:
                        t = None
                    if t in RANK:
                        found.append(t)
        for kid in s.kids:
            visit(kid)
        if s.kind in ("forall", "exists"):
            for bb in s.val:
                if bb.pred is not None:
                    visit(bb.pred[1])

    if b.pred is not None:
        visit(Syn("binop", 0, 0, b.pred[0], (Syn("ident", 0, 0, name), b.pred[1])))
    for rb in rest:
        if rb.pred is not None:
            visit(rb.pred[1])
    visit(body)
    best: Type | None = None
    for t in found:
        best = join(best, t) if best is None or t in RANK else best
    return best or "ℕ"


def elab_binders(binders: tuple[Binder, ...], ctx: Context) -> list[tuple[str, Type | Term]]:
    """Theorem binders -> hypotheses: variables (name, type) and assumptions (name, prop)."""
    out: list[tuple[str, Type | Term]] = []
    for b in binders:
        assert b.type is not None
        ts = b.type
        is_type = ts.kind in ("type", "arrow")
        for name in b.names:
            if is_type:
                ty = elab_type(ts)
                if ty == "Prop":
                    raise Unsupported("propositional variables", ts.pos)
                out.append((name, ty))
                ctx.types[name] = ty
            else:
                prop = Elaborator(ctx).prop(ts)
                out.append((name, prop))
    return out
