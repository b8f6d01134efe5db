"""Structure of tactic blocks: items by indentation, `;`, `<;>`, `·` focusing, nested `by`.

Offsets are absolute positions in the command text so that messages carry Lean's positions.
"""
from __future__ import annotations

from dataclasses import dataclass

OPEN = "([{⟨"
CLOSE = ")]}⟩"


def blank_comments(src: str) -> str:
    """Replace `--` and `/- -/` comments with spaces (offsets are kept)."""
    out = list(src)
    i, n = 0, len(src)
    while i < n:
        if src.startswith("--", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif src.startswith("/-", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/-", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("-/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        else:
            i += 1
    return "".join(out)


def column(src: str, pos: int) -> int:
    return pos - (src.rfind("\n", 0, pos) + 1)


def line_col(src: str, pos: int) -> tuple[int, int]:
    """1-based line, 0-based column (Lean's `Position`)."""
    return src.count("\n", 0, pos) + 1, column(src, pos)


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


def _split_semicolons(src: str, start: int, end: int) -> list[Span]:
    depth, out, s = 0, [], start
    i = start
    while i < end:
        ch = src[i]
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth -= 1
        elif depth == 0 and ch == ";" and not src.startswith("<;>", i - 1):
            # a `;` inside a nested `by` block on the same line belongs to that block
            if _nested_by_before(src, s, i):
                i += 1
                continue
            out.append(strip_span(src, s, i))
            s = i + 1
        i += 1
    out.append(strip_span(src, s, end))
    return out


def _nested_by_before(src: str, start: int, pos: int) -> bool:
    seg = src[start:pos]
    return " by " in seg or seg.startswith("· ") or seg.startswith(". ")


def find_top_level(src: str, start: int, end: int, token: str, last: bool = False) -> int:
    """Offset of `token` outside brackets in [start, end), or -1."""
    depth, found, i = 0, -1, start
    while i < end:
        ch = src[i]
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth -= 1
        elif depth == 0 and src.startswith(token, i):
            if not last:
                return i
            found = i
            i += len(token)
            continue
        i += 1
    return found


def find_by(src: str, start: int, end: int) -> int:
    """Offset of a top-level `:= by` / ` by` that opens a nested tactic block, or -1."""
    depth, i = 0, start
    while i < end:
        ch = src[i]
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth -= 1
        elif depth == 0 and src.startswith("by", i) and (i == start or not (src[i - 1].isalnum() or src[i - 1] in "_.")) and (
                i + 2 >= end or src[i + 2].isspace()):
            return i
        i += 1
    return -1
