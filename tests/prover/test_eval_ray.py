"""A real Ray evaluation on a small miniF2F subset: 2 `ProverWorker`s with the embedded kernel
and the hammer; one worker process is killed mid-run (by its theorem, the first time it is
tried) and every theorem still ends with exactly one result line. Then the CLI's eval path
(in-process) on the same subset, and --resume finding nothing left to do."""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from ray import cloudpickle
from typer.testing import CliRunner

from lean_env.datasets import minif2f_file
from lean_env.theorem import Theorem
from prover.agent import AgentSolver
from prover.cli import app
from prover.config import ClusterConfig, ProverConfig
from prover.evaluate import RESULTS_FILE, load_problems, run_evaluation
from prover.metrics import TACTIC_CALLS, THEOREMS_ATTEMPTED, WORKER_DEATHS
from prover.records import TheoremRecord

cloudpickle.register_pickle_by_value(sys.modules[__name__])

DATA = minif2f_file("valid.jsonl")
SUBSET = ["mathd_numbertheory_81", "mathd_algebra_455", "amc12a_2021_p7", "imo_1987_p4"]


class KillsItsWorkerOnce:
    """The real solver, except that `victim` takes the worker process down on its first try,
    as a Lean segfault or the OOM killer would."""

    def __init__(self, inner: AgentSolver, victim: str, marker_dir: str) -> None:
        self.inner, self.victim, self.marker = inner, victim, Path(marker_dir) / "killed"

    def attach_metrics(self, metrics) -> None:
        self.inner.attach_metrics(metrics)

    def solve(self, theorem: Theorem) -> TheoremRecord:
        if theorem.name == self.victim and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os._exit(137)
        return self.inner.solve(theorem)

    def close(self) -> None:
        self.inner.close()


def _subset_file(tmp_path: Path) -> Path:
    rows = {row["name"]: row for row in map(json.loads, DATA.read_text().splitlines())}
    chosen = [rows[name] for name in SUBSET]
    path = tmp_path / "subset.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in chosen))
    return path


def test_ray_eval_with_a_killed_worker(ray_session, tmp_path: Path) -> None:
    from prover.cluster import ProverPool

    problems = load_problems(_subset_file(tmp_path))
    config = ProverConfig.build(policy="hammer", time_limit_s=20, max_expansions=8, environ={})
    victim = problems[1].name
    pool = ProverPool(KillsItsWorkerOnce(AgentSolver(config), victim, str(tmp_path)),
                      ClusterConfig(workers=2, cpus_per_worker=1.0))
    outcome = run_evaluation(problems, pool, tmp_path / "run")

    rows = [json.loads(line) for line in (tmp_path / "run" / RESULTS_FILE).read_text().splitlines()]
    assert sorted(row["name"] for row in rows) == sorted(SUBSET)
    assert (tmp_path / "killed").exists() and pool.worker_deaths == 1
    by_name = {row["name"]: row for row in rows}
    assert by_name[victim]["worker_deaths"] == 1 and by_name[victim]["status"] != "error"
    assert {row["backend"] for row in rows} == {"embedded kernel"}
    assert outcome.proved >= 1
    for row in rows:
        assert (row["proof"] is not None) == (row["status"] == "proved")

    # The workers' real tactic calls reach Ray's metrics endpoint.
    url = f"http://127.0.0.1:{ray_session['metrics_port']}/metrics"
    wanted = {f"ray_{TACTIC_CALLS}", f"ray_{THEOREMS_ATTEMPTED}", f"ray_{WORKER_DEATHS}"}
    seen: set[str] = set()
    for _ in range(30):
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        seen = {name for name in wanted if f"# TYPE {name}" in text}
        if seen == wanted:
            break
        time.sleep(1)
    assert seen == wanted


def test_cli_eval_in_process_then_resume(tmp_path: Path) -> None:
    runner = CliRunner()
    data, out = _subset_file(tmp_path), tmp_path / "out"
    args = ["eval", "minif2f", "--data", str(data), "--workers", "0", "--out", str(out),
            "--time-limit", "20", "--max-expansions", "8", "--limit", "2"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["finished"] == 2 and summary["checked_by"] == ["embedded kernel"]
    assert set(summary["by_source"]) == {"mathd"}
    assert (out / "proved.png").stat().st_size > 0
    assert "embedded kernel" in first.output and "not Lean" in first.output

    again = runner.invoke(app, args + ["--resume"])
    assert again.exit_code == 0, again.output
    assert "(2 from an earlier run)" in again.output
    assert len((out / RESULTS_FILE).read_text().splitlines()) == 2
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--resume" in refused.output
