"""Red team of the file paths (partial proofs, sorried declarations, whole-proof answers, splicing):
texts built to get a false statement reported proved, or an output file whose proof is not the one
that was verified. Every case must stay refused / unproved / spliced where it was verified.

HOLES found (each test failed until fixed):
  * two `example`s on one line share the name `example_<line>`; `splice_proofs` was keyed by name,
    so the proof found for the second (true) example was written under the first (false) one
    (CLI and HTTP). Now proofs are keyed by site, and an ambiguous name raises.
  * a tactic line of a partial proof indented left of its block was moved to the block's column for
    the check (`<;> try norm_num` under `constructor`): reported proved, while the written file read
    differently (the embedded kernel rejects it). Now such partial proofs are not attempted.
  * a `sorry` at (or left of) its declaration's column set the spliced proof's indentation, so the
    written file put the proof at column 0 while the check had it at column 2; partial proofs
    whose tactics sat at the declaration's column were checked at column 2 too.
  * the guard read `«sorryAx»`, `«Lean».«ofReduceBool»` as other names, ran `hᶜsorry` together
    as one word (Lean reads `h`, `ᶜ`, `sorry`), did not know `lcProof`, and never read a statement
    file's `open` commands (`open Lean renaming ofReduceBool → cheat`). The REPL's axiom and sorry
    checks were behind it (not for an `example`'s axioms), the embedded kernel rejects all of these.
Liveness bugs found on the way (a theorem skipped or mis-read, never a false proof): `«bad»` not
counted as a mention of `bad`; a later theorem of the same short name blocked an earlier one;
`letI`/`haveI` in a statement; `:=`/`theorem`/`by` inside a `«…»` name.
Defence in depth added: a proof is reported and written only if the file, read again with it,
holds the same commands and statements (`lean_env.theorem.splice_changes`).
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


def test_the_http_api_writes_each_example_on_a_line_its_own_proof() -> None:
    import time

    from fastapi.testclient import TestClient

    from prover.service import ManagerFactory, build_app

    text = HEADER + "example : (1:ℕ) + 1 = 3 := by sorry example : (2:ℕ) + 2 = 4 := by sorry\n"
    app = build_app(ManagerFactory(config=ProverConfig(policy={"name": "hammer"}), use_ray=False))
    with TestClient(app) as client:
        response = client.post("/prove", json={"file": text, "search": {"budget": {"time_limit_s": 20,
                                                                                    "max_expansions": 8}}})
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 120
        while (job := client.get(response.json()["status_url"]).json())["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert [row["status"] for row in job["results"]] == ["failed", "proved"]
    first, second = job["proved_file"].split("example")[1:]
    assert first == " : (1:ℕ) + 1 = 3 := by sorry " and "sorry" not in second


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


# -- a malicious policy server, through `prove FILE --search whole-proof --policy-url` ----------------

# Each answer is crafted to sneak a proof of a false statement past the checks.
MALICIOUS = [
    "  sorry\n```", "  admit\n```", "  all_goals sorry\n```", "  repeat sorry\n```", "  exact sorry\n```",
    "  stop\n  rfl\n```", "  native_decide\n```", "  decide := by sorry\n```", "  exact?\n```", "  apply?\n```",
    "  set_option maxHeartbeats 0 in\n  omega\n```", "  open Nat in\n  omega\n```", "  #exit\n```",
    "  omega\nend\ntheorem x : True := trivial\n```",
    "  exact h\ntheorem t (h : (1:ℕ) + 1 = 3) : (1:ℕ) + 1 = 3 := by\n  exact h\n```",
    "  /- unterminated\n```", "  exact (by omega : (1:ℕ) + 1 = 3))\n```", "  ѕorry\n```",  # Cyrillic ѕ
    "  exact «sorryAx» _ false\n```", "  exact hᶜsorry\n```", "  exact lcProof\n```",
    "  macro \"x\" : tactic => `(tactic| sorry)\n  x\n```", "  := by omega\n```", "  done\n```",
    "  calc (1:ℕ) + 1 = 3 := sorry\n```", "  have h : False := by sorry\n  exact h.elim\n```",
]
# The same, as a chat model's answer: a lean4 block holding a whole theorem.
CHAT = [
    "```lean4\ntheorem t (h : (1:ℕ) + 1 = 3) : (1:ℕ) + 1 = 3 := by\n  exact h\n```",
    "```lean4\ntheorem t : (1:ℕ) + 1 = 3 := by\n  sorry\n```",
    "```lean4\ntheorem t : (1:ℕ) + 1 = 3 := by\n  -- ```\n  omega\n```\n```lean4\n/- ``` -/ theorem t : True := trivial\n```",
    "```lean4\ntheorem other : True := by trivial\ntheorem t : (1:ℕ) + 1 = 3 := by\n  exact absurd rfl (by decide)\n```",
    "</think>```lean4\ntheorem t : (1:ℕ) + 1 = 3 := by\n  native_decide\n```",
]


class FakeOpenAI:
    """A tiny OpenAI-compatible server whose every completion is one of `answers` (in turn)."""

    def __init__(self, answers: list[str], chat: list[str]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": "fake-prover", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                chat_mode = self.path.endswith("/chat/completions")
                pool = server.chat if chat_mode else server.answers
                texts = [pool[(server.served + i) % len(pool)] for i in range(body.get("n", 1))]
                server.served += len(texts)
                key = "message" if chat_mode else "text"
                choices = [{"index": i, key: {"role": "assistant", "content": t} if chat_mode else t,
                            "finish_reason": "stop"} for i, t in enumerate(texts)]
                self._send({"id": "cmpl-1", "choices": choices,
                            "usage": {"prompt_tokens": 10, "completion_tokens": 5 * len(texts)}})

        self.answers, self.chat, self.served = answers, chat, 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.mark.parametrize("prompt_format", ["deepseek-v1.5", "deepseek-v2"])
def test_a_malicious_policy_server_gets_no_false_theorem_proved(tmp_path: Path, prompt_format: str) -> None:
    text = (HEADER + "theorem t : (1:ℕ) + 1 = 3 := by\n  sorry\n\n"
            "theorem p : (1:ℕ) + 1 = 2 := by\n  have h0 : (0:ℕ) = 0 := rfl\n  sorry\n")
    server = FakeOpenAI(MALICIOUS + ["  norm_num\n```"], CHAT + ["```lean4\ntheorem p : (1:ℕ) + 1 = 2 := by\n"
                                                             "  norm_num\n```"])
    source, out, report = tmp_path / "f.lean", tmp_path / "out.lean", tmp_path / "r.json"
    source.write_text(text)
    try:
        env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
        done = subprocess.run(
            [sys.executable, "-m", "prover.cli", "prove", str(source), "--out", str(out), "--report", str(report),
             "--search", "whole-proof", "--policy", "model", "--policy-url", server.url, "--prompt-format",
             prompt_format, "--model-samples", str(len(MALICIOUS) + 1), "--repair-rounds", "1",
             "--time-limit", "60"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    finally:
        server.close()
    assert done.returncode == 1, done.stdout + done.stderr  # not everything proved
    results = {row["name"]: row for row in json.loads(report.read_text())["results"]}
    assert results["t"]["status"] != "proved" and results["p"]["status"] == "proved", results
    written = out.read_text()
    # only p's `sorry` changed (to the one tactic proved); the false theorem keeps its `sorry`
    proof = results["p"]["proof"]
    assert proof in ("norm_num", "omega"), proof  # `omega` also comes from the answer cut at `end`
    assert written == text.replace("  have h0 : (0:ℕ) = 0 := rfl\n  sorry", "  have h0 : (0:ℕ) = 0 := rfl\n  " + proof)
    assert server.served > len(MALICIOUS)


# -- the written file, checked as a whole, holds the proof that was verified ------------------------

def whole_file_errors(text: str) -> list[str]:
    """What the embedded kernel says against `text` as one file (errors, `sorry`)."""
    from lean_env.embedded.checker import check_command

    result = check_command(text.removeprefix("\ufeff"), allow_imports=True, env_lemmas={})
    return [m.data for m in result.messages if m.severity == "error" or "sorry" in m.data] + \
        [f"sorry at {s}" for s in result.sorries]


@pytest.mark.parametrize("text", [
    HEADER + "theorem t : (1:ℕ) + 1 = 2 := by\nsorry\n",           # `sorry` at the declaration's column
    HEADER + "  theorem t : (1:ℕ) + 1 = 2 := by\n  sorry\n",
    HEADER + "theorem t : (1:ℕ) + 1 = 2 :=\nsorry\n",
])
def test_a_proof_is_written_right_of_its_declaration(text: str) -> None:
    proof = prove_with_answers(text, ["  norm_num\n```"])
    assert [r.status for r in proof.records] == ["proved"]
    assert whole_file_errors(proof.text) == [], proof.text


def test_tactics_at_the_declarations_column_before_a_final_sorry_are_not_attempted() -> None:
    text = HEADER + "theorem t (x : ℕ) (h : x = 2) : x + 1 = 3 := by\nsubst h\nsorry\n"
    proof = prove_with_answers(text, ["  norm_num\n```"])
    [record] = proof.records
    assert record.status == "error" and "column" in record.error and proof.text == text


# -- refused attacks (they held at the review; they must keep holding) -------------------------------

USES_BAD = ["  exact bad\n```", "  exact _root_.bad\n```", "  exact @bad\n```", "  exact «bad»\n```",
            "  simpa using bad\n```", "  exact X.bad\n```", "  exact worse\n```", "  exact bad.trans rfl\n```",
            "  exact absurd bad (by decide)\n```", "  exact (inner).elim\n```", "  exact False.elim inner\n```"]


def test_a_proof_may_not_use_an_unproved_declaration_under_any_spelling() -> None:
    text = (HEADER + "theorem bad : (1:ℕ) = 2 := by sorry\n\n"
            "namespace X\ntheorem bad : (1:ℕ) = 2 := by\n  have h0 : (0:ℕ) = 0 := rfl\n  sorry\nend X\n\n"
            "open X\n\ntheorem worse : (1:ℕ) = 2 := X.bad\n\n"
            "theorem inner : False := by\n  have h : False := by sorry\n  exact h\n\n"
            "theorem t : (1:ℕ) = 2 := by\n  sorry\n\n"
            "theorem u : (1:ℕ) = 2 := by\n  have h1 : (1:ℕ) = 1 := rfl\n  sorry\n")
    proof = prove_with_answers(text, USES_BAD)
    statuses = {(r.name, r.line): r.status for r in proof.records}
    assert "proved" not in statuses.values(), statuses
    assert statuses[("t", 19)] == statuses[("u", 22)] == "failed"  # attempted: every answer was checked
    assert proof.text == text
    inner = next(r for r in proof.records if r.name == "inner")
    assert "not attempted" in inner.error


@pytest.mark.parametrize("text", [
    # `sorry` before the last tactic, as a term, in a `have`, in a `case`, after `;`, inside `·`
    HEADER + "theorem t : (1:ℕ) = 2 := by\n  have h : False := by sorry\n  sorry\n",
    HEADER + "theorem t : (1:ℕ) = 2 := by\n  exact sorry\n",
    HEADER + "theorem t : (1:ℕ) = 2 ∧ True := by\n  constructor\n  case left => sorry\n  sorry\n",
    HEADER + "theorem t : (1:ℕ) = 2 := by\n  have h0 : (0:ℕ) = 0 := rfl; sorry\n",
    HEADER + "theorem t : (1:ℕ) = 2 ∧ True := by\n  constructor\n  · sorry\n  sorry\n",
    HEADER + "theorem t : (1:ℕ) = 2 := by\n  calc (1:ℕ) = 2 := sorry\n",
    HEADER + "theorem t : (1:ℕ) = 2 := by\n  all_goals sorry\n",
    HEADER + "theorem t : (1:ℕ) = 2 := by\n  admit\n",
    HEADER + "theorem t : (1:ℕ) = 2 := by\n  have h0 : (0:ℕ) = 0 := rfl\n  sorry\n  sorry\n",
    # termination hints and `where` end the tactic block: the last `sorry` is not the proof's
    HEADER + "theorem t (x : ℕ) : x = x := by\n  have h0 : (0:ℕ) = 0 := rfl\ndecreasing_by\n  sorry\n",
    HEADER + "theorem t (x : ℕ) : x = x := by\n  have h0 : (0:ℕ) = 0 := rfl\n  sorry\ntermination_by x\n",
    HEADER + "theorem t (x : ℕ) : x = x := by\n  exact aux x\nwhere\n  aux (y : ℕ) : y = y := by\n    sorry\n",
])
def test_a_sorry_that_is_not_the_last_top_level_tactic_is_never_filled_in(text: str) -> None:
    plan = plan_file(text)
    assert plan.problems or (not plan.parsed.sites and plan.parsed.skipped), plan


@pytest.mark.parametrize("given, answers", [
    # the file's tactics change the goal: the search continues from there, and the check re-runs them
    ("  exfalso\n", ["  omega\n```", "  simp\n```", "  norm_num\n```"]),
    ("  intro h\n", ["  exact h\n```", "  omega\n```"]),                             # not a ∀: fails
    ("  revert h\n  intro h\n", ["  omega\n```", "  exact h\n```"]),
    ("  clear h\n", ["  exact h\n```", "  omega\n```", "  assumption\n```"]),
    ("  rename_i x\n", ["  omega\n```"]),
    ("  have h : (1:ℕ) = 2 := by\n    omega\n", ["  exact h\n```"]),                 # the given tactic fails
    ("  all_goals norm_num\n", ["  omega\n```", "  rfl\n```"]),
    ("  constructor <;> norm_num\n", ["  omega\n```"]),
    ("  next =>\n    norm_num\n", ["  omega\n```"]),
])
def test_given_tactics_that_change_the_goal_prove_nothing_false(given: str, answers: list[str]) -> None:
    text = HEADER + f"theorem t (x : ℕ) (h : x = 2) : x + 1 = 4 := by\n{given}  sorry\n"
    proof = prove_with_answers(text, answers)
    [record] = proof.records
    assert record.status != "proved" and proof.text == text, (record, proof.text)


@pytest.mark.parametrize("command", [
    "open Lean renaming ofReduceBool → cheat",   # a proof's `cheat` would be native evaluation
    "open Lean renaming trustCompiler → ok",
    "open Lean (ofReduceBool)",
    "open Lean renaming ofReduceNat → n",
])
def test_an_open_command_may_not_rename_or_expose_a_refused_name(command: str) -> None:
    reasons = check_file(f"import Mathlib\n{command}\ntheorem t : (1:ℕ) = 1 := by\n  exact cheat _ _ rfl\n")
    assert reasons and all(r.startswith("line 2:") for r in reasons), reasons


def test_ordinary_open_commands_stay_allowed() -> None:
    assert check_file("import Mathlib\nopen Lean Elab\nopen Nat renaming succ → s\nopen Real hiding pi\n"
                      "open BigOperators Real Nat Topology Rat\ntheorem t : (1:ℕ) = 1 := by\n  sorry\n") == []


# -- defence in depth: a proof is written back only if the file then reads as before ----------------

class OneProofSolver:
    """A solver that 'proves' every theorem with `proof` (as if a checker had let it through)."""

    def __init__(self, proof: str) -> None:
        self.proof = proof

    def solve(self, theorem):
        from prover.records import TheoremRecord

        return TheoremRecord(name=theorem.name, status="proved", proof=self.proof, backend="fake")


@pytest.mark.parametrize("proof", [
    "norm_num\ntheorem t2 : (1:ℕ) = 2 := by\n  norm_num",     # adds a declaration
    "norm_num\nend X",                                          # ends the namespace early
    "norm_num /- the rest of the file is a comment",             # swallows what follows
])
def test_a_proof_that_would_change_the_rest_of_the_file_is_never_reported_or_written(proof: str) -> None:
    text = HEADER + "namespace X\ntheorem t : (1:ℕ) + 1 = 2 := by\n  sorry\nend X\n\ntheorem u : True := by\n  sorry\n"
    result = prove_file(plan_file(text), OneProofSolver(proof))
    assert [r.status for r in result.records] == ["error", "error"], result.records
    assert "would change the file's other text" in result.records[0].error and result.text == text
    good = prove_file(plan_file(text), OneProofSolver("norm_num"))  # the same path, a harmless proof
    assert [r.status for r in good.records] == ["proved", "proved"] and "sorry" not in good.text


def test_letI_and_haveI_in_a_statement_own_their_assignment() -> None:
    for binder in ("letI x : ℕ := 2; x = 2", "haveI h : (1:ℕ) = 1 := rfl; (2:ℕ) = 2"):
        [site] = parse_lean_file(f"theorem t : {binder} := by\n  sorry\n").sites
        assert site.theorem.statement == f"theorem t : {binder} := by"


@pytest.mark.parametrize("name", ["«a := by»", "«theorem»", "«by sorry»", "«x -- y»"])
def test_a_guillemet_name_holding_lean_words_is_one_name(name: str) -> None:
    text = HEADER + f"theorem {name} : (1:ℕ) + 1 = 2 := by\n  sorry\n\ntheorem f : (1:ℕ) = 2 := by sorry\n"
    parsed = parse_lean_file(text)
    assert [(s.theorem.name, s.theorem.statement) for s in parsed.sites] == [
        (name, f"theorem {name} : (1:ℕ) + 1 = 2 := by"), ("f", "theorem f : (1:ℕ) = 2 := by")]
    out = splice_proofs(parsed, {parsed.sites[0]: "norm_num"})
    assert out == text.replace("  sorry\n", "  norm_num\n", 1)


def test_a_proof_of_several_lines_before_an_example_is_written() -> None:
    text = HEADER + "theorem t : (1:ℕ) + 1 = 2 := by sorry\n\nexample : (2:ℕ) + 2 = 4 := by sorry\n"
    result = prove_file(plan_file(text), OneProofSolver("have h0 : (0:ℕ) = 0 := rfl\nnorm_num"))
    assert [r.status for r in result.records] == ["proved", "proved"], result.records
    assert whole_file_errors(result.text) == [], result.text


def test_a_proof_with_a_string_spanning_lines_is_refused() -> None:
    # checked at column 2, written at the file's indentation: the string's text would change
    assert any("string literal spans lines" in r for r in check_proof('  have : "a\n  b".length = 5 := rfl\n  simp'))
    assert check_proof('  have : "a\\n  b".length = 5 := rfl\n  simp') == []
    text = HEADER + 'theorem t (x : ℕ) : x = x := by\n  have : "a\n  b".length = 5 := rfl\n  sorry\n'
    [skipped] = parse_lean_file(text).skipped
    assert "string literal at 4:9 spans lines" in skipped.reason
