"""Structure of tactic blocks: items by indentation, `;`, `<;>`, `·` focusing, nested `by`.

Offsets are absolute positions in the command text so that messages carry Lean's positions.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ...lean_text import COMMENT_KINDS, column, lex_prefix

OPEN = "([{⟨"
CLOSE = ")]}⟩"


def blank_comments(src: str) -> str:
    """Replace comments (`--`, `/- -/`, doc comments) with spaces, offsets and newlines kept.
    Comments are found by `lean_text`'s scanner, so `--` inside `«…»`, a string or a char
    literal is not one. From the first place the scanner cannot read (an unclosed comment,
    string or `«`, a tab, ...) everything is blanked: callers report that error from the same
    scanner (`commands.tokenize`, `lean_text.lex`), and nothing after it is read as code."""
    out = list(src)
    lexemes, err = lex_prefix(src)
    spans = [(lx.start, lx.end) for lx in lexemes if lx.kind in COMMENT_KINDS]
    if err is not None:
        spans.append((err.offset, len(src)))
    for i, j in spans:
        for k in range(i, j):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


@dataclass(frozen=True)
class Span:
    start: int
    end: int

    def text(self, src: str) -> str:
        return src[self.start : self.end]


def strip_span(src: str, start: int, end: int) -> Span:
    while start < end and src[start].isspace():
        start += 1
    while end > start and src[end - 1].isspace():
        end -= 1
    return Span(start, end)


def split_items(src: str, start: int, end: int) -> list[Span]:
    """Split a tactic block into items: a new item starts on each line at the block's column
    (deeper lines continue the item), and at `;` outside brackets."""
    sp = strip_span(src, start, end)
    if sp.start >= sp.end:
        return []
    col = column(src, sp.start)
    starts = [sp.start]
    pos = src.find("\n", sp.start, sp.end)
    while 0 <= pos < sp.end:
        q = pos + 1
        while q < sp.end and src[q] in " \t":
            q += 1
        if q < sp.end and src[q] != "\n" and column(src, q) <= col and not (
                src.startswith("|", q) or src.startswith("<;>", q)):
            # `| alt => ...` and a leading `<;>` continue the previous tactic
            starts.append(q)
        pos = src.find("\n", q, sp.end) if q < sp.end else -1
    items: list[Span] = []
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else sp.end
        items.extend(_split_semicolons(src, s, e))
    return [it for it in items if it.start < it.end]


def _top_level_offsets(src: str, start: int, end: int) -> Iterator[int]:
    """Offsets in [start, end) outside every bracket pair; the brackets themselves are not
    yielded (an unmatched closer makes the depth negative, so nothing after it is top level)."""
    depth = 0
    for i in range(start, end):
        ch = src[i]
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth -= 1
        elif depth == 0:
            yield i


def _split_semicolons(src: str, start: int, end: int) -> list[Span]:
    out, s = [], start
    for i in _top_level_offsets(src, start, end):
        # a `;` inside a nested `by` block on the same line belongs to that block
        if src[i] == ";" and not src.startswith("<;>", i - 1) and not _nested_by_before(src, s, i):
            out.append(strip_span(src, s, i))
            s = i + 1
    out.append(strip_span(src, s, end))
    return out


def _nested_by_before(src: str, start: int, pos: int) -> bool:
    seg = src[start:pos]
    return " by " in seg or seg.startswith("· ") or seg.startswith(". ")


def find_top_level(src: str, start: int, end: int, token: str, last: bool = False) -> int:
    """Offset of `token` outside brackets in [start, end), or -1; `last`: the last
    non-overlapping occurrence. A token that begins with a bracket is never found."""
    found, next_allowed = -1, start
    for i in _top_level_offsets(src, start, end):
        if i >= next_allowed and src.startswith(token, i):
            if not last:
                return i
            found, next_allowed = i, i + len(token)
    return found


def wrapped_in_parens(src: str, start: int, end: int) -> bool:
    """True when [start, end) is one `( … )` pair: the `(` at `start` closes at `end - 1`
    (so `(a) <;> (b)` and `(a)(b)` are not)."""
    if end - start < 2 or src[start] != "(" or src[end - 1] != ")":
        return False
    depth = 0
    for i in range(start, end):
        if src[i] in OPEN:
            depth += 1
        elif src[i] in CLOSE:
            depth -= 1
            if depth == 0:
                return i == end - 1
    return False


def find_by(src: str, start: int, end: int) -> int:
    """Offset of a top-level `:= by` / ` by` that opens a nested tactic block, or -1."""
    for i in _top_level_offsets(src, start, end):
        if src.startswith("by", i) and (i == start or not (src[i - 1].isalnum() or src[i - 1] in "_.")) and (
                i + 2 >= end or src[i + 2].isspace()):
            return i
    return -1
