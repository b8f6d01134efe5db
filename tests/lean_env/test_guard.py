"""The guard rejects each exploit of the issue and accepts ordinary proofs."""
from __future__ import annotations

import json

import pytest

from lean_env.datasets import minif2f_dir
from lean_env.guard import GuardPolicy, check_file, check_proof

MINIF2F = minif2f_dir()

ORDINARY = [
    "nlinarith [sq_nonneg (a - b)]",
    "simp only [Finset.sum_range_succ]",
    "norm_num [Nat.factorial]",
    "omega",
    "-- sorry is only mentioned in this comment\nnorm_num",
    "/- admit, native_decide, #eval in a block comment -/\nlinarith",
    'have h : "sorry" ≠ "" := by decide\nsimp',
    "intro x hx\nhave h₁ : x' = 2 := by\n  linarith\nsubst h₁\nrfl",
    "rcases h with ⟨k, rfl⟩\nexact ⟨k, by ring⟩",
    "calc a = b := by rw [h]\n  _ = c := by simp",
    "field_simp\nring_nf\nnlinarith [sq_nonneg (x + y), sq_abs x]",
    "decide",
    "simp [Finset.card] at *\nomega",
]

EXPLOITS = {
    "sorry": "sorry",
    "admit": "intro x\nadmit",
    "sorryAx": "exact sorryAx _ false",
    "native_decide": "native_decide",
    "decide +native": "decide +native",
    "ofReduceBool": "exact Lean.ofReduceBool _ _ rfl",
    "implemented_by": "exact (by exact trivial : @[implemented_by foo] True)",
    "extern": "have : True := by extern",
    "unsafe": "exact unsafe (cast rfl trivial)",
    "set_option": "set_option debug.skipKernelTC true in\nexact h",
    "skipKernelTC": "set_option debug.skipKernelTC true in rfl",
    "#eval": "#eval IO.println 1\nrfl",
    "#exit": "simp\n#exit",
    "run_cmd": "run_cmd Lean.logInfo \"x\"",
    "run_tac": "run_tac Lean.Elab.Tactic.evalTactic (← `(tactic| rfl))",
    "elab": "elab \"cheat\" : tactic => return\ncheat",
    "macro": "macro \"cheat\" : tactic => `(tactic| sorry)\ncheat",
    "syntax": "syntax \"cheat\" : tactic\ncheat",
    "notation": "notation \"X\" => True\ntrivial",
    "import": "import Mathlib.Tactic\nrfl",
    "attribute": "attribute [simp] foo\nsimp",
    "@[": "have @[simp] h : True := trivial\nsimp",
    "axiom": "exact (axiom cheat : False)",
    "new theorem": "rfl\ntheorem extra : False := by sorry",
    "dedent ends the block": "  simp\ntheorem extra : 1 = 2 := rfl",
    "unbalanced bracket": "exact h)\n(x : ℕ",
    "stop": "stop\nsimp",
    "Lean meta": "exact Lean.Elab.Term.elabTerm",
    "open Lean": "open Lean Elab in\nexact foo",
    # `open … in tac` changes what names and notations mean; a bare `open` ends the block (issue 13)
    "open in": "open Real in\n  simp [Real.sqrt_eq_iff]",
    "open": "norm_num\n  open Nat",
    "unclosed bracket": "exact (foo",
    "by_elab": "exact by_elab pure (Lean.mkConst ``True.intro)",
    "empty": "   ",
    "unterminated comment": "simp /- oops",
}


@pytest.mark.parametrize("proof", ORDINARY)
def test_ordinary_proofs_pass(proof):
    assert check_proof(proof) == []


@pytest.mark.parametrize("name", sorted(EXPLOITS))
def test_each_exploit_is_rejected(name):
    reasons = check_proof(EXPLOITS[name])
    assert reasons, f"{name} slipped through"
    assert all(isinstance(r, str) and r for r in reasons)


def test_reasons_say_what_and_where():
    [reason] = check_proof("simp\n  exact sorryAx _")
    assert "line 2" in reason and "sorryAx" in reason


def test_native_decide_is_configurable():
    policy = GuardPolicy(allow_native_decide=True)
    assert check_proof("native_decide", policy) == []
    assert check_proof("decide +native", policy) == []
    assert check_proof("sorry", policy) != []


def test_minif2f_statement_files_are_accepted():
    rows = [json.loads(line) for line in (MINIF2F / "valid.jsonl").read_text().splitlines()]
    for row in rows:
        text = row["header"] + row["formal_statement"] + " sorry\n"
        assert check_file(text) == [], row["name"]
    assert check_file("import Mathlib\nnamespace Foo\nsection\nvariable (x : ℕ)\nlemma a : x = x := by rfl\n"
                      "example : True := by\nend\nend Foo\n") == []
    assert check_file("import Mathlib\nset_option maxHeartbeats 400000 in\nopen Real in\n"
                      "theorem t : Real.sqrt 4 = 2 := by sorry\n") == []


@pytest.mark.parametrize("text, word", [
    ("import Mathlib\naxiom cheat : False\ntheorem t : False := cheat\n", "axiom"),
    ("import Mathlib\nset_option debug.skipKernelTC true\ntheorem t : 1 = 2 := by sorry\n", "skipKernelTC"),
    ("import Mathlib\nmacro \"x\" : term => `(1)\ntheorem t : True := by sorry\n", "macro"),
    ("import Mathlib\n#eval 1\ntheorem t : True := by sorry\n", "#eval"),
    ("import Mathlib\ninstance : Inhabited False := sorry\n", "instance"),
    ("import Mathlib\nattribute [simp] Nat.add_comm\ntheorem t : True := by sorry\n", "attribute"),
    ("import Mathlib\ntheorem t : True := by native_decide\n", "native_decide"),
    ("import Mathlib\ntheorem t (h : sorry) : True := by sorry\n", "sorry"),
    ("import Mathlib\n@[implemented_by id] def f (n : ℕ) : ℕ := n\n", "@["),
    ("import Mathlib\nset_option debug.skipKernelTC true in\ntheorem t : True := by sorry\n", "set_option"),
])
def test_statement_files_with_forbidden_commands_are_rejected(text, word):
    reasons = check_file(text)
    assert reasons and any(word in r or "not allowed" in r for r in reasons), reasons


def test_statement_file_that_does_not_scan_is_rejected_with_position():
    [reason] = check_file("import Mathlib\ntheorem t : True := by\n  /- never closed\n")
    assert "3:2" in reason


def test_published_minif2f_proofs_pass_the_guard_and_parse_as_proved():
    from lean_env.theorem import parse_lean_file

    statements = {json.loads(line)["name"]: json.loads(line)
                  for line in (MINIF2F / "valid.jsonl").read_text().splitlines()}
    rows = [json.loads(line) for line in (MINIF2F / "valid_proofs.jsonl").read_text().splitlines()]
    assert len(rows) == 100
    for row in rows:
        statement = statements[row["name"]]
        proof = row["proof"].lstrip()
        assert check_proof(proof[2:] if proof.startswith("by") else proof) == [], row["name"]
        text = (statement["header"] + (row.get("preamble") or "") + "\n"
                + statement["formal_statement"].removesuffix(" by").rstrip() + row["proof"] + "\n")
        assert parse_lean_file(text).sites == (), row["name"]
        assert check_file(text) == [], row["name"]
