"""Goals and proof states, and their Lean-style printing."""
from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as dc_replace

from .pretty import pp, pp_type
from .terms import Term, Type, Var, free_vars, substitute


@dataclass(frozen=True)
class Hyp:
    """A local: a variable (`value` is a Type, is_var) or an assumption (`value` is a Prop term)."""

    name: str
    value: "Type | Term"
    is_var: bool

    def shown(self) -> str:
        return pp_type(self.value) if self.is_var else pp(self.value)


@dataclass(frozen=True)
class Goal:
    hyps: tuple[Hyp, ...]
    target: Term
    tag: str | None = None
    handle: int | None = field(default=None, compare=False)  # the core sequent it views (bridge.py)

    def names(self) -> set[str]:
        return {h.name for h in self.hyps}

    def var_types(self) -> dict[str, Type]:
        return {h.name: h.value for h in self.hyps if h.is_var}

    def props(self) -> list[tuple[str, Term]]:
        return [(h.name, h.value) for h in self.hyps if not h.is_var]

    def lookup(self, name: str) -> Hyp | None:
        for h in reversed(self.hyps):
            if h.name == name:
                return h
        return None

    def with_target(self, target: Term) -> "Goal":
        return dc_replace(self, target=target)

    def make_room(self, name: str) -> "Goal":
        """Rename an existing variable `name` (and its occurrences) to a fresh inaccessible name,
        so that a new local called `name` cannot capture them (Lean shows the old one as `x✝`)."""
        if not any(h.is_var and h.name == name for h in self.hyps):
            return self
        return self._rename_unclashing(name, inaccessible(name, used_names(self)))

    def _rename_unclashing(self, old: str, new: str) -> "Goal":
        # `new` must not name a variable already (the callers make room first).
        h_old = next(h for h in self.hyps if h.is_var and h.name == old)
        var = Var(new, h_old.value)
        hyps = []
        for h in self.hyps:
            if h.is_var and h.name == old:
                h = dc_replace(h, name=new)
            elif not h.is_var:
                h = dc_replace(h, value=substitute(h.value, old, var))
            hyps.append(h)
        return dc_replace(self, hyps=tuple(hyps), target=substitute(self.target, old, var))

    def add_hyp(self, name: str, value: "Type | Term", is_var: bool = False) -> "Goal":
        """Add a local; an older local of the same name becomes inaccessible (`h✝`)."""
        g = self.make_room(name) if is_var else self
        hyps = []
        taken = {x.name for x in g.hyps}
        for h in g.hyps:
            if h.name == name:
                h = dc_replace(h, name=inaccessible(h.name, taken))
                taken.add(h.name)
            hyps.append(h)
        hyps.append(Hyp(name, value, is_var))
        return dc_replace(g, hyps=tuple(hyps))

    def pretty(self) -> str:
        return pretty_goal(self)


SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"


def inaccessible(name: str, taken: set[str]) -> str:
    """`x✝`, then `x✝¹`, `x✝²`, ... (unique: two locals must never share a name in terms)."""
    base = name.split("✝")[0]
    cand = base + "✝"
    i = 0
    while cand in taken:
        i += 1
        cand = base + "✝" + "".join(SUPERSCRIPTS[int(d)] for d in str(i))
    return cand


def pretty_goal(g: Goal) -> str:
    lines = []
    if g.tag:
        lines.append(f"case {g.tag}")
    i = 0
    hyps = g.hyps
    while i < len(hyps):
        j = i
        shown = hyps[i].shown()
        while j + 1 < len(hyps) and hyps[j + 1].shown() == shown and hyps[j + 1].is_var == hyps[i].is_var:
            j += 1
        names = " ".join(h.name for h in hyps[i : j + 1])
        lines.append(f"{names} : {shown}")
        i = j + 1
    lines.append(f"⊢ {pp(g.target)}")
    return "\n".join(lines)


def pretty_goals(goals: tuple[Goal, ...]) -> str:
    """Several goals separated by a blank line (as Lean's `unsolved goals` message prints them)."""
    return "\n\n".join(pretty_goal(g) for g in goals)


def used_names(g: Goal) -> set[str]:
    out = g.names()
    for h in g.hyps:
        if not h.is_var:
            out |= free_vars(h.value)
    return out | free_vars(g.target)
