"""Sequents of the trusted core: a local context of declarations and a target proposition."""
from __future__ import annotations

from dataclasses import dataclass

from .term import Term, Type, fvars
from .typing import IllTyped, check_prop, check_type


class CoreError(Exception):
    """A rule does not apply, or a proof does not check."""


@dataclass(frozen=True)
class Decl:
    """A local: a variable `uid : value` (is_var, value a Type) or a hypothesis `uid : value`
    (value a proposition). `name` is for display and for resolving what a user typed."""

    uid: int
    name: str
    value: "Type | Term"
    is_var: bool


@dataclass(frozen=True)
class Sequent:
    decls: tuple[Decl, ...]
    target: Term

    def get(self, uid: int) -> Decl:
        for d in self.decls:
            if d.uid == uid:
                return d
        raise CoreError(f"no local #{uid} in the context")

    def hyp(self, uid: int) -> Term:
        d = self.get(uid)
        if d.is_var:
            raise CoreError(f"{d.name} is a variable, not a hypothesis")
        return d.value  # type: ignore[return-value]

    def var_types(self) -> dict[int, Type]:
        return {d.uid: d.value for d in self.decls if d.is_var}  # type: ignore[misc]

    def uids(self) -> set[int]:
        return {d.uid for d in self.decls}

    def with_target(self, target: Term) -> "Sequent":
        return Sequent(self.decls, target)

    def add(self, decl: Decl) -> "Sequent":
        """Append a local; the rules check its uid is fresh (rules.fresh) before calling this."""
        return Sequent(self.decls + (decl,), self.target)

    def without(self, uid: int) -> "Sequent":
        return Sequent(tuple(d for d in self.decls if d.uid != uid), self.target)

    def depends_on(self, uid: int) -> list[str]:
        """Names of the hypotheses (and 'the goal') that mention local `uid`."""
        out = [d.name for d in self.decls if not d.is_var and uid in fvars(d.value)]  # type: ignore[arg-type]
        if uid in fvars(self.target):
            out.append("the goal")
        return out


def check_sequent(seq: Sequent) -> None:
    """Every local is fresh and declared before use; every proposition is well typed (it may
    mention only variables declared before it: hypotheses are not terms)."""
    seen: set[int] = set()
    var_types: dict[int, Type] = {}
    for d in seq.decls:
        if d.uid in seen:
            raise CoreError(f"local #{d.uid} declared twice")
        seen.add(d.uid)
        try:
            if d.is_var:
                check_type(d.value)  # type: ignore[arg-type]
                if d.value == "Prop":
                    raise CoreError("propositional variables are outside the fragment")
                var_types[d.uid] = d.value  # type: ignore[assignment]
            else:
                check_prop(d.value, var_types)  # type: ignore[arg-type]
        except IllTyped as e:
            raise CoreError(f"ill-typed hypothesis {d.name}: {e}") from e
    try:
        check_prop(seq.target, var_types)
    except IllTyped as e:
        raise CoreError(f"ill-typed goal: {e}") from e
