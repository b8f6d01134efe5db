"""Reading Lean source text: tell code from comments and strings.

`scan(text)` returns the text with every comment and every string/char literal body blanked
out (same length, newlines kept, so offsets, lines and columns are unchanged) plus the
comment spans. The guard and the .lean file parser search the blanked text, so `-- sorry`
in a comment or `"sorry"` in a string is never mistaken for code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


class LeanSyntaxError(ValueError):
    """Lean text that cannot be split; carries a 1-based line and 0-based column."""

    def __init__(self, message: str, line: int, column: int, path: str | None = None) -> None:
        self.line, self.column, self.path, self.reason = line, column, path, message
        where = f"{path}:" if path else "line "
        super().__init__(f"{where}{line}:{column}: {message}")


@dataclass(frozen=True)
class Comment:
    start: int
    end: int  # exclusive
    kind: str  # "line" | "block" | "doc" (/-- -/) | "moddoc" (/-! -/)


@dataclass(frozen=True)
class Scanned:
    text: str
    code: str  # comments blanked, string/char literal bodies blanked (quotes kept)
    comments: tuple[Comment, ...]


def column(text: str, offset: int) -> int:
    """0-based column (in characters) of an offset."""
    return offset - (text.rfind("\n", 0, offset) + 1)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and 0-based column (in characters) of an offset (Lean's `Position`)."""
    return text.count("\n", 0, offset) + 1, column(text, offset)


def line_comment_end(text: str, start: int) -> int:
    """End (exclusive) of the `--` comment at `start`: its newline, or the end of the text."""
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def block_comment_end(text: str, start: int) -> int:
    """Offset just past the `-/` that closes the `/-` comment at `start` (block comments
    nest), or -1 when the text ends first."""
    depth, j, n = 1, start + 2, len(text)
    while depth and j < n:
        if text.startswith("/-", j):
            depth, j = depth + 1, j + 2
        elif text.startswith("-/", j):
            depth, j = depth - 1, j + 2
        else:
            j += 1
    return -1 if depth else j


_IDENT_CHAR = re.compile(r"[\w'!?₀-₉ₐ-ₜᵢ-ᵪⱼ.]")
_CHAR_LITERAL = re.compile(r"'(\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)|[^\\'\n])'")


def _blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "


def scan(text: str, path: str | None = None) -> Scanned:
    chars = list(text)
    comments: list[Comment] = []
    i, n = 0, len(text)

    def fail(msg: str, at: int) -> LeanSyntaxError:
        line, col = line_col(text, at)
        return LeanSyntaxError(msg, line, col, path)

    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            end = line_comment_end(text, i)
            comments.append(Comment(i, end, "line"))
            _blank(chars, i, end)
            i = end
        elif c == "/" and text.startswith("/-", i):
            kind = "doc" if text.startswith("/--", i) and not text.startswith("/--/", i) else (
                "moddoc" if text.startswith("/-!", i) else "block")
            j = block_comment_end(text, i)
            if j < 0:
                raise fail("comment opened here is never closed (missing `-/`)", i)
            comments.append(Comment(i, j, kind))
            _blank(chars, i, j)
            i = j
        elif c == '"' or (c == "r" and re.match(r'r#*"', text[i:i + 8]) and not (i and _IDENT_CHAR.match(text[i - 1]))):
            if c == "r":  # raw string r#"..."#: no escapes
                hashes = len(re.match(r"r(#*)", text[i:]).group(1))
                close = '"' + "#" * hashes
                body = i + 2 + hashes
                end = text.find(close, body)
                if end < 0:
                    raise fail("raw string literal opened here is never closed", i)
                _blank(chars, body, end)
                i = end + len(close)
                continue
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise fail('string literal opened here is never closed (missing `"`)', i)
            _blank(chars, i + 1, j)
            i = j + 1
        elif c == "'" and not (i and _IDENT_CHAR.match(text[i - 1])):
            m = _CHAR_LITERAL.match(text, i)
            if m:
                _blank(chars, i + 1, m.end() - 1)
                i = m.end()
            else:
                i += 1
        else:
            i += 1
    return Scanned(text, "".join(chars), tuple(comments))
