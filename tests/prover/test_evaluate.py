"""Batch evaluation bookkeeping: one JSONL line per finished theorem, a valid file after an
interrupt or a torn write, --resume skipping finished theorems, summary by source, the plot."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lean_env.theorem import Theorem
from prover.evaluate import (
    RESULTS_FILE,
    DataError,
    LocalRunner,
    ResultLog,
    default_data_path,
    load_problems,
    run_evaluation,
    summarize_by_source,
    write_summary,
)
from prover.records import TheoremRecord, source_of
from prover.report import plot_proved

NAMES = ["mathd_algebra_1", "amc12a_2019_p2", "aimeII_2001_p3", "imo_1965_p4", "induction_sum_5", "algebra_sq_6"]


class CountingSolver:
    """Proves theorems whose name ends in an even digit; raises KeyboardInterrupt (a Ctrl-C)
    when it reaches `interrupt_at`. Records every theorem it was asked to prove."""

    def __init__(self, interrupt_at: str | None = None) -> None:
        self.interrupt_at = interrupt_at
        self.asked: list[str] = []
        self.closed = False

    def solve(self, theorem: Theorem) -> TheoremRecord:
        if theorem.name == self.interrupt_at:
            raise KeyboardInterrupt
        self.asked.append(theorem.name)
        proved = int(theorem.name[-1]) % 2 == 0
        return TheoremRecord(name=theorem.name, status="proved" if proved else "failed",
                             proof="norm_num" if proved else None, time_s=float(theorem.name[-1]),
                             expansions=int(theorem.name[-1]) * 2, backend="counting test solver")

    def close(self) -> None:
        self.closed = True


def _problems() -> list[Theorem]:
    return [Theorem(name=n, header="import Mathlib\n", statement=f"theorem {n} : True := by") for n in NAMES]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_interrupted_run_leaves_valid_file_and_resume_finishes_it(tmp_path: Path) -> None:
    first = CountingSolver(interrupt_at="imo_1965_p4")
    outcome = run_evaluation(_problems(), LocalRunner(first), tmp_path)
    assert outcome.interrupted and first.closed
    rows = _lines(tmp_path / RESULTS_FILE)
    assert [r["name"] for r in rows] == NAMES[:3]
    assert set(rows[0]) >= {"name", "status", "proof", "time_s", "expansions", "backend"}

    # Without --resume an existing results file is refused rather than mixed into.
    with pytest.raises(DataError, match="--resume"):
        run_evaluation(_problems(), LocalRunner(CountingSolver()), tmp_path)

    second = CountingSolver()
    resumed = run_evaluation(_problems(), LocalRunner(second), tmp_path, resume=True)
    assert second.asked == NAMES[3:]  # finished theorems are not proved again
    assert resumed.skipped == 3 and resumed.new == 3 and not resumed.interrupted
    rows = _lines(tmp_path / RESULTS_FILE)
    assert sorted(r["name"] for r in rows) == sorted(NAMES)  # exactly one line per theorem
    assert resumed.proved == sum(int(n[-1]) % 2 == 0 for n in NAMES)


def test_torn_last_line_is_cut_and_that_theorem_rerun(tmp_path: Path) -> None:
    log = ResultLog(tmp_path / RESULTS_FILE)
    log.append(TheoremRecord(name=NAMES[0], status="failed", backend="x"))
    with log.path.open("a") as handle:  # a crash in the middle of writing the second line
        handle.write('{"name": "amc12a_2019_p2", "status": "pro')
    solver = CountingSolver()
    run_evaluation(_problems(), LocalRunner(solver), tmp_path, resume=True)
    assert solver.asked == NAMES[1:]
    rows = _lines(log.path)
    assert sorted(r["name"] for r in rows) == sorted(NAMES)


def test_solver_exception_becomes_an_error_line(tmp_path: Path) -> None:
    class Broken(CountingSolver):
        def solve(self, theorem: Theorem) -> TheoremRecord:
            if theorem.name == NAMES[1]:
                raise RuntimeError("lean exploded")
            return super().solve(theorem)

    outcome = run_evaluation(_problems(), LocalRunner(Broken()), tmp_path)
    by_name = {r.name: r for r in outcome.records}
    assert by_name[NAMES[1]].status == "error" and "lean exploded" in by_name[NAMES[1]].error
    assert len(outcome.records) == len(NAMES)


def test_summary_by_source_and_plot(tmp_path: Path) -> None:
    assert [source_of(n) for n in NAMES] == ["mathd", "amc", "aime", "imo", "induction", "algebra"]
    assert source_of("numbertheory_sqmod4in01d") == "numbertheory" and source_of("foo") == "other"
    outcome = run_evaluation(_problems(), LocalRunner(CountingSolver()), tmp_path)
    table = summarize_by_source(outcome.records)
    assert table["mathd"] == {"attempted": 1, "proved": 0, "failed": 1, "error": 0}
    assert table["amc"]["proved"] == 1
    summary = write_summary(outcome, tmp_path / "summary.json", settings={"workers": 0})
    assert summary["proved"] == 3 and summary["checked_by"] == ["counting test solver"]
    png = plot_proved(outcome.records, tmp_path / "proved.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_load_problems_names_the_bad_line_and_the_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "a", "header": "", "formal_statement": "theorem a : True := by"}\n{"name": "b"}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2"):
        load_problems(bad)
    with pytest.raises(DataError, match="--data"):
        load_problems(tmp_path / "nope.jsonl")


def test_load_problems_runs_the_guard_on_every_header_and_statement(tmp_path: Path) -> None:
    """A dataset is input like a statement file: an axiom in its header would otherwise be trusted."""
    rows = [{"name": "ok", "header": "import Mathlib\n", "formal_statement": "theorem ok : True := by"},
            {"name": "cheat", "header": "import Mathlib\naxiom cheat : False\n",
             "formal_statement": "example : 1 = 2 := by"}]
    data = tmp_path / "axiom.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(DataError, match=r"axiom\.jsonl:2: cheat: the guard refuses .*axiom"):
        load_problems(data)
    assert len(load_problems(default_data_path("valid"))) == 244  # the shipped data passes


def test_default_data_path_is_the_repository_copy() -> None:
    path = default_data_path("valid")
    assert path == Path(__file__).resolve().parents[2] / "datasets" / "minif2f" / "valid.jsonl"
    problems = load_problems(path)
    assert len(problems) == 244 and problems[0].statement.endswith(":= by")


def test_resume_of_a_run_without_identity_refuses_theorems_of_another_dataset(tmp_path: Path) -> None:
    from prover.evaluate import RUN_FILE, ResumeMismatch

    run_evaluation(_problems()[:2], LocalRunner(CountingSolver()), tmp_path)  # no identity: an older run
    assert not (tmp_path / RUN_FILE).exists()
    others = [Theorem(name="other_1", header="import Mathlib\n", statement="theorem other_1 : True := by")]
    with pytest.raises(ResumeMismatch, match="not in this run's problems.*mathd_algebra_1"):
        run_evaluation(others, LocalRunner(CountingSolver()), tmp_path, resume=True, identity={"data": "x"})
    assert len(_lines(tmp_path / RESULTS_FILE)) == 2  # nothing appended
    solver = CountingSolver()  # the same problems resume, and the run's identity is kept from now on
    resumed = run_evaluation(_problems()[:3], LocalRunner(solver), tmp_path, resume=True, identity={"data": "x"})
    assert solver.asked == [NAMES[2]] and resumed.skipped == 2
    assert json.loads((tmp_path / RUN_FILE).read_text()) == {"data": "x"}
    with pytest.raises(ResumeMismatch, match='data: "x" in that run, "y" now'):
        run_evaluation(_problems()[:3], LocalRunner(CountingSolver()), tmp_path, resume=True, identity={"data": "y"})
