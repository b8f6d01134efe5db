"""Runs tactic blocks over proof states, with Lean's structure and error behaviour.

A proof state is a tuple of goals; tactics act on the first goal unless they are combinators.
An error inside a nested `by` block (e.g. `have h : P := by linarith`) is reported and the
block's goal admitted, as Lean's error recovery does; everywhere else the first failing
tactic stops the block.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

from .. import bridge
from ..errors import KernelError, TacticFailed
from ..goals import Goal, pretty_goals
from .grammar import check_arguments
from .script import Span, find_by, find_top_level, split_items, strip_span, wrapped_in_parens

Goals = tuple[Goal, ...]
TacticFn = Callable[["TacticContext", str, int, Goals], Goals]
REGISTRY: dict[str, TacticFn] = {}
DEFAULT_TACTIC_SECONDS = 45.0  # a whole command; the REPL client's command timeout is 60 s
TACTIC_MODE_SECONDS = 8.0  # one tactic request; the client's tactic timeout is 10 s


def tactic(*names: str):
    def deco(fn: TacticFn) -> TacticFn:
        for n in names:
            REGISTRY[n] = fn
        return fn
    return deco


@dataclass
class Message:
    severity: str
    start: int
    end: int
    data: str


@dataclass
class SorryRecord:
    goal: Goal
    start: int
    end: int


@dataclass
class TacticContext:
    """What a run of tactics shares: the source text, collected messages and sorries."""

    src: str
    messages: list[Message] = field(default_factory=list)
    sorries: list[SorryRecord] = field(default_factory=list)
    explicit_sorry: bool = False
    lemmas: dict = field(default_factory=dict)  # declarations of earlier commands: name -> statement
    deadline: float = field(default_factory=lambda: time.monotonic() + DEFAULT_TACTIC_SECONDS)
    # the proof under construction: which core rule closed or split each goal (bridge.py)
    assign: bridge.Assignments = field(default_factory=bridge.Assignments)
    core_env: dict = field(default_factory=dict)  # earlier declarations, as core propositions

    def apply(self, goal: Goal, rule: str, *args) -> Goals:
        """The only way a tactic changes a goal: the trusted core computes the new goals."""
        return self.assign.apply(goal, rule, *args, env=self.core_env)

    def savepoint(self) -> tuple:
        return self.assign.copy(), len(self.messages), len(self.sorries), self.explicit_sorry

    def rollback(self, sp: tuple) -> None:
        assign, n_msg, n_sorry, explicit = sp
        self.assign.restore(assign)
        del self.messages[n_msg:]
        del self.sorries[n_sorry:]
        self.explicit_sorry = explicit

    def try_apply(self, goal: Goal, rule: str, *args) -> Goals | None:
        """`apply`, or None (every change undone) when the core rejects the step."""
        sp = self.savepoint()
        try:
            return self.apply(goal, rule, *args)
        except TacticFailed:
            self.rollback(sp)
            return None

    def fail(self, msg: str, start: int, end: int) -> TacticFailed:
        e = TacticFailed(msg, start)
        e.end = end  # type: ignore[attr-defined]
        return e

    def info(self, msg: str, start: int, end: int) -> None:
        self.messages.append(Message("info", start, end, msg))

    def check_time(self, start: int, end: int) -> None:
        if time.monotonic() > self.deadline:
            raise self.fail("(deterministic) timeout: the embedded kernel's time limit was reached", start, end)


def error_span(e: KernelError, default: Span) -> tuple[int, int]:
    start = e.pos if e.pos is not None else default.start
    end = getattr(e, "end", None) or default.end
    return start, max(end, start)


def run_block(ctx: TacticContext, start: int, end: int, goals: Goals) -> Goals:
    for item in split_items(ctx.src, start, end):
        goals = run_item(ctx, item, goals)
    return goals


def run_by_block(ctx: TacticContext, by_pos: int, start: int, end: int, goal: Goal) -> bool:
    """A term-level `by` block: errors are reported and recovered; True if it closed cleanly."""
    try:
        rest = run_block(ctx, start, end, (goal,))
    except KernelError as e:
        s, t = error_span(e, Span(start, end))
        ctx.messages.append(Message("error", s, t, e.message))
        return False
    if rest:
        ctx.messages.append(Message("error", by_pos, by_pos + 2, "unsolved goals\n" + pretty_goals(rest)))
        return False
    return True


HEAD_RE = re.compile(r"[^\s\[\(⟨;,]+")


def run_item(ctx: TacticContext, span: Span, goals: Goals) -> Goals:
    src = ctx.src
    text = span.text(src)
    ctx.check_time(span.start, span.end)
    if text.startswith("·") or text.startswith(". "):
        if not goals:
            raise ctx.fail("no goals to be proved", span.start, span.end)
        rest = run_block(ctx, span.start + 1, span.end, (goals[0],))
        if rest:
            raise ctx.fail("unsolved goals\n" + pretty_goals(rest), span.start, span.start + 1)
        return goals[1:]
    if wrapped_in_parens(src, span.start, span.end):
        return run_block(ctx, span.start + 1, span.end - 1, goals)
    m = HEAD_RE.match(text)
    head = m.group(0) if m else text
    body_start = span.start + (m.end() if m else len(text))
    if head in ("have", "haveI", "replace", "suffices", "obtain", "show", "exact", "refine", "calc", "case", "next",
                "all_goals", "any_goals", "try", "first", "repeat", "focus", "induction"):
        pass  # their own nested blocks / `<;>` handling
    else:
        pos = find_top_level(src, span.start, span.end, "<;>", last=True)
        if pos >= 0 and find_by(src, span.start, pos) == -1:
            return run_then_all(ctx, strip_span(src, span.start, pos), strip_span(src, pos + 3, span.end), goals)
    if head == "case" or head == "next":
        return run_case(ctx, span, goals)
    if head in ("all_goals", "any_goals", "try", "repeat", "focus", "iterate", "first"):
        return run_combinator(ctx, head, body_start, span, goals)
    fn = REGISTRY.get(head)
    if fn is None:
        if head in ("sorry", "admit"):
            return run_sorry(ctx, span, goals)
        known_shape = bool(head) and (head.isidentifier() or head[0].isalpha())
        raise ctx.fail(f"unknown tactic '{head}'" if known_shape else "unknown tactic", span.start, span.end)
    if not goals:
        raise ctx.fail("no goals to be proved", span.start, span.end)
    syntax_error = check_arguments(head, src[body_start : span.end])
    if syntax_error is not None:
        raise ctx.fail(syntax_error, body_start, span.end)
    saved = ctx.assign.copy()
    try:
        return _checked(head, goals, fn(ctx, src[body_start : span.end], body_start, goals), ctx)
    except TacticFailed as e:
        ctx.assign.restore(saved)
        if e.pos is None:
            e.pos = span.start
            e.end = span.end  # type: ignore[attr-defined]
        raise
    except KernelError as e:
        ctx.assign.restore(saved)
        raise ctx.fail(e.message, span.start, span.end) from e
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as e:
        # a kernel bug must fail the tactic (never succeed) and keep the session alive
        ctx.assign.restore(saved)
        raise ctx.fail(f"embedded kernel internal error in '{head}': {type(e).__name__}: {e}",
                       span.start, span.end) from e


def _checked(head: str, before: Goals, out: Goals, ctx: TacticContext) -> Goals:
    """Every goal a tactic returns must be an open goal the core derived, and every goal it
    made disappear must have been closed or split by a core rule (bridge.py)."""
    kept = {g.handle for g in out}
    for g in out:
        if not bridge.is_view(g) or g.handle in ctx.assign.data:
            raise TacticFailed(f"'{head}' changed a goal without the trusted core "
                               "(this tactic is not yet checked by the core)")
    for g in before:
        if g.handle not in kept and g.handle not in ctx.assign.data:
            raise TacticFailed(f"'{head}' closed a goal without the trusted core "
                               "(this tactic is not yet checked by the core)")
    return out


def run_sorry(ctx: TacticContext, span: Span, goals: Goals) -> Goals:
    if not goals:
        raise ctx.fail("no goals to be proved", span.start, span.end)
    ctx.sorries.append(SorryRecord(goals[0], span.start, span.end))
    ctx.explicit_sorry = True
    return goals[1:]


def run_then_all(ctx: TacticContext, first: Span, second: Span, goals: Goals) -> Goals:
    if not goals:
        raise ctx.fail("no goals to be proved", first.start, first.end)
    produced = run_item(ctx, first, (goals[0],))
    out: list[Goal] = []
    for g in produced:
        out.extend(run_block(ctx, second.start, second.end, (g,)))
    return tuple(out) + goals[1:]


def run_combinator(ctx: TacticContext, head: str, body_start: int, span: Span, goals: Goals) -> Goals:
    body = strip_span(ctx.src, body_start, span.end)
    if head == "first":
        alternatives = _split_alternatives(ctx.src, body)
        last: KernelError | None = None
        for alt in alternatives:
            sp = ctx.savepoint()
            try:
                return run_block(ctx, alt.start, alt.end, goals)
            except KernelError as e:
                ctx.rollback(sp)
                last = e
        raise last if last else ctx.fail("first: no alternatives", span.start, span.end)
    if head == "try":
        sp = ctx.savepoint()
        try:
            return run_block(ctx, body.start, body.end, goals)
        except KernelError:
            ctx.rollback(sp)
            return goals
    if head == "focus":
        if not goals:
            raise ctx.fail("no goals to be proved", span.start, span.end)
        return run_block(ctx, body.start, body.end, goals[:1]) + goals[1:]
    if head == "repeat":
        for _ in range(64):
            sp = ctx.savepoint()
            try:
                new = run_block(ctx, body.start, body.end, goals)
            except KernelError:
                ctx.rollback(sp)
                break
            if new == goals:
                break
            goals = new
        return goals
    if head == "iterate":
        m = re.match(r"\s*(\d+)", ctx.src[body.start : body.end])
        n = int(m.group(1)) if m else 1
        inner = strip_span(ctx.src, body.start + (m.end() if m else 0), body.end)
        for _ in range(n):
            goals = run_block(ctx, inner.start, inner.end, goals)
        return goals
    # all_goals / any_goals
    out: list[Goal] = []
    ok = False
    last_err: KernelError | None = None
    for g in goals:
        sp = ctx.savepoint()
        try:
            out.extend(run_block(ctx, body.start, body.end, (g,)))
            ok = True
        except KernelError as e:
            if head == "all_goals":
                raise
            ctx.rollback(sp)
            last_err = e
            out.append(g)
    if head == "any_goals" and not ok:
        raise last_err if last_err else ctx.fail("any_goals: no goals", span.start, span.end)
    return tuple(out)


def _split_alternatives(src: str, body: Span) -> list[Span]:
    parts, s = [], body.start
    depth = 0
    for i in range(body.start, body.end):
        ch = src[i]
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(strip_span(src, s, i))
            s = i + 1
    parts.append(strip_span(src, s, body.end))
    return [p for p in parts if p.start < p.end]


def run_case(ctx: TacticContext, span: Span, goals: Goals) -> Goals:
    src = ctx.src
    arrow = src.find("=>", span.start, span.end)
    if arrow < 0:
        raise ctx.fail("expected '=>'", span.start, span.end)
    words = src[span.start:arrow].split()
    tag = words[1] if len(words) > 1 and words[0] == "case" else "_"
    idx = 0
    if tag != "_":
        idx = next((i for i, g in enumerate(goals) if g.tag == tag), -1)
        if idx < 0:
            raise ctx.fail(f"Case tag '{tag}' not found.\n\nAvailable tags: "
                           + ", ".join(f"'{g.tag}'" for g in goals if g.tag), span.start, span.end)
    if not goals:
        raise ctx.fail("no goals to be proved", span.start, span.end)
    g = goals[idx]
    from dataclasses import replace
    rest = run_block(ctx, arrow + 2, span.end, (replace(g, tag=None),))
    if rest:
        raise ctx.fail("unsolved goals\n" + pretty_goals(rest), span.start, arrow)
    return goals[:idx] + goals[idx + 1:]
