"""The issue's known-false examples (all false in Lean 4 + Mathlib) are rejected on every path
a verdict can take: the REPL server, `ProofEnv.verify` (fresh process, trusted core) and
`prover prove` (search, re-check, report, exit code)."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lean_env import open_env, parse_lean_file
from lean_env.embedded.server import EmbeddedRepl
from prover.cli import app

HEADER = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
# (name, statement ending in `:= by`, the proof the issue found accepted)
PROOFS = [
    ("u1_false", "theorem u1_false : False := by",
     "obtain ⟨z, hz⟩ : ∃ z : ℕ, z = 0 := ⟨0, by norm_num⟩\nclear z\n"
     "obtain ⟨z, hz'⟩ : ∃ z : ℕ, z = 1 := ⟨1, by norm_num⟩\nexfalso\nomega"),
    ("sum_leaf", "theorem sum_leaf : ∑ i in Finset.range 3, (i - 1) = (0 : ℤ) := by", "norm_num"),
    ("abs_leaf", "theorem abs_leaf : |(7 : ℤ) / 2| = (7 / 2 : ℝ) := by", "norm_num"),
    ("binder_all", "theorem binder_all : ∀ n, (n : ℝ) ≥ 0 := by", "intro n\nlinarith"),
    ("congr_types", "theorem congr_types (a b : ℕ) : ((a - b : ℕ) : ℝ) = (((a : ℤ) - b : ℤ) : ℝ) := by",
     "congr\ncongr\nall_goals omega"),
    ("field_simp_neq", "theorem field_simp_neq (x : ℝ) (h : ¬ (x = 1)) : x / x = 1 := by", "field_simp"),
]
HIDDEN = "set_option maxHeartbeats 400000 in theorem hidden_a : (1 : ℕ) = 2 := by\n  open Nat"
OTHER_SCRIPTS = ["norm_num", "simp", "linarith", "omega", "decide", "positivity", "nlinarith", "simp_all"]


def _indent(proof: str) -> str:
    return "\n".join("  " + line for line in proof.split("\n"))


def _accepted(resp: dict) -> bool:
    if "message" in resp and "env" not in resp:
        return False
    msgs = resp.get("messages", [])
    return not resp.get("sorries") and not any(m["severity"] == "error" or "sorry" in m["data"] for m in msgs)


def test_rejected_by_the_repl_server():
    repl = EmbeddedRepl()
    for name, stmt, proof in PROOFS:
        for script in [proof] + OTHER_SCRIPTS:
            assert not _accepted(repl.handle({"cmd": HEADER + stmt + "\n" + _indent(script)})), (name, script)
    assert not _accepted(repl.handle({"cmd": HEADER + HIDDEN}))


def test_rejected_by_verify():
    text = HEADER + "\n\n".join(stmt + "\n  sorry" for _, stmt, _ in PROOFS) + "\n"
    theorems = {t.name: t for t in parse_lean_file(text).theorems}
    with open_env("embedded") as env:
        for name, _, proof in PROOFS:
            verdict = env.verify(theorems[name], proof)
            assert not verdict.ok, (name, verdict)
    hidden = HEADER + "theorem hidden_b : (1 : ℕ) = 2 := by\n  sorry\n"
    with open_env("embedded") as env:
        verdict = env.verify(parse_lean_file(hidden).theorems[0], "open Nat")
        assert not verdict.ok


def test_rejected_by_prover_prove(tmp_path: Path):
    src = tmp_path / "false.lean"
    src.write_text(HEADER + "\n\n".join(stmt + "\n  sorry" for _, stmt, _ in PROOFS) + "\n", encoding="utf-8")
    out, report = tmp_path / "o.lean", tmp_path / "r.json"
    result = CliRunner().invoke(app, ["prove", str(src), "--policy", "hammer", "--out", str(out),
                                      "--report", str(report), "--time-limit", "8", "--max-expansions", "24"])
    assert result.exit_code == 1, result.output
    rows = json.loads(report.read_text())["results"]
    assert {r["name"] for r in rows} == {name for name, _, _ in PROOFS}
    assert not [r["name"] for r in rows if r["status"] == "proved"]
    assert out.read_text(encoding="utf-8") == src.read_text(encoding="utf-8")  # nothing was filled in
    hidden = tmp_path / "hidden.lean"
    hidden.write_text(HEADER + HIDDEN + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["prove", str(hidden), "--policy", "hammer", "--out", str(tmp_path / "h.lean")])
    assert result.exit_code == 2, result.output  # the file itself is refused: `open` inside a proof
