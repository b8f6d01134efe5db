"""Proof terms: what a term like `h₀.1`, `mul_pos ha hb`, `sq_nonneg (a - b)`, `⟨h1, h2⟩`,
`h x (by norm_num)` proves in a goal's context (dependent application by matching)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from .elaborate import Context, Elaborator
from .errors import ElabError, KernelError, Unsupported
from .goals import Goal
from .lemmas import Lemma, lemma_instances
from .parser import parse_term
from .syntax import Syn
from .terms import Conn, Quant, Rel, Term, Var, substitute, TRUE
from .unify import canon, instantiate, match, same_prop

_fresh = itertools.count()


@dataclass
class Binder:
    name: str
    kind: str  # "explicit" | "implicit" | "hyp"
    value: object  # type for variables, proposition for hypotheses


@dataclass
class Telescope:
    """A proof's type as binders ⟶ conclusion, with metavariables `metas` still to be assigned."""

    binders: list[Binder]
    conclusion: Term
    metas: set[str]

    def to_prop(self) -> Term:
        out = self.conclusion
        for b in reversed(self.binders):
            if b.kind == "hyp":
                out = Conn("→", (b.value, out))
            else:
                out = Quant("∀", b.name, b.value, out)
        return out


def telescope_of_prop(p: Term) -> Telescope:
    binders: list[Binder] = []
    while True:
        if isinstance(p, Quant) and p.kind == "∀":
            # unique internal names: arguments substituted one by one must not capture each other
            name = f"{p.var}.{next(_fresh)}"
            binders.append(Binder(name, "explicit", p.vty))
            p = substitute(p.body, p.var, Var(name, p.vty))
        elif isinstance(p, Conn) and p.op == "→":
            binders.append(Binder("_", "hyp", p.args[0]))
            p = p.args[1]
        else:
            return Telescope(binders, p, set())


def telescope_of_lemma(lem: Lemma) -> Telescope:
    k = next(_fresh)
    ren = {b.name: f"?{b.name}.{k}" for b in lem.binders if b.kind != "hyp"}
    binders = []
    for b in lem.binders:
        if b.kind == "hyp":
            v = b.value
            for old, new in ren.items():
                v = substitute(v, old, Var(new, _ty_of(lem, old)))
            binders.append(Binder("_", "hyp", v))
        else:
            binders.append(Binder(ren[b.name], b.kind, b.value))
    concl = lem.conclusion
    for old, new in ren.items():
        concl = substitute(concl, old, Var(new, _ty_of(lem, old)))
    return Telescope(binders, concl, set(ren.values()))


def _ty_of(lem: Lemma, name: str):
    return next(b.value for b in lem.binders if b.name == name)


