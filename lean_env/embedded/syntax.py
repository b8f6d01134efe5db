"""Untyped surface syntax trees produced by the parser (before elaboration)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Syn:
    """One surface node.

    kind: "num" (val = text), "ident" (val = name), "binop" (val = operator symbol), "neg",
    "not", "coe" (↑x), "ascribe" (val = type Syn), "app" (kids = fn, args...), "abs",
    "paren", "anon" (⟨a, b⟩), "proj" (val = field), "forall"/"exists" (val = Binders),
    "bigop" (val = (op, var, var_type|None, set Syn)), "fact", "inv", "hole" (`?_` / `_`),
    "type" (val = type text, e.g. "ℝ" or an arrow), "lambda" (val = (name, type Syn or None),
    kids = (body,)).
    """

    kind: str
    pos: int
    end: int
    val: Any = None
    kids: tuple["Syn", ...] = field(default=())


@dataclass(frozen=True)
class Binder:
    """`x y : T` (type may be None) with an optional binder predicate `> 0` (op, bound Syn)."""

    names: tuple[str, ...]
    type: Syn | None
    pred: tuple[str, Syn] | None = None
    implicit: bool = False
