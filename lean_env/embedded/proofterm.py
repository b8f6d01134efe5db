"""Proof terms: what a term like `h₀.1`, `mul_pos ha hb`, `sq_nonneg (a - b)`, `⟨h1, h2⟩`,
`h x (by norm_num)` proves in a goal's context, and its compilation into trusted-core steps.

Untrusted. Two layers:
* inference (`ProofTerms.infer`, `telescope`): the proposition a term proves, computed on
  named surface terms by matching (metavariables `?a.k` for implicit lemma arguments). It
  decides what to do and produces Lean's error messages; by itself it proves nothing.
* compilation (`ProofTerms.close`, `ProofTerms.forward`, with a tactic context): every
  telescope carries a `realize` closure that replays the term as core rules on a goal —
  forward steps that ADD a hypothesis (`lemma`/`env`, then `spec`/`mp`; `and_elim`,
  `iff_elim` for projections), backward steps for anonymous constructors against the goal
  (`and_intro`, `iff_intro`, `exists_intro`, `or_inl`/`or_inr`), `cut` for an argument whose
  statement is known (its proof runs on the cut's first premise: a `by` block, a `?_` hole, or
  a term), and `hyp` to close. Intermediate hypotheses are cleared again: a side goal (a `by`
  block, a hole) shows exactly the context Lean shows.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

from . import bridge
from .arith.evaluate import NotEvaluable, evaluate
from .elaborate import Context, Elaborator
from .errors import ElabError, KernelError, TacticFailed, Unsupported
from .goals import Goal
from .lemmas import Lemma, lemma_instances
from .parser import parse_term
from .syntax import Syn
from .terms import TRUE, Conn, Quant, Rel, Term, Var, free_vars, substitute
from .unify import canon, instantiate, match, same_prop

_fresh = itertools.count()


@dataclass
class Binder:
    name: str
    kind: str  # "explicit" | "implicit" | "hyp" | "iff" (a projection step `.mp`/`.mpr`: val)
    value: object  # type for variables, proposition for hypotheses, "mp"/"mpr" for "iff"


# realize(goal) -> (goal', uid): a hypothesis of goal' proving the telescope's proposition
Realize = Callable[[Goal], tuple[Goal, int]]


@dataclass
class Telescope:
    """A proof's type as binders ⟶ conclusion, with metavariables `metas` still to be assigned
    (their values collect in `subst`, shared with `realize`)."""

    binders: list[Binder]
    conclusion: Term
    metas: set[str]
    realize: Realize | None = None
    subst: dict = field(default_factory=dict)

    def to_prop(self) -> Term:
        out = self.conclusion
        for b in reversed(self.binders):
            if b.kind == "hyp":
                out = Conn("→", (b.value, out))
            elif b.kind == "iff":
                continue
            else:
                out = Quant("∀", b.name, b.value, out)
        return instantiate(out, self.subst)


def telescope_of_prop(p: Term, realize: Realize | None = None) -> Telescope:
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
            return Telescope(binders, p, set(), realize)


def telescope_of_lemma(lem: Lemma, realize: Realize | None = None) -> Telescope:
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
    return Telescope(binders, concl, set(ren.values()), realize)


def _ty_of(lem: Lemma, name: str):
    return next(b.value for b in lem.binders if b.name == name)


HOLE = Syn("hole", 0, 0, "?_")


class ProofTerms:
    """Infers the proposition proven by a proof term in `goal`'s context and, given a tactic
    context `ctx`, compiles it into core steps.

    `prove_by(goal, by_pos, start, end)` runs a nested `by` block on a core goal (supplied by
    the tactic layer); `side` collects the goals of `?_`/`_` holes (refine / apply);
    `side_goals` their statements (inference only)."""

    def __init__(self, goal: Goal, prove_by=None, allow_holes: bool = False, env_lemmas: dict | None = None,
                 ctx=None):
        self.goal = goal
        self.env_lemmas = env_lemmas or {}
        self.prove_by = prove_by
        self.allow_holes = allow_holes
        self.side_goals: list[Term] = []
        self.ctx = ctx
        self.temps: set[int] = set()  # intermediate hypotheses created by the compilation
        self.side: list[Goal] = []
        # every metavariable assignment made so far (metavariable names are unique per use of a
        # lemma, so one table serves all telescopes: a projection or an outer application may
        # assign the implicit arguments of an inner one)
        self.subst: dict[str, Term] = {}

    def elaborator(self) -> Elaborator:
        return Elaborator(Context(dict(self.goal.var_types())))

    def prop_of_text(self, text: str, offset: int = 0) -> Term:
        return self.elaborator().prop(parse_term(text, offset))

    # -- inference (untrusted: decides the steps and the messages) ---------------------------
    def infer_text(self, text: str, offset: int = 0, expected: Term | None = None) -> Term:
        stripped = text.strip()
        if stripped.startswith("by ") or stripped == "by" or stripped.startswith("by\n"):
            if expected is None:
                raise ElabError("cannot infer the statement of a `by` block: add a type ascription")
            return expected
        got = self.infer(parse_term(text, offset), expected)
        if expected is not None and not same_prop(got, expected):
            raise ElabError(_mismatch(got, expected), offset)
        return got

    def infer(self, s: Syn, expected: Term | None = None) -> Term:
        return self.finish(self.telescope(s, expected), expected, s).to_prop()

    def _first_option(self, tel: "_MultiTelescope", attempt: Callable[[Telescope], Telescope]) -> Telescope:
        """`attempt` on the first instance (type) of a lemma for which it succeeds; the side goals
        of a failed attempt are dropped."""
        last: Exception | None = None
        for t in tel.options:
            saved = list(self.side_goals)
            try:
                return attempt(t)
            except KernelError as e:
                self.side_goals = saved
                last = e
        raise last if last else ElabError("no instance of the lemma applies")

    def finish(self, tel: "Telescope | _MultiTelescope", expected: Term | None, s: Syn) -> Telescope:
        """Trailing implicit arguments instantiated, metavariables assigned by matching the
        expected type; an error if some remain."""
        if isinstance(tel, _MultiTelescope):
            return self._first_option(tel, lambda t: self.finish(t, expected, s))
        if tel.binders and tel.binders[0].kind in ("implicit", "iff"):
            tel = self.apply_args(tel, [], s)
        if expected is not None and tel.metas:
            subst = dict(tel.subst)
            concl = tel.to_prop()
            if not match(canon(concl), canon(expected), tel.metas, subst):
                raise ElabError(_mismatch(concl, expected))
            tel.subst.update(subst)
            self.subst.update(subst)
            tel.metas = tel.metas - set(subst)
            self.side_goals = [instantiate(g, tel.subst) for g in self.side_goals]
        if _free_metas(tel.to_prop()):
            raise ElabError("don't know how to synthesize implicit arguments of this proof term")
        return tel

    def telescope(self, s: Syn, expected: Term | None = None) -> Telescope:
        k = s.kind
        if k == "paren":
            return self.telescope(s.kids[0], expected)
        if k == "ascribe":
            prop = self.elaborator().prop(s.val)
            self.check(s.kids[0], prop)
            return telescope_of_prop(prop, self._by_cut(s.kids[0], prop))
        if k == "ident":
            return self.ident_telescope(s.val, s.pos)
        if k == "proj":
            fields = s.val.split(".")
            inner_syn = s.kids[0]
            if fields[0] in ("mp", "mpr", "1", "2") and len(fields) == 1:
                tel = self.telescope(inner_syn)
                options = tel.options if isinstance(tel, _MultiTelescope) else [tel]
                out = [p for p in (_project_iff(t, s.val) for t in options if not _explicit(t)) if p is not None]
                if out:
                    return out[0] if len(out) == 1 else _MultiTelescope(out)  # type: ignore[return-value]
            tel = self.finish(self.telescope(inner_syn), None, inner_syn)
            for f in fields:
                tel = self.project_tel(tel, f)
            return tel
        if k == "app":
            head, args = s.kids[0], list(s.kids[1:])
            if head.kind == "ident" and head.val in ("Or.inl", "Or.inr", "absurd") and expected is None:
                raise ElabError(f"{head.val}: the expected type must be known")
            if head.kind == "ident" and head.val in ("And.intro", "Iff.intro", "Or.inl", "Or.inr", "absurd",
                                                      "False.elim") and expected is not None:
                self.check(s, expected)
                return telescope_of_prop(expected, self._by_cut(s, expected))
            tel = self.telescope(head)
            return self.apply_args(tel, args, s)
        if k in ("anon", "by", "hole", "lambda"):
            if expected is None:
                if k == "anon":
                    raise ElabError("invalid constructor ⟨...⟩, expected type must be known")
                if k == "by":
                    raise ElabError("cannot infer the statement of a `by` block: add a type ascription", s.pos)
                if k == "hole":
                    raise ElabError("don't know how to synthesize placeholder")
                raise Unsupported("`fun` without an expected type", s.pos)
            self.check(s, expected)
            return telescope_of_prop(expected, self._by_cut(s, expected))
        raise ElabError("this is not a proof term the embedded kernel understands")

    def ident_telescope(self, name: str, pos: int) -> Telescope:
        h = self.goal.lookup(name)
        if h is not None and not h.is_var:
            return telescope_of_prop(h.value, self._hyp_realize(name))
        if "." in name:
            base, *fields = name.split(".")
            hb = self.goal.lookup(base)
            if hb is not None and not hb.is_var:
                tel = telescope_of_prop(hb.value, self._hyp_realize(base))
                for f in fields:
                    tel = self.project_tel(tel, f)
                return tel
        if name in self.env_lemmas:
            return telescope_of_prop(self.env_lemmas[name], self._env_realize(name))
        if "." in name:
            base, fld = name.rsplit(".", 1)
            if fld in ("mp", "mpr", "1", "2") and (lemma_instances(base) or base in self.env_lemmas):
                inner = self.ident_telescope(base, pos)
                options = inner.options if isinstance(inner, _MultiTelescope) else [inner]
                out = [_project_iff(t, fld) for t in options if not _explicit(t)]
                out = [t for t in out if t is not None]
                if not out:
                    raise ElabError(f"invalid field '{fld}': {base} is not an iff", pos)
                return out[0] if len(out) == 1 else _MultiTelescope(out)  # type: ignore[return-value]
        insts = lemma_instances(name)
        if insts:
            tels = [telescope_of_lemma(lem, self._lemma_realize(lem)) for lem in insts]
            return tels[0] if len(tels) == 1 else _MultiTelescope(tels)  # type: ignore[return-value]
        if name == "trivial":
            return Telescope([], TRUE, set(), self._by_cut(Syn("ident", pos, pos, "trivial"), TRUE))
        if h is not None:
            raise ElabError(f"'{name}' is a variable, not a proof")
        raise ElabError(f"unknown identifier '{name}'", pos)

    def apply_args(self, tel: Telescope, args: list[Syn], s: Syn) -> Telescope:
        if isinstance(tel, _MultiTelescope):
            return self._first_option(tel, lambda t: self.apply_args(t, args, s))
        binders = list(tel.binders)
        subst: dict[str, Term] = dict(tel.subst)
        metas = set(tel.metas)
        records: list[tuple] = []  # the consumed binders, in order, for the core replay
        conclusion = tel.conclusion

        def auto() -> None:
            while binders and binders[0].kind in ("implicit", "iff"):
                b = binders.pop(0)
                records.append(("iff", b.value) if b.kind == "iff" else ("var", Var(b.name, b.value)))

        for arg in args:
            auto()
            if not binders:
                raise ElabError("function expected: too many arguments", arg.pos)
            b = binders.pop(0)
            if b.kind == "explicit":
                if arg.kind == "hole":  # `_`: a metavariable, assigned by unification
                    meta = Var(b.name if b.name.startswith("?") else "?" + b.name, b.value)
                    metas.add(meta.name)
                    if meta.name != b.name:
                        binders = [_subst_binder(x, b.name, meta) for x in binders]
                        conclusion = substitute(conclusion, b.name, meta)
                    records.append(("var", meta))
                    continue
                value = self.elaborator().elab(arg, b.value)
                if b.name in metas:
                    subst[b.name] = value
                    records.append(("var", Var(b.name, b.value)))
                else:
                    binders = [_subst_binder(x, b.name, value) for x in binders]
                    conclusion = substitute(conclusion, b.name, value)
                    records.append(("var", value))
                continue
            want = instantiate(b.value, subst)
            if arg.kind == "hole":
                if not self.allow_holes:
                    raise ElabError("don't know how to synthesize placeholder", arg.pos)
                self.side_goals.append(want)  # resolved after matching below if it has metas
                records.append(("cut", arg, b.value))
                continue
            inner = arg.kids[0] if arg.kind == "paren" else arg
            if inner.kind in ("by", "anon", "lambda") and metas & _free_metas(want):
                # its statement is known once the later arguments / the expected type assign the
                # metavariables: it is checked when the term is compiled (a cut per argument)
                records.append(("cut", arg, b.value))
                continue
            if not (metas & _free_metas(want)):
                self.check(arg, want)
                if inner.kind == "ident" and self.goal.lookup(inner.val) is not None \
                        and not self.goal.lookup(inner.val).is_var:
                    records.append(("hyp", inner.val))
                else:
                    records.append(("cut", arg, b.value))
                continue
            arg_tel = self.finish(self.telescope(arg), None, arg)
            got = arg_tel.to_prop()
            if not match(canon(want), canon(got), metas, subst):
                raise ElabError(_mismatch(got, want), arg.pos)
            records.append(("tel", arg_tel))
        if not args:
            auto()
        self.subst.update(subst)
        rest = [_inst_binder(x, subst) for x in binders]
        concl = instantiate(conclusion, subst)
        self.side_goals = [instantiate(g, subst) for g in self.side_goals]
        out = Telescope(rest, concl, metas - set(subst), None, subst)
        head = tel.realize

        def realize(g: Goal) -> tuple[Goal, int]:
            g, uid = self._need(head)(g)
            for rec in records:
                g, uid = self._step(g, uid, rec, out.subst)
            return g, uid

        out.realize = realize if head is not None else None
        return out

    def consume(self, tel: Telescope, k: int, subst: dict) -> Telescope:
        """`tel` with its first k binders consumed (`apply`): variables take their values from
        `subst`, hypotheses become `?_` holes (new goals, in order)."""
        records: list[tuple] = []
        for b in tel.binders[:k]:
            if b.kind in ("explicit", "implicit"):
                records.append(("var", Var(b.name, b.value)))
            elif b.kind == "iff":
                records.append(("iff", b.value))
            else:
                records.append(("cut", HOLE, b.value))
        out = Telescope(tel.binders[k:], tel.conclusion, set(), None, subst)
        head = tel.realize

        def realize(g: Goal) -> tuple[Goal, int]:
            g, uid = self._need(head)(g)
            for rec in records:
                g, uid = self._step(g, uid, rec, subst)
            return g, uid

        out.realize = realize
        return out

    def project_tel(self, tel: Telescope, fld: str) -> Telescope:
        """`t.1`, `t.2`, `.left`, `.right`, `.mp`, `.mpr`, `.le`, `.symm`, `.ne`, `.ne'`, `.ge`, `.gt`, `.lt`
        of a fully applied term."""
        if _explicit(tel) or tel.binders:
            prop = tel.to_prop()
        else:
            prop = instantiate(tel.conclusion, tel.subst)
        new = project(prop, fld)
        head = tel.realize

        def realize(g: Goal) -> tuple[Goal, int]:
            g, uid = self._need(head)(g)
            return self._project_step(g, uid, prop, fld, new)

        return telescope_of_prop(new, realize if head is not None else None)

    def check(self, s: Syn, expected: Term) -> None:
        """Does `s` prove `expected`? (inference only: nothing is run)"""
        k = s.kind
        if k == "paren":
            return self.check(s.kids[0], expected)
        if k == "anon":
            return self.check_anon(list(s.kids), expected)
        if k == "by":
            return
        if k == "hole":
            if not self.allow_holes:
                raise ElabError("don't know how to synthesize placeholder", s.pos)
            return
        if k == "lambda":
            if not (isinstance(expected, Quant) and expected.kind == "∀" or
                    isinstance(expected, Conn) and expected.op in ("→", "¬") or
                    isinstance(expected, Rel) and expected.op == "≠"):
                raise ElabError("type mismatch: `fun` against a goal that is not a ∀ or an implication", s.pos)
            return  # its body is checked when it is compiled (in the extended context)
        if k == "ident" and s.val in ("rfl", "Eq.refl", "le_rfl") and not self.goal.lookup(s.val):
            if not _rfl_shape(expected):
                raise ElabError(f"type mismatch\n  {s.val}\nis not a proof of\n  {_pp(expected)}", s.pos)
            return
        if k == "ident" and s.val == "trivial" and expected == TRUE:
            return
        if k == "app" and s.kids[0].kind == "ident":
            head, args = s.kids[0].val, list(s.kids[1:])
            if head in ("And.intro", "Iff.intro"):
                return self.check_anon(args, expected)
            if head in ("Or.inl", "Or.inr"):
                if not (isinstance(expected, Conn) and expected.op == "∨"):
                    raise ElabError(f"{head}: the goal is not a disjunction")
                return self.check(args[0], expected.args[0 if head == "Or.inl" else 1])
            if head == "absurd" and len(args) == 2:
                p = self.infer(args[0])
                return self.check(args[1], Conn("¬", (p,)))
            if head == "False.elim" and len(args) == 1:
                return self.check(args[0], Conn("False", ()))
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
        raise ElabError(f"invalid constructor ⟨...⟩, expected type must be an inductive type with one constructor\n  {_pp(expected)}")

    # -- compilation into core steps ------------------------------------------------------------
    def apply(self, g: Goal, rule: str, *args) -> tuple[Goal, ...]:
        if self.ctx is None:
            raise Unsupported("a proof term outside a tactic context")
        return self.ctx.apply(g, rule, *args)

    def new_uid(self) -> int:
        uid = bridge.fresh_uid()
        self.temps.add(uid)
        return uid

    @staticmethod
    def temp_name(uid: int) -> str:
        return f"_pt{uid}✝"

    def _need(self, realize: Realize | None) -> Realize:
        if realize is None:
            raise Unsupported("this proof term cannot be replayed by the trusted core")
        return realize

    def clean(self, g: Goal) -> Goal:
        """`g` without the intermediate hypotheses of this compilation (as Lean shows it)."""
        seq = bridge.sequent(g)
        for d in reversed(seq.decls):
            if d.uid in self.temps:
                (g,) = self.apply(g, "clear", d.uid)
        return g

    def admit_safe(self, g: Goal) -> Goal:
        """A copy of `g` (cut + hyp): `g` itself is then justified even if the nested block that
        runs on the copy fails and is admitted (Lean's error recovery)."""
        uid = self.new_uid()
        side, main = self.apply(g, "cut", bridge.sequent(g).target, self.temp_name(uid), uid)
        self.apply(main, "hyp", uid)
        return side

    def core(self, t: Term):
        if _free_metas(t):
            raise ElabError("don't know how to synthesize implicit arguments of this proof term")
        return bridge.core_term(self.goal, t)

    def close(self, g: Goal, s: Syn) -> None:
        """Close the core goal `g` (its target is the expected type) with the term `s`; holes go
        to `self.side`, nested `by` blocks run on their own goals."""
        k = s.kind
        t = g.target
        if k == "paren":
            return self.close(g, s.kids[0])
        if k == "by":
            start, end = s.val
            if self.prove_by is None:
                raise Unsupported("`by` inside a term here")
            self.prove_by(self.clean(self.admit_safe(g)), s.pos, s.pos + 2, end)
            return
        if k == "hole":
            if not self.allow_holes:
                raise ElabError("don't know how to synthesize placeholder", s.pos)
            self.side.append(self.clean(g))
            return
        if k == "anon":
            return self.close_anon(g, list(s.kids))
        if k == "lambda":
            return self.close_lambda(g, s)
        if k == "ident" and s.val in ("rfl", "Eq.refl", "le_rfl", "trivial") and not self.goal.lookup(s.val):
            if s.val == "trivial" and t == TRUE:
                self.apply(g, "true_intro")
                return
            if s.val != "trivial" or _rfl_shape(t):
                self._rfl(g, s)
                return
        if k == "app" and s.kids[0].kind == "ident":
            head, args = s.kids[0].val, list(s.kids[1:])
            if head in ("And.intro", "Iff.intro"):
                return self.close_anon(g, args)
            if head in ("Or.inl", "Or.inr") and len(args) == 1:
                if not (isinstance(t, Conn) and t.op == "∨"):
                    raise ElabError(f"{head}: the goal is not a disjunction")
                (a,) = self.apply(g, "or_inl" if head == "Or.inl" else "or_inr")
                return self.close(a, args[0])
            if head == "False.elim" and len(args) == 1:
                (a,) = self.apply(g, "exfalso")
                return self.close(a, args[0])
            if head == "absurd" and len(args) == 2:
                p = self.infer(args[0])
                self.check(args[1], Conn("¬", (p,)))
                g, u1, _ = self.forward(g, args[0])
                g, u2, _ = self.forward(g, args[1], Conn("¬", (p,)))
                self.apply(g, "absurd", u1, u2)
                return
        tel = self.finish(self.telescope(s, t), t, s)
        got = tel.to_prop()
        if not same_prop(got, t):
            raise ElabError(_mismatch(got, t), s.pos)
        g2, uid = self._need(tel.realize)(g)
        self.close_by_hyp(g2, uid)

    def close_by_hyp(self, g: Goal, uid: int) -> None:
        """`hyp`; where the statements differ only up to what Lean's defeq check also sees
        through (closed numeral arithmetic such as `u (0 + 2)` against `u 2`), the hypothesis is
        first converted by the core's `normalize_hyp`."""
        sp = self.ctx.savepoint()
        try:
            self.apply(g, "hyp", uid)
            return
        except TacticFailed as e:
            self.ctx.rollback(sp)
            first = e
        try:
            new = self.new_uid()
            (g,) = self.apply(g, "normalize_hyp", uid, bridge.sequent(g).target, self.temp_name(new), new)
            self.apply(g, "hyp", new)
        except TacticFailed:
            self.ctx.rollback(sp)
            raise first from None

    def close_anon(self, g: Goal, items: list[Syn]) -> None:
        t = g.target
        if isinstance(t, Conn) and t.op in ("∧", "↔") and len(items) >= 2:
            a, b = self.apply(g, "and_intro" if t.op == "∧" else "iff_intro")
            self.close(a, items[0])
            if len(items) == 2:
                self.close(b, items[1])
            else:
                self.close_anon(b, items[1:])
            return
        if isinstance(t, Quant) and t.kind == "∃" and len(items) >= 2:
            witness = self.elaborator().elab(items[0], t.vty)
            (a,) = self.apply(g, "exists_intro", self.core(witness))
            if len(items) == 2:
                self.close(a, items[1])
            else:
                self.close_anon(a, items[1:])
            return
        if len(items) == 1:
            return self.close(g, items[0])
        raise ElabError(f"invalid constructor ⟨...⟩, expected type must be an inductive type with one constructor\n  {_pp(t)}")

    def close_lambda(self, g: Goal, s: Syn) -> None:
        name, vty = s.val
        t = g.target
        if not (isinstance(t, Quant) and t.kind == "∀" or isinstance(t, Conn) and t.op in ("→", "¬")
                or isinstance(t, Rel) and t.op == "≠"):
            raise ElabError("type mismatch: `fun` against a goal that is not a ∀ or an implication", s.pos)
        if vty is not None and isinstance(t, Quant):
            from .elaborate import elab_type
            if elab_type(vty) != t.vty:
                raise ElabError("type mismatch in the binder of `fun`", s.pos)
        (a,) = self.apply(g, "intro", name if name != "_" else "a✝", bridge.fresh_uid())
        inner = ProofTerms(a, self.prove_by, self.allow_holes, self.env_lemmas, self.ctx)
        inner.temps = self.temps
        inner.side = self.side
        inner.check(s.kids[0], a.target)
        inner.close(a, s.kids[0])

    def forward(self, g: Goal, s: Syn, expected: Term | None = None) -> tuple[Goal, int, Term]:
        """A hypothesis of the extended goal that proves what `s` proves (or `expected`)."""
        if expected is not None:
            self.check(s, expected)
            inner = s.kids[0] if s.kind == "paren" else s
            if inner.kind == "ident" and self.goal.lookup(inner.val) is not None \
                    and not self.goal.lookup(inner.val).is_var and same_prop(self.goal.lookup(inner.val).value, expected):
                return g, bridge.hyp_uid(self.goal, inner.val), expected
            g, uid = self._by_cut(s, expected)(g)
            return g, uid, expected
        tel = self.finish(self.telescope(s), None, s)
        g, uid = self._need(tel.realize)(g)
        return g, uid, tel.to_prop()

    # realizers ----------------------------------------------------------------------------
    def _hyp_realize(self, name: str) -> Realize:
        return lambda g: (g, bridge.hyp_uid(self.goal, name))

    def _env_realize(self, decl: str) -> Realize:
        def realize(g: Goal) -> tuple[Goal, int]:
            uid = self.new_uid()
            (g,) = self.apply(g, "env", decl, self.temp_name(uid), uid)
            return g, uid
        return realize

    def _lemma_realize(self, lem: Lemma) -> Realize:
        def realize(g: Goal) -> tuple[Goal, int]:
            uid = self.new_uid()
            (g,) = self.apply(g, "lemma", lem.name, lem.ty, self.temp_name(uid), uid)
            return g, uid
        return realize

    def _by_cut(self, s: Syn, prop: Term) -> Realize:
        """`prop` proved by `s` on the first premise of a cut."""
        def realize(g: Goal) -> tuple[Goal, int]:
            uid = self.new_uid()
            side, g = self.apply(g, "cut", self.core(prop), self.temp_name(uid), uid)
            self.close(side, s)
            return g, uid
        return realize

    def inst(self, t: Term, subst: dict) -> Term:
        table = {**self.subst, **subst}
        t = instantiate(t, table)
        for _ in range(8):  # values may mention metavariables assigned later
            if not _free_metas(t):
                break
            t = instantiate(t, table)
        return t

    def _step(self, g: Goal, uid: int, rec: tuple, subst: dict) -> tuple[Goal, int]:
        kind = rec[0]
        new = self.new_uid()
        if kind == "var":
            (g,) = self.apply(g, "spec", uid, self.core(self.inst(rec[1], subst)), self.temp_name(new), new)
            return g, new
        if kind == "iff":
            other = self.new_uid()
            (g,) = self.apply(g, "iff_elim", uid, self.temp_name(new), new, self.temp_name(other), other)
            return g, new if rec[1] in ("mp", "1") else other
        if kind == "hyp":
            arg = bridge.hyp_uid(self.goal, rec[1])
        elif kind == "tel":
            g, arg = self._need(rec[1].realize)(g)
        else:  # "cut"
            _, syn, want = rec
            g, arg = self._by_cut(syn, self.inst(want, subst))(g)
        (g,) = self.apply(g, "mp", uid, arg, self.temp_name(new), new)
        return g, new

    def _lemma_instance(self, g: Goal, lemma: str, ty, values: list[Term]) -> tuple[Goal, int]:
        """A new hypothesis: the lemma at type `ty`, specialised to `values`."""
        uid = self.new_uid()
        (g,) = self.apply(g, "lemma", lemma, ty, self.temp_name(uid), uid)
        for v in values:
            new = self.new_uid()
            (g,) = self.apply(g, "spec", uid, self.core(v), self.temp_name(new), new)
            uid = new
        return g, uid

    def _lemma_step(self, g: Goal, lemma: str, ty, values: list[Term], arg: int) -> tuple[Goal, int]:
        g, uid = self._lemma_instance(g, lemma, ty, values)
        new = self.new_uid()
        (g,) = self.apply(g, "mp", uid, arg, self.temp_name(new), new)
        return g, new

    def _project_step(self, g: Goal, uid: int, prop: Term, fld: str, new_prop: Term) -> tuple[Goal, int]:
        if isinstance(prop, Conn) and prop.op in ("∧", "↔"):
            a, b = self.new_uid(), self.new_uid()
            (g,) = self.apply(g, "and_elim" if prop.op == "∧" else "iff_elim", uid,
                              self.temp_name(a), a, self.temp_name(b), b)
            return g, a if fld in ("1", "left", "mp") else b
        if isinstance(prop, Rel):
            op, lhs, rhs = prop.op, prop.lhs, prop.rhs
            ty = lhs.ty
            if fld == "le":
                return self._lemma_step(g, "le_of_lt", ty, [lhs, rhs] if op == "<" else [rhs, lhs], uid)
            if fld in ("ne", "ne'"):
                lo, hi = (lhs, rhs) if op == "<" else (rhs, lhs)
                if fld == "ne":
                    return self._lemma_step(g, "ne_of_lt", ty, [lo, hi], uid)
                return self._lemma_step(g, "ne_of_gt", ty, [hi, lo], uid)
            if fld == "symm" and op == "≠":
                g, iff = self._lemma_iff(g, "ne_comm", ty, [lhs, rhs])
                new = self.new_uid()
                (g,) = self.apply(g, "mp", iff, uid, self.temp_name(new), new)
                return g, new
            if fld == "symm" and op == "=":
                new = self.new_uid()
                side, g = self.apply(g, "cut", self.core(new_prop), self.temp_name(new), new)
                (side,) = self.apply(side, "symm")
                self.apply(side, "hyp", uid)
                return g, new
            # .ge / .gt / .lt: the same proposition in the other notation
            new = self.new_uid()
            side, g = self.apply(g, "cut", self.core(new_prop), self.temp_name(new), new)
            self.apply(side, "hyp", uid)
            return g, new
        raise ElabError(f"invalid field notation '{fld}'")

    def _lemma_iff(self, g: Goal, lemma: str, ty, values: list[Term]) -> tuple[Goal, int]:
        g, uid = self._lemma_instance(g, lemma, ty, values)
        a, b = self.new_uid(), self.new_uid()
        (g,) = self.apply(g, "iff_elim", uid, self.temp_name(a), a, self.temp_name(b), b)
        return g, a

    def _rfl(self, g: Goal, s: Syn) -> None:
        if not close_by_rfl(self.ctx, g):
            raise ElabError(f"type mismatch\n  {s.val}\nis not a proof of\n  {_pp(g.target)}", s.pos)

    def finish_hyp(self, g: Goal, uid: int, name: str) -> Goal:
        """Clear the intermediate hypotheses except `uid`, which is renamed `name`."""
        self.temps.discard(uid)
        g = self.clean(g)
        seq = bridge.sequent(g)
        if seq.get(uid).name != name:
            (g,) = self.apply(g, "rename", uid, name)
        return g


def rfl_holds(g: Goal) -> bool:
    """UNTRUSTED test: would `rfl` close this goal (syntactic equality; closed ℕ/ℤ equations
    that evaluate equally)? Proves nothing; close_by_rfl does."""
    t = g.target
    if isinstance(t, Conn) and t.op == "↔" and canon(t.args[0]) == canon(t.args[1]):
        return True
    if not isinstance(t, Rel) or t.op not in ("=", "≤", "≥"):
        return False
    if canon(t.lhs) == canon(t.rhs):
        return True
    # `decide := true`-free kernel reduction: closed ℕ/ℤ arithmetic evaluates (Nat literals use GMP)
    if t.op == "=" and t.lhs.ty in ("ℕ", "ℤ"):
        try:
            return evaluate(t.lhs) == evaluate(t.rhs)
        except NotEvaluable:
            return False
    return False


def close_by_rfl(ctx, g: Goal) -> bool:
    """Close `g` by reflexivity (core `refl`; closed ℕ/ℤ equations by the core's `eval`)."""
    return rfl_holds(g) and any(ctx.try_apply(g, rule) is not None for rule in ("refl", "eval"))


def _explicit(t) -> bool:
    return any(b.kind == "explicit" for b in getattr(t, "binders", []))


def _rfl_shape(t: Term) -> bool:
    return isinstance(t, Rel) and t.op in ("=", "≤", "≥") or isinstance(t, Conn) and t.op == "↔"


def _project_iff(t: Telescope, fld: str) -> Telescope | None:
    c = t.conclusion
    if not (isinstance(c, Conn) and c.op == "↔"):
        return None
    a, b = c.args if fld in ("mp", "1") else (c.args[1], c.args[0])
    return Telescope(t.binders + [Binder("_", "iff", fld), Binder("_", "hyp", a)], b, t.metas, t.realize,
                     dict(t.subst))


@dataclass
class _MultiTelescope:
    options: list[Telescope]


def _free_metas(t: Term) -> set[str]:
    return {v for v in free_vars(t) if v.startswith("?")}


def _subst_binder(b: Binder, name: str, value: Term) -> Binder:
    if b.kind == "hyp":
        return Binder(b.name, b.kind, substitute(b.value, name, value))
    return b


def _inst_binder(b: Binder, subst: dict[str, Term]) -> Binder:
    if b.kind == "hyp":
        return Binder(b.name, b.kind, instantiate(b.value, subst))
    return b


def project(prop: Term, fld: str) -> Term:
    """`h.1`, `h.2`, `h.left`, `h.right`, `h.mp`, `h.mpr`, `h.le`, `h.symm`, `h.ne`, `h.ne'`."""
    if isinstance(prop, Conn) and prop.op == "∧" and fld in ("1", "2", "left", "right"):
        return prop.args[0] if fld in ("1", "left") else prop.args[1]
    if isinstance(prop, Conn) and prop.op == "↔" and fld in ("1", "2", "mp", "mpr"):
        a, b = prop.args
        return Conn("→", (a, b)) if fld in ("1", "mp") else Conn("→", (b, a))
    if isinstance(prop, Rel):
        if fld == "le" and prop.op in ("<", ">"):
            return Rel("≤" if prop.op == "<" else "≥", prop.lhs, prop.rhs)
        if fld == "symm" and prop.op in ("=", "≠"):
            return Rel(prop.op, prop.rhs, prop.lhs)
        if fld in ("ne", "ne'") and prop.op in ("<", ">"):
            lo, hi = (prop.lhs, prop.rhs) if prop.op == "<" else (prop.rhs, prop.lhs)
            return Rel("≠", lo, hi) if fld == "ne" else Rel("≠", hi, lo)
        if fld == "ge" and prop.op == "≤":
            return Rel("≥", prop.rhs, prop.lhs)
        if fld in ("gt", "lt") and prop.op in ("<", ">"):
            return Rel(">" if prop.op == "<" else "<", prop.rhs, prop.lhs)
    raise ElabError(f"invalid field notation '{fld}'")


def _pp(t: Term) -> str:
    from .pretty import pp
    return pp(t)


def _mismatch(got: Term, want: Term) -> str:
    from .pretty import pp
    return f"type mismatch\n  this\nhas type\n  {pp(got)} : Prop\nbut is expected to have type\n  {pp(want)} : Prop"
