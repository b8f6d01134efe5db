"""The one Lean scanner (`lean_env.lean_text.lex`) and the four readers built on it: `scan` (guard,
CLI file parser), `tactics.script.blank_comments`, the kernel's `lexer.tokenize` and
`commands.tokenize`. They follow Lean 4's `Lean.Parser.Basic` (`whitespace`,
`finishCommentBlock`, `identFnAux`, `strLitFnAux`, `charLitFnAux`, `numberFnAux`) and
`Init.Meta.Defs` (`isLetterLike`, `isSubScriptAlnum`); what they cannot read for certain is an
error."""
from __future__ import annotations

import pytest

from lean_env.embedded.commands import tokenize as command_tokens
from lean_env.embedded.errors import KernelError
from lean_env.embedded.lexer import tokenize
from lean_env.embedded.tactics.script import blank_comments
from lean_env.lean_text import LeanSyntaxError, lex, lex_prefix, scan


def kinds(text: str) -> list[tuple[str, str]]:
    return [(lx.kind, text[lx.start:lx.end]) for lx in lex(text)]


def error_at(text: str) -> tuple[int, str]:
    with pytest.raises(LeanSyntaxError) as info:
        lex(text)
    return info.value.offset, info.value.reason


# -- comments ---------------------------------------------------------------------------------
def test_comment_markers_inside_literals_and_escaped_names_are_not_comments():
    text = "a «x--» «y/-» \"--\" '-' `«z--» b"
    assert [k for k, _ in kinds(text)] == ["ident", "ident", "ident", "str", "char", "name", "ident"]
    assert scan(text).comments == ()
    assert blank_comments(text) == text


def test_escaped_names_run_to_the_next_close_across_lines():
    text = "«a\n-- b» c -- d"
    assert kinds(text) == [("ident", "«a\n-- b»"), ("ident", "c"), ("line", "-- d")]
    assert kinds("h.«x--».y") == [("ident", "h.«x--».y")]


def test_block_comments_nest_and_skip_the_character_after_the_opener():
    assert kinds("/- /- -/ x -/ y") == [("block", "/- /- -/ x -/"), ("ident", "y")]
    # Lean's `whitespace` skips the character right after `/-` unread: `/-/-/` is closed
    assert kinds("/-/-/ y") == [("block", "/-/-/"), ("ident", "y")]
    assert kinds("/--/ doc -/ y") == [("doc", "/--/ doc -/"), ("ident", "y")]
    assert kinds("/-! m -/") == [("moddoc", "/-! m -/")]
    assert kinds("a--b\nc") == [("ident", "a"), ("line", "--b"), ("ident", "c")]
    assert error_at("x /- /- -/")[0] == 2
    assert error_at("x /-")[0] == 2


# -- literals ---------------------------------------------------------------------------------
def test_string_literals():
    assert kinds(r'"a\"b\\" c') == [("str", r'"a\"b\\"'), ("ident", "c")]
    assert kinds('"a\\\n   b"') == [("str", '"a\\\n   b"')]  # a string gap
    assert kinds('"\\x41\\u0041"') == [("str", '"\\x41\\u0041"')]
    assert kinds('r#"a"b"# c') == [("str", 'r#"a"b"#'), ("ident", "c")]
    assert error_at('x "abc')[0] == 2
    assert error_at('"\\q"')[0] == 2  # invalid escape
    assert error_at('"a\\\n\n b"')[0] == 4  # a gap with two newlines
    assert "interpolated" in error_at('s!"{x -- }"')[1]  # `{` may open a term: refused


def test_char_literals_and_primes():
    assert kinds("h' 'a' '\\n' x''") == [("ident", "h'"), ("char", "'a'"), ("char", "'\\n'"), ("ident", "x''")]
    assert kinds("f '' s") == [("ident", "f"), ("sym", "''"), ("ident", "s")]
    assert kinds("f ⁻¹' s") == [("ident", "f"), ("sym", "⁻¹'"), ("ident", "s")]
    assert error_at("x 'ab'")[0] == 2
    assert error_at("x '")[0] == 2
    assert error_at("a+'b'")[0] == 2  # glued to a symbol: maybe a Mathlib token: refused


# -- numerals ---------------------------------------------------------------------------------
def test_numerals_are_ascii_and_lean_shaped():
    assert kinds("12 3.5 2. 1e3 1.5E-2 0x1F 0b10 0o7") == [
        ("num", "12"), ("num", "3.5"), ("num", "2."), ("num", "1e3"), ("num", "1.5E-2"),
        ("num", "0x1F"), ("num", "0b10"), ("num", "0o7")]
    assert kinds("h.1.2") == [("ident", "h"), ("sym", "."), ("field", "1"), ("sym", "."), ("field", "2")]
    assert kinds("(p).2") == [("sym", "("), ("ident", "p"), ("sym", ")"), ("sym", "."), ("field", "2")]
    assert kinds("１２")[0][0] == "sym" and kinds("٣")[0][0] == "sym"  # not numerals
    assert "exponent" in error_at("1e")[1]
    assert error_at("0x")[0] == 0
    assert "separator" in error_at("1_000")[1]


