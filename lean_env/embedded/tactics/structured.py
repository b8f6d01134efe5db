"""Structured tactics: calc chains, suffices, simpa, congr."""
from __future__ import annotations

import re
from fractions import Fraction

from ..errors import KernelError, TacticFailed, Unsupported
from ..goals import Goal
from ..parser import parse_term
from ..pretty import pp
from ..terms import FALSE, TRUE, App, Op, Rel, Term
from ..unify import canon
from .connectives import z3_connective
from .engine import Goals, TacticContext, run_by_block, tactic
from .logic import find_assumption, infer_term, proof_terms
from .script import find_top_level, split_items, strip_span

# composing relations along a calc chain
COMPOSE = {
    ("=", "="): "=", ("=", "<"): "<", ("=", "≤"): "≤", ("<", "="): "<", ("≤", "="): "≤",
    ("<", "<"): "<", ("<", "≤"): "<", ("≤", "<"): "<", ("≤", "≤"): "≤",
    ("=", ">"): ">", ("=", "≥"): "≥", (">", "="): ">", ("≥", "="): "≥", (">", ">"): ">",
    (">", "≥"): ">", ("≥", ">"): ">", ("≥", "≥"): "≥", ("=", "≠"): "≠", ("≠", "="): "≠",
}


def _run_proof(ctx: TacticContext, g: Goal, text_start: int, text_end: int, prop: Term) -> None:
    src = ctx.src
    sp = strip_span(src, text_start, text_end)
    text = src[sp.start:sp.end]
    if text.startswith("by") and (len(text) == 2 or text[2].isspace()):
        run_by_block(ctx, sp.start, sp.start + 2, sp.end, g.with_target(prop))
        return
    try:
        infer_term(ctx, g, text, sp.start, expected=prop)
    except KernelError as e:
        raise TacticFailed(e.message, sp.start) from e


