"""`python -m prover.cli prove FILE --policy hammer`: an existential is proved with its witness,
and every theorem left unproved says why, in the table and in the JSON report (whose rows are
also what the HTTP API answers)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prover.records import TheoremRecord

REPO = Path(__file__).resolve().parents[2]

SOURCE = """import Mathlib

theorem e : ∃ n : ℕ, n + 2 = 5 := by
  sorry

theorem no_nat : ∃ n : ℕ, n + 5 = 2 := by
  sorry

theorem injective (f : ℕ → ℕ) (h : Function.Injective f) : f 1 ≠ f 2 := by
  sorry
"""


def test_prove_with_the_hammer_proves_the_existential_and_explains_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "exists.lean"
    source.write_text(SOURCE, encoding="utf-8")
    report = tmp_path / "exists.report.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "prover.cli", "prove", str(source), "--policy", "hammer",
         "--time-limit", "30", "--report", str(report)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # some theorems stay unproved

    rows = {row["name"]: row for row in json.loads(report.read_text())["results"]}
    assert rows["e"]["status"] == "proved" and rows["e"]["proof"].strip() == "use 3"
    assert rows["e"]["stop_reason"] == "proved" and rows["e"]["error"] is None
    assert "use 3" in (tmp_path / "exists.proved.lean").read_text()

    no_nat = rows["no_nat"]
    assert no_nat["status"] == "failed" and no_nat["stop_reason"] == "no candidates left"
    assert no_nat["error"].startswith("no candidates left: all ")
    assert "tactics tried at" in no_nat["error"] and "failed or were refused" in no_nat["error"]
    assert "of a 30 s budget" in no_nat["error"]

    injective = rows["injective"]
    assert injective["status"] == "error" and injective["stop_reason"] == "outside fragment"
    assert "unsupported construct" in injective["error"]

    shown = "".join(done.stdout.split())  # rich may wrap the table's cells
    assert "nocandidatesleft:all" in shown and "outsidefragment:" in shown


def test_a_record_carries_the_search_results_reason() -> None:
    class Result:  # duck-typed like search.SearchResult
        name, status, proof, time_s, expansions, env_calls, tokens = "t", "failed", None, 1.5, 64, 90, 0
        backend, stop_reason = "embedded kernel", "expansion limit"
        error = "expansion limit: the budget is spent (64 of 64 expansions)"

    record = TheoremRecord.from_search_result(Result())
    assert record.stop_reason == "expansion limit" and record.error == Result.error
    assert json.loads(record.to_json_line())["stop_reason"] == "expansion limit"