def test_lexer_refuses_non_decimal_and_non_ascii_numerals():
    assert [t.text for t in tokenize("x.1.2 + 3.25")] == ["x", ".", "1", ".", "2", "+", "3.25", ""]
    for bad in ["(１２ : ℕ)", "(٣ : ℕ)", "0x10", "1e3", "2.", "²"]:
        with pytest.raises(KernelError):
            tokenize(bad)


# -- identifiers ------------------------------------------------------------------------------
def test_identifier_characters_follow_lean():
    assert kinds("α₁ x' h! ℝ π ℕx Nat.succ_le") == [
        ("ident", "α₁"), ("ident", "x'"), ("ident", "h!"), ("ident", "ℝ"), ("ident", "π"), ("ident", "ℕx"),
        ("ident", "Nat.succ_le")]
    assert kinds("λ Π Σ ж")[:3] == [("sym", "λ"), ("sym", "Π"), ("sym", "Σ")]
    assert kinds("ж") == [("sym", "ж")]  # Cyrillic is no identifier character in Lean
    assert kinds("xж") == [("ident", "x"), ("sym", "ж")]
    assert "versions" in error_at("é")[1]  # Latin-1 letters: only recent Lean versions accept them
    assert "versions" in error_at("café")[1]
    assert error_at("x «y")[0] == 2


def test_lexer_reads_plain_escapes_only():
    assert [(t.kind, t.text) for t in tokenize("«x» + ℕ _ π")] == [
        ("ident", "x"), ("sym", "+"), ("sym", "ℕ"), ("sym", "_"), ("sym", "π"), ("eof", "")]
    for bad in ["«x--»", "«by»", "«fun»", "«a.b»", "«x y»", "«a».b", "«ℕ»", "«_»", "ж", "xж"]:
        with pytest.raises(KernelError):
            tokenize(bad)


# -- whitespace -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, at", [("a\tb", 1), ("a\rb", 1), ("a\u00a0b", 1), ("a\u200bb", 1), ("a\u2003b", 1)])
def test_whitespace_lean_refuses(text, at):
    assert error_at(text)[0] == at


def test_crlf_is_whitespace():
    assert kinds("a\r\nb") == [("ident", "a"), ("ident", "b")]


# -- the readers agree --------------------------------------------------------------------------
AGREEMENT = [
    "theorem t (n : ℕ) (h : n = 3) : n = 4 ∨ ∀ «x--» : ℕ, «x--» = 0\n  := by\n  exact «w» : ℕ, True := by\n  trivial",
    "theorem t («a/-» : ℕ) : (1 : ℕ) = 2 := by\n  exact -/ (f «b» : ℕ) (h : (1:ℕ) = 2) : (1:ℕ) = 2 := by exact h",
    "theorem t : (1:ℕ) = 1 := by -- c «\n  /- /- «» -/ \"\" -/ norm_num /-/-/ rfl",
    "/--/ doc -/ theorem t (h : '-' = '-') : \"--\" = \"/-\" := by\n  rfl -- x\n",
]


@pytest.mark.parametrize("text", AGREEMENT)
def test_readers_agree_on_comments(text):
    spans = [(c.start, c.end) for c in scan(text).comments]
    in_comment = {i for s, e in spans for i in range(s, e)}
    blanked = blank_comments(text)
    assert blanked == "".join(" " if i in in_comment and c != "\n" else c for i, c in enumerate(text))
    for tok in command_tokens(text):
        if tok.kind != "cmd" or not tok.text.startswith("/-"):
            assert tok.pos not in in_comment and tok.kind != "error"
    try:
        toks = tokenize(blanked)
    except KernelError:
        return  # outside the fragment: refused, fine
    assert all(t.pos not in in_comment for t in toks if t.kind != "eof")


def test_readers_stop_at_the_same_error():
    text = "theorem t : True := by\n  exact «trivial -- no close"
    lexemes, err = lex_prefix(text)
    assert err is not None and err.offset == text.index("«")
    toks = command_tokens(text)
    assert toks[-1].kind == "error" and toks[-1].pos == err.offset and "«" in toks[-1].reason
    assert blank_comments(text)[err.offset:].strip() == ""  # nothing after it is read as code
    with pytest.raises(LeanSyntaxError):
        scan(text)
    with pytest.raises(KernelError):
        tokenize(text)