class ProofTerms:
    """Infers the proposition proven by a proof term in `goal`'s context.

    `prove_by(text, prop)` runs a nested `by` block (supplied by the tactic layer);
    `side_goals` collects `?_`/`_` holes left for the user (refine / specialize / apply).
    """

    def __init__(self, goal: Goal, prove_by=None, allow_holes: bool = False, env_lemmas: dict | None = None):
        self.goal = goal
        self.env_lemmas = env_lemmas or {}
        self.prove_by = prove_by
        self.allow_holes = allow_holes
        self.side_goals: list[Term] = []

    def elaborator(self) -> Elaborator:
        return Elaborator(Context(dict(self.goal.var_types())))

    def prop_of_text(self, text: str, offset: int = 0) -> Term:
        return self.elaborator().prop(parse_term(text, offset))

    # -- inference ----------------------------------------------------------------------
    def infer_text(self, text: str, offset: int = 0, expected: Term | None = None) -> Term:
        stripped = text.strip()
        if stripped.startswith("by ") or stripped == "by" or stripped.startswith("by\n"):
            if expected is None:
                raise ElabError("cannot infer the statement of a `by` block: add a type ascription")
            self.run_by(stripped[2:], offset + text.find("by") + 2, expected)
            return expected
        got = self.infer(parse_term(text, offset), expected)
        if expected is not None and not same_prop(got, expected):
            raise ElabError(_mismatch(got, expected), offset)
        return got

    def run_by(self, text: str, offset: int, expected: Term, end: int | None = None) -> None:
        if self.prove_by is None:
            raise Unsupported("`by` inside a term here")
        self.prove_by(offset, expected, end)

    def infer(self, s: Syn, expected: Term | None = None) -> Term:
        tel = self.telescope(s, expected)
        if expected is not None and tel.metas:
            subst: dict[str, Term] = {}
            concl = tel.to_prop()
            if match(canon(concl), canon(expected), tel.metas, subst):
                return expected
            # try consuming leading binders as holes (`apply`-like use in `exact`)
            raise ElabError(_mismatch(concl, expected))
        if tel.metas & _free_metas(tel.to_prop()):
            raise ElabError("don't know how to synthesize implicit arguments of this proof term")
        return tel.to_prop()

    def telescope(self, s: Syn, expected: Term | None = None) -> Telescope:
        k = s.kind
        if k == "paren":
            return self.telescope(s.kids[0], expected)
        if k == "ascribe":
            prop = self.elaborator().prop(s.val)
            self.check(s.kids[0], prop)
            return telescope_of_prop(prop)
        if k == "ident":
            return self.ident_telescope(s.val, s.pos)
        if k == "proj":
            if s.val in ("mp", "mpr", "1", "2"):
                tel = self.telescope(s.kids[0])
                options = tel.options if isinstance(tel, _MultiTelescope) else [tel]
                out = [p for p in (_project_iff(t, s.val) for t in options if not t.binders) if p is not None]
                if out:
                    return out[0] if len(out) == 1 else _MultiTelescope(out)  # type: ignore[return-value]
            inner = self.infer(s.kids[0])
            return telescope_of_prop(project(inner, s.val))
        if k == "app":
            head, args = s.kids[0], list(s.kids[1:])
            if head.kind == "ident" and head.val in ("Or.inl", "Or.inr", "And.intro", "absurd", "le_of_lt", "Eq.symm"):
                if expected is None and head.val in ("Or.inl", "Or.inr", "absurd"):
                    raise ElabError(f"{head.val}: the expected type must be known")
            if head.kind == "ident" and head.val in ("And.intro", "Iff.intro") and expected is not None:
                self.check_anon(args, expected)
                return telescope_of_prop(expected)
            if head.kind == "ident" and head.val in ("Or.inl", "Or.inr") and expected is not None:
                if not (isinstance(expected, Conn) and expected.op == "∨"):
                    raise ElabError(f"{head.val}: the goal is not a disjunction")
                self.check(args[0], expected.args[0 if head.val == "Or.inl" else 1])
                return telescope_of_prop(expected)
            if head.kind == "ident" and head.val == "absurd" and expected is not None and len(args) == 2:
                p = self.infer(args[0])
                self.check(args[1], Conn("¬", (p,)))
                return telescope_of_prop(expected)
            if head.kind == "ident" and head.val in ("False.elim", "absurd") and expected is not None:
                self.check(args[0], Conn("False", ()))
                return telescope_of_prop(expected)
            tel = self.telescope(head)
            return self.apply_args(tel, args, s)
        if k == "anon":
            if expected is None:
                raise ElabError("invalid constructor ⟨...⟩, expected type must be known")
            self.check_anon(list(s.kids), expected)
            return telescope_of_prop(expected)
        if k == "by":
            if expected is None:
                raise ElabError("cannot infer the statement of a `by` block: add a type ascription", s.pos)
            start, end = s.val
            self.run_by("", s.pos + 2, expected, end)
            return telescope_of_prop(expected)
        if k == "hole":
            if self.allow_holes and expected is not None:
                self.side_goals.append(expected)
                return telescope_of_prop(expected)
            raise ElabError("don't know how to synthesize placeholder")
        raise ElabError("this is not a proof term the embedded kernel understands")

    def ident_telescope(self, name: str, pos: int) -> Telescope:
        h = self.goal.lookup(name)
        if h is not None and not h.is_var:
            return telescope_of_prop(h.value)
        if name in ("rfl", "trivial", "Eq.refl", "le_rfl", "le_refl"):
            pass
        if "." in name:
            base, *fields = name.split(".")
            hb = self.goal.lookup(base)
            if hb is not None and not hb.is_var:
                prop = hb.value
                for f in fields:
                    prop = project(prop, f)
                return telescope_of_prop(prop)
        if name in self.env_lemmas:
            return telescope_of_prop(self.env_lemmas[name])
        if "." in name:
            base, field = name.rsplit(".", 1)
            if field in ("mp", "mpr", "1", "2") and (lemma_instances(base) or base in self.env_lemmas):
                inner = self.ident_telescope(base, pos)
                options = inner.options if isinstance(inner, _MultiTelescope) else [inner]
                out = [_project_iff(t, field) for t in options]
                out = [t for t in out if t is not None]
                if not out:
                    raise ElabError(f"invalid field '{field}': {base} is not an iff", pos)
                return out[0] if len(out) == 1 else _MultiTelescope(out)  # type: ignore[return-value]
        insts = lemma_instances(name)
        if insts:
            if len(insts) == 1:
                return telescope_of_lemma(insts[0])
            return _MultiTelescope([telescope_of_lemma(l) for l in insts])  # type: ignore[return-value]
        if name == "trivial":
            return Telescope([], TRUE, set())
        if h is not None:
            raise ElabError(f"'{name}' is a variable, not a proof")
        raise ElabError(f"unknown identifier '{name}'", pos)

    def apply_args(self, tel: Telescope, args: list[Syn], s: Syn) -> Telescope:
        if isinstance(tel, _MultiTelescope):
            last: Exception | None = None
            for t in tel.options:
                saved = list(self.side_goals)
                try:
                    return self.apply_args(t, args, s)
                except KernelError as e:
                    self.side_goals = saved
                    last = e
            raise last if last else ElabError("no instance of the lemma applies")
        binders = list(tel.binders)
        subst: dict[str, Term] = {}
        metas = set(tel.metas)
        for arg in args:
            while binders and binders[0].kind == "implicit":
                binders.pop(0)
            if not binders:
                raise ElabError("function expected: too many arguments", arg.pos)
            b = binders.pop(0)
            if b.kind == "explicit":
                if arg.kind == "hole":
                    raise Unsupported("`_` for an explicit variable argument", arg.pos)
                value = self.elaborator().elab(arg, b.value)
                if b.name in metas:
                    subst[b.name] = value
                else:
                    binders = [_subst_binder(x, b.name, value) for x in binders]
                    tel = Telescope(binders, substitute(tel.conclusion, b.name, value), metas)
                continue
            want = instantiate(b.value, subst)
            if arg.kind == "hole":
                if not self.allow_holes:
                    raise ElabError("don't know how to synthesize placeholder", arg.pos)
                self.side_goals.append(want)  # resolved after matching below if it has metas
                continue
            inner = arg.kids[0] if arg.kind == "paren" else arg
            if inner.kind == "by" and metas & _free_metas(want):
                raise Unsupported("a `by` argument whose statement depends on later arguments", arg.pos)
            got = self.infer(arg, want if not (metas & _free_metas(want)) else None)
            if not match(canon(want), canon(got), metas, subst):
                raise ElabError(_mismatch(got, want), arg.pos)
        rest = [_inst_binder(x, subst) for x in binders]
        concl = instantiate(tel.conclusion, subst)
        self.side_goals = [instantiate(g, subst) for g in self.side_goals]
        return Telescope(rest, concl, metas - set(subst))

    def check(self, s: Syn, expected: Term) -> None:
        if s.kind == "anon":
            self.check_anon(list(s.kids), expected)
            return
        got = self.infer(s, expected)
        if not same_prop(got, expected):
            raise ElabError(_mismatch(got, expected), s.pos)

    def check_anon(self, items: list[Syn], expected: Term) -> None:
        if isinstance(expected, Conn) and expected.op in ("∧", "↔") and len(items) >= 2:
            left, right = expected.args
            if expected.op == "↔":
                left, right = Conn("→", (left, right)), Conn("→", (right, left))
            self.check(items[0], left)
            if len(items) == 2:
                self.check(items[1], right)
            else:
                self.check_anon(items[1:], right)
            return
        if isinstance(expected, Quant) and expected.kind == "∃" and len(items) >= 2:
            witness = self.elaborator().elab(items[0], expected.vty)
            body = substitute(expected.body, expected.var, witness)
            if len(items) == 2:
                self.check(items[1], body)
            else:
                self.check_anon(items[1:], body)
            return
        raise ElabError(f"invalid constructor ⟨...⟩, expected type must be an inductive type with one constructor\n  {expected}")


