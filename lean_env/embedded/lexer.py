"""Tokenizer for the Lean 4 + Mathlib notation that miniF2F statements and proofs use."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..lean_text import COMMENT_KINDS, is_id_first, is_id_rest, lex_prefix
from .errors import ParseError, Unsupported

SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉ₐₑₒₓₔₕₖₗₘₙₚₛₜᵢᵣᵤᵥⱼ"
# Longest first, so that `<;>` wins over `<`, `:=` over `:`, `⁻¹` is one token, ...
SYMBOLS = sorted(
    [
        "<;>", ":=", "=>", "->", "<=", ">=", "!=", "⁻¹", "<|>", "..", "%[",
        "(", ")", "[", "]", "{", "}", "⟨", "⟩", ",", ":", ";", "|", "!", "=", "<", ">",
        "+", "-", "*", "/", "%", "^", "≤", "≥", "≠", "→", "↔", "∧", "∨", "¬", "∣", "↑",
        "√", "∀", "∃", "∑", "∏", "←", "·", "•", ".", "∈", "∉", "∘", "λ", "↦", "$", "@",
        "#", "?", "'", "⌊", "⌋", "⌈", "⌉", "∞", "π", "≡", "∩", "∪", "⊆", "\\", "ℕ", "ℤ",
        "ℚ", "ℝ", "ℂ", "×", "_", "⊢",
    ],
    key=len,
    reverse=True,
)
TYPE_SYMBOLS = {"ℕ", "ℤ", "ℚ", "ℝ", "ℂ"}


@dataclass(frozen=True)
class Token:
    kind: str  # "ident" | "num" | "sym" | "eof"
    text: str
    pos: int  # character offset of the first character
    end: int


# Identifier-shaped words that this parser reads as keywords (or as the symbols above). Lean
# reads `«w»` as a plain identifier, so an escaped one of these is refused, never read as `w`.
_ESCAPE_REFUSED = frozenset("""
    at with using generalizing then else from in by fun show have let if match do calc suffices
    obtain only where deriving this sorry Type Sort Prop example theorem lemma def end open
    set_option namespace section variable import at_top hiding renaming _
    """.split()) | frozenset(SYMBOLS)
# Symbols Lean lexes as identifiers (`ℕ`, `_`, `π`, ...): an identifier lexeme with exactly this
# text is the symbol (Lean: a token at least as long as the identifier wins).
_IDENT_SHAPED_SYMBOLS = frozenset(s for s in SYMBOLS if is_id_first(s[0]))
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def _plain_ident(text: str) -> bool:
    return bool(text) and is_id_first(text[0]) and all(is_id_rest(c) for c in text[1:])


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens (comments skipped) with `lean_text`'s scanner, the one every
    reader of Lean text shares; whatever Lean would not read, or would read as something
    outside the fragment (string/char/name literals, hex/scientific numerals, escaped names
    other than a plain `«name»`), is an error here."""
    lexemes, err = lex_prefix(text)
    if err is not None and not lexemes:
        raise ParseError(err.reason, err.offset)
    toks: list[Token] = []
    k, m = 0, len(lexemes)
    while k < m:
        lx = lexemes[k]
        s, e = lx.start, lx.end
        raw = text[s:e]
        k += 1
        if lx.kind in COMMENT_KINDS:
            continue
        if lx.kind == "field":
            toks.append(Token("num", raw, s, e))
        elif lx.kind == "num":
            if not _DECIMAL.fullmatch(raw):
                raise Unsupported(f"numeral {raw!r} (only decimal numerals are supported)", s)
            toks.append(Token("num", raw, s, e))
        elif lx.kind in ("str", "char", "name"):
            what = {"str": "string literal", "char": "character literal", "name": "name literal"}[lx.kind]
            raise Unsupported(what, s)
        elif lx.kind == "ident":
            if "«" in raw:
                inner = raw[1:-1]
                if not (raw[0] == "«" and raw[-1] == "»" and "«" not in inner and "»" not in inner
                        and _plain_ident(inner) and inner not in _ESCAPE_REFUSED):
                    raise Unsupported(f"escaped identifier {raw!r} (only «name» for a plain name is supported)", s)
                toks.append(Token("ident", inner, s, e))
            elif raw in _IDENT_SHAPED_SYMBOLS:
                toks.append(Token("sym", raw, s, e))
            else:
                toks.append(Token("ident", raw, s, e))
        else:  # symbol characters: group them by SYMBOLS, longest first
            if e - s > 1:  # one of lean_text.PRIME_SYMBOLS
                if raw != "⁻¹'":
                    raise Unsupported(f"notation {raw!r}", s)
                toks.append(Token("sym", "⁻¹", s, s + 2))
                toks.append(Token("sym", "'", s + 2, e))
                continue
            # the run of adjacent one-character symbol lexemes starting here; a symbol must end
            # at one of their ends (so `-` `-` never pairs across a comment or a space)
            ends, j = {e: k}, k
            while j < m and lexemes[j].kind == "sym" and lexemes[j].start == lexemes[j - 1].end \
                    and lexemes[j].end - lexemes[j].start == 1:
                ends[lexemes[j].end] = j + 1
                j += 1
            for sym in SYMBOLS:
                if text.startswith(sym, s) and s + len(sym) in ends:
                    toks.append(Token("sym", sym, s, s + len(sym)))
                    k = ends[s + len(sym)]
                    break
            else:
                raise ParseError(f"unexpected character {raw!r}", s)
    if err is not None:
        raise ParseError(err.reason, err.offset)
    toks.append(Token("eof", "", len(text), len(text)))
    return toks
