"""Reading .lean files into theorems and splicing proofs back byte-exactly."""
from __future__ import annotations

import json

import pytest

from lean_env.datasets import minif2f_dir
from lean_env.lean_text import LeanSyntaxError
from lean_env.theorem import Theorem, format_proof_block, parse_lean_file, splice_proofs

MINIF2F = minif2f_dir()


def minif2f_rows() -> list[dict]:
    return [json.loads(line) for line in (MINIF2F / "valid.jsonl").read_text().splitlines()]


def test_every_minif2f_file_shape_round_trips():
    rows = minif2f_rows()
    assert len(rows) == 244
    for row in rows:
        for tail in (" sorry\n", "\n  sorry\n", "\n"):  # `:= by sorry`, on its own line, `:= by` + nothing
            text = row["header"] + row["formal_statement"] + tail
            parsed = parse_lean_file(text, path=f"{row['name']}.lean")
            [thm] = parsed.theorems
            assert thm == Theorem(row["name"], row["header"].rstrip() + "\n", row["formal_statement"])
            spliced = splice_proofs(parsed, {row["name"]: "norm_num\nlinarith"})
            assert spliced == row["header"] + row["formal_statement"] + "\n  norm_num\n  linarith\n"


FILE = '''import Mathlib
import Aesop
/-! Module doc: theorem fake : False := by sorry -/

set_option maxHeartbeats 400000

open BigOperators Real

namespace Contest
/-- A helper that is already proved: later theorems may use it. -/
@[simp] lemma helper (x : ℕ) : x + 0 = x := by simp

theorem first (x : ℝ) -- the `:=` in this comment := is not code
    (h : x = "a := b".length) :
    x = 6 := by
  sorry

/-- The docstring belongs to the example. -/
example : (2 : ℕ) + 2 = 4 := sorry

section Inner
open Nat in
lemma second {n : ℕ} (h : (n, n).1 = 3) : n = 3 := by
end Inner
end Contest

theorem after_namespace : True := by sorry
'''


def test_structured_file_finds_unproved_theorems_with_context():
    parsed = parse_lean_file(FILE, path="Contest.lean")
    names = [s.theorem.name for s in parsed.sites]
    assert names == ["first", "example_19", "second", "after_namespace"]
    assert [s.full_name for s in parsed.sites] == ["Contest.first", "example_19", "Contest.second", "after_namespace"]
    first, example, second, last = parsed.sites
    assert first.theorem.statement.startswith("theorem first (x : ℝ) -- the `:=` in this comment")
    assert first.theorem.statement.endswith("x = 6 := by")
    assert example.theorem.statement == "example : (2 : ℕ) + 2 = 4 := by"
    assert second.theorem.statement.startswith("open Nat in\nlemma second")
    # the header carries imports, options, opens, namespaces and the proved helper...
    header = second.theorem.header
    for needed in ("import Mathlib", "set_option maxHeartbeats 400000", "open BigOperators Real", "namespace Contest",
                   "@[simp] lemma helper", "section Inner"):
        assert needed in header
    # ...but never an unproved theorem (a proof must not lean on it), nor a dangling docstring
    assert "theorem first" not in header and "example :" not in header and "docstring belongs" not in header
    assert parsed.header.startswith("import Mathlib\nimport Aesop") and "namespace Contest" in parsed.header
    assert "lemma helper" not in parsed.header
    assert last.theorem.header.rstrip().endswith("end Contest")
    assert first.line == 13 and parsed.text[slice(*first.proof_span)] == " by\n  sorry"
    start, end = parsed.byte_span(first.proof_span)
    assert FILE.encode()[start:end] == b" by\n  sorry"


def test_splicing_changes_only_the_missing_proofs():
    parsed = parse_lean_file(FILE)
    out = splice_proofs(parsed, {"first": "subst h\nnorm_num", "Contest.second": "simpa using h",
                                 "example_19": "norm_num"})
    expected = (FILE.replace(":= by\n  sorry\n\n/--", ":= by\n  subst h\n  norm_num\n\n/--")
                .replace("= 4 := sorry", "= 4 := by\n  norm_num")
                .replace("n = 3 := by\nend", "n = 3 := by\n  simpa using h\nend"))
    assert out == expected
    again = parse_lean_file(out)
    assert [s.theorem.name for s in again.sites] == ["after_namespace"]
    with pytest.raises(KeyError, match="no theorem with a missing proof"):
        splice_proofs(parsed, {"helper": "simp"})


def test_nested_proof_blocks_are_indented_under_the_statement():
    text = "namespace N\n  theorem t : True := by sorry\nend N\n"
    parsed = parse_lean_file(text)
    out = splice_proofs(parsed, {"t": "  have h : True := by\n    trivial\n  exact h"})
    assert out == "namespace N\n  theorem t : True := by\n    have h : True := by\n      trivial\n    exact h\nend N\n"
    assert format_proof_block("a\n\n  b") == "  a\n\n    b"


@pytest.mark.parametrize("text, line, column, words", [
    ("import Mathlib\ntheorem t : True := by\n  /- never closed\n", 3, 2, "never closed"),
    ('import Mathlib\ntheorem t : "abc = True := by sorry\n', 2, 12, "never closed"),
    ("import Mathlib\n\ntheorem t (x : ℕ : x = x := by sorry\n", 3, 10, "never closed"),
    ("import Mathlib\ntheorem t : True\n", 2, 0, "has no `:=`"),
    ("import Mathlib\nlemma l (x : ℕ)) : x = x := by sorry\n", 2, 15, "unmatched"),
    ("hello world\ntheorem t : True := by sorry\n", 1, 0, "not a Lean command"),
])
def test_unsplittable_text_raises_with_line_and_column(text, line, column, words):
    with pytest.raises(LeanSyntaxError) as info:
        parse_lean_file(text, path="Bad.lean")
    err = info.value
    assert (err.line, err.column) == (line, column) and words in str(err)
    assert str(err).startswith(f"Bad.lean:{line}:{column}:")


