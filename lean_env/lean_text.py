"""Reading Lean source text the way Lean's own tokenizer does: one scanner for every reader.

`lex(text)` splits Lean 4 source into lexemes following `Lean.Parser.Basic` (v4): comments
(`whitespace`, `finishCommentBlock`: `--` to the end of the line, `/- -/` nested, `/--` and `/-!`
doc comments), string literals with escapes and gaps (`strLitFnAux`, `quotedCharCoreFn`), raw
strings (`rawStrLitFnAux`), char literals (`charLitFnAux`: `'` not followed by `'`), numerals
(`numberFnAux`: ASCII digits only, `0x`/`0b`/`0o`, scientific `1.5e3` and `2.`), field
indices after `x.` (`fieldIdxFn`), name literals and identifiers (`identFnAux`: `isIdFirst`,
`isIdRest`, `isLetterLike`, `isSubScriptAlnum`, `«…»` escapes, which run to the next `»` across
lines, and `.`-separated parts). Every other character is a one-character `sym` lexeme (the
callers group them into their own symbol tables); whitespace is not a lexeme.

Where Lean stops with an error (tab, isolated carriage return, unterminated comment, string,
char literal or `«`, bad escape, missing exponent digits, ...) or where the reading depends on
something the scanner cannot know (Lean version: Latin-1 letters and `_` digit separators;
Mathlib's token table: a `'` glued to a symbol; interpolated strings: `{` in a string), `lex`
raises `LeanSyntaxError` (with `offset`): an error, never a guess.

Every reader of Lean text uses it: `scan` below (the guard and the CLI's .lean file parser),
`tactics.script.blank_comments`, the embedded kernel's `lexer.tokenize` and
`commands.tokenize`, so none of them can disagree with another about where a comment is.

`scan(text)` returns the text with every comment and every string/char literal body blanked
out (same length, newlines kept, so offsets, lines and columns are unchanged) plus the
comment spans. The guard and the .lean file parser search the blanked text, so `-- sorry`
in a comment or `"sorry"` in a string is never mistaken for code.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass


class LeanSyntaxError(ValueError):
    """Lean text that cannot be split; carries a 1-based line and 0-based column (and the
    character offset when known)."""

    def __init__(self, message: str, line: int, column: int, path: str | None = None,
                 offset: int | None = None) -> None:
        self.line, self.column, self.path, self.reason, self.offset = line, column, path, message, offset
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


@dataclass(frozen=True)
class Lexeme:
    # "line" | "block" | "doc" | "moddoc" (comments) | "ident" | "num" | "field" | "str" | "char"
    # | "name" (`` `a.b ``) | "sym" (one character, or one of PRIME_SYMBOLS)
    kind: str
    start: int
    end: int  # exclusive


COMMENT_KINDS = frozenset({"line", "block", "doc", "moddoc"})
# Mathlib tokens that end in `'`: after them a `'` is not a char literal.
PRIME_SYMBOLS = ("⁻¹'", "∑'", "∏'", "Σ'", "×'", "''")
# A char literal may follow these symbols directly (no Lean token glues them to a `'`).
_CHAR_AFTER = frozenset("([{⟨)]}⟩,")


def column(text: str, offset: int) -> int:
    """0-based column (in characters) of an offset."""
    return offset - (text.rfind("\n", 0, offset) + 1)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and 0-based column (in characters) of an offset (Lean's `Position`)."""
    return text.count("\n", 0, offset) + 1, column(text, offset)


# -- Lean's character classes (Init/Meta/Defs.lean) ----------------------------------------------

def is_letter_like(c: str) -> bool:
    v = ord(c)
    return ((0x3B1 <= v <= 0x3C9 and v != 0x3BB)  # lower Greek, but λ
            or (0x391 <= v <= 0x3A9 and v != 0x3A0 and v != 0x3A3)  # upper Greek, but Π and Σ
            or 0x3CA <= v <= 0x3FB  # Coptic
            or 0x1F00 <= v <= 0x1FFE  # polytonic Greek
            or 0x2100 <= v <= 0x214F  # letterlike block
            or 0x1D49C <= v <= 0x1D59F)  # script, double-struck, Fraktur


