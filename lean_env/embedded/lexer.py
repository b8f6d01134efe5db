"""Tokenizer for the Lean 4 + Mathlib notation that miniF2F statements and proofs use."""
from __future__ import annotations

from dataclasses import dataclass

from ..lean_text import block_comment_end, line_comment_end
from .errors import ParseError

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


def _ident_start(ch: str) -> bool:
    return (ch.isalpha() or ch == "_") and ch not in "λπℕℤℚℝℂ∑∏"


def _ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'!?" or ch in SUBSCRIPTS


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens, skipping whitespace and `--`/`/- -/` comments."""
    toks: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if text.startswith("--", i):
            i = line_comment_end(text, i)
            continue
        if text.startswith("/-", i):
            j = block_comment_end(text, i)
            if j < 0:
                raise ParseError("unterminated comment", i)
            i = j
            continue
        if ch.isdigit():
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j + 1 < n and text[j] == "." and text[j + 1].isdigit():
                j += 1
                while j < n and text[j].isdigit():
                    j += 1
            toks.append(Token("num", text[i:j], i, j))
            i = j
            continue
        if _ident_start(ch) and not (ch == "_" and (i + 1 >= n or not _ident_char(text[i + 1]))):
            j = i
            while True:
                while j < n and _ident_char(text[j]):
                    # `n !` is factorial; `n!` is an identifier in Lean too, keep Lean's reading.
                    j += 1
                # namespaces: `Real.sqrt`, `Nat.succ_le_iff`; `h.1` stays ident + projection
                if j + 1 < n and text[j] == "." and _ident_start(text[j + 1]):
                    j += 1
                    continue
                break
            toks.append(Token("ident", text[i:j], i, j))
            i = j
            continue
        if ch == "«":
            j = text.find("»", i)
            if j < 0:
                raise ParseError("unterminated «name»", i)
            toks.append(Token("ident", text[i + 1 : j], i, j + 1))
            i = j + 1
            continue
        for sym in SYMBOLS:
            if text.startswith(sym, i):
                toks.append(Token("sym", sym, i, i + len(sym)))
                i += len(sym)
                break
        else:
            raise ParseError(f"unexpected character {ch!r}", i)
    toks.append(Token("eof", "", n, n))
    return toks
