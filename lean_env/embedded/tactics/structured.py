"""Structured tactics: calc chains, suffices, simpa, congr, tauto, induction, contrapose, aesop.

Untrusted: every goal they close or change goes through the trusted core (`ctx.apply`); a
mistake here can make a tactic fail, never prove a false goal.
"""
from __future__ import annotations

import re
import time
from dataclasses import replace

from .. import bridge
from ..bridge import fresh_uid, hyp_uid, var_fvar
from ..core import term as C
from ..core.rules import unfold, whnf
from ..errors import KernelError, TacticFailed, Unsupported
from ..goals import Goal, inaccessible, pretty_goals, used_names
from ..parser import parse_term
from ..pretty import pp
from ..terms import Rel
from ..unify import canon
from .engine import REGISTRY, Goals, TacticContext, run_block, run_by_block, tactic
from .logic import infer_term, intro_one, proof_terms
from .script import find_top_level, split_items, strip_span

# composing relations along a calc chain (the core's `trans` rule accepts exactly these)
COMPOSE = {
    ("=", "="): "=", ("=", "<"): "<", ("=", "≤"): "≤", ("<", "="): "<", ("≤", "="): "≤",
    ("<", "<"): "<", ("<", "≤"): "<", ("≤", "<"): "<", ("≤", "≤"): "≤",
    ("=", ">"): ">", ("=", "≥"): "≥", (">", "="): ">", ("≥", "="): "≥", (">", ">"): ">",
    (">", "≥"): ">", ("≥", ">"): ">", ("≥", "≥"): "≥", ("=", "≠"): "≠", ("≠", "="): "≠",
}


# -- helpers shared by the tactics of this file (and casts.py) --------------------------------
def local_name(goal: Goal, uid: int) -> str:
    """The displayed name of local `uid` in `goal`."""
    return bridge.display_names(bridge.sequent(goal))[uid]


def convert_target(ctx: TacticContext, g: Goal, prop: C.Term, name: str = "this") -> Goal:
    """`g` with its target replaced by the core proposition `prop`, which must be the target
    up to reducible notation (`cut prop`, then `hyp` closes the old target: the core checks)."""
    if bridge.sequent(g).target == prop:
        return g
    uid = fresh_uid()
    new, rest = ctx.apply(g, "cut", prop, name, uid)
    ctx.apply(rest, "hyp", uid)
    return new


def close_with_term(ctx: TacticContext, g: Goal, text: str, off: int) -> None:
    """Close `g` with the proof term `text` (a hypothesis directly; otherwise `exact`)."""
    from .logic import t_exact
    name = text.strip()
    if bridge.entry(g).names.get(name) is not None and isinstance(bridge.entry(g).names[name], int):
        ctx.apply(g, "hyp", hyp_uid(g, name))
        return
    rest = t_exact(ctx, text, off, (g,))
    if rest or g.handle not in ctx.assign.data:
        raise TacticFailed("'exact' closed a goal without the trusted core (this tactic is not yet checked by the core)",
                           off)