def is_subscript_alnum(c: str) -> bool:
    v = ord(c)
    return 0x2080 <= v <= 0x2089 or 0x2090 <= v <= 0x209C or 0x1D62 <= v <= 0x1D6A


def is_version_dependent_letter(c: str) -> bool:
    """Letters recent Lean versions added to `isLetterLike`/`isSubScriptAlnum` (Latin-1
    supplement, Latin Extended-A, `ⱼ`): older ones stop there. Refused, not guessed."""
    v = ord(c)
    return (0xC0 <= v <= 0xFF and v not in (0xD7, 0xF7)) or 0x100 <= v <= 0x17F or v == 0x2C7C


def is_ascii_digit(c: str) -> bool:
    return "0" <= c <= "9"


def is_id_first(c: str) -> bool:
    """Lean's `isIdFirst` (`Char.isAlpha` is ASCII-only in Lean)."""
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_" or is_letter_like(c)


def is_id_rest(c: str) -> bool:
    """Lean's `isIdRest`."""
    return is_id_first(c) or is_ascii_digit(c) or c in "'!?" or is_subscript_alnum(c)


# -- the scanner ---------------------------------------------------------------------------------

def finish_comment_block(text: str, j: int) -> int:
    """Lean's `finishCommentBlock` with nesting 1 from offset `j` (just after `/-x`, `/--` or
    `/-!`): the offset just past the closing `-/`, or -1 when the text ends first."""
    nesting, n = 1, len(text)
    while j < n:
        c = text[j]
        j += 1
        if c == "-":
            if j < n and text[j] == "/":
                j += 1
                nesting -= 1
                if nesting == 0:
                    return j
        elif c == "/":
            if j < n and text[j] == "-":
                j += 1
                nesting += 1
    return -1


def line_comment_end(text: str, start: int) -> int:
    """End (exclusive) of the `--` comment at `start`: its newline, or the end of the text."""
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def block_comment_end(text: str, start: int) -> int:
    """Offset just past the `-/` that closes the comment opened by the `/-` at `start` (Lean:
    the character after `/-` is skipped unread, block comments nest), or -1 when the text ends
    first."""
    return -1 if start + 2 >= len(text) else finish_comment_block(text, start + 3)


