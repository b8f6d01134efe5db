"""Structural tactics: intro, constructor, exact, apply, refine, use, cases/rcases/obtain,
have, show, specialize, subst, exfalso, by_contra, push_neg, left/right, assumption, rfl."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from ..arith.evaluate import NotEvaluable, evaluate
from ..errors import ElabError, TacticFailed, Unsupported
from ..goals import Goal, inaccessible, used_names
from ..parser import parse_term
from ..pretty import pp
from ..proofterm import ProofTerms, Telescope
from ..terms import FALSE, NUMERIC, TRUE, Conn, Quant, Rel, Term, Var, free_vars, substitute
from ..unify import canon, instantiate, match, same_prop
from .engine import Goals, TacticContext, run_by_block, tactic
from .script import find_top_level

NAME_RE = re.compile(r"[^\s⟨⟩,|()\[\]:]+")


def proof_terms(ctx: TacticContext, goal: Goal, allow_holes: bool = False) -> ProofTerms:
    """ProofTerms whose nested `by` blocks run through the engine (errors recovered as in Lean)."""
    pt = ProofTerms(goal, allow_holes=allow_holes, env_lemmas=ctx.lemmas)

    def prove_by(offset: int, prop: Term, end: int | None = None) -> None:
        # offset points just after `by`; the block runs to `end` or to the end of the term text
        if end is None:
            end = getattr(pt, "_by_end", len(ctx.src))
        run_by_block(ctx, offset - 2, offset, end, goal.with_target(prop))

    pt.prove_by = prove_by
    return pt


def infer_term(ctx: TacticContext, goal: Goal, text: str, offset: int, expected: Term | None = None,
               allow_holes: bool = False) -> tuple[Term, list[Term]]:
    pt = proof_terms(ctx, goal, allow_holes)
    pt._by_end = offset + len(text)  # type: ignore[attr-defined]
    prop = pt.infer_text(text, offset, expected)
    return prop, pt.side_goals


# -- intro ---------------------------------------------------------------------------------
def intro_one(goal: Goal, name: str | None) -> Goal:
    t = goal.target
    if isinstance(t, Quant) and t.kind == "∀":
        n = name if name and name != "_" else inaccessible(t.var, used_names(goal))
        goal = goal.make_room(n)  # an old `n` becomes `n✝` everywhere before the new one exists
        t = goal.target
        body = t.body
        if n != t.var:
            body = substitute(body, t.var, Var(n, t.vty))
        return goal.add_hyp(n, t.vty, is_var=True).with_target(body)
    if isinstance(t, Conn) and t.op == "→":
        n = name if name and name != "_" else "a✝"
        return goal.add_hyp(n, t.args[0]).with_target(t.args[1])
    if isinstance(t, Conn) and t.op == "¬":
        n = name if name and name != "_" else "a✝"
        return goal.add_hyp(n, t.args[0]).with_target(FALSE)
    if isinstance(t, Rel) and t.op == "≠":
        n = name if name and name != "_" else "a✝"
        return goal.add_hyp(n, Rel("=", t.lhs, t.rhs)).with_target(FALSE)
    raise TacticFailed("no additional binders or let bindings in the goal to introduce")


@tactic("intro")
def t_intro(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    names = args.split()
    g = goals[0]
    if not names:
        return (intro_one(g, None),) + goals[1:]
    for n in names:
        if n.startswith("⟨"):
            raise Unsupported("intro with a pattern (use rintro)")
        g = intro_one(g, n)
    return (g,) + goals[1:]


@tactic("intros")
def t_intros(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    names = args.split()
    if names:
        for n in names:
            g = intro_one(g, n)
        return (g,) + goals[1:]
    while True:
        t = g.target
        if isinstance(t, Quant) and t.kind == "∀" or isinstance(t, Conn) and t.op == "→":
            g = intro_one(g, None)
        else:
            return (g,) + goals[1:]


@tactic("rintro")
def t_rintro(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    pats = split_patterns(args.strip())
    out = [goals[0]]
    for pat in pats:
        new = []
        for g in out:
            if pat.startswith("⟨") or pat.startswith("("):
                hname = g.fresh("h✝")
                g2 = intro_one(g, hname)
                new.extend(destruct(g2.remove_hyp(hname), g2.lookup(hname).value, pat))
            else:
                new.append(intro_one(g, pat))
        out = new
    return tuple(out) + goals[1:]


def _split_outside_brackets(text: str, is_separator: Callable[[str], bool]) -> list[str]:
    """The pieces of `text` between separator characters that stand outside ⟨⟩ () [] (the
    separators dropped; empty pieces kept)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "⟨([":
            depth += 1
        elif ch in "⟩)]":
            depth -= 1
        if is_separator(ch) and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def split_patterns(text: str) -> list[str]:
    """Whitespace-separated patterns (`intro ⟨a, b⟩ h`)."""
    return [p for p in _split_outside_brackets(text, str.isspace) if p]