def _project_iff(t: Telescope, field: str) -> Telescope | None:
    c = t.conclusion
    if not (isinstance(c, Conn) and c.op == "↔"):
        return None
    a, b = c.args if field in ("mp", "1") else (c.args[1], c.args[0])
    return Telescope(t.binders + [Binder("_", "hyp", a)], b, t.metas)


@dataclass
class _MultiTelescope:
    options: list[Telescope]


def _free_metas(t: Term) -> set[str]:
    from .terms import free_vars
    return {v for v in free_vars(t) if v.startswith("?")}


def _subst_binder(b: Binder, name: str, value: Term) -> Binder:
    if b.kind == "hyp":
        return Binder(b.name, b.kind, substitute(b.value, name, value))
    return b


def _inst_binder(b: Binder, subst: dict[str, Term]) -> Binder:
    if b.kind == "hyp":
        return Binder(b.name, b.kind, instantiate(b.value, subst))
    return b


def project(prop: Term, field: str) -> Term:
    """`h.1`, `h.2`, `h.left`, `h.right`, `h.mp`, `h.mpr`, `h.le`, `h.symm`, `h.ne`, `h.ne'`."""
    if isinstance(prop, Conn) and prop.op == "∧" and field in ("1", "2", "left", "right"):
        return prop.args[0] if field in ("1", "left") else prop.args[1]
    if isinstance(prop, Conn) and prop.op == "↔" and field in ("1", "2", "mp", "mpr"):
        a, b = prop.args
        return Conn("→", (a, b)) if field in ("1", "mp") else Conn("→", (b, a))
    if isinstance(prop, Rel):
        if field == "le" and prop.op in ("<", ">"):
            return Rel("≤" if prop.op == "<" else "≥", prop.lhs, prop.rhs)
        if field == "symm" and prop.op in ("=", "≠"):
            return Rel(prop.op, prop.rhs, prop.lhs)
        if field in ("ne", "ne'") and prop.op in ("<", ">"):
            lo, hi = (prop.lhs, prop.rhs) if prop.op == "<" else (prop.rhs, prop.lhs)
            return Rel("≠", lo, hi) if field == "ne" else Rel("≠", hi, lo)
        if field == "ge" and prop.op == "≤":
            return Rel("≥", prop.rhs, prop.lhs)
        if field in ("gt", "lt") and prop.op in ("<", ">"):
            return Rel(">" if prop.op == "<" else "<", prop.rhs, prop.lhs)
    raise ElabError(f"invalid field notation '{field}'")


def _mismatch(got: Term, want: Term) -> str:
    from .pretty import pp
    return f"type mismatch\n  this\nhas type\n  {pp(got)} : Prop\nbut is expected to have type\n  {pp(want)} : Prop"
