"""Structural tactics: intro, constructor, exact, apply, refine, use, cases/rcases/obtain,
have, show, specialize, subst, exfalso, by_contra, push_neg, left/right, assumption, rfl.

Untrusted: every change of a goal goes through `ctx.apply` (a rule of the trusted core); a
proof term is compiled into core steps by proofterm.ProofTerms."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from .. import bridge
from ..bridge import core_term, fresh_uid, hyp_uid
from ..core import term as C
from ..errors import ElabError, TacticFailed, Unsupported
from ..goals import Goal
from ..parser import parse_term
from ..pretty import pp
from ..proofterm import ProofTerms, Telescope, close_by_rfl, rfl_holds  # noqa: F401  (re-exported)
from ..terms import FALSE, NUMERIC, TRUE, Conn, Quant, Rel, Term, free_vars
from ..unify import canon, instantiate, match
from .engine import Goals, TacticContext, run_by_block, tactic
from .script import find_top_level


def proof_terms(ctx: TacticContext, goal: Goal, allow_holes: bool = False) -> ProofTerms:
    """ProofTerms for `goal`: compiles into core steps through `ctx`; nested `by` blocks run
    through the engine (errors recovered as in Lean)."""

    def prove_by(g: Goal, by_pos: int, start: int, end: int) -> None:
        run_by_block(ctx, by_pos, start, end, g)

    return ProofTerms(goal, prove_by, allow_holes, ctx.lemmas, ctx)


def infer_term(ctx: TacticContext, goal: Goal, text: str, offset: int, expected: Term | None = None,
               allow_holes: bool = False) -> tuple[Term, list[Term]]:
    """UNTRUSTED inference only: the statement the term would prove (its `by` blocks are not
    run, nothing is proved). Use close_term / term_hyp to use a term in a proof."""
    pt = ProofTerms(goal, None, allow_holes, ctx.lemmas)
    prop = pt.infer_text(text, offset, expected)
    return prop, pt.side_goals


def _is_by(text: str) -> bool:
    s = text.strip()
    return s.startswith("by") and (len(s) == 2 or s[2].isspace())


def close_term(ctx: TacticContext, goal: Goal, text: str, offset: int, allow_holes: bool = False) -> Goals:
    """Close the core goal `goal` with the proof term `text` (its target is the expected
    type); returns the goals of its `?_` holes, in order."""
    pt = proof_terms(ctx, goal, allow_holes)
    if _is_by(text):
        by_pos = offset + text.find("by")
        run_by_block(ctx, by_pos, by_pos + 2, offset + len(text.rstrip()), pt.admit_safe(goal))
        return ()
    pt.close(goal, parse_term(text, offset))
    return tuple(pt.side)


def term_hyp(ctx: TacticContext, goal: Goal, text: str, offset: int, name: str = "this",
             expected: Term | None = None) -> tuple[Goal, int, Term]:
    """`goal` extended by a hypothesis `name` (last in the context) proving the term `text`
    (of type `expected` when given). Returns the new goal, the hypothesis' uid and statement."""
    if expected is not None or _is_by(text):
        if expected is None:
            raise ElabError("cannot infer the statement of a `by` block: add a type ascription", offset)
        uid = fresh_uid()
        side, rest = ctx.apply(goal, "cut", core_term(goal, expected), name, uid)
        close_term(ctx, side, text, offset)
        return rest, uid, expected
    pt = proof_terms(ctx, goal)
    g, uid, prop = pt.forward(goal, parse_term(text, offset))
    if uid not in pt.temps:  # an existing hypothesis: a copy named `name`
        new = fresh_uid()
        side, g = ctx.apply(g, "cut", bridge.sequent(g).hyp(uid), name, new)
        ctx.apply(side, "hyp", uid)
        return pt.finish_hyp(g, new, name), new, prop
    return pt.finish_hyp(g, uid, name), uid, prop