def test_theorems_with_proofs_are_not_returned_for_proving():
    text = "import Mathlib\ntheorem done_already : 1 + 1 = 2 := by norm_num\nlemma term_proof : True := trivial\n"
    parsed = parse_lean_file(text)
    assert parsed.sites == ()
    assert [c.keyword for c in parsed.commands] == ["import", "theorem", "lemma"]


def test_let_in_a_statement_and_absolute_values_do_not_end_the_statement():
    text = ("theorem t : let x := 3; x = 3 := by sorry\n"
            "theorem a (x : ℝ) (h : | x| ≤ 1) : |x| ≤ 1 := by\n"
            "def f : ℕ → ℕ\n  | 0 => 1\n  | n + 1 => n\n")
    parsed = parse_lean_file(text)
    assert [s.theorem.statement for s in parsed.sites] == [
        "theorem t : let x := 3; x = 3 := by", "theorem a (x : ℝ) (h : | x| ≤ 1) : |x| ≤ 1 := by"]
    assert [c.keyword for c in parsed.commands] == ["theorem", "theorem", "def"]


def test_statement_changes_catch_added_commands_and_edits():
    from lean_env.theorem import statement_changes

    st = "theorem t (x : ℕ) : x = x := by"
    assert statement_changes(st, st + "\n  rfl") == []
    assert "2 commands" in statement_changes(st, st + "\n  rfl\ntheorem u : False := by sorry")[0]
    assert "statement changed" in statement_changes("theorem t (x : ℕ) : x = y := by", st + "\n  rfl")[0]


def test_a_proof_ending_in_a_top_level_sorry_is_a_site_with_its_tactics():
    text = ("theorem p (a : ℕ) (h : a = 3) : a + 1 = 4 := by\n"
            "  subst h\n  have k : (1:ℕ) = 1 := by\n    rfl\n  -- now the rest\n  sorry -- todo\n"
            "theorem q : True ∧ True := by\n  constructor\n  · sorry\n  · trivial\n"
            "theorem r : True := by trivial; sorry\n")
    parsed = parse_lean_file(text)
    [p] = parsed.sites
    assert p.partial and p.theorem.given_tactics == ("subst h", "have k : (1:ℕ) = 1 := by\n  rfl\n-- now the rest")
    assert p.given_at == ((2, 2), (3, 2))
    assert [(s.name, s.line) for s in parsed.skipped] == [("q", 7), ("r", 11)]
    assert "9:4" in parsed.skipped[0].reason and "11:32" in parsed.skipped[1].reason
    out = splice_proofs(parsed, {"p": "norm_num\nsimp"})
    assert out == text.replace("  sorry -- todo", "  norm_num\n  simp -- todo")


def test_crlf_bom_and_guillemets_splice_byte_exactly():
    text = "\ufeffimport Mathlib\r\n\r\ntheorem «a b».c : True := by\r\n    sorry"
    parsed = parse_lean_file(text)
    [site] = parsed.sites
    assert site.theorem.name == "«a b».c" and parsed.bom and site.newline == "\r\n"
    assert "\r" not in site.theorem.header + site.theorem.statement  # Lean gets plain line feeds
    assert splice_proofs(parsed, {}) == text
    assert splice_proofs(parsed, {"«a b».c": "skip\ntrivial"}) == text.replace("    sorry", "    skip\r\n    trivial")
    start, end = parsed.byte_span(site.proof_span)
    assert text.encode()[start:end] == b" by\r\n    sorry"


def test_declarations_using_sorry_are_blanked_out_of_later_headers_in_place():
    text = ("import Mathlib\n"
            "def f (n : ℕ) : ℕ := sorry\n"
            "theorem uses_f : f 1 = f 1 := rfl\n"
            "theorem helper : (1:ℕ) = 1 := rfl\n"
            "theorem t : f 2 = f 2 := by\n  sorry\n"
            "theorem u : (2:ℕ) = 2 := by\n  sorry\n")
    parsed = parse_lean_file(text)
    [u] = parsed.sites
    assert u.theorem.header.split("\n")[3] == "theorem helper : (1:ℕ) = 1 := rfl"  # still line 4
    assert "def f" not in u.theorem.header and "uses_f" not in u.theorem.header
    [t] = parsed.skipped
    assert t.name == "t" and "mentions f" in t.reason
    assert len(parsed.notes) == 2 and "def f uses `sorry`" in parsed.notes[0] and "uses_f mentions f" in parsed.notes[1]


def test_a_pattern_matching_definition_with_sorry_is_left_out_too():
    text = "def g : ℕ → ℕ\n  | 0 => 1\n  | n + 1 => sorry\ntheorem u : (2:ℕ) = 2 := by\n  sorry\n"
    parsed = parse_lean_file(text)
    assert "def g" not in parsed.sites[0].theorem.header and "def g uses `sorry`" in parsed.notes[0]


def test_a_proof_spliced_after_by_sorry_takes_the_files_indentation():
    text = "theorem a : True := by\n    trivial\ntheorem b : True := by sorry\n"
    assert splice_proofs(parse_lean_file(text), {"b": "trivial"}) == text.replace("by sorry", "by\n    trivial")
