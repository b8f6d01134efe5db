"""Elaboration: surface syntax -> typed terms, following Lean 4's elaborator (or refusing).

What Lean does, and what this module models (Lean/Elab/Extra.lean, Init/Notation.lean):

* `+ - * / %` are `binop%`, unary `-` is `unop% Neg.neg`, `^` is `rightact% HPow.hPow` (only
  the base takes part), and `= ≠ < > ≤ ≥` are `binrel%`. Such a tree is analysed as a whole:
  parentheses are transparent; every other node is a LEAF, elaborated WITHOUT an expected type
  (identifiers, applications, `|x|`, `√x`, `∑`/`∏`, `n !`, `↑x`, ascriptions `(e : T)`, ...);
  the maximal type among the leaves whose type is known (and the expected type, when known,
  except for `binrel%`) is chosen; known leaves of a smaller type get `↑`; leaves of unknown
  type (numerals, `↑x`, variables whose binder type is still open) are unified with it.
  Exponents are leaves elaborated on their own; Mathlib's default instance `Monoid.Pow` makes
  an undetermined exponent ℕ, other exponent types (rpow/zpow) are refused.
* When no leaf type is known, Lean elaborates the tree without coercions and leaves the types
  to default instances (`instHAdd` & co. unify the operands, `OfNat` numerals become ℕ). We
  record such trees as groups that are unified at the end, and refuse when a group meets two
  different types, or when it contains no numeral/exponent that would default it.
* `∣` is a plain application of `Dvd.dvd : α → α → Prop`: the left side is elaborated first
  and fixes α, the right side is elaborated against α (with `↑` where needed).
* Binder types without an ascription are metavariables fixed by the first constraint met in
  elaboration order (ascription, function argument, a tree's maximal type, ...); undetermined
  ones default only through numerals (ℕ), else the statement is refused.
* Applications propagate their expected type to the result type before the arguments
  (`abs`, `Finset.sum`): `(|a - b| : ℝ)` elaborates `a - b` at ℝ, but a `|a - b|` leaf in a
  tree is elaborated at its own type.

Whatever this module cannot be sure Lean reads the same way raises `Unsupported`.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

from .errors import ElabError, Unsupported
from .syntax import Binder, Syn
from .terms import (
    FALSE,
    NUMERIC,
    RANK,
    TRUE,
    App,
    Arrow,
    BigOp,
    Conn,
    Num,
    Op,
    Pred,
    Quant,
    Rel,
    Term,
    Type,
    Var,
)

ARITH_BINOPS = {"+", "-", "*", "/", "%"}
BINRELS = {"=", "≠", "<", ">", "≤", "≥"}
RELS = BINRELS | {"∣"}
LOGIC = {"∧", "∨", "→", "↔"}
SQRT_NAMES = {"Real.sqrt"}
ABS_NAMES = {"abs"}
GCD_NAMES = {"Nat.gcd": ("gcd", "ℕ"), "Nat.lcm": ("lcm", "ℕ"), "Int.gcd": ("gcd", "ℤ")}
AMBIGUOUS_NAMES = {
    # with `open Nat Real`, these resolve to several constants (Nat.gcd / GCDMonoid.gcd,
    # Real.sqrt / Nat.sqrt): Lean's overload resolution is not modelled.
    "gcd": "gcd without namespace (Nat.gcd or GCDMonoid.gcd)",
    "lcm": "lcm without namespace (Nat.lcm or GCDMonoid.lcm)",
    "sqrt": "sqrt without namespace (Real.sqrt or Nat.sqrt)",
    "Prime": "Prime without namespace (Nat.Prime or _root_.Prime)",
}
FACT_NAMES = {"Nat.factorial", "factorial"}
PREDICATES = {"Nat.Prime": "Nat.Prime"}
BIGOP_FUNS = {"Finset.sum": "∑", "Finset.prod": "∏"}
PENDING_COE = "pending↑"  # internal Op kind: `↑e` whose target type is not known yet


def join(a: Type | None, b: Type | None) -> Type | None:
    """The larger of two numeric types (None = unknown)."""
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

    types: dict

    def extended(self, name: str, ty) -> "Context":
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


def _is_tree(s: Syn) -> bool:
    """A `binop%`/`unop%`/`rightact%` node (after removing parentheses)."""
    return (s.kind == "binop" and (s.val in ARITH_BINOPS or s.val == "^")) or s.kind == "neg"


# -- type metavariables ----------------------------------------------------------------------
class MVar:
    """A type metavariable (binder type, numeral type, result of an operator, ...)."""

    _ids = itertools.count()

    def __init__(self, kind: str, pos: int | None = None):
        self.id = next(MVar._ids)
        self.kind = kind
        self.pos = pos

    def __repr__(self) -> str:
        return f"?{self.kind}{self.id}"


class _State:
    """Metavariable store shared by one elaboration problem (one statement / hypothesis)."""

    def __init__(self) -> None:
        self.parent: dict[MVar, MVar] = {}
        self.assigned: dict[MVar, Type] = {}
        self.groups: list[list] = []  # deferred unifications (default instances of binop%)
        self.exponents: list[tuple[object, int]] = []  # exponent types (Monoid.Pow: ℕ by default)
        self.numerals: list[tuple[object, bool, int]] = []  # (type, is_decimal, pos)
        self.coes: list[tuple[object, Term, int]] = []  # pending `↑e`: (target type, e, pos)

    def find(self, m: MVar) -> MVar:
        root = m
        while root in self.parent:
            root = self.parent[root]
        while m in self.parent and self.parent[m] is not root:
            self.parent[m], m = root, self.parent[m]
        return root

    def value(self, ty):
        """The type `ty` stands for now: a known type, or the representative metavariable."""
        if isinstance(ty, MVar):
            r = self.find(ty)
            return self.assigned.get(r, r)
        return ty

    def known(self, ty) -> bool:
        return ty is not None and not isinstance(self.value(ty), MVar)

    def unify(self, a, b, pos: int | None = None) -> None:
        a, b = self.value(a), self.value(b)
        if a is b or a == b:
            return
        if isinstance(a, MVar) and isinstance(b, MVar):
            self.parent[a] = b
            return
        if isinstance(a, MVar):
            self.assigned[a] = b
            return
        if isinstance(b, MVar):
            self.assigned[b] = a
            return
        raise ElabError(f"type mismatch: {a} is expected to be {b}", pos)


class Elaborator:
    """Elaborates propositions and numeric terms in a context of typed locals.

    Public entry points (`prop`, `elab`) solve one elaboration problem each, as Lean does for a
    statement or a hypothesis: metavariables are resolved and defaults applied at their end.
    """

    def __init__(self, ctx: Context, _state: _State | None = None):
        self.ctx = ctx
        self.st = _state if _state is not None else _State()

    # -- public API --------------------------------------------------------------------------
    def prop(self, s: Syn) -> Term:
        self.st = _State()
        return self._finish(self._prop(s))

    def elab(self, s: Syn, target: Type) -> Term:
        """Elaborate `s` against the known type `target` (Lean's `elabTermEnsuringType`)."""
        self.st = _State()
        if target == "Prop":
            return self._finish(self._prop(s))
        return self._finish(self._elab(s, target))

    # -- helpers -----------------------------------------------------------------------------
    def _scope(self, name: str, ty) -> "Elaborator":
        return Elaborator(self.ctx.extended(name, ty), self.st)

    def _fresh(self, kind: str, pos: int | None = None) -> MVar:
        return MVar(kind, pos)

    def _type_of_local(self, name: str, pos: int):
        if name not in self.ctx.types:
            raise ElabError(f"unknown identifier '{name}'", pos)
        ty = self.ctx.types[name]
        if ty is None:  # legacy callers: an open binder type
            ty = self._fresh("binder", pos)
            self.ctx.types[name] = ty
        return ty

    def _ensure(self, t: Term, expected, pos: int) -> Term:
        """Lean's `ensureHasType`: unify, or insert `↑` from a smaller numeric type."""
        if expected is None:
            return t
        a, b = self.st.value(t.ty), self.st.value(expected)
        if isinstance(a, MVar) or isinstance(b, MVar):
            self.st.unify(a, b, pos)
            return t
        if a == b:
            return t
        if a in RANK and b in RANK and RANK[a] < RANK[b]:
            return Op("cast", (t,), b)
        raise ElabError(f"type mismatch: term has type {a} but is expected to have type {b}", pos)

    # -- numeric terms -----------------------------------------------------------------------
    def _elab(self, s: Syn, expected) -> Term:
        """Elaborate `s` with an expected type (a known type, a metavariable, or None)."""
        if expected == "Prop":
            return self._prop(s)
        u = _unparen(s)
        if _is_tree(u):
            return self._tree_term(u, expected)
        return self._ensure(self._leaf(u, expected), expected, s.pos)

    def _tree(self, s: Syn):
        """`toTree`: leaves are elaborated now, left to right, without expected type."""
        s = _unparen(s)
        if s.kind == "binop" and s.val in ARITH_BINOPS:
            lhs = self._tree(s.kids[0])
            rhs = self._tree(s.kids[1])
            return ("bin", s, lhs, rhs)
        if s.kind == "binop" and s.val == "^":
            base = self._tree(s.kids[0])
            exp = self._elab(s.kids[1], None)
            ety = self.st.value(exp.ty)
            if not isinstance(ety, MVar) and ety != "ℕ":
                what = "integer exponent (zpow)" if ety == "ℤ" else "real/rational exponent (rpow/zpow)"
                raise Unsupported(what, s.kids[1].pos)
            self.st.exponents.append((exp.ty, s.kids[1].pos))
            return ("pow", s, base, exp)
        if s.kind == "neg":
            return ("neg", s, self._tree(s.kids[0]))
        return ("leaf", s, self._leaf(s, None))

    def _leaves(self, node) -> list:
        kind = node[0]
        if kind == "leaf":
            return [node]
        if kind == "bin":
            return self._leaves(node[2]) + self._leaves(node[3])
        return self._leaves(node[2])  # pow: only the base takes part; neg: its argument

    def _max_type(self, leaves: list, start) -> Type | None:
        """`analyze`: the maximal known leaf type (numeric types only)."""
        best = start
        for _, syn, term in leaves:
            ty = self.st.value(term.ty)
            if isinstance(ty, MVar):
                continue
            if ty not in RANK:
                if ty == "Prop":
                    raise ElabError("a proposition where a number is expected", syn.pos)
                raise Unsupported(f"operand of type {ty} in an arithmetic expression", syn.pos)
            best = ty if best is None or RANK[ty] > RANK[best] else best
        return best

    def _apply_coe(self, node, ty: Type) -> Term:
        """`applyCoe` + `toExprCore`: coerce the leaves to `ty`; operators at `ty`."""
        kind, syn = node[0], node[1]
        if kind == "leaf":
            term = node[2]
            lt = self.st.value(term.ty)
            if isinstance(lt, MVar):
                self.st.unify(lt, ty, syn.pos)
                return term
            return self._ensure(term, ty, syn.pos)
        if kind == "bin":
            if syn.val == "%" and ty in ("ℚ", "ℝ"):
                raise Unsupported(f"% on {ty}", syn.pos)
            return Op(syn.val, (self._apply_coe(node[2], ty), self._apply_coe(node[3], ty)), ty)
        if kind == "pow":
            return Op("^", (self._apply_coe(node[2], ty), node[3]), ty)
        if ty == "ℕ":
            raise ElabError("failed to synthesize Neg ℕ", syn.pos)
        return Op("neg", (self._apply_coe(node[2], ty),), ty)

    def _no_coe(self, node, group: list) -> Term:
        """`toExprCore` without a maximal type: no coercions; operand types unified later by
        the default instances (`instHAdd`, `instHPow`, ...), recorded in `group`."""
        kind, syn = node[0], node[1]
        if kind == "leaf":
            group.append(node[2].ty)
            return node[2]
        if kind == "neg":
            arg = self._no_coe(node[2], group)
            return Op("neg", (arg,), arg.ty)  # Neg.neg : α → α
        res = self._fresh("op", syn.pos)
        group.append(res)
        if kind == "bin":
            return Op(syn.val, (self._no_coe(node[2], group), self._no_coe(node[3], group)), res)
        return Op("^", (self._no_coe(node[2], group), node[3]), res)

    def _tree_term(self, s: Syn, expected) -> Term:
        """`binop%` elaboration (`toExpr`) of the tree at `s` with an expected type."""
        tree = self._tree(s)
        start = self.st.value(expected) if self.st.known(expected) else None
        if start is not None and start not in RANK:
            raise ElabError(f"an arithmetic expression where {start} is expected", s.pos)
        ty = self._max_type(self._leaves(tree), start)
        if ty is None:
            group: list = []
            term = self._no_coe(tree, group)
            self.st.groups.append(group)
        else:
            term = self._apply_coe(tree, ty)
        return self._ensure(term, expected, s.pos)

    def _num(self, s: Syn, expected) -> Term:
        text = s.val
        ty = expected if expected is not None else self._fresh("num", s.pos)
        decimal = "." in text
        self.st.numerals.append((ty, decimal, s.pos))
        if decimal:
            return Num(Fraction(text), ty, text)
        return Num(Fraction(int(text)), ty)

    def _leaf(self, s: Syn, expected) -> Term:
        """A non-operator term; `expected` is used only where Lean propagates it (numerals,
        `↑`, ascriptions, and applications whose result type is a type argument). The caller
        ensures the type."""
        k = s.kind
        if k == "paren":
            return self._elab(s.kids[0], expected)
        if k == "num":
            return self._num(s, expected)
        if k == "ident":
            if s.val in ("True", "False"):
                raise ElabError("a proposition where a number is expected", s.pos)
            if s.val in self.ctx.types:
                return Var(s.val, self._type_of_local(s.val, s.pos))
            if s.val in AMBIGUOUS_NAMES:
                raise Unsupported(AMBIGUOUS_NAMES[s.val], s.pos)
            if s.val.endswith(".Prime"):
                raise ElabError("a proposition where a number is expected", s.pos)
            head, _, field = s.val.rpartition(".")
            if head in self.ctx.types:
                raise Unsupported(f"field notation .{field}", s.pos)
            raise ElabError(f"unknown identifier '{s.val}'", s.pos)
        if k == "coe":
            return self._coe(s, expected)
        if k == "ascribe":
            ty = elab_type(s.val)
            if ty == "Prop":
                raise ElabError("a proposition where a number is expected", s.pos)
            return self._elab(s.kids[0], ty)
        if k == "abs":
            return self._abs(s.kids[0], expected, s.pos)
        if k == "sqrt":
            return Op("sqrt", (self._elab(s.kids[0], "ℝ"),), "ℝ")
        if k == "fact":
            return Op("fact", (self._elab(s.kids[0], "ℕ"),), "ℕ")
        if k == "bigop":
            op, var, vty, finset = s.val
            return self._bigop(op, var, vty, finset, s.kids[0], expected, s.pos)
        if k == "app":
            return self._app(s, expected)
        if k == "lambda":
            raise Unsupported("lambda (fun) outside `Finset.sum s fun x => …` / `Finset.prod`", s.pos)
        if k == "inv":
            raise Unsupported("⁻¹ (inverse)", s.pos)
        if k == "proj":
            raise Unsupported(f"field notation .{s.val}", s.pos)
        if k == "binop" and s.val in RELS | LOGIC or k in ("not", "forall", "exists"):
            raise ElabError("a proposition where a number is expected", s.pos)
        if k == "type":
            raise ElabError(f"type {s.val} where a number is expected", s.pos)
        raise Unsupported(f"{k} term", s.pos)

    def _coe(self, s: Syn, expected) -> Term:
        """`↑e` (Lean's `elabCoe`): postponed until its expected type is known, then `e` is
        elaborated without expected type and coerced."""
        inner = self._elab(s.kids[0], None)
        ity = self.st.value(inner.ty)
        if isinstance(ity, MVar):
            raise Unsupported("↑ applied to a term whose type is not known yet", s.pos)
        if self.st.known(expected):
            return self._ensure(inner, expected, s.pos)
        target = expected if expected is not None else self._fresh("coe", s.pos)
        self.st.coes.append((target, inner, s.pos))
        return Op(PENDING_COE, (inner,), target)

    def _abs(self, arg: Syn, expected, pos: int) -> Term:
        """`|a|` = `abs a` with `abs : α → α`: the expected type is propagated to α first."""
        alpha = self._fresh("abs", pos)
        if expected is not None:
            self.st.unify(alpha, expected, pos)
        inner = self._elab(arg, alpha)
        return Op("abs", (inner,), alpha)

    def _bigop(self, op: str, var: str, vty_syn, finset: Syn, body_syn: Syn, expected, pos: int) -> Term:
        """`∑ x ∈ s, f` = `Finset.sum s (fun x ↦ f)`: result type β (expected type propagated
        first), then `s : Finset α`, then the body against β with `x : α`."""
        beta = self._fresh("bigop", pos)
        if expected is not None:
            self.st.unify(beta, expected, pos)
        f = _unparen(finset)
        head = f.kids[0].val if f.kind == "app" and f.kids[0].kind == "ident" else None
        if head in ("Finset.range", "range") and len(f.kids) == 2:
            alpha = "ℕ"
            lo, hi, kind = None, self._elab(f.kids[1], "ℕ"), "range"
        elif head in ("Finset.Icc", "Icc") and len(f.kids) == 3:
            alpha = self._fresh("Icc", f.pos)
            lo = self._elab(f.kids[1], alpha)
            hi = self._elab(f.kids[2], alpha)
            kind = "Icc"
        else:
            raise Unsupported("sum over a Finset other than Finset.range / Finset.Icc", finset.pos)
        if vty_syn is not None:
            self.st.unify(alpha, elab_type(vty_syn), vty_syn.pos)
        body = self._scope(var, alpha)._elab(body_syn, beta)
        return BigOp(op, var, alpha, kind, lo, hi, body, beta)

    def _app(self, s: Syn, expected) -> Term:
        head, args = s.kids[0], s.kids[1:]
        if head.kind != "ident":
            raise Unsupported("application of a non-identifier", s.pos)
        name = head.val
        if name in self.ctx.types:
            fty = self.st.value(self._type_of_local(name, head.pos))
            if not isinstance(fty, Arrow):
                if isinstance(fty, MVar):
                    raise Unsupported(f"application of '{name}', whose type is not known yet", s.pos)
                raise ElabError(f"function expected: '{name}' is not a function", s.pos)
            out_args = []
            ty: Type = fty
            for a in args:
                if not isinstance(ty, Arrow):
                    raise ElabError(f"function expected: {name} applied to too many arguments", s.pos)
                out_args.append(self._elab(a, ty.dom))
                ty = ty.cod
            if isinstance(ty, Arrow):
                raise Unsupported("partially applied function", s.pos)
            return App(Var(name, fty), tuple(out_args), ty)
        if name in BIGOP_FUNS:
            if len(args) == 2 and _unparen(args[1]).kind == "lambda":
                lam = _unparen(args[1])
                var, vty = lam.val
                return self._bigop(BIGOP_FUNS[name], var, vty, args[0], lam.kids[0], expected, s.pos)
            raise Unsupported(f"{name} applied to something other than a Finset and a lambda", s.pos)
        if name in SQRT_NAMES and len(args) == 1:
            return Op("sqrt", (self._elab(args[0], "ℝ"),), "ℝ")
        if name in ABS_NAMES and len(args) == 1:
            return self._abs(args[0], expected, s.pos)
        if name in GCD_NAMES and len(args) == 2:
            op, argty = GCD_NAMES[name]
            return Op(op, (self._elab(args[0], argty), self._elab(args[1], argty)), "ℕ")
        if name in FACT_NAMES and len(args) == 1:
            return Op("fact", (self._elab(args[0], "ℕ"),), "ℕ")
        if name in AMBIGUOUS_NAMES:
            raise Unsupported(AMBIGUOUS_NAMES[name], head.pos)
        if name in PREDICATES:
            raise ElabError("a proposition where a number is expected", s.pos)
        raise Unsupported(f"function {name}", head.pos)

    # -- propositions ------------------------------------------------------------------------
    def _prop(self, s: Syn) -> Term:
        k = s.kind
        if k == "paren":
            return self._prop(s.kids[0])
        if k == "ident" and s.val in ("True", "False"):
            return TRUE if s.val == "True" else FALSE
        if k == "not":
            return Conn("¬", (self._prop(s.kids[0]),))
        if k == "binop" and s.val in LOGIC:
            a = self._prop(s.kids[0])
            return Conn(s.val, (a, self._prop(s.kids[1])))
        if k == "binop" and s.val in BINRELS:
            return self._binrel(s)
        if k == "binop" and s.val == "∣":
            return self._dvd(s)
        if k in ("forall", "exists"):
            return self._quant(k, list(s.val), s.kids[0])
        if k == "ident" and s.val.endswith(".Prime") and s.val[: -len(".Prime")] in self.ctx.types:
            base = s.val[: -len(".Prime")]
            ty = self.st.value(self._type_of_local(base, s.pos))
            if isinstance(ty, MVar):
                raise Unsupported("field notation `.Prime` on a variable whose type is not known yet", s.pos)
            if ty != "ℕ":
                raise ElabError(f"invalid field 'Prime' for a term of type {ty}", s.pos)
            return Pred("Nat.Prime", (Var(base, ty),))
        if k == "ident":
            if s.val in self.ctx.types:
                raise ElabError(f"type expected, '{s.val}' is not a proposition", s.pos)
            raise Unsupported(f"predicate {s.val}", s.pos)
        if k == "app" and s.kids[0].kind == "ident" and s.kids[0].val in PREDICATES and len(s.kids) == 2:
            return Pred(PREDICATES[s.kids[0].val], (self._elab(s.kids[1], "ℕ"),))
        if k == "app" and s.kids[0].kind == "ident":
            name = s.kids[0].val
            if name in AMBIGUOUS_NAMES:
                raise Unsupported(AMBIGUOUS_NAMES[name], s.pos)
            if name in self.ctx.types:
                raise ElabError(f"'{name}' is not a predicate", s.pos)
            raise Unsupported(f"predicate {name}", s.pos)
        if k == "ascribe" and s.val.kind == "type" and s.val.val == "Prop":
            return self._prop(s.kids[0])
        if k == "proj":
            raise Unsupported(f"field notation .{s.val}", s.pos)
        if k == "lambda":
            raise Unsupported("lambda (fun) outside `Finset.sum s fun x => …` / `Finset.prod`", s.pos)
        raise ElabError("expected a proposition", s.pos)

    def _binrel(self, s: Syn) -> Term:
        """`binrel%`: both sides form one tree; the expected type (Prop) plays no part."""
        lhs_tree = self._tree(s.kids[0])
        rhs_tree = self._tree(s.kids[1])
        leaves = self._leaves(lhs_tree) + self._leaves(rhs_tree)
        kinds = {self.st.value(t.ty) for _, _, t in leaves}
        if "Prop" in kinds:
            if s.val in ("=", "≠"):
                raise Unsupported("equality of propositions", s.pos)
            raise ElabError("a proposition where a number is expected", s.pos)
        if any(isinstance(t, Arrow) for t in kinds):
            raise Unsupported("equality of functions", s.pos)
        ty = self._max_type(leaves, None)
        if ty is None:
            # default strategy: elaborate both sides, then `ensureHasType lhsType rhs`
            group: list = []
            lhs = self._no_coe(lhs_tree, group)
            rhs = self._no_coe(rhs_tree, group)
            self.st.unify(lhs.ty, rhs.ty, s.pos)
            self.st.groups.append(group)
            return Rel(s.val, lhs, rhs)
        return Rel(s.val, self._apply_coe(lhs_tree, ty), self._apply_coe(rhs_tree, ty))

    def _dvd(self, s: Syn) -> Term:
        """`a ∣ b` is `Dvd.dvd a b`: arguments elaborated in order against one type α."""
        alpha = self._fresh("dvd", s.pos)
        lhs = self._elab(s.kids[0], alpha)
        rhs = self._elab(s.kids[1], alpha)
        return Rel("∣", lhs, rhs)

    def _quant(self, kind: str, binders: list[Binder], body_syn: Syn) -> Term:
        if not binders:
            return self._prop(body_syn)
        b = binders[0]
        name = b.names[0]
        rest = ([Binder(tuple(b.names[1:]), b.type, b.pred)] if len(b.names) > 1 else []) + binders[1:]
        if b.type is not None:
            ty = elab_type(b.type)
            if ty == "Prop":
                raise Unsupported("quantifier over propositions", b.type.pos)
        else:
            ty = self._fresh("binder", body_syn.pos)
        inner = self._scope(name, ty)
        guard = None
        if b.pred is not None:
            op, bound = b.pred
            guard = inner._prop(Syn("binop", bound.pos, bound.end, op, (Syn("ident", bound.pos, bound.pos, name), bound)))
        body = inner._quant(kind, rest, body_syn)
        if guard is not None:
            body = Conn("→", (guard, body)) if kind == "forall" else Conn("∧", (guard, body))
        return Quant("∀" if kind == "forall" else "∃", name, ty, body)

    # -- end of an elaboration problem -------------------------------------------------------
    def _finish(self, t: Term) -> Term:
        st = self.st
        # 1. Postponed `↑e` are resumed without postponing BEFORE default instances are tried
        #    (Lean/Elab/SyntheticMVars.lean: `withoutPostponing synthesizeSyntheticMVarsStep` comes
        #    before `synthesizeUsingDefault`): a target still unknown becomes the type of `e`
        #    (`elabCoe` = `ensureHasType ?T e`). Several of them on one target: refused (order).
        waiting: dict[MVar, set] = {}
        for target, inner, _pos in st.coes:
            v = st.value(target)
            if isinstance(v, MVar):
                waiting.setdefault(v, set()).add(st.value(inner.ty))
        for root, tys in waiting.items():
            if len(tys) > 1:
                raise Unsupported("several ↑ on one target type that Lean fixes in an order we do not model", root.pos)
            st.unify(root, next(iter(tys)))
        # 2. default instances of binop% trees elaborated without a maximal type (`instHAdd`,
        #    `instHPow`, ...: operands and result unified)
        for group in st.groups:
            known = {v for v in (st.value(m) for m in group) if not isinstance(v, MVar)}
            if len(known) > 1:
                raise Unsupported("operands whose types Lean's default instances would have to unify "
                                  f"({', '.join(sorted(map(str, known)))})", None)
            for m in group[1:]:
                st.unify(group[0], m)
        # 3. Monoid.Pow (default_instance high): undetermined exponents are ℕ
        for ety, pos in st.exponents:
            v = st.value(ety)
            if isinstance(v, MVar):
                st.unify(v, "ℕ")
            elif v != "ℕ":
                raise Unsupported("real/rational exponent (rpow/zpow)", pos)
        # 4. OfNat numerals default to ℕ (instOfNatNat, default_instance 100)
        for nty, decimal, pos in st.numerals:
            v = st.value(nty)
            if isinstance(v, MVar):
                if decimal:
                    raise Unsupported("decimal literal whose type Lean would choose by default", pos)
                st.unify(v, "ℕ")
        return self._zonk(t)

    def _ty(self, ty, what: str, pos: int | None = None) -> Type:
        v = self.st.value(ty)
        if isinstance(v, MVar):
            raise Unsupported(f"{what} that Lean infers by unification we do not model", pos if pos is not None else v.pos)
        return v

    def _zonk(self, t: Term) -> Term:
        """Replace metavariables by their types and check the instances Lean would need."""
        if isinstance(t, Var):
            return Var(t.name, self._ty(t.ty, f"type of '{t.name}'"))
        if isinstance(t, Num):
            ty = self._ty(t.ty, "type of a numeral")
            if t.text is not None and ty in ("ℕ", "ℤ"):
                raise ElabError(f"failed to synthesize OfScientific {ty}")
            return Num(t.value, ty, t.text)
        if isinstance(t, Op):
            args = tuple(self._zonk(a) for a in t.args)
            ty = self._ty(t.ty, f"type of {t.op}")
            if t.op == PENDING_COE:
                inner = args[0]
                if inner.ty == ty:
                    return inner
                if inner.ty in RANK and ty in RANK and RANK[inner.ty] < RANK[ty]:
                    return Op("cast", (inner,), ty)
                raise ElabError(f"type mismatch: ↑ from {inner.ty} to {ty}")
            if t.op == "neg" and ty == "ℕ":
                raise ElabError("failed to synthesize Neg ℕ")
            if t.op == "abs" and ty == "ℕ":
                raise ElabError("failed to synthesize Lattice/AddGroup ℕ for |·|")
            if t.op == "%" and ty in ("ℚ", "ℝ"):
                raise Unsupported(f"% on {ty}")
            if t.op == "^":
                if args[1].ty != "ℕ":
                    raise Unsupported("real/rational exponent (rpow/zpow)")
                if args[0].ty != ty:
                    raise ElabError("internal: ^ base type")
            elif t.op in ARITH_BINOPS | {"neg", "abs"} and any(a.ty != ty for a in args):
                raise ElabError(f"internal: operands of {t.op} of different types")
            return Op(t.op, args, ty)
        if isinstance(t, App):
            return App(t.fn, tuple(self._zonk(a) for a in t.args), t.ty)
        if isinstance(t, Rel):
            lhs, rhs = self._zonk(t.lhs), self._zonk(t.rhs)
            if lhs.ty != rhs.ty:
                raise ElabError(f"type mismatch: {lhs.ty} and {rhs.ty} in {t.op}")
            if lhs.ty not in RANK:
                raise Unsupported(f"relation {t.op} between terms of type {lhs.ty}")
            if t.op == "∣" and lhs.ty in ("ℚ", "ℝ"):
                raise Unsupported(f"∣ on {lhs.ty}")
            return Rel(t.op, lhs, rhs)
        if isinstance(t, Conn):
            return Conn(t.op, tuple(self._zonk(a) for a in t.args))
        if isinstance(t, Pred):
            return Pred(t.name, tuple(self._zonk(a) for a in t.args))
        if isinstance(t, Quant):
            vty = self._ty(t.vty, f"binder type of '{t.var}'")
            return Quant(t.kind, t.var, vty, self._zonk(t.body))
        if isinstance(t, BigOp):
            vty = self._ty(t.vty, f"type of the bound variable '{t.var}'")
            if t.kind == "Icc" and vty not in ("ℕ", "ℤ"):
                raise ElabError(f"failed to synthesize LocallyFiniteOrder {vty}")
            lo = self._zonk(t.lo) if t.lo is not None else None
            hi, body = self._zonk(t.hi), self._zonk(t.body)
            ty = self._ty(t.ty, f"type of {t.op}")
            if ty not in RANK:
                raise Unsupported(f"{t.op} of type {ty}")
            return BigOp(t.op, t.var, vty, t.kind, lo, hi, body, ty)
        return t


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


__all__ = ["Context", "Elaborator", "MVar", "elab_binders", "elab_type", "join"]