class _Fail(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message, self.offset = message, offset


def _hex(c: str) -> bool:
    return is_ascii_digit(c) or "a" <= c <= "f" or "A" <= c <= "F"


def _escape_end(text: str, j: int, in_string: bool) -> int:
    """`quotedCharCoreFn` at `j` (just after a backslash): the offset after the escape."""
    n = len(text)
    if j >= n:
        raise _Fail("unexpected end of input in an escape sequence", j)
    c = text[j]
    if c in "\\\"'rnt":
        return j + 1
    if c in "xu":
        k = 2 if c == "x" else 4
        if j + 1 + k > n or not all(_hex(h) for h in text[j + 1: j + 1 + k]):
            raise _Fail("invalid hexadecimal numeral in escape sequence", j)
        return j + 1 + k
    if in_string and c == "\n":  # string gap: whitespace holding exactly one newline
        seen, k = False, j
        while k < n and text[k] in " \t\r\n":
            if text[k] == "\n":
                if seen:
                    raise _Fail("unexpected additional newline in string gap", k)
                seen = True
            k += 1
        return k
    raise _Fail("invalid escape sequence", j)


def _string_end(text: str, start: int) -> int:
    j, n = start + 1, len(text)
    while True:
        if j >= n:
            raise _Fail('unterminated string literal: the string opened here is never closed (missing `"`)', start)
        c = text[j]
        if c == '"':
            return j + 1
        if c == "\\":
            j = _escape_end(text, j + 1, True)
            continue
        if c == "{":  # `s!"…{e}…"`, `m!`, `throwError "…{e}…"`: whether `{` opens a term depends on the parser
            raise _Fail("`{` in a string literal: cannot tell a plain string from an interpolated one", j)
        j += 1


def _raw_string_start(text: str, j: int) -> bool:
    """Lean's `isRawStrLitStart`: `#*"` at `j` (just after an `r` at a token start)."""
    n = len(text)
    while j < n and text[j] == "#":
        j += 1
    return j < n and text[j] == '"'


def _raw_string_end(text: str, start: int) -> int:
    j = start + 1
    hashes = 0
    while text[j] == "#":
        hashes, j = hashes + 1, j + 1
    close = '"' + "#" * hashes
    end = text.find(close, j + 1)
    if end < 0:
        raise _Fail("unterminated raw string literal: the string opened here is never closed", start)
    return end + len(close)


def _char_end(text: str, start: int) -> int:
    j, n = start + 1, len(text)
    if j >= n:
        raise _Fail("unterminated character literal", start)
    j = _escape_end(text, j + 1, False) if text[j] == "\\" else j + 1
    if j >= n or text[j] != "'":
        raise _Fail("missing end of character literal", start)
    return j + 1


def _digits_end(text: str, j: int, ok) -> int:
    n = len(text)
    while j < n and ok(text[j]):
        j += 1
    if j < n and text[j] == "_":
        raise _Fail("`_` after digits: digit separators depend on the Lean version", j)
    return j


def _number_end(text: str, i: int) -> int:
    n = len(text)
    if text[i] == "0" and i + 1 < n and text[i + 1] in "bBoOxX":
        ok = {"b": lambda c: c in "01", "o": lambda c: "0" <= c <= "7", "x": _hex}[text[i + 1].lower()]
        j = _digits_end(text, i + 2, ok)
        if j == i + 2:
            raise _Fail("missing digits in a numeral", i)
        return j
    j = _digits_end(text, i, is_ascii_digit)
    if j < n and text[j] in ".eE":  # scientific literal (`2.` keeps its dot, as in Lean)
        if text[j] == ".":
            j += 1
            if j < n and is_ascii_digit(text[j]):
                j = _digits_end(text, j, is_ascii_digit)
        if j < n and text[j] in "eE":
            j += 1
            if j < n and text[j] in "+-":
                j += 1
            if not (j < n and is_ascii_digit(text[j])):
                raise _Fail("missing exponent digits in scientific literal", j)
            j = _digits_end(text, j, is_ascii_digit)
    return j


def _ident_end(text: str, i: int) -> int:
    """`identFnAux` at `i` (an `isIdFirst` character or `«`)."""
    n, j = len(text), i
    while True:
        if text[j] == "«":
            k = text.find("»", j + 1)
            if k < 0:
                raise _Fail("unterminated identifier escape: the `«` opened here is never closed (missing `»`)", j)
            j = k + 1
        else:
            j += 1
            while j < n and is_id_rest(text[j]):
                j += 1
            if j < n and is_version_dependent_letter(text[j]):
                raise _Fail(f"character {text[j]!r} in an identifier: Lean versions disagree", j)
        if j + 1 < n and text[j] == ".":
            nxt = text[j + 1]
            if is_version_dependent_letter(nxt):
                raise _Fail(f"character {nxt!r} in an identifier: Lean versions disagree", j + 1)
            if is_id_first(nxt) or nxt == "«":
                j += 1
                continue
        return j


def identifier_end(text: str, start: int) -> int:
    """End (exclusive) of the identifier at `start` (`Foo.«weird name».bar` is one identifier,
    as Lean reads it); `LeanSyntaxError` where Lean could not read it."""
    try:
        return _ident_end(text, start)
    except _Fail as e:
        line, col = line_col(text, e.offset)
        raise LeanSyntaxError(e.message, line, col, offset=e.offset) from None


_TERM_END = frozenset({"ident", "num", "field", "str", "char"})


def iter_lex(text: str, path: str | None = None) -> Iterator[Lexeme]:
    """Lexemes of `text` in order (see the module doc). Raises `LeanSyntaxError` at the first
    place where Lean stops with an error or where the reading is not certain; the lexemes
    before it have been yielded."""
    i, n = 0, len(text)
    prev: Lexeme | None = None  # the last non-comment lexeme
    before_prev: Lexeme | None = None
    try:
        while i < n:
            c = text[i]
            if c == " " or c == "\n":
                i += 1
                continue
            if c == "\r":
                if i + 1 < n and text[i + 1] == "\n":
                    i += 1
                    continue
                raise _Fail("isolated carriage returns are not allowed", i)
            if c == "\t":
                raise _Fail("tabs are not allowed; please configure your editor to expand them", i)
            if c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zs", "Zl", "Zp"):
                raise _Fail(f"unexpected character {c!r}", i)
            kind, glued = None, prev is not None and prev.end == i
            if c == "-" and text.startswith("--", i):
                kind, j = "line", line_comment_end(text, i)
            elif c == "/" and text.startswith("/-", i):
                kind = {"-": "doc", "!": "moddoc"}.get(text[i + 2: i + 3], "block")
                j = block_comment_end(text, i)
                if j < 0:
                    raise _Fail("unterminated comment: the comment opened here is never closed (missing `-/`)", i)
            if kind is not None:
                yield Lexeme(kind, i, j)
                i = j
                continue
            if c == '"':
                kind, j = "str", _string_end(text, i)
            elif c == "'" and not text.startswith("''", i):
                if glued and prev.kind == "sym" and text[prev.start:prev.end] not in _CHAR_AFTER:
                    raise _Fail("`'` right after a symbol: a char literal or part of a Mathlib token", i)
                kind, j = "char", _char_end(text, i)
            elif is_ascii_digit(c):
                if (glued and prev.kind == "sym" and text[prev.start] == "." and prev.end == prev.start + 1
                        and before_prev is not None and before_prev.end == prev.start
                        and (before_prev.kind in _TERM_END or text[before_prev.start] in ")]}⟩")):
                    if c == "0":  # Lean's `fieldIdxFn`: `x.0` is no field index
                        raise _Fail("invalid field index", i)
                    kind, j = "field", _digits_end(text, i, is_ascii_digit)
                else:
                    kind, j = "num", _number_end(text, i)
            elif c == "`" and i + 1 < n and (is_id_first(text[i + 1]) or text[i + 1] == "«"):
                kind, j = "name", _ident_end(text, i + 1)
            elif c == "r" and _raw_string_start(text, i + 1):
                kind, j = "str", _raw_string_end(text, i)
            elif c == "«" or is_id_first(c):
                kind, j = "ident", _ident_end(text, i)
            elif is_version_dependent_letter(c):
                raise _Fail(f"character {c!r} in an identifier: Lean versions disagree", i)
            else:
                kind, j = "sym", i + 1
                for sym in PRIME_SYMBOLS:
                    if text.startswith(sym, i):
                        j = i + len(sym)
                        break
            lx = Lexeme(kind, i, j)
            yield lx
            before_prev, prev = prev, lx
            i = j
    except _Fail as e:
        line, col = line_col(text, e.offset)
        raise LeanSyntaxError(e.message, line, col, path, offset=e.offset) from None


def lex(text: str, path: str | None = None) -> list[Lexeme]:
    """All lexemes of `text` (comments included); `LeanSyntaxError` if Lean could not read it."""
    return list(iter_lex(text, path))


def lex_prefix(text: str) -> tuple[list[Lexeme], LeanSyntaxError | None]:
    """The lexemes up to the first error, and the error (None when the whole text lexes)."""
    out: list[Lexeme] = []
    try:
        for lx in iter_lex(text):
            out.append(lx)
    except LeanSyntaxError as e:
        return out, e
    return out, None


def _blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "


def scan(text: str, path: str | None = None) -> Scanned:
    chars = list(text)
    comments: list[Comment] = []
    for lx in iter_lex(text, path):
        if lx.kind in COMMENT_KINDS:
            comments.append(Comment(lx.start, lx.end, lx.kind))
            _blank(chars, lx.start, lx.end)
        elif lx.kind == "char":
            _blank(chars, lx.start + 1, lx.end - 1)
        elif lx.kind == "str":
            if text[lx.start] == "r":  # raw string r#"..."#: blank the body
                open_end = text.index('"', lx.start) + 1
                _blank(chars, open_end, lx.end - (open_end - lx.start - 1))
            else:
                _blank(chars, lx.start + 1, lx.end - 1)
    return Scanned(text, "".join(chars), tuple(comments))