# -- intro ---------------------------------------------------------------------------------
def intro_one(ctx: TacticContext, goal: Goal, name: str | None) -> Goal:
    t = goal.target
    if isinstance(t, Quant) and t.kind == "∀":
        n = name if name and name != "_" else t.var + "✝"
    elif isinstance(t, Conn) and t.op in ("→", "¬") or isinstance(t, Rel) and t.op == "≠":
        n = name if name and name != "_" else "a✝"
    else:
        raise TacticFailed("no additional binders or let bindings in the goal to introduce")
    (out,) = ctx.apply(goal, "intro", n, fresh_uid())
    return out


@tactic("intro")
def t_intro(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    names = args.split()
    g = goals[0]
    if not names:
        return (intro_one(ctx, g, None),) + goals[1:]
    for n in names:
        if n.startswith("⟨") or n.startswith("("):
            raise Unsupported("intro with a pattern (use rintro)")
        g = intro_one(ctx, g, n)
    return (g,) + goals[1:]


@tactic("intros")
def t_intros(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    names = args.split()
    if names:
        for n in names:
            g = intro_one(ctx, g, n)
        return (g,) + goals[1:]
    while True:
        t = g.target
        if isinstance(t, Quant) and t.kind == "∀" or isinstance(t, Conn) and t.op == "→":
            g = intro_one(ctx, g, None)
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
                t = g.target
                if isinstance(t, Quant):
                    raise Unsupported("rintro patterns on a variable")
                uid = fresh_uid()
                if not (isinstance(t, Conn) and t.op in ("→", "¬") or isinstance(t, Rel) and t.op == "≠"):
                    raise TacticFailed("no additional binders or let bindings in the goal to introduce")
                (g2,) = ctx.apply(g, "intro", _temp(uid), uid)
                new.extend(destruct(ctx, g2, uid, pat))
            else:
                new.append(intro_one(ctx, g, pat))
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
        a, b = ctx.apply(g, "and_intro")
        return (replace(a, tag="left"), replace(b, tag="right")) + goals[1:]
    if isinstance(t, Conn) and t.op == "↔":
        a, b = ctx.apply(g, "iff_intro")
        return (replace(a, tag="mp"), replace(b, tag="mpr")) + goals[1:]
    if t == TRUE:
        return ctx.apply(g, "true_intro") + goals[1:]
    raise TacticFailed("tactic 'constructor' failed, target is not an inductive datatype with one constructor\n" + g.pretty())


@tactic("left", "right")
def t_left_right(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    t = g.target
    which = "left" if ctx.src[:off].rstrip().endswith("left") else "right"
    if isinstance(t, Conn) and t.op == "∨":
        (out,) = ctx.apply(g, "or_inl" if which == "left" else "or_inr")
        return (replace(out, tag="h"),) + goals[1:]
    raise TacticFailed(f"{which}: the goal is not an inductive type with two constructors\n" + g.pretty())


@tactic("exfalso")
def t_exfalso(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    return ctx.apply(goals[0], "exfalso") + goals[1:]


@tactic("trivial")
def t_trivial(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    if g.target == TRUE:
        return ctx.apply(g, "true_intro") + goals[1:]
    if close_by_rfl(ctx, g) or find_assumption(ctx, g):
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
        (g,) = ctx.apply(g, "exists_intro", core_term(g, witness))
    # `use` then tries `rfl` (use_discharger): closes `a = a`, True, and trivial ∧ pieces
    return discharge_trivial(ctx, g) + goals[1:]


def discharge_trivial(ctx: TacticContext, g: Goal) -> Goals:
    t = g.target
    sp = ctx.savepoint()
    try:
        if t == TRUE:
            return ctx.apply(g, "true_intro")
    except TacticFailed:
        ctx.rollback(sp)
        return (g,)
    if close_by_rfl(ctx, g):
        return ()
    if isinstance(t, Conn) and t.op == "∧":
        a, b = ctx.apply(g, "and_intro")
        if not discharge_trivial(ctx, a) and not discharge_trivial(ctx, b):
            return ()
        ctx.rollback(sp)
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
    return close_term(ctx, goals[0], args, off, allow_holes=True) + goals[1:]


@tactic("exact")
def t_exact(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    text = args.strip()
    if text in ("rfl",) and not g.lookup("rfl"):
        if close_by_rfl(ctx, g):
            return goals[1:]
        raise TacticFailed("The rfl tactic failed.\n" + g.pretty())
    rest = close_term(ctx, g, args, off)
    return rest + goals[1:]


@tactic("apply")
def t_apply(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    text = args.strip()
    if text in ("And.intro", "Iff.intro"):
        return t_constructor(ctx, "", off, goals)
    if text in ("Eq.refl", "rfl", "le_refl", "le_rfl", "Eq.refl _"):
        if close_by_rfl(ctx, g):
            return goals[1:]
        raise TacticFailed("The rfl tactic failed.\n" + g.pretty())
    pt = proof_terms(ctx, g, allow_holes=True)
    tel = pt.telescope(parse_term(text, off))
    options = tel.options if hasattr(tel, "options") else [tel]
    target = canon(g.target)
    for t in options:
        for k in range(len(t.binders) + 1):
            subst: dict[str, Term] = dict(t.subst)
            metas = set(t.metas) | {b.name for b in t.binders[:k] if b.kind in ("explicit", "implicit")}
            rest = Telescope(t.binders[k:], t.conclusion, metas)
            if not match(canon(rest.to_prop()), target, metas, subst):
                continue
            for b in t.binders[:k]:
                if b.kind in ("explicit", "implicit") and b.name not in subst:
                    raise Unsupported("apply leaving a variable to be chosen (use `refine` / `use`)")
            for b in t.binders[:k]:
                if b.kind == "hyp" and free_vars(instantiate(b.value, subst)) & metas - set(subst):
                    raise Unsupported("apply leaving a variable to be chosen")
            pt.subst.update(subst)
            consumed = pt.consume(t, k, subst)
            g2, uid = consumed.realize(g)
            ctx.apply(g2, "hyp", uid)
            return tuple(pt.side) + goals[1:]
    raise TacticFailed(f"tactic 'apply' failed, could not unify the conclusion of `{text}`\nwith the goal\n{g.pretty()}")


# -- assumption / rfl ----------------------------------------------------------------------
def find_assumption(ctx: TacticContext, g: Goal) -> bool:
    """Close `g` with a hypothesis that is the goal (up to notation) or False; True if done."""
    for name, _ in reversed(g.props()):
        for rule in ("hyp", "false_elim"):
            sp = ctx.savepoint()
            try:
                ctx.apply(g, rule, hyp_uid(g, name))
                return True
            except TacticFailed:
                ctx.rollback(sp)
    return False


@tactic("assumption")
def t_assumption(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    if find_assumption(ctx, goals[0]):
        return goals[1:]
    raise TacticFailed("tactic 'assumption' failed\n" + goals[0].pretty())


@tactic("rfl")
def t_rfl(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    if close_by_rfl(ctx, goals[0]):
        return goals[1:]
    raise TacticFailed("The rfl tactic failed. Possible reasons:\n- The goal is not a reflexive relation (neither `=` nor a relation with a @[refl] lemma).\n- The arguments of the relation are not equal.\nTry using the reflexivity lemma for your relation explicitly, e.g. `exact Eq.refl _` or\n`exact HEq.rfl` etc.\n" + goals[0].pretty())


# -- by_contra / push_neg ------------------------------------------------------------------
def push_neg(p: Term) -> Term:
    """UNTRUSTED: the form Mathlib's push_neg gives (the core's `normalize` checks the step)."""
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


def normalize_target(ctx: TacticContext, g: Goal, new: Term) -> Goal:
    """The target replaced by the equivalent `new` (core `normalize`)."""
    if new == g.target:
        return g
    (out,) = ctx.apply(g, "normalize", core_term(g, new))
    return out


def normalize_hyp(ctx: TacticContext, g: Goal, name: str, new: Term, new_name: str | None = None) -> Goal:
    """Hypothesis `name` replaced by the equivalent `new` (core `normalize_hyp`; it moves last)."""
    h = require_hyp(g, name)
    if new == h.value and new_name in (None, name):
        return g
    (out,) = ctx.apply(g, "normalize_hyp", hyp_uid(g, name), core_term(g, new), new_name or name, fresh_uid())
    return out


@tactic("by_contra", "by_contra!", "by_contra'")
def t_by_contra(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    bang = ctx.src[:off].rstrip().endswith("!")
    colon = find_top_level(args, 0, len(args), ":")
    name = (args[:colon] if colon >= 0 else args).strip() or ("this" if bang else "x✝")
    if name == "_":
        name = "x✝"
    t = g.target
    if not bang and colon < 0:
        if isinstance(t, Conn) and t.op == "¬":  # `¬q`: h : q (Batteries' by_contra)
            (out,) = ctx.apply(g, "intro", name, fresh_uid())
            return (out,) + goals[1:]
        (out,) = ctx.apply(g, "by_contra", name, fresh_uid())
        return (out,) + goals[1:]
    uid = fresh_uid()
    (out,) = ctx.apply(g, "by_contra", name, uid)
    if colon >= 0:
        new = proof_terms(ctx, g).prop_of_text(args[colon + 1:], off + colon + 1)
    else:
        new = push_neg(Conn("¬", (t,)))
    shown = bridge.display_names(bridge.sequent(out))[uid]
    return (normalize_hyp(ctx, out, shown, new, name),) + goals[1:]


@tactic("push_neg")
def t_push_neg(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    locs = parse_at(args)
    changed = False
    if locs is None or "⊢" in locs:
        new = push_neg(g.target)
        changed |= new != g.target
        g = normalize_target(ctx, g, new)
    for name in locs or []:
        if name == "⊢":
            continue
        h = require_hyp(g, name)
        new = push_neg(h.value)
        changed |= new != h.value
        g = normalize_hyp(ctx, g, name, new)
    if not changed:
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


# -- cases / rcases / obtain -----------------------------------------------------------------
def _temp(uid: int) -> str:
    return f"_rc{uid}✝"


PLAIN_NAME = re.compile(r"[^\s⟨⟩|,()\-]+|[^\s⟨⟩|,()\-][^\s⟨⟩|,()]*")


def _plain(pat: str) -> bool:
    return bool(PLAIN_NAME.fullmatch(pat)) and pat not in ("_", "-", "rfl")


def _hyp_view(g: Goal, uid: int) -> tuple[str, "Term | str", bool]:
    """The displayed name and statement (or type) of local `uid` in `g`."""
    shown = bridge.display_names(bridge.sequent(g))[uid]
    h = g.lookup(shown)
    return shown, h.value, h.is_var


def _clear(ctx: TacticContext, g: Goal, uid: int) -> Goal:
    (out,) = ctx.apply(g, "clear", uid)
    return out


def destruct(ctx: TacticContext, g: Goal, uid: int, pat: str, default: str = "h✝") -> list[Goal]:
    """rcases patterns on hypothesis `uid` of `g` (consumed): names, `_`, `-`, `⟨p, q, ...⟩`
    (∧ ∃ ↔), `p | q` (∨), `rfl`, `(p)`."""
    pat = pat.strip()
    shown, prop, is_var = _hyp_view(g, uid)
    if is_var:
        raise Unsupported("rcases patterns on a number (induction-style case analysis)")
    if pat.startswith("(") and pat.endswith(")"):
        return destruct(ctx, g, uid, pat[1:-1], default)
    alts = split_top(pat, "|")
    if len(alts) > 1:
        if not (isinstance(prop, Conn) and prop.op == "∨"):
            raise TacticFailed("rcases: the hypothesis is not a disjunction")
        u1, u2 = fresh_uid(), fresh_uid()
        rest = "|".join(alts[1:])
        n1 = alts[0] if _plain(alts[0]) else _temp(u1)
        n2 = rest.strip() if _plain(rest.strip()) else _temp(u2)
        a, b = ctx.apply(g, "or_elim", uid, n1, u1, n2, u2)
        a, b = replace(_clear(ctx, a, uid), tag="inl"), replace(_clear(ctx, b, uid), tag="inr")
        return destruct(ctx, a, u1, alts[0]) + destruct(ctx, b, u2, rest)
    if pat.startswith("⟨") and pat.endswith("⟩"):
        parts = split_top(pat[1:-1], ",")
        return destruct_tuple(ctx, g, uid, parts, default)
    if pat == "-":
        return [_clear(ctx, g, uid)]
    if pat == "rfl":
        return [subst_uid(ctx, g, uid)]
    if isinstance(prop, Conn) and prop.op == "False":
        ctx.apply(g, "false_elim", uid)
        return []
    name = pat if pat not in ("_", "") else default
    if bridge.sequent(g).get(uid).name != name:
        (g,) = ctx.apply(g, "rename", uid, name)
    return [g]


def destruct_tuple(ctx: TacticContext, g: Goal, uid: int, parts: list[str], default: str = "h✝") -> list[Goal]:
    if len(parts) == 1:
        return destruct(ctx, g, uid, parts[0], default)
    _, prop, _ = _hyp_view(g, uid)
    if isinstance(prop, Conn) and prop.op in ("∧", "↔"):
        u1, u2 = fresh_uid(), fresh_uid()
        rest = parts[1:]
        n1 = parts[0] if _plain(parts[0]) else _temp(u1)
        n2 = rest[0] if len(rest) == 1 and _plain(rest[0]) else _temp(u2)
        (g,) = ctx.apply(g, "and_elim" if prop.op == "∧" else "iff_elim", uid, n1, u1, n2, u2)
        g = _clear(ctx, g, uid)
        d1, d2 = ("left✝", "right✝") if prop.op == "∧" else ("mp✝", "mpr✝")
        out = []
        for g1 in destruct(ctx, g, u1, parts[0], d1):
            out.extend(destruct_tuple(ctx, g1, u2, rest, d2))
        return out
    if isinstance(prop, Quant) and prop.kind == "∃":
        name = parts[0].strip()
        if name in ("_", "-", ""):
            name = "w✝"
        if not _plain(name):
            raise Unsupported("a pattern for the witness of ∃")
        vu, hu = fresh_uid(), fresh_uid()
        rest = parts[1:]
        hn = rest[0] if len(rest) == 1 and _plain(rest[0]) else _temp(hu)
        (g,) = ctx.apply(g, "exists_elim", uid, name, vu, hn, hu)
        g = _clear(ctx, g, uid)
        return destruct_tuple(ctx, g, hu, rest, "h✝")
    if isinstance(prop, Conn) and prop.op == "∨":
        raise TacticFailed("rcases: use `p | q` patterns for a disjunction")
    raise TacticFailed(f"rcases: cannot destructure\n  {pp(prop)}")


def split_top(text: str, sep: str) -> list[str]:
    """The stripped pieces between top-level `sep` characters (empty pieces kept)."""
    return [p.strip() for p in _split_outside_brackets(text, sep.__eq__)]


def _eligible(seq, t: C.Term, other: C.Term) -> bool:
    return isinstance(t, C.FVar) and seq.get(t.uid).is_var and t.uid not in C.fvars(other)


def subst_uid(ctx: TacticContext, g: Goal, uid: int, var: int | None = None) -> Goal:
    """Lean's `subst h` (h : a = b): b := a when b is a variable, else a := b (or eliminate
    the variable `var`). The core's `subst` eliminates the left side when it can, so the
    equation is turned first when needed (cut + symm)."""
    seq = bridge.sequent(g)
    e = seq.hyp(uid)
    if not (isinstance(e, C.Rel) and e.op == "="):
        raise TacticFailed("subst: the hypothesis is not an equation")
    lhs_ok, rhs_ok = _eligible(seq, e.lhs, e.rhs), _eligible(seq, e.rhs, e.lhs)
    want_rhs = rhs_ok if var is None else (rhs_ok and e.rhs.uid == var)
    if var is not None and not want_rhs and not (lhs_ok and e.lhs.uid == var):
        raise TacticFailed(f"subst failed: neither side of\n  {pp(_hyp_view(g, uid)[1])}\nis a free variable")
    if not (lhs_ok or rhs_ok):
        raise TacticFailed(f"subst failed: neither side of\n  {pp(_hyp_view(g, uid)[1])}\nis a free variable")
    if want_rhs and lhs_ok:  # flip, so that the core eliminates the right side
        new = fresh_uid()
        side, g = ctx.apply(g, "cut", C.Rel("=", e.rhs, e.lhs), _temp(new), new)
        (side,) = ctx.apply(side, "symm")
        ctx.apply(side, "hyp", uid)
        g = _clear(ctx, g, uid)
        uid = new
    (out,) = ctx.apply(g, "subst", uid)
    return out


def _source(ctx: TacticContext, g: Goal, text: str, offset: int) -> tuple[Goal, int]:
    """The hypothesis that `rcases`/`obtain` destructs: a local one itself (it is consumed),
    else the term's statement as a new hypothesis."""
    name = text.strip()
    h = g.lookup(name)
    if h is not None and not h.is_var:
        return g, hyp_uid(g, name)
    if h is not None:
        raise Unsupported("rcases patterns on a number (induction-style case analysis)")
    pt = proof_terms(ctx, g)
    g2, uid, _ = pt.forward(g, parse_term(text, offset))
    if uid not in pt.temps:
        return g2, uid
    return pt.finish_hyp(g2, uid, None), uid


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
            uid = fresh_uid()
            side, rest = ctx.apply(g, "cut", core_term(g, prop), _temp(uid), uid)
            if assign < 0:
                return (side,) + tuple(destruct(ctx, rest, uid, pat)) + goals[1:]
            _close_value(ctx, side, args[assign + 2:], off + assign + 2)
            return tuple(destruct(ctx, rest, uid, pat)) + goals[1:]
        if assign < 0:
            raise TacticFailed("obtain: expected `:=`")
        g2, uid = _source(ctx, g, args[assign + 2:], off + assign + 2)
        return tuple(destruct(ctx, g2, uid, pat)) + goals[1:]
    m = re.match(r"\s*(.*?)\s+with\s+(.*)$", args, re.S)
    if m is None:
        target, pat = args, None
    else:
        target, pat = m.group(1), m.group(2).strip()
    if head == "cases" and pat is not None:
        raise Unsupported("`cases h with | inl h => ...` structured cases (use rcases / cases')")
    tstart = off + (args.find(target) if target else 0)
    g2, uid = _source(ctx, g, target, tstart)
    if pat is None:
        return tuple(destruct_auto(ctx, g2, uid)) + goals[1:]
    if head == "cases'":
        names = pat.split()
        prop = _hyp_view(g2, uid)[1]
        if isinstance(prop, Conn) and prop.op == "∨":
            pat = " | ".join(names[:2]) if len(names) >= 2 else names[0] + " | h✝"
        else:
            pat = "⟨" + ", ".join(names) + "⟩"
    return tuple(destruct(ctx, g2, uid, pat)) + goals[1:]


def _close_value(ctx: TacticContext, side: Goal, value: str, vstart: int) -> None:
    """The value of `have`/`obtain … : P := value` on the cut's first premise."""
    stripped = value.lstrip()
    if _is_by(stripped):
        by_pos = vstart + (len(value) - len(stripped))
        run_by_block(ctx, by_pos, by_pos + 2, vstart + len(value.rstrip()), side)
        return
    try:
        close_term(ctx, side, value, vstart)
    except (ElabError, Unsupported) as e:
        raise TacticFailed(e.message, e.pos) from e


def destruct_auto(ctx: TacticContext, g: Goal, uid: int) -> list[Goal]:
    """`cases h`: Lean names the new locals inaccessibly."""
    _, prop, is_var = _hyp_view(g, uid)
    if is_var:
        raise Unsupported("cases on a number (induction-style case analysis)")
    if isinstance(prop, Conn) and prop.op == "∨":
        return destruct(ctx, g, uid, "h✝ | h✝")
    if isinstance(prop, Conn) and prop.op == "∧":
        return destruct(ctx, g, uid, "⟨left✝, right✝⟩")
    if isinstance(prop, Conn) and prop.op == "↔":
        return destruct(ctx, g, uid, "⟨mp✝, mpr✝⟩")
    if isinstance(prop, Quant) and prop.kind == "∃":
        return destruct(ctx, g, uid, "⟨w✝, h✝⟩")
    if isinstance(prop, Conn) and prop.op == "False":
        ctx.apply(g, "false_elim", uid)
        return []
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
        pattern, name = name_part, _temp(0)
    else:
        pattern = None
        if " " in name_part or "(" in name_part:
            raise Unsupported("have with binders")
        name = name_part
    old = g.lookup(name) if head == "replace" else None
    old_uid = hyp_uid(g, name) if old is not None and not old.is_var else None
    prop: Term | None = None
    if colon >= 0:
        prop = proof_terms(ctx, g).prop_of_text(decl[colon + 1 :], off + colon + 1)
    if assign < 0:
        if prop is None:
            raise TacticFailed("have: expected a type or a value")
        # `have h : P` — the new goal for P comes first
        uid = fresh_uid()
        side, rest = ctx.apply(g, "cut", core_term(g, prop), name, uid)
        rest = _after_have(ctx, rest, uid, pattern, old_uid)
        return (side,) + tuple(rest) + goals[1:]
    value = args[assign + 2 :]
    vstart = off + assign + 2
    if prop is not None:
        uid = fresh_uid()
        side, rest = ctx.apply(g, "cut", core_term(g, prop), name, uid)
        _close_value(ctx, side, value, vstart)
    else:
        if _is_by(value):
            raise TacticFailed("have: a `by` block needs a type (`have h : P := by ...`)")
        try:
            rest, uid, _ = term_hyp(ctx, g, value, vstart, name)
        except (ElabError, Unsupported) as e:
            raise TacticFailed(e.message, e.pos) from e
    return tuple(_after_have(ctx, rest, uid, pattern, old_uid)) + goals[1:]


def _after_have(ctx: TacticContext, g: Goal, uid: int, pattern: str | None, old_uid: int | None) -> list[Goal]:
    if old_uid is not None:  # `replace`: the old hypothesis goes
        g = _clear(ctx, g, old_uid)
    if pattern is not None:
        return destruct(ctx, g, uid, pattern)
    return [g]


@tactic("show")
def t_show(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    text = args
    frm = find_top_level(args, 0, len(args), " from ")
    if frm >= 0:
        text = args[:frm]
    for i, g in enumerate(goals):
        prop = proof_terms(ctx, g).prop_of_text(text, off)
        if same_up_to_numerals(prop, g.target):
            rest = goals[:i] + goals[i + 1 :]
            g2 = g
            if prop != g.target:  # the new target, checked by the core against the old one
                uid = fresh_uid()
                g2, main = ctx.apply(g, "cut", core_term(g, prop), "this", uid)
                ctx.apply(main, "hyp", uid)
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
    old = hyp_uid(g, name)
    pt = proof_terms(ctx, g, allow_holes=True)
    g2, uid, _ = pt.forward(g, parse_term(text, off + args.find(text)))
    if uid == old:
        return goals
    g2 = pt.finish_hyp(g2, uid, name)
    g2 = _clear(ctx, g2, old)
    return tuple(pt.side) + (g2,) + goals[1:]


@tactic("subst")
def t_subst(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    for name in args.split():
        h = g.lookup(name)
        if h is None:
            raise TacticFailed(f"unknown identifier '{name}'")
        if h.is_var:
            x = bridge.var_fvar(g, name)
            seq = bridge.sequent(g)
            eq = next((d.uid for d in reversed(seq.decls) if not d.is_var and isinstance(d.value, C.Rel)
                       and d.value.op == "=" and x in (d.value.lhs, d.value.rhs)), None)
            if eq is None:
                raise TacticFailed(f"subst: no equation for {name}")
            g = subst_uid(ctx, g, eq, x.uid)
        else:
            g = subst_uid(ctx, g, hyp_uid(g, name))
    return (g,) + goals[1:]


def _local_uid(g: Goal, name: str) -> int:
    h = g.lookup(name)
    if h is None:
        raise TacticFailed(f"unknown hypothesis '{name}'")
    return bridge.var_fvar(g, name).uid if h.is_var else hyp_uid(g, name)


@tactic("clear")
def t_clear(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    uids = [_local_uid(g, n) for n in args.split()]
    order = [d.uid for d in bridge.sequent(g).decls]
    for uid in sorted(set(uids), key=order.index, reverse=True):  # Lean clears the last first
        seq = bridge.sequent(g)
        shown = bridge.display_names(seq)
        users = [d for d in seq.decls if d.uid != uid and not d.is_var and uid in C.fvars(d.value)]
        if users:
            raise TacticFailed(f"tactic 'clear' failed, variable '{shown[users[0].uid]}' depends on "
                               f"'{shown[uid]}'\n{g.pretty()}")
        if uid in C.fvars(seq.target):
            raise TacticFailed(f"tactic 'clear' failed, target depends on '{shown[uid]}'\n{g.pretty()}")
        g = _clear(ctx, g, uid)
    return (g,) + goals[1:]


@tactic("rename_i")
def t_rename_i(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    names = args.split()
    inacc = [h for h in g.hyps if "✝" in h.name]
    targets = [(_local_uid(g, h.name), n) for h, n in zip(inacc[-len(names):] if names else [], names)]
    for uid, n in targets:
        if n != "_":
            (g,) = ctx.apply(g, "rename", uid, n)
    return (g,) + goals[1:]


@tactic("by_cases")
def t_by_cases(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    colon = find_top_level(args, 0, len(args), ":")
    name = args[:colon].strip() if colon >= 0 else "h"
    prop_text = args[colon + 1:] if colon >= 0 else args
    prop = proof_terms(ctx, g).prop_of_text(prop_text, off + (colon + 1 if colon >= 0 else 0))
    # excluded middle: the goal holds if it holds under P and under ¬P
    pos, neg = ctx.apply(g, "by_cases", core_term(g, prop), name, fresh_uid(), fresh_uid())
    return (replace(pos, tag="pos"), replace(neg, tag="neg")) + goals[1:]


@tactic("revert")
def t_revert(ctx: TacticContext, args: str, off: int, goals: Goals) -> Goals:
    g = goals[0]
    uids = [_local_uid(g, n) for n in args.split()]
    for uid in reversed(uids):
        seq = bridge.sequent(g)
        if uid not in seq.uids():
            continue  # already reverted with a variable it depends on
        # Lean reverts the hypotheses that depend on a variable with it
        deps = [d.uid for d in seq.decls if not d.is_var and d.uid != uid and uid in C.fvars(d.value)]
        for dep in reversed(deps):
            (g,) = ctx.apply(g, "revert", dep)
        (g,) = ctx.apply(g, "revert", uid)
    return (g,) + goals[1:]