@tactic("calc")
def t_calc(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    src = ctx.src
    steps = split_items(src, off, off + len(args))
    relation: Rel | None = None
    el = proof_terms(ctx, g).elaborator()
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
            rhs = el.elab(rhs_syn, relation.rhs.ty)
            step_rel = Rel(syn.val, relation.rhs, rhs)
        else:
            step_rel = el.prop(syn)
            if not isinstance(step_rel, Rel):
                raise TacticFailed("calc step must be a relation", step.start)
            if relation is not None and canon(step_rel.lhs) != canon(relation.rhs):
                raise TacticFailed(f"invalid 'calc' step, left-hand side is\n  {pp(step_rel.lhs)}\nprevious right-hand side is\n  {pp(relation.rhs)}", step.start)
        _run_proof(ctx, g, assign + 2, step.end, step_rel)
        if relation is None:
            relation = step_rel
        else:
            op = COMPOSE.get((relation.op, step_rel.op))
            if op is None:
                raise TacticFailed(f"invalid 'calc' step, cannot chain {relation.op} and {step_rel.op}", step.start)
            relation = Rel(op, relation.lhs, step_rel.rhs)
    if relation is None:
        raise TacticFailed("empty calc")
    if canon(relation) != canon(g.target):
        raise TacticFailed(f"invalid 'calc' step, the chain proves\n  {pp(relation)}\nbut the goal is\n  {pp(g.target)}")
    return goals[1:]


@tactic("suffices")
def t_suffices(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    end = off + len(args)
    by = -1
    m = re.search(r"\sby(\s|$)", args)
    frm = re.search(r"\sfrom\s", args)
    cut = m.start() if m else (frm.start() if frm else len(args))
    decl = args[:cut]
    colon = find_top_level(decl, 0, len(decl), ":")
    name = decl[:colon].strip() if colon >= 0 else "this"
    prop_text = decl[colon + 1:] if colon >= 0 else decl
    prop = proof_terms(ctx, g).prop_of_text(prop_text, off + (colon + 1 if colon >= 0 else 0))
    with_h = g.add_hyp(name or "this", prop)
    if m:
        by = off + m.start() + 1
        run_by_block(ctx, by, by + 2, end, with_h)
    elif frm:
        infer_term(ctx, with_h, args[frm.end():], off + frm.end(), expected=g.target)
    else:
        return (with_h, g.with_target(prop)) + goals[1:]
    return (g.with_target(prop),) + goals[1:]


@tactic("simpa", "simpa?")
def t_simpa(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    from .simp import Simplifier, _parse_simp_args, simp_rules
    g = goals[0]
    using = re.search(r"\busing\b", args)
    simp_part = args[: using.start()] if using else args
    only, items, _, _ = _parse_simp_args(simp_part)
    rules = simp_rules(ctx, g, items, off, use_all_hyps=False)
    target = Simplifier(rules, False, ctx, only).simp(g.target)
    if target == TRUE:
        return goals[1:]
    if using:
        prop, _ = infer_term(ctx, g, args[using.end():], off + using.end())
        have = Simplifier(rules, False, ctx, only).simp(prop)
        if have == FALSE or canon(have) == canon(target):
            return goals[1:]
        raise TacticFailed(f"type mismatch\n  h\nhas type\n  {pp(have)} : Prop\nbut is expected to have type\n  {pp(target)} : Prop")
    g2 = g.with_target(target)
    simped = [(n, Simplifier(rules, False, ctx, only).simp(p)) for n, p in g.props()]
    if find_assumption(g2) or any(canon(p) == canon(target) or p == FALSE for _, p in simped):
        return goals[1:]
    raise TacticFailed("simpa failed to close the goal\n" + g2.pretty())


@tactic("congr")
def t_congr(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    t = g.target
    if not (isinstance(t, Rel) and t.op == "="):
        raise TacticFailed("congr: the goal is not an equality")
    a, b = t.lhs, t.rhs
    pairs = None
    if isinstance(a, App) and isinstance(b, App) and a.fn == b.fn:
        pairs = list(zip(a.args, b.args))
    elif isinstance(a, Op) and isinstance(b, Op) and a.op == b.op and len(a.args) == len(b.args):
        pairs = list(zip(a.args, b.args))
    if pairs is None:
        raise TacticFailed("congr failed: the two sides do not have the same head")
    # congruence: equal arguments give equal applications (a sufficient condition)
    new = tuple(g.with_target(Rel("=", x, y)) for x, y in pairs if canon(x) != canon(y))
    return new + goals[1:]


def _bool_abstraction(p: Term, atoms: dict, z3):
    """A propositional skeleton of `p`: non-connective parts become boolean atoms."""
    from ..terms import Conn as C
    if isinstance(p, C):
        return z3_connective(p.op, [_bool_abstraction(a, atoms, z3) for a in p.args])
    key = repr(canon(p))
    if key not in atoms:
        atoms[key] = z3.Bool(f"p{len(atoms)}")
    return atoms[key]


@tactic("tauto", "itauto")
def t_tauto(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    """Propositional tautologies over the hypotheses, with every non-logical part an atom."""
    import z3
    g = goals[0]
    atoms: dict = {}
    facts = [_bool_abstraction(p, atoms, z3) for _, p in g.props()]
    s = z3.Solver()
    s.set("timeout", 2000)
    s.add(*facts, z3.Not(_bool_abstraction(g.target, atoms, z3)))
    if s.check() == z3.unsat:
        return goals[1:]
    raise TacticFailed("tauto failed to solve some goals.")


def induction_goals(g: Goal, name: str, succ_name: str | None, ih_name: str | None) -> tuple[Goal, Goal]:
    """Induction on a natural number; hypotheses that mention it become part of the motive."""
    from dataclasses import replace as dc_replace

    from ..goals import inaccessible, used_names
    from ..terms import Conn as C, Num as N, Op as O, Var as V, free_vars, substitute
    h = g.lookup(name)
    if h is None or not h.is_var or h.value != "ℕ":
        raise TacticFailed(f"induction: '{name}' is not a variable of type ℕ (the embedded kernel only does ℕ induction)")
    dep = [(n, p) for n, p in g.props() if name in free_vars(p)]
    base = dc_replace(g, hyps=tuple(x for x in g.hyps if x.name != name and not (not x.is_var and name in free_vars(x.value))))

    def at(value: Term, goal: Goal) -> Goal:
        for n, p in dep:
            goal = goal.add_hyp(n, substitute(p, name, value))
        return goal.with_target(substitute(g.target, name, value))

    zero = dc_replace(at(N(Fraction(0), "ℕ"), base), tag="zero")
    k = succ_name or inaccessible(name, used_names(g))
    succ = base.make_room(k).add_hyp(k, "ℕ", is_var=True)
    kv = V(k, "ℕ")
    motive = substitute(g.target, name, kv)
    for _, p in reversed(dep):
        motive = C("→", (substitute(p, name, kv), motive))
    succ = succ.add_hyp(ih_name or inaccessible("ih", used_names(succ)), motive)
    succ = dc_replace(at(O("+", (kv, N(Fraction(1), "ℕ")), "ℕ"), succ), tag="succ")
    return zero, succ


@tactic("induction", "induction'")
def t_induction(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    prime = ctx.src[:off].rstrip().endswith("induction'")
    m = re.match(r"\s*([^\s]+)\s*(?:with\b(.*))?$", args, re.S)
    if not m:
        raise TacticFailed("induction: expected a variable")
    name, rest = m.group(1), m.group(2)
    if prime or rest is None:
        names = rest.split() if rest else []
        zero, succ = induction_goals(g, name, names[0] if names else None, names[1] if len(names) > 1 else None)
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
    zero, succ = induction_goals(g, name, succ_names[0] if succ_names else None,
                                 succ_names[1] if len(succ_names) > 1 else None)
    from .engine import run_block
    from ..goals import pretty_goals
    for tag, _, start, end in spans:
        goal = zero if tag == "zero" else succ
        rest_goals = run_block(ctx, start, end, (goal,))
        if rest_goals:
            raise TacticFailed("unsolved goals\n" + pretty_goals(rest_goals), start)
    return goals[1:]


@tactic("contrapose", "contrapose!")
def t_contrapose(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    """`contrapose h`: from `h : P ⊢ Q` to `h : ¬Q ⊢ ¬P` (`!` pushes the negations)."""
    from ..terms import Conn as C
    from .logic import push_neg, require_hyp
    g = goals[0]
    bang = ctx.src[:off].rstrip().endswith("!")
    name = args.split()[0] if args.split() else None
    if name is None:
        t = g.target
        if not (isinstance(t, C) and t.op == "→"):
            raise TacticFailed("contrapose: the goal is not an implication")
        new = C("→", (C("¬", (t.args[1],)), C("¬", (t.args[0],))))
        return (g.with_target(push_neg(new) if bang else new),) + goals[1:]
    h = require_hyp(g, name)
    new_h, new_t = C("¬", (g.target,)), C("¬", (h.value,))
    if bang:
        new_h, new_t = push_neg(new_h), push_neg(new_t)
    return (g.replace_hyp(name, new_h).with_target(new_t),) + goals[1:]


@tactic("aesop")
def t_aesop(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    """A small, sound stand-in for Aesop's safe rules: intro, split ∧/↔ goals, destruct ∧/∃
    hypotheses, then simp_all; it succeeds only if every resulting goal is closed."""
    from ..terms import Conn as C, Quant as Q
    from .logic import destruct, intro_one
    from .simp import t_simp_all
    todo, depth = [goals[0]], 0
    while todo:
        depth += 1
        if depth > 64:
            raise TacticFailed("aesop: failed to prove the goal after exhaustive search.")
        g = todo.pop()
        t = g.target
        if isinstance(t, Q) and t.kind == "∀" or isinstance(t, C) and t.op in ("→", "¬"):
            todo.append(intro_one(g, None))
            continue
        if isinstance(t, C) and t.op in ("∧", "↔"):
            a, b = t.args if t.op == "∧" else (C("→", t.args), C("→", t.args[::-1]))
            todo += [g.with_target(a), g.with_target(b)]
            continue
        split = next(((n, p) for n, p in g.props()
                      if isinstance(p, C) and p.op == "∧" or isinstance(p, Q) and p.kind == "∃"), None)
        if split is not None:
            n, p = split
            todo += destruct(g.remove_hyp(n), p, "⟨_, _⟩" if isinstance(p, C) else "⟨_, _⟩")
            continue
        try:
            rest = t_simp_all(ctx, "", off, (g,))
        except KernelError:
            rest = (g,)
        if rest:
            raise TacticFailed("aesop: failed to prove the goal after exhaustive search.")
    return goals[1:]