def try_tactic(ctx: TacticContext, name: str, args: str, off: int, g: Goal) -> Goals | None:
    """Run the registered tactic `name` on `g`; None (and no trace) if it fails."""
    from .engine import _checked
    sp = ctx.savepoint()
    try:
        return _checked(name, (g,), REGISTRY[name](ctx, args, off, (g,)), ctx)
    except (KernelError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        ctx.rollback(sp)
        return None


# -- calc ------------------------------------------------------------------------------------
def _run_proof(ctx: TacticContext, g: Goal, text_start: int, text_end: int) -> None:
    src = ctx.src
    sp = strip_span(src, text_start, text_end)
    text = src[sp.start:sp.end]
    if text.startswith("by") and (len(text) == 2 or text[2].isspace()):
        run_by_block(ctx, sp.start, sp.start + 2, sp.end, g)
        return
    try:
        close_with_term(ctx, g, text, sp.start)
    except KernelError as e:
        raise TacticFailed(e.message, e.pos if e.pos is not None else sp.start) from e


@tactic("calc")
def t_calc(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    src = ctx.src
    steps = split_items(src, off, off + len(args))
    el = proof_terms(ctx, g).elaborator()
    chain: list[tuple[Rel, int, int, int]] = []  # (relation, step start, proof start, proof end)
    relation: Rel | None = None
    for step in steps:
        assign = find_top_level(src, step.start, step.end, ":=")
        if assign < 0:
            raise TacticFailed("calc step without `:= proof`", step.start)
        syn = parse_term(src[step.start:assign], step.start)
        if syn.kind != "binop" or syn.val not in ("=", "<", "≤", ">", "≥", "≠"):
            raise TacticFailed("calc step must be a relation", step.start)
        lhs_syn, rhs_syn = syn.kids
        if lhs_syn.kind == "hole":
            if relation is None:
                raise TacticFailed("the first calc step cannot start with `_`", step.start)
            step_rel = Rel(syn.val, relation.rhs, el.elab(rhs_syn, relation.rhs.ty))
        else:
            step_rel = el.prop(syn)
            if not isinstance(step_rel, Rel):
                raise TacticFailed("calc step must be a relation", step.start)
            if relation is not None and canon(step_rel.lhs) != canon(relation.rhs):
                raise TacticFailed(f"invalid 'calc' step, left-hand side is\n  {pp(step_rel.lhs)}\n"
                                   f"previous right-hand side is\n  {pp(relation.rhs)}", step.start)
        if relation is None:
            relation = step_rel
        else:
            op = COMPOSE.get((relation.op, step_rel.op))
            if op is None:
                raise TacticFailed(f"invalid 'calc' step, cannot chain {relation.op} and {step_rel.op}", step.start)
            relation = Rel(op, relation.lhs, step_rel.rhs)
        chain.append((step_rel, step.start, assign + 2, step.end))
    if relation is None:
        raise TacticFailed("empty calc")
    if canon(relation) != canon(g.target):
        raise TacticFailed(f"invalid 'calc' step, the chain proves\n  {pp(relation)}\nbut the goal is\n  {pp(g.target)}")
    # the core: the target as the composed relation, split by `trans` from the last step back
    core_rels = [bridge.core_term(g, r) for r, _, _, _ in chain]
    ops = [r.op for r in core_rels]
    composed = [ops[0]]
    for op in ops[1:]:
        composed.append(COMPOSE[(composed[-1], op)])
    cur = convert_target(ctx, g, C.Rel(composed[-1], core_rels[0].lhs, core_rels[-1].rhs))
    step_goals: list[Goal] = []
    for i in range(len(chain) - 1, 0, -1):
        left, right = ctx.apply(cur, "trans", core_rels[i].lhs, composed[i - 1], ops[i])
        step_goals.append(right)
        cur = left
    step_goals.append(cur)
    step_goals.reverse()
    for (_, _, p_start, p_end), sg, core_rel in zip(chain, step_goals, core_rels):
        sg = convert_target(ctx, sg, core_rel)
        _run_proof(ctx, sg, p_start, p_end)
    return goals[1:]


# -- suffices --------------------------------------------------------------------------------
@tactic("suffices")
def t_suffices(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    end = off + len(args)
    m = re.search(r"\sby(\s|$)", args)
    frm = re.search(r"\sfrom\s", args)
    cut = m.start() if m else (frm.start() if frm else len(args))
    decl = args[:cut]
    colon = find_top_level(decl, 0, len(decl), ":")
    name = (decl[:colon].strip() if colon >= 0 else "this") or "this"
    prop_text = decl[colon + 1:] if colon >= 0 else decl
    prop = proof_terms(ctx, g).prop_of_text(prop_text, off + (colon + 1 if colon >= 0 else 0))
    new, with_h = ctx.apply(g, "cut", bridge.core_term(g, prop), name, fresh_uid())
    if m:
        by = off + m.start() + 1
        run_by_block(ctx, by, by + 2, end, with_h)
    elif frm:
        close_with_term(ctx, with_h, args[frm.end():], off + frm.end())
    else:
        return (with_h, new) + goals[1:]
    return (new,) + goals[1:]


# -- simpa -----------------------------------------------------------------------------------
@tactic("simpa", "simpa?")
def t_simpa(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    """Mathlib's `simpa [rules] using e`: simp at e's statement and at the goal, then close the
    goal with the simplified e (or e simplified to False); without `using`: simp the goal,
    then `assumption`."""
    g = goals[0]
    using = re.search(r"\busing\b", args)
    simp_part = args[: using.start()] if using else args
    if re.search(r"(^|\s)at(\s|$)", simp_part):
        raise TacticFailed("simpa does not take an `at` clause")
    if using:
        e_text = args[using.end():]
        e_off = off + using.end()
        name = e_text.strip()
        names = bridge.entry(g).names
        if not (name in names and isinstance(names[name], int)):
            # `have h := e` through the core: cut e's statement, proved by `exact e`
            prop, _ = infer_term(ctx, g, e_text, e_off)
            uid = fresh_uid()
            first, g = ctx.apply(g, "cut", bridge.core_term(g, prop), "h", uid)
            close_with_term(ctx, first, e_text, e_off)
            name = local_name(g, uid)
        out = try_tactic(ctx, "simp", simp_part + " at " + name, off, g)
        if out is not None:
            if not out:
                return goals[1:]
            (g,) = out
        uid = hyp_uid(g, name)
        out = try_tactic(ctx, "simp", simp_part, off, g)
        if out is not None:
            if not out:
                return goals[1:]
            (g,) = out
        for rule in ("hyp", "false_elim"):
            sp = ctx.savepoint()
            try:
                ctx.apply(g, rule, uid)
                return goals[1:]
            except TacticFailed:
                ctx.rollback(sp)
        have = next(h.value for h in g.hyps if h.name == name)
        raise TacticFailed(f"type mismatch\n  h\nhas type\n  {pp(have)} : Prop\nbut is expected to have type\n"
                           f"  {pp(g.target)} : Prop")
    out = try_tactic(ctx, "simp", simp_part, off, g)
    if out is not None:
        if not out:
            return goals[1:]
        (g,) = out
    from .logic import find_assumption
    if find_assumption(ctx, g):
        return goals[1:]
    raise TacticFailed("simpa failed to close the goal\n" + g.pretty())


# -- congr -----------------------------------------------------------------------------------
def _close_trivially(ctx: TacticContext, g: Goal) -> bool:
    """Lean's congr closes new goals by `rfl` and `assumption`."""
    from .logic import find_assumption
    return ctx.try_apply(g, "refl") is not None or find_assumption(ctx, g)


def _congr(ctx: TacticContext, g: Goal, depth: int) -> list[Goal]:
    if depth == 0:
        return [g]
    sp = ctx.savepoint()
    try:
        kids = ctx.apply(g, "congr")
    except TacticFailed:
        ctx.rollback(sp)
        return [g]
    out: list[Goal] = []
    for k in kids:
        if _close_trivially(ctx, k):
            continue
        out.extend(_congr(ctx, k, depth - 1))
    return out


@tactic("congr")
def t_congr(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    """Lean's `congr [n]`: congruence (recursively, at most n levels) through the core's typed
    `congr` rule, which refuses arguments of different types (no heterogeneous goals)."""
    g = goals[0]
    t = bridge.sequent(g).target
    if not (isinstance(t, C.Rel) and t.op == "="):
        raise TacticFailed("congr: the goal is not an equality")
    m = re.fullmatch(r"\s*(\d+)?\s*", args)
    if m is None:
        raise Unsupported("congr with patterns")
    depth = int(m.group(1)) if m.group(1) else 1_000_000
    if depth == 0:
        return goals
    if _close_trivially(ctx, g):
        return goals[1:]
    try:
        kids = ctx.apply(g, "congr")
    except TacticFailed as e:
        raise TacticFailed(f"congr failed: {e.message.split(': ', 1)[-1]}") from e
    out: list[Goal] = []
    for k in kids:
        if not _close_trivially(ctx, k):
            out.extend(_congr(ctx, k, depth - 1))
    return tuple(out) + goals[1:]


# -- tauto -----------------------------------------------------------------------------------
class _Tauto:
    """Classical propositional reasoning through the core: split on atoms (`by_cases`) until
    the target is true or some hypothesis false under the partial assignment (Kleene's
    three-valued evaluation), then prove / refute by intro and elim rules. Atoms are compared
    up to Lean's reducible notation (the core's `unfold`)."""

    MAX_NODES = 4000

    def __init__(self, ctx: TacticContext):
        self.ctx = ctx
        self.nodes = 0

    @staticmethod
    def shape(p: C.Term) -> tuple[str, tuple]:
        q = whnf(p)
        if isinstance(q, C.Conn) and q.op in ("∧", "∨", "→", "↔", "True", "False"):
            return q.op, q.args
        return "atom", (p,)

    @staticmethod
    def refl_true(p: C.Term) -> bool:
        q = unfold(p)
        return isinstance(q, C.Rel) and q.op in ("=", "≤") and q.lhs == q.rhs

    def value(self, p: C.Term, v: dict) -> bool | None:
        op, a = self.shape(p)
        if op == "atom":
            if self.refl_true(p):
                return True
            got = v.get(unfold(p))
            return None if got is None else got[0]
        if op in ("True", "False"):
            return op == "True"
        x, y = self.value(a[0], v), self.value(a[1], v)
        if op == "∧":
            return False if x is False or y is False else (True if x and y else None)
        if op == "∨":
            return True if x is True or y is True else (False if x is False and y is False else None)
        if op == "→":
            return True if x is False or y is True else (False if x is True and y is False else None)
        return None if x is None or y is None else x == y

    def atoms(self, p: C.Term, v: dict, out: list) -> None:
        op, a = self.shape(p)
        if op == "atom":
            if not self.refl_true(p) and unfold(p) not in v and all(unfold(p) != unfold(q) for q in out):
                out.append(p)
            return
        for x in a:
            self.atoms(x, v, out)

    def tick(self) -> None:
        self.nodes += 1
        if self.nodes > self.MAX_NODES or time.monotonic() > self.ctx.deadline:
            raise TacticFailed("tauto failed to solve some goals (search limit reached).")

    def prove(self, g: Goal, v: dict) -> None:
        """Close `g`, whose target is true under `v`."""
        self.tick()
        t = bridge.sequent(g).target
        op, a = self.shape(t)
        ap = self.ctx.apply
        if op == "atom":
            if self.refl_true(t):
                ap(g, "refl")
            else:
                ap(g, "hyp", v[unfold(t)][1])
        elif op == "True":
            ap(g, "true_intro")
        elif op == "∧":
            left, right = ap(g, "and_intro")
            self.prove(left, v)
            self.prove(right, v)
        elif op == "∨":
            (k,) = ap(g, "or_inl" if self.value(a[0], v) is True else "or_inr")
            self.prove(k, v)
        elif op == "→":
            uid = fresh_uid()
            (k,) = ap(g, "intro", "a✝", uid)
            if self.value(a[0], v) is False:
                self.refute(k, uid, v)
            else:
                self.prove(k, v)
        elif op == "↔":
            for k in ap(g, "iff_intro"):
                self.prove(k, v)
        else:
            raise TacticFailed("tauto: internal error (proving False)")

    def refute(self, g: Goal, h: int, v: dict) -> None:
        """Close `g` from hypothesis `h`, false under `v`."""
        self.tick()
        p = bridge.sequent(g).hyp(h)
        op, a = self.shape(p)
        ap = self.ctx.apply
        if op == "atom":
            ap(g, "absurd", h, v[unfold(p)][1])
        elif op == "False":
            ap(g, "false_elim", h)
        elif op == "∧":
            u1, u2 = fresh_uid(), fresh_uid()
            (k,) = ap(g, "and_elim", h, "left", u1, "right", u2)
            self.refute(k, u1 if self.value(a[0], v) is False else u2, v)
        elif op == "∨":
            u1, u2 = fresh_uid(), fresh_uid()
            k1, k2 = ap(g, "or_elim", h, "h", u1, "h", u2)
            self.refute(k1, u1, v)
            self.refute(k2, u2, v)
        elif op == "→":
            ua, ub = fresh_uid(), fresh_uid()
            first, rest = ap(g, "cut", a[0], "a", ua)
            self.prove(first, v)
            (k,) = ap(rest, "mp", h, ua, "b", ub)
            self.refute(k, ub, v)
        elif op == "↔":
            u1, u2 = fresh_uid(), fresh_uid()
            (k,) = ap(g, "iff_elim", h, "mp", u1, "mpr", u2)
            self.refute(k, u1 if self.value(a[0], v) is True else u2, v)
        else:
            raise TacticFailed("tauto: internal error (refuting True)")

    def search(self, g: Goal, v: dict) -> None:
        self.tick()
        seq = bridge.sequent(g)
        if self.value(seq.target, v) is True:
            return self.prove(g, v)
        hyps = [d for d in seq.decls if not d.is_var]
        for d in hyps:
            if self.value(d.value, v) is False:
                return self.refute(g, d.uid, v)
        cand: list = []  # atoms of the formulas not yet decided (a decided one stays decided)
        for p in [seq.target] + [d.value for d in hyps]:
            if self.value(p, v) is None:
                self.atoms(p, v, cand)
        if not cand:
            raise TacticFailed("tauto failed to solve some goals.")
        atom = cand[0]
        u1, u2 = fresh_uid(), fresh_uid()
        pos, neg = self.ctx.apply(g, "by_cases", atom, "h", u1, u2)
        key = unfold(atom)
        self.search(pos, {**v, key: (True, u1)})
        self.search(neg, {**v, key: (False, u2)})


@tactic("tauto", "itauto")
def t_tauto(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    """Propositional tautologies over the hypotheses, every non-connective part an atom
    (classical, as Mathlib's `tauto`; `itauto` is accepted on the same terms)."""
    g = goals[0]
    while isinstance(bridge.sequent(g).target, C.Quant) and bridge.sequent(g).target.kind == "∀":
        g = intro_one(ctx, g, None)
    _Tauto(ctx).search(g, {})
    return goals[1:]


# -- induction -------------------------------------------------------------------------------
def induction_goals(ctx: TacticContext, g: Goal, name: str, succ_name: str | None,
                    ih_name: str | None) -> tuple[Goal, Goal]:
    """ℕ induction through the core: the hypotheses that mention the variable are reverted
    first (they become part of the motive) and re-introduced, with their names, in each case."""
    h = g.lookup(name)
    if h is None or not h.is_var or h.value != "ℕ":
        raise TacticFailed(f"induction: '{name}' is not a variable of type ℕ (the embedded kernel only does ℕ induction)")
    x = var_fvar(g, name)
    seq = bridge.sequent(g)
    deps = [d for d in seq.decls if not d.is_var and x.uid in C.fvars(d.value)]
    dep_names = [local_name(g, d.uid) for d in deps]
    k = succ_name or inaccessible(name, used_names(g))
    ih = ih_name or inaccessible("ih", used_names(g) | {k})
    cur = g
    for d in reversed(deps):
        (cur,) = ctx.apply(cur, "revert", d.uid)
    zero, succ = ctx.apply(cur, "induction", x.uid, k, fresh_uid(), ih, fresh_uid())
    out = []
    for case in (zero, succ):
        for n in dep_names:
            case = intro_one(ctx, case, n)
        out.append(case)
    return replace(out[0], tag="zero"), replace(out[1], tag="succ")


@tactic("induction", "induction'")
def t_induction(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    prime = ctx.src[:off].rstrip().endswith("induction'")
    # `induction n <;> tac` (the engine leaves `<;>` to induction because of `with | … =>`)
    then = find_top_level(ctx.src, off, off + len(args), "<;>")
    if then >= 0 and not re.search(r"with\s*\|", args[: then - off]):
        first = t_induction(ctx, args[: then - off], off, goals)
        second = strip_span(ctx.src, then + 3, off + len(args))
        out: list[Goal] = []
        for case in first[:2]:
            out.extend(run_block(ctx, second.start, second.end, (case,)))
        return tuple(out) + goals[1:]
    m = re.match(r"\s*([^\s]+)\s*(?:with\b(.*))?$", args, re.DOTALL)
    if not m:
        raise TacticFailed("induction: expected a variable")
    name, rest = m.group(1), m.group(2)
    if prime or rest is None:
        names = rest.split() if rest else []
        names = [None if n == "_" else n for n in names]
        zero, succ = induction_goals(ctx, g, name, names[0] if names else None, names[1] if len(names) > 1 else None)
        return (zero, succ) + goals[1:]
    # structured: `with | zero => tacs | succ k ih => tacs`
    src = ctx.src
    base = off + m.start(2)
    alts = [mm for mm in re.finditer(r"(?m)^\s*\|\s*(zero|succ)\b([^=]*)=>", src[base: off + len(args)])]
    if len(alts) != 2:
        raise Unsupported("induction alternatives other than `| zero => ...` and `| succ n ih => ...`")
    spans = []
    for i, a in enumerate(alts):
        start = base + a.end()
        end = base + alts[i + 1].start() if i + 1 < len(alts) else off + len(args)
        spans.append((a.group(1), a.group(2).split(), start, end))
    succ_names = next(n for tag, n, _, _ in spans if tag == "succ")
    succ_names = [None if n == "_" else n for n in succ_names]
    zero, succ = induction_goals(ctx, g, name, succ_names[0] if succ_names else None,
                                 succ_names[1] if len(succ_names) > 1 else None)
    for tag, _, start, end in spans:
        goal = replace(zero if tag == "zero" else succ, tag=None)
        rest_goals = run_block(ctx, start, end, (goal,))
        if rest_goals:
            raise TacticFailed("unsolved goals\n" + pretty_goals(rest_goals), start)
    return goals[1:]


# -- contrapose ------------------------------------------------------------------------------
def _contrapose_hyp(ctx: TacticContext, g: Goal, h_uid: int, new_name: str) -> tuple[Goal, int]:
    """`h : P ⊢ Q` to `new_name : ¬Q ⊢ ¬P` (mt): by_contra gives ¬Q; the new target ¬P is cut,
    and with ¬P and P the old branch closes by `absurd`."""
    p = bridge.sequent(g).hyp(h_uid)
    nq = fresh_uid()
    (g1,) = ctx.apply(g, "by_contra", new_name, nq)
    np = fresh_uid()
    new, rest = ctx.apply(g1, "cut", C.Conn("¬", (p,)), "this", np)
    ctx.apply(rest, "absurd", h_uid, np)
    (new,) = ctx.apply(new, "clear", h_uid)
    return new, nq


@tactic("contrapose", "contrapose!")
def t_contrapose(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    """`contrapose h`: from `h : P ⊢ Q` to `h : ¬Q ⊢ ¬P`; without `h`, `P → Q` becomes
    `¬Q → ¬P`; `contrapose!` then pushes the negations (push_neg, through the core)."""
    g = goals[0]
    bang = ctx.src[:off].rstrip().endswith("!")
    words = args.split()
    if words and words[0] != "with" and len(words) not in (1, 3):
        raise TacticFailed("contrapose: expected `contrapose h` or `contrapose h with h'`")
    if not words:
        t = bridge.sequent(g).target
        if not (isinstance(whnf(t), C.Conn) and whnf(t).op == "→"):
            raise TacticFailed("contrapose: the goal is not an implication")
        uid = fresh_uid()
        (g1,) = ctx.apply(g, "intro", "h", uid)
        g2, nq = _contrapose_hyp(ctx, g1, uid, "h")
        (out,) = ctx.apply(g2, "revert", nq)
        if bang:
            out = _push_neg(ctx, out, "", off)
        return (out,) + goals[1:]
    name = words[0]
    new_name = words[2] if len(words) == 3 and words[1] == "with" else name
    uid = hyp_uid(g, name)
    out, _ = _contrapose_hyp(ctx, g, uid, new_name)
    if bang:
        out = _push_neg(ctx, out, f" at {new_name} ⊢", off)
    return (out,) + goals[1:]


def _push_neg(ctx: TacticContext, g: Goal, loc: str, off: int) -> Goal:
    out = try_tactic(ctx, "push_neg", loc, off, g)
    return out[0] if out else g


# -- aesop -----------------------------------------------------------------------------------
@tactic("aesop")
def t_aesop(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    """A small, sound stand-in for Aesop's safe rules: intro, split ∧/↔ goals, destruct ∧/∃
    hypotheses, then simp_all; it succeeds only if every resulting goal is closed (all
    through the core)."""
    todo, steps = [goals[0]], 0
    failure = TacticFailed("aesop: failed to prove the goal after exhaustive search.")
    while todo:
        steps += 1
        if steps > 64 or time.monotonic() > ctx.deadline:
            raise failure
        g = todo.pop()
        seq = bridge.sequent(g)
        t = whnf(seq.target)
        if isinstance(t, C.Quant) and t.kind == "∀" or isinstance(t, C.Conn) and t.op == "→":
            todo.append(intro_one(ctx, g, None))
            continue
        if isinstance(t, C.Conn) and t.op in ("∧", "↔"):
            todo += list(ctx.apply(g, "and_intro" if t.op == "∧" else "iff_intro"))
            continue
        split = next((d for d in seq.decls if not d.is_var and (
            isinstance(d.value, C.Conn) and d.value.op == "∧" or isinstance(d.value, C.Quant) and d.value.kind == "∃")),
            None)
        if split is not None:
            u1, u2 = fresh_uid(), fresh_uid()
            if isinstance(split.value, C.Conn):
                (g1,) = ctx.apply(g, "and_elim", split.uid, "left", u1, "right", u2)
            else:
                (g1,) = ctx.apply(g, "exists_elim", split.uid, split.value.name, u1, "h", u2)
            todo += list(ctx.apply(g1, "clear", split.uid))
            continue
        rest = try_tactic(ctx, "simp_all", "", off, g)
        if rest is None or rest:
            raise failure
    return goals[1:]


__all__ = ["COMPOSE", "close_with_term", "convert_target", "induction_goals", "local_name", "t_calc"]