# -- constructor / left / right / exfalso / use / refine / exact / apply ----------------------
@tactic("constructor")
def t_constructor(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    t = g.target
    if isinstance(t, Conn) and t.op == "∧":
        return (replace(g, target=t.args[0], tag="left"), replace(g, target=t.args[1], tag="right")) + goals[1:]
    if isinstance(t, Conn) and t.op == "↔":
        a, b = t.args
        return (replace(g, target=Conn("→", (a, b)), tag="mp"), replace(g, target=Conn("→", (b, a)), tag="mpr")) + goals[1:]
    if t == TRUE:
        return goals[1:]
    raise TacticFailed("tactic 'constructor' failed, target is not an inductive datatype with one constructor\n" + g.pretty())


@tactic("left", "right")
def t_left_right(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    t = g.target
    which = "left" if ctx.src[:off].rstrip().endswith("left") else "right"
    if isinstance(t, Conn) and t.op == "∨":
        return (replace(g, target=t.args[0 if which == "left" else 1], tag="h"),) + goals[1:]
    raise TacticFailed(f"{which}: the goal is not an inductive type with two constructors\n" + g.pretty())


@tactic("exfalso")
def t_exfalso(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    return (goals[0].with_target(FALSE),) + goals[1:]


@tactic("trivial")
def t_trivial(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    if g.target == TRUE or close_by_rfl(g) or find_assumption(g):
        return goals[1:]
    raise TacticFailed("trivial failed")


@tactic("use", "exists", "refine'")
def t_use(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    if ctx.src[:off].rstrip().endswith("refine'"):
        return t_refine(ctx, args, off, goals)
    parts = split_commas(args)
    for text, start in parts:
        t = g.target
        if not (isinstance(t, Quant) and t.kind == "∃"):
            if isinstance(t, Conn) and t.op == "∧":
                raise Unsupported("use on a conjunction")
            raise TacticFailed("use: the goal is not an existential\n" + g.pretty())
        witness = proof_terms(ctx, g).elaborator().elab(parse_term(text, off + start), t.vty)
        g = g.with_target(substitute(t.body, t.var, witness))
    # `use` then tries `rfl` (use_discharger): closes `a = a`, True, and trivial ∧ pieces
    remaining = discharge_trivial(g)
    return remaining + goals[1:]


def discharge_trivial(g: Goal) -> Goals:
    t = g.target
    if t == TRUE or close_by_rfl(g):
        return ()
    if isinstance(t, Conn) and t.op == "∧":
        left = discharge_trivial(g.with_target(t.args[0]))
        right = discharge_trivial(g.with_target(t.args[1]))
        if not left and not right:
            return ()
    return (g,)


def split_commas(text: str) -> list[tuple[str, int]]:
    out, depth, s = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append((text[s:i], s))
            s = i + 1
    out.append((text[s:], s))
    return [(t, s) for t, s in out if t.strip()]


@tactic("refine")
def t_refine(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    args_fixed = args.replace("?_", "_") if "?_" in args else args
    _, side = infer_term(ctx, g, args_fixed, off, expected=g.target, allow_holes=True)
    return tuple(g.with_target(s) for s in side) + goals[1:]


@tactic("exact")
def t_exact(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    text = args.strip()
    if text in ("rfl",):
        if close_by_rfl(g):
            return goals[1:]
        raise TacticFailed("The rfl tactic failed.\n" + g.pretty())
    if text == "trivial" and g.target == TRUE:
        return goals[1:]
    got, side = infer_term(ctx, g, args, off, expected=g.target)
    if not same_prop(got, g.target):
        raise TacticFailed(f"type mismatch\n  {text}\nhas type\n  {pp(got)} : Prop\nbut is expected to have type\n  {pp(g.target)} : Prop")
    return goals[1:]


@tactic("apply")
def t_apply(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    text = args.strip()
    if text in ("And.intro", "Iff.intro"):
        return t_constructor(ctx, "", off, goals)
    if text in ("Eq.refl", "rfl", "le_refl", "le_rfl", "Eq.refl _"):
        if close_by_rfl(g):
            return goals[1:]
        raise TacticFailed("The rfl tactic failed.\n" + g.pretty())
    pt = proof_terms(ctx, g)
    tel = pt.telescope(parse_term(text, off))
    options = tel.options if hasattr(tel, "options") else [tel]
    target = canon(g.target)
    for t in options:
        for k in range(len(t.binders) + 1):
            subst: dict[str, Term] = {}
            metas = set(t.metas) | {b.name for b in t.binders[:k] if b.kind != "hyp"}
            rest = Telescope(t.binders[k:], t.conclusion, metas)
            if match(canon(rest.to_prop()), target, metas, subst):
                new_goals = []
                for b in t.binders[:k]:
                    if b.kind == "hyp":
                        new_goals.append(g.with_target(instantiate(b.value, subst)))
                    elif b.name not in subst:
                        raise Unsupported("apply leaving a variable to be chosen (use `refine` / `use`)")
                for ng in new_goals:
                    if free_vars(ng.target) & metas - set(subst):
                        raise Unsupported("apply leaving a variable to be chosen")
                return tuple(new_goals) + goals[1:]
    raise TacticFailed(f"tactic 'apply' failed, could not unify the conclusion of `{text}`\nwith the goal\n{g.pretty()}")


# -- assumption / rfl ----------------------------------------------------------------------
def find_assumption(g: Goal) -> bool:
    target = canon(g.target)
    for _, p in g.props():
        cp = canon(p)
        if cp == target or cp == FALSE or same_prop(cp, target):
            return True
    return False


def close_by_rfl(g: Goal) -> bool:
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


@tactic("assumption")
def t_assumption(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    if find_assumption(goals[0]):
        return goals[1:]
    raise TacticFailed("tactic 'assumption' failed\n" + goals[0].pretty())


@tactic("rfl")
def t_rfl(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    if close_by_rfl(goals[0]):
        return goals[1:]
    raise TacticFailed("The rfl tactic failed. Possible reasons:\n- The goal is not a reflexive relation (neither `=` nor a relation with a @[refl] lemma).\n- The arguments of the relation are not equal.\nTry using the reflexivity lemma for your relation explicitly, e.g. `exact Eq.refl _` or\n`exact HEq.rfl` etc.\n" + goals[0].pretty())


# -- by_contra / push_neg ------------------------------------------------------------------
def push_neg(p: Term) -> Term:
    if isinstance(p, Conn) and p.op == "¬":
        q = p.args[0]
        if isinstance(q, Conn):
            if q.op == "¬":
                return push_neg(q.args[0])
            if q.op == "∧":
                return Conn("→", (push_neg(q.args[0]), push_neg(Conn("¬", (q.args[1],)))))
            if q.op == "∨":
                return Conn("∧", (push_neg(Conn("¬", (q.args[0],))), push_neg(Conn("¬", (q.args[1],)))))
            if q.op == "→":
                return Conn("∧", (push_neg(q.args[0]), push_neg(Conn("¬", (q.args[1],)))))
            if q.op == "True":
                return FALSE
            if q.op == "False":
                return TRUE
        if isinstance(q, Quant):
            return Quant("∃" if q.kind == "∀" else "∀", q.var, q.vty, push_neg(Conn("¬", (q.body,))))
        if isinstance(q, Rel) and q.lhs.ty in NUMERIC:
            flip = {"<": "≤", "≤": "<", ">": "≥", "≥": ">"}
            if q.op in ("<", "≤"):
                return Rel(flip[q.op], q.rhs, q.lhs)
            if q.op in (">", "≥"):
                return Rel({">": "≤", "≥": "<"}[q.op], q.lhs, q.rhs)
            if q.op == "=":
                return Rel("≠", q.lhs, q.rhs)
            if q.op == "≠":
                return Rel("=", q.lhs, q.rhs)
        return p
    if isinstance(p, Conn) and p.op in ("∧", "∨", "→", "↔"):
        return Conn(p.op, tuple(push_neg(a) for a in p.args))
    if isinstance(p, Quant):
        return Quant(p.kind, p.var, p.vty, push_neg(p.body))
    return p


@tactic("by_contra", "by_contra!", "by_contra'")
def t_by_contra(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    bang = ctx.src[:off].rstrip().endswith("!")
    name = args.strip().split(":")[0].strip() or "h"
    neg = Conn("¬", (g.target,))
    if bang:
        neg = push_neg(neg)
    return (g.add_hyp(name, neg).with_target(FALSE),) + goals[1:]


@tactic("push_neg")
def t_push_neg(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    locs = parse_at(args)
    changed = False
    if locs is None or "⊢" in locs:
        new = push_neg(g.target)
        changed |= new != g.target
        g = g.with_target(new)
    g, hyps_changed = rewrite_hyps(g, locs or [], lambda _, p: push_neg(p))
    if not (changed or hyps_changed):
        raise TacticFailed("push_neg made no progress")
    return (g,) + goals[1:]


def parse_at(args: str) -> list[str] | None:
    m = re.search(r"(?:^|\s)at\s+(.*)$", args, re.S)
    if not m:
        return None
    return m.group(1).split()


def require_hyp(g: Goal, name: str):
    h = g.lookup(name)
    if h is None or h.is_var:
        raise TacticFailed(f"unknown hypothesis '{name}'")
    return h


def rewrite_hyps(
    g: Goal, locations: list[str], rewrite: Callable[[Goal, Term], Term]
) -> tuple[Goal, bool]:
    """Each hypothesis named in an `at` clause replaced by `rewrite(goal so far, its
    statement)` (`⊢`, the target, is skipped: callers treat it themselves); also whether
    any hypothesis changed."""
    changed = False
    for name in locations:
        if name == "⊢":
            continue
        hyp = require_hyp(g, name)
        new = rewrite(g, hyp.value)
        changed |= new != hyp.value
        g = g.replace_hyp(name, new)
    return g, changed


# -- cases / rcases / obtain -----------------------------------------------------------------
def destruct(g: Goal, prop: Term, pat: str) -> list[Goal]:
    """rcases patterns: names, `_`, `-`, `⟨p, q, ...⟩` (∧ ∃ ↔), `p | q` (∨), `rfl`, `(p)`."""
    pat = pat.strip()
    if not isinstance(prop, Term) or prop.ty != "Prop":
        raise Unsupported("rcases patterns on a number (induction-style case analysis)")
    if pat.startswith("(") and pat.endswith(")"):
        return destruct(g, prop, pat[1:-1])
    alts = split_top(pat, "|")
    if len(alts) > 1:
        if not (isinstance(prop, Conn) and prop.op == "∨"):
            if len(alts) == 1:
                return destruct(g, prop, alts[0])
            raise TacticFailed("rcases: the hypothesis is not a disjunction")
        left = destruct(replace(g, tag="inl"), prop.args[0], alts[0])
        right = destruct(replace(g, tag="inr"), prop.args[1], "|".join(alts[1:]))
        return left + right
    if pat.startswith("⟨") and pat.endswith("⟩"):
        parts = split_top(pat[1:-1], ",")
        return destruct_tuple(g, prop, parts)
    if pat == "-":
        return [g]
    if pat == "rfl":
        return subst_eq(g, prop)
    name = pat if pat not in ("_", "") else inaccessible("h", used_names(g))
    if isinstance(prop, Conn) and prop.op == "False":
        return []
    return [g.add_hyp(name, prop)]


def destruct_tuple(g: Goal, prop: Term, parts: list[str]) -> list[Goal]:
    if len(parts) == 1:
        return destruct(g, prop, parts[0])
    if isinstance(prop, Conn) and prop.op in ("∧", "↔"):
        a, b = prop.args
        if prop.op == "↔":
            a, b = Conn("→", (a, b)), Conn("→", (b, a))
        out = []
        for g1 in destruct(g, a, parts[0]):
            out.extend(destruct_tuple(g1, b, parts[1:]))
        return out
    if isinstance(prop, Quant) and prop.kind == "∃":
        name = parts[0].strip()
        if name in ("_", "-", ""):
            name = inaccessible(prop.var, used_names(g) | free_vars(prop))
        if not re.fullmatch(r"[^\s⟨⟩|,]+", name):
            raise Unsupported("a pattern for the witness of ∃")
        # the hypothesis being destructured may mention an old variable called `name`
        holder = g.add_hyp("⟪destruct⟫", prop).make_room(name)
        prop = holder.lookup("⟪destruct⟫").value
        g = holder.remove_hyp("⟪destruct⟫")
        body = substitute(prop.body, prop.var, Var(name, prop.vty)) if name != prop.var else prop.body
        g1 = g.add_hyp(name, prop.vty, is_var=True)
        return destruct_tuple(g1, body, parts[1:])
    if isinstance(prop, Conn) and prop.op == "∨":
        raise TacticFailed("rcases: use `p | q` patterns for a disjunction")
    raise TacticFailed(f"rcases: cannot destructure\n  {pp(prop)}")


def split_top(text: str, sep: str) -> list[str]:
    """The stripped pieces between top-level `sep` characters (empty pieces kept)."""
    return [p.strip() for p in _split_outside_brackets(text, sep.__eq__)]


def subst_eq(g: Goal, eq: Term) -> list[Goal]:
    if not (isinstance(eq, Rel) and eq.op == "="):
        raise TacticFailed("subst: the hypothesis is not an equation")
    for var_side, other in ((eq.rhs, eq.lhs), (eq.lhs, eq.rhs)):
        if isinstance(var_side, Var) and var_side.name not in free_vars(other):
            return [substitute_everywhere(g, var_side.name, other)]
    raise TacticFailed(f"subst failed: neither side of\n  {pp(eq)}\nis a free variable")


def substitute_everywhere(g: Goal, name: str, value: Term) -> Goal:
    hyps = []
    for h in g.hyps:
        if h.is_var and h.name == name:
            continue
        if not h.is_var:
            h = replace(h, value=substitute(h.value, name, value))
        hyps.append(h)
    return replace(g, hyps=tuple(hyps), target=substitute(g.target, name, value))


@tactic("rcases", "cases'", "cases", "obtain")
def t_rcases(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    head = ctx.src[:off].rstrip().split()[-1]
    if head == "obtain":
        assign = find_top_level(args, 0, len(args), ":=")
        colon = find_top_level(args, 0, assign if assign >= 0 else len(args), ":")
        pat = args[: colon if colon >= 0 else assign].strip() if (colon >= 0 or assign >= 0) else args.strip()
        if colon >= 0:
            prop = proof_terms(ctx, g).prop_of_text(args[colon + 1 : assign if assign >= 0 else len(args)], off + colon + 1)
            if assign < 0:
                return (g.with_target(prop),) + tuple(destruct(g, prop, pat)) + goals[1:]
            infer_term(ctx, g, args[assign + 2:], off + assign + 2, expected=prop)
        else:
            if assign < 0:
                raise TacticFailed("obtain: expected `:=`")
            prop, _ = infer_term(ctx, g, args[assign + 2:], off + assign + 2)
        term_text = args[assign + 2:].strip()
        g = g.remove_hyp(term_text) if g.lookup(term_text) is not None and not g.lookup(term_text).is_var else g
        return tuple(destruct(g, prop, pat)) + goals[1:]
    m = re.match(r"\s*(.*?)\s+with\s+(.*)$", args, re.S)
    if head == "cases" and m is None:
        target = args.strip()
        prop, _ = infer_term(ctx, g, target, off)
        g2 = g.remove_hyp(target) if g.lookup(target) else g
        return tuple(destruct_auto(g2, prop)) + goals[1:]
    if m is None:
        target, pat = args.strip(), None
    else:
        target, pat = m.group(1), m.group(2).strip()
    if head == "cases" and pat is not None:
        raise Unsupported("`cases h with | inl h => ...` structured cases (use rcases / cases')")
    prop, _ = infer_term(ctx, g, target, off)
    g2 = g.remove_hyp(target.strip()) if g.lookup(target.strip()) and not g.lookup(target.strip()).is_var else g
    if pat is None:
        return tuple(destruct_auto(g2, prop)) + goals[1:]
    if head == "cases'":
        names = pat.split()
        if isinstance(prop, Conn) and prop.op == "∨":
            pat = " | ".join(names[:2]) if len(names) >= 2 else names[0] + " | h✝"
        else:
            pat = "⟨" + ", ".join(names) + "⟩"
    return tuple(destruct(g2, prop, pat)) + goals[1:]


def destruct_auto(g: Goal, prop: Term) -> list[Goal]:
    if isinstance(prop, Conn) and prop.op == "∨":
        return destruct(g, prop, "h | h")
    if isinstance(prop, Conn) and prop.op == "∧":
        return destruct(g, prop, "⟨left, right⟩")
    if isinstance(prop, Quant) and prop.kind == "∃":
        return destruct(g, prop, "⟨w, h⟩")
    raise TacticFailed(f"cases: cannot case on\n  {pp(prop)}")


# -- have / show / specialize / subst / clear ------------------------------------------------
@tactic("have", "haveI", "replace")
def t_have(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    head = ctx.src[:off].rstrip().split()[-1]
    assign = find_top_level(args, 0, len(args), ":=")
    decl = args[: assign if assign >= 0 else len(args)]
    colon = find_top_level(decl, 0, len(decl), ":")
    name_part = (decl[:colon] if colon >= 0 else decl).strip() or "this"
    if name_part.startswith("⟨"):
        pattern = name_part
        name = None
    else:
        pattern = None
        if " " in name_part or "(" in name_part:
            raise Unsupported("have with binders")
        name = name_part
    prop: Term | None = None
    if colon >= 0:
        prop = proof_terms(ctx, g).prop_of_text(decl[colon + 1 :], off + colon + 1)
    if assign < 0:
        if prop is None:
            raise TacticFailed("have: expected a type or a value")
        # `have h : P` — the new goal for P comes first
        return (g.with_target(prop), g.add_hyp(name or "this", prop)) + goals[1:]
    value = args[assign + 2 :]
    vstart = off + assign + 2
    stripped = value.lstrip()
    if stripped.startswith("by") and (len(stripped) == 2 or stripped[2].isspace()):
        if prop is None:
            raise TacticFailed("have: a `by` block needs a type (`have h : P := by ...`)")
        by_pos = vstart + (len(value) - len(stripped))
        run_by_block(ctx, by_pos, by_pos + 2, off + len(args), g.with_target(prop))
    else:
        try:
            got, side = infer_term(ctx, g, value, vstart, expected=prop)
        except (ElabError, Unsupported) as e:
            raise TacticFailed(e.message) from e
        if prop is None:
            prop = got
    if head == "replace" and name and g.lookup(name):
        g = g.remove_hyp(name)
    if pattern is not None:
        return tuple(destruct(g, prop, pattern)) + goals[1:]
    return (g.add_hyp(name, prop),) + goals[1:]


@tactic("show")
def t_show(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    text = args
    frm = find_top_level(args, 0, len(args), " from ")
    if frm >= 0:
        text = args[:frm]
    for i, g in enumerate(goals):
        prop = proof_terms(ctx, g).prop_of_text(text, off)
        if same_up_to_numerals(prop, g.target):
            g2 = g.with_target(prop)
            rest = goals[:i] + goals[i + 1 :]
            if frm >= 0:
                return t_exact(ctx, args[frm + 6 :], off + frm + 6, (g2,) + rest)
            return (g2,) + rest
    raise TacticFailed(f"type mismatch\n  {text.strip()}\nis not the goal\n" + goals[0].pretty())


def same_up_to_numerals(a: Term, b: Term) -> bool:
    """`show` accepts a definitionally equal target; we accept syntactic equality up to notation
    and closed numeral arithmetic that evaluates identically (e.g. `2 * 3` vs `6` is NOT
    accepted: Lean would need unfolding that we do not model)."""
    return canon(a) == canon(b)


@tactic("specialize")
def t_specialize(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    text = args.strip()
    name = text.split()[0]
    require_hyp(g, name)  # an unknown hypothesis fails here, with its name
    prop, side = infer_term(ctx, g, text, off + args.find(text), allow_holes=True)
    g2 = g.replace_hyp(name, prop)
    return tuple(g.with_target(s) for s in side) + (g2,) + goals[1:]


@tactic("subst")
def t_subst(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    for name in args.split():
        h = g.lookup(name)
        if h is None:
            raise TacticFailed(f"unknown identifier '{name}'")
        if h.is_var:
            eq = next(((n, p) for n, p in reversed(g.props()) if isinstance(p, Rel) and p.op == "="
                       and (p.lhs == Var(name, h.value) or p.rhs == Var(name, h.value))), None)
            if eq is None:
                raise TacticFailed(f"subst: no equation for {name}")
            hname, prop = eq
        else:
            hname, prop = name, h.value
        # Lean's `subst h` with h : a = b replaces b by a if b is a variable, else a by b
        if not (isinstance(prop, Rel) and prop.op == "="):
            raise TacticFailed("subst: the hypothesis is not an equation")
        g = g.remove_hyp(hname)
        if isinstance(prop.rhs, Var) and prop.rhs.name not in free_vars(prop.lhs) and g.lookup(prop.rhs.name) is not None:
            g = substitute_everywhere(g, prop.rhs.name, prop.lhs)
        elif isinstance(prop.lhs, Var) and prop.lhs.name not in free_vars(prop.rhs) and g.lookup(prop.lhs.name) is not None:
            g = substitute_everywhere(g, prop.lhs.name, prop.rhs)
        else:
            raise TacticFailed(f"subst failed: neither side of\n  {pp(prop)}\nis a free variable")
    return (g,) + goals[1:]


@tactic("clear")
def t_clear(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    for name in args.split():
        if g.lookup(name) is None:
            raise TacticFailed(f"unknown hypothesis '{name}'")
        g = g.remove_hyp(name)
    return (g,) + goals[1:]


@tactic("rename_i")
def t_rename_i(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    names = args.split()
    inacc = [h for h in g.hyps if "✝" in h.name]
    targets = inacc[-len(names):] if names else []
    for h, n in zip(targets, names):
        if n == "_":
            continue
        if h.is_var:
            g = g.rename_var(h.name, n)  # occurrences in terms follow the variable
        else:
            g = replace(g, hyps=tuple(replace(x, name=n) if x is h else x for x in g.hyps))
    return (g,) + goals[1:]


@tactic("by_cases")
def t_by_cases(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    colon = find_top_level(args, 0, len(args), ":")
    name = args[:colon].strip() if colon >= 0 else "h"
    prop_text = args[colon + 1:] if colon >= 0 else args
    prop = proof_terms(ctx, g).prop_of_text(prop_text, off + (colon + 1 if colon >= 0 else 0))
    # excluded middle: the goal holds if it holds under P and under ¬P
    return (replace(g.add_hyp(name, prop), tag="pos"), replace(g.add_hyp(name, Conn("¬", (prop,))), tag="neg")) + goals[1:]


@tactic("revert")
def t_revert(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    for name in reversed(args.split()):
        h = g.lookup(name)
        if h is None:
            raise TacticFailed(f"unknown identifier '{name}'")
        if h.is_var:
            if any(name in free_vars(p) for n, p in g.props()):
                raise Unsupported("revert of a variable that hypotheses mention (revert them first)")
            g = g.remove_hyp(name).with_target(Quant("∀", name, h.value, g.target))
        else:
            g = g.remove_hyp(name).with_target(Conn("→", (h.value, g.target)))
    return (g,) + goals[1:]
