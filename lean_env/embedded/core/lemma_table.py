"""The reviewed Mathlib lemma table, as closed core propositions.

Each entry of lemmas.LEMMA_TEXT is a Mathlib lemma's statement written in Lean syntax with its
real argument order, and the types it holds in; it is elaborated by the statement elaborator
and closed over its arguments: `(a : α) {b : α} (h : P) : Q` becomes `∀ a b, P → Q`. The
`lemma` rule adds such an instance as a hypothesis; `spec`/`mp` then apply it. Trust lies in
the table's text (reviewed: tests/embedded/test_semantics.py evaluates every instance on a
grid) and in the elaborator.
"""
from __future__ import annotations

from functools import lru_cache

from .. import terms as S
from .sequent import CoreError
from .surface import to_core
from .term import Term
from .typing import IllTyped, check_prop


@lru_cache(maxsize=None)
def lemma_statement(name: str, ty: str) -> Term:
    from ..lemmas import lemma_instances  # the table's text and its elaboration
    for lem in lemma_instances(name):
        if lem.ty == ty:
            prop: S.Term = lem.conclusion
            for b in reversed(lem.binders):
                prop = S.Conn("→", (b.value, prop)) if b.kind == "hyp" else S.Quant("∀", b.name, b.value, prop)
            out = to_core(prop, {})
            try:
                check_prop(out, {})
            except IllTyped as e:
                raise CoreError(f"lemma {name} at {ty} is ill-typed: {e}") from e
            return out
    raise CoreError(f"unknown lemma {name} at type {ty}")
