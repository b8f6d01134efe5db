"""Red team of the file paths (partial proofs, sorried declarations, whole-proof answers, splicing):
texts built to get a false statement reported proved, or an output file whose proof is not the one
that was verified. Every case must stay refused / unproved / spliced where it was verified.

HOLES found (each test failed until fixed):
  * two `example`s on one line share the name `example_<line>`; `splice_proofs` was keyed by name,
    so the proof found for the second (true) example was written under the first (false) one.
  * the same with a `theorem t` inside `namespace A` and a top-level `theorem t`: a key naming
    one site by its short name could pick the other.
  * a tactic line inside a partial proof indented less than the tactic block was moved to the
    block's column for the check, so the text checked was not the file's text.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lean_env.guard import check_file, check_proof
from lean_env.theorem import parse_lean_file, splice_proofs
from prover.agent import AgentSolver, plan_file, prove_file
from prover.config import ProverConfig

REPO = Path(__file__).resolve().parents[2]
HEADER = "import Mathlib\n\n"


# -- helpers ---------------------------------------------------------------------------------------

@dataclass
class _Choice:
    text: str
    token_ids: list = field(default_factory=lambda: [0, 0, 0])
    cumulative_logprob: float = -1.0


@dataclass
class _Output:
    outputs: list


class AnswerEngine:
    """A completion engine that answers every prompt with the same crafted completions."""

    takes_text = True

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers

    async def submit(self, prompt, params):
        return _Output([_Choice(a) for a in self.answers[: params.n]])


def prove_with_answers(text: str, answers: list[str]):
    """`prove_file` with a whole-proof model policy whose every answer is one of `answers`."""
    config = ProverConfig.model_validate({
        "policy": {"name": "model", "url": "http://unused.invalid"},
        "search": {"algorithm": "whole-proof", "model_samples": len(answers), "repair_rounds": 0,
                   "budget": {"time_limit_s": 30, "max_expansions": 4}}})
    solver = AgentSolver(config, engine=AnswerEngine(answers))
    try:
        return prove_file(plan_file(text), solver)
    finally:
        solver.close()


def cli_prove(tmp_path: Path, text: str) -> tuple[int, str, str | None, dict | None]:
    source, out, report = tmp_path / "f.lean", tmp_path / "out.lean", tmp_path / "report.json"
    source.write_bytes(text.encode())
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
    done = subprocess.run([sys.executable, "-m", "prover.cli", "prove", str(source), "--out", str(out),
                           "--report", str(report), "--policy", "hammer", "--time-limit", "20",
                           "--max-expansions", "8"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    return (done.returncode, done.stdout + done.stderr, out.read_text() if out.exists() else None,
            json.loads(report.read_text()) if report.exists() else None)


# -- holes: a proof spliced where it was not verified --------------------------------------------

def test_two_examples_on_one_line_each_get_their_own_proof(tmp_path: Path) -> None:
    # the first is false, the second true: its proof must never land under the first
    text = HEADER + "example : (1:ℕ) + 1 = 3 := by sorry example : (2:ℕ) + 2 = 4 := by sorry\n"
    code, output, out, report = cli_prove(tmp_path, text)
    statuses = [row["status"] for row in report["results"]]
    assert statuses == ["failed", "proved"], output
    first, second = out.split("example")[1:]
    assert first.rstrip().endswith("= 3 := by sorry"), out  # the false one is untouched
    assert "sorry" not in second and second.startswith(" : (2:ℕ) + 2 = 4 := by\n"), out


def test_a_short_name_shared_across_namespaces_splices_into_the_right_theorem() -> None:
    text = HEADER + "namespace A\ntheorem t : (1:ℕ) = 2 := by sorry\nend A\n\ntheorem t : (2:ℕ) = 2 := by sorry\n"
    parsed = parse_lean_file(text)
    top = next(site for site in parsed.sites if site.full_name == "t")
    out = splice_proofs(parsed, {top: "rfl"})
    assert "theorem t : (1:ℕ) = 2 := by sorry\nend A" in out and out.endswith("(2:ℕ) = 2 := by\n  rfl\n")
    assert splice_proofs(parsed, {"t": "rfl"}) == out  # the full name `t` is the top-level one
    with pytest.raises(KeyError, match="ambiguous"):
        splice_proofs(parse_lean_file(HEADER + "example : True := by sorry example : True := by sorry\n"),
                      {"example_3": "trivial"})


def test_a_partial_proof_line_left_of_its_tactic_block_is_not_moved_for_the_check() -> None:
    # `<;> try norm_num` at column 2 under a block at column 4: the check saw it at the block's
    # column (part of `constructor`), while the file's text leaves it outside the block
    text = (HEADER + "theorem t (x : ℕ) (h : x = 3) : (1:ℕ) + 1 = 2 ∧ x = 3 := by\n"
            "    constructor\n  <;> try norm_num\n    sorry\n")
    proof = prove_with_answers(text, ["  exact h\n```"])
    [record] = proof.records
    assert record.status != "proved" and proof.text == text
    assert "indented less than" in record.error and "5:2" in record.error


# -- the guard reads an escaped name as the name it is ---------------------------------------------

@pytest.mark.parametrize("proof", [
    "exact «sorryAx» _ false",                 # Lean: `sorryAx` itself
    "exact («sorryAx» _ true)",
    "exact «Lean».«ofReduceBool» _ _ rfl",     # Lean: `Lean.ofReduceBool`
    "exact Lean.«ofReduceBool» _ _ rfl",
    "exact «Lean».ofReduceNat _ _ rfl",
    "exact «admit»",
    "exact lcProof",                           # an axiom of the compiler's: proves anything
    "exact «lcProof»",
])
def test_the_guard_sees_through_guillemets(proof: str) -> None:
    assert check_proof("  " + proof), proof


@pytest.mark.parametrize("proof", [
    "exact hᶜsorry",     # Lean: `h`, the postfix `ᶜ`, then `sorry` (a regex word ran them together)
    "exact xⁿsorry",
    "exact (λsorry)",
    "exact a²sorryAx _ false",
])
def test_the_guard_reads_words_as_lean_does(proof: str) -> None:
    assert any("gives up" in reason for reason in check_proof("  " + proof)), proof


def test_a_statement_file_hiding_sorryax_behind_a_symbol_is_refused() -> None:
    [reason] = check_file("theorem t : (1:ℕ) = 2 := by\n  exact a²sorryAx _ false\n")
    assert "line 2:10" in reason and "sorryAx" in reason


# -- sorried declarations stay out of later headers, however they are spelled --------------------

def test_a_sorried_lemma_mentioned_as_an_escaped_name_is_left_out_too() -> None:
    text = (HEADER + "theorem bad : False := by sorry\n\ntheorem uses : False := «bad»\n\n"
            "theorem later : (2:ℕ) + 2 = 4 := by\n  sorry\n")
    plan = plan_file(text)
    assert any("uses mentions bad" in note for note in plan.notes), plan.notes
    later = next(site for site in plan.parsed.sites if site.theorem.name == "later")
    assert "bad" not in later.theorem.header  # neither `bad` nor `uses`
    proof = prove_with_answers(text, ["  exact bad.elim\n```", "  exact uses.elim\n```", "  norm_num\n```"])
    assert [(r.name, r.status, r.proof) for r in proof.records] == [
        ("bad", "failed", None), ("later", "proved", "norm_num")]


def test_a_later_theorem_of_the_same_short_name_does_not_block_an_earlier_one() -> None:
    text = HEADER + "namespace A\ntheorem t : (1:ℕ) + 1 = 2 := by sorry\nend A\n\ntheorem t : (2:ℕ) = 2 := by sorry\n"
    assert [site.full_name for site in parse_lean_file(text).sites] == ["A.t", "t"]
