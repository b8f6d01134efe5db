"""Theorem statement -> initial goal (parse + elaborate), with clear rejections.

Section variables (`variable (x : ℕ) (h : x > 0)`) are parsed by the same lexer and parser as
the statement (`parse_variable_binder`, called when the `variable` command is read) and kept as
syntax; `elaborate_theorem` takes them as leading binders of the declaration — exactly those
Lean 4 (v4.10+) includes: the variables the parsed statement (binders and type) mentions as
free identifiers, plus, transitively, the variables the types of included ones mention, in
declaration order. Mentions are computed on the parsed syntax (names as the lexer resolved
them, `«h»` is `h`), never on text.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .elaborate import Context, Elaborator, elab_binders
from .errors import ElabError, KernelError, ParseError, Unsupported
from .goals import Goal
from .lexer import Token, tokenize
from .parser import TermParser, TheoremSyntax, parse_theorem
from .syntax import Binder, Syn
from .terms import TRUE, Term


@dataclass(frozen=True)
class ElaboratedTheorem:
    name: str
    goal: Goal
    syntax: TheoremSyntax


@dataclass(frozen=True)
class SectionVariable:
    """One name of a `variable` binder, as parsed. Positions in `type` are offsets into the
    text of the `variable` command (which may be an earlier REPL command)."""

    name: str
    type: Syn | None  # None: the type is outside the fragment (`error` says why)
    implicit: bool  # `{x : T}`
    mentions: frozenset[str]  # names the type mentions as free identifiers (first components)
    pos: int  # offset of the name in the `variable` command's text
    error: str | None = None  # why the type was not read (a declaration that includes it is refused)


def parse_variable_binder(source: str, start: int, end: int) -> list[SectionVariable]:
    """`(x y : T)` / `{x : T}` at `source[start:end]` -> one variable per name, read with
    the lexer and parser that read theorems (token positions are offsets into `source`). The
    binder must be exactly the text `source[start:end]`. Names that do not read as atomic
    identifiers raise ParseError; a type outside the fragment gives variables without a type
    (Lean accepts such a variable, so only a declaration that includes it is refused)."""
    toks = [Token(t.kind, t.text, t.pos + start, t.end + start) for t in tokenize(source[start:end])]
    p = TermParser(toks, source)
    open_t = p.advance()
    if open_t.kind != "sym" or open_t.text not in ("(", "{"):
        raise ParseError("expected '(' or '{'", open_t.pos)
    close = ")" if open_t.text == "(" else "}"
    names = [p.binder_name()]
    while p.tok.kind == "ident" or p.at("_"):
        names.append(p.binder_name())
    for t in toks[1: 1 + len(names)]:
        if "." in t.text:
            raise ParseError("invalid binder name, atomic identifier expected", t.pos)
    name_toks = toks[1: 1 + len(names)]
    p.expect(":")
    ty: Syn | None = None
    mentions: frozenset[str] = frozenset()
    error = None
    try:
        ty = p.type_expr()
        p.expect(close)
        if p.tok.kind != "eof":
            raise ParseError(f"unexpected '{p.tok.text}' after the binder", p.tok.pos)
        mentions = frozenset(free_names(ty, source))
    except KernelError as e:
        ty, error = None, e.message
    return [SectionVariable(n, ty, open_t.text == "{", mentions, t.pos, error) for n, t in zip(names, name_toks)]


# -- free identifiers of parsed syntax --------------------------------------------------------

def _ident_head(s: Syn, source: str | None) -> str:
    """The local a name `x` / `x.f` would resolve to first (Lean: `x.f` with a local `x` is
    field notation on `x`). `«a.b»` is one atomic name that the lexer cannot tell from `a.b`:
    refused rather than guessed."""
    name = s.val
    if "." in name and source is not None and source[s.pos: s.pos + 1] == "«":
        raise Unsupported("a «…» name containing '.'", s.pos)
    return name.split(".")[0]


def free_names(s: Syn | None, source: str | None = None, bound: frozenset[str] = frozenset(),
               out: set[str] | None = None) -> set[str]:
    """Names that `s` mentions as free identifiers (first components), with Lean's scoping of
    ∀/∃ (types outside, binder predicates inside), ∑/∏ (type and Finset outside) and `fun`."""
    if out is None:
        out = set()
    if s is None:
        return out
    k = s.kind
    if k == "ident":
        head = _ident_head(s, source)
        if head not in bound:
            out.add(head)
        return out
    if k == "by":
        raise Unsupported("a tactic block inside a statement that section variables could occur in", s.pos)
    if k in ("forall", "exists"):
        inner = binders_free_names(s.val, source, bound, out)
        return free_names(s.kids[0], source, inner, out)
    if k == "bigop":
        _op, var, vty, finset = s.val
        free_names(vty, source, bound, out)
        free_names(finset, source, bound, out)
        return free_names(s.kids[0], source, bound | {var}, out)
    if k == "lambda":
        name, vty = s.val
        free_names(vty, source, bound, out)
        return free_names(s.kids[0], source, bound | {name}, out)
    if isinstance(s.val, Syn):  # `(e : T)`
        free_names(s.val, source, bound, out)
    for kid in s.kids:
        free_names(kid, source, bound, out)
    return out


def binders_free_names(binders: Iterable[Binder], source: str | None, bound: frozenset[str],
                       out: set[str]) -> frozenset[str]:
    """Adds the free names of a telescope of binders to `out`; returns the names in scope after it."""
    for b in binders:
        free_names(b.type, source, bound, out)  # `x y : T`: T is outside the scope of x, y
        bound = bound | set(b.names)
        if b.pred is not None:  # `∀ x > e, p` is `∀ x, x > e → p`: e is inside it
            free_names(b.pred[1], source, bound, out)
    return bound


def _bound_names(s: Syn | None, out: set[str]) -> set[str]:
    """Every name that some binder inside `s` binds."""
    if s is None:
        return out
    if s.kind in ("forall", "exists"):
        for b in s.val:
            out.update(b.names)
            _bound_names(b.type, out)
            if b.pred is not None:
                _bound_names(b.pred[1], out)
    elif s.kind == "bigop":
        out.add(s.val[1])
        _bound_names(s.val[2], out)
        _bound_names(s.val[3], out)
    elif s.kind == "lambda":
        out.add(s.val[0])
        _bound_names(s.val[1], out)
    elif isinstance(s.val, Syn):
        _bound_names(s.val, out)
    for kid in s.kids:
        _bound_names(kid, out)
    return out


def included_variables(syn: TheoremSyntax, source: str,
                       variables: Sequence[SectionVariable]) -> list[SectionVariable]:
    """The section variables Lean 4 (v4.10+) adds to this declaration, in declaration order.

    A statement that binds a section variable's name anywhere (a binder of the theorem, ∀, ∃,
    ∑, `fun`) is refused: outside the fragment (we do not model which occurrence is which)."""
    if not variables:
        return []
    names = {v.name for v in variables}
    binds: set[str] = set()
    for b in syn.binders:
        binds.update(b.names)
        _bound_names(b.type, binds)
    _bound_names(syn.statement, binds)
    clash = sorted(binds & names)
    if clash:
        raise Unsupported(f"'{clash[0]}' is a section variable and is also bound in the statement; "
                          "outside the fragment", _first_ident(source, syn, clash[0]))
    used: set[str] = set()
    scope = binders_free_names(syn.binders, source, frozenset(), used)
    free_names(syn.statement, source, scope, used)
    include = used & names
    for v in reversed(variables):  # a variable's type mentions only earlier variables
        if v.name in include:
            include |= v.mentions & names
    return [v for v in variables if v.name in include]


def _first_ident(source: str, syn: TheoremSyntax, name: str) -> int:
    """Offset of the first identifier `name` (as the lexer resolves it) in the header."""
    head = source[syn.decl_pos: syn.proof_start]
    for t in tokenize(head):
        if t.kind == "ident" and t.text.split(".")[0] == name:
            return syn.decl_pos + t.pos
    return syn.decl_pos


def elaborate_theorem(source: str, start: int = 0,
                      variables: Sequence[SectionVariable] = (),
                      scoped: frozenset[str] | None = None) -> ElaboratedTheorem:
    """Parse and elaborate the declaration at `start`, with the section variables `variables`
    (those in scope; the ones Lean includes become leading binders). `scoped`: the namespaces
    whose scoped notations are active (opened, or the current namespace and its parents);
    None = do not check. Raises Unsupported / ParseError / ElabError; errors always point into
    `source`."""
    syn = parse_theorem(source, start)
    if scoped is not None and "Nat" not in scoped:
        _refuse_scoped_factorial(syn)
    ctx = Context({})
    hyps: list = []
    for v in included_variables(syn, source, variables):
        if v.type is None:
            raise Unsupported(f"the type of section variable '{v.name}' ({v.error})", syn.decl_pos)
        try:  # positions in a variable's type are in its `variable` command's text
            hyps += elab_binders((Binder((v.name,), v.type, implicit=v.implicit),), ctx)
        except KernelError as e:
            raise _moved(e, v.name, syn.decl_pos) from e
    hyps += elab_binders(syn.binders, ctx)
    target = Elaborator(ctx).prop(syn.statement)
    # the binders first (a later one makes an earlier one of the same name `x✝` in what came
    # before it), then the target, which was elaborated with every name at its latest binder
    goal = Goal((), TRUE)
    for name, value in hyps:
        goal = goal.add_hyp(name, value, is_var=not isinstance(value, Term))
    return ElaboratedTheorem(syn.name, goal.with_target(target), syn)


def _refuse_scoped_factorial(syn) -> None:
    """Mathlib declares `n !` as `scoped notation` in namespace Nat: without `open Nat` Lean
    does not parse it ("unexpected token '!'"), so neither do we."""
    todo = [b.type for b in syn.binders if b.type is not None] + [syn.statement]
    while todo:
        s = todo.pop()
        if not isinstance(s, Syn):
            continue
        if s.kind == "fact":
            raise ElabError("unexpected token '!'; `n !` is Mathlib's notation scoped in namespace Nat: "
                            "add `open Nat`", s.end - 1)
        todo.extend(s.kids)
        if s.kind in ("forall", "exists"):
            todo.extend(b.type for b in s.val if b.type is not None)
            todo.extend(b.pred[1] for b in s.val if b.pred is not None)
        elif s.kind == "bigop":
            todo.append(s.val[3])


def _moved(e: KernelError, name: str, pos: int) -> KernelError:
    """The same refusal, reported at `pos` (in the declaration's own text)."""
    if isinstance(e, Unsupported):
        return Unsupported(f"{e.construct} (in the type of section variable '{name}')", pos)
    return type(e)(f"{e.message} (in the type of section variable '{name}')", pos)
