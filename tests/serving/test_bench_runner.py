"""benchmarks/run.py rewrites only its own section of the benchmarks document."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
_spec = importlib.util.spec_from_file_location("bench_run", _RUN)
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)


def test_sections_are_replaced_in_place_and_appended_when_new():
    doc = "# Benchmarks\n\n<!-- bench:engine -->\nold engine\n<!-- /bench:engine -->\n\ntail text\n"
    doc = bench_run.replace_section(doc, "engine", "new engine")
    assert "old engine" not in doc and "new engine" in doc and doc.endswith("tail text\n")
    doc = bench_run.replace_section(doc, "search", "search table")
    assert doc.index("new engine") < doc.index("search table")
    assert bench_run.replace_section(doc, "search", "search table") == doc


def test_machine_line_names_the_cpu_and_cores():
    line = bench_run.machine()
    assert "cores" in line and line.split(",")[0].strip()


def test_kernels_section_is_always_written_and_says_when_there_is_no_gpu():
    assert bench_run._kernels(cuda_available=lambda: False) == bench_run.NO_GPU
    assert bench_run.NO_GPU.startswith("Not measured: no GPU")


def test_engine_thread_counts_are_an_option_of_the_script():
    assert bench_run.parse_args([]).engine_threads == [1, 2]
    assert bench_run.parse_args(["--engine-threads", "4"]).engine_threads == [4]


def test_engine_section_has_one_table_per_thread_count(monkeypatch):
    import benchmarks.dense_bench as dense_bench
    import benchmarks.engine_bench as engine_bench

    monkeypatch.setattr(engine_bench, "main", lambda threads: f"| table for {threads} |")
    monkeypatch.setattr(dense_bench, "main", lambda threads: f"| dense table for {threads} |")
    text = bench_run._engine([1, 2])
    assert "### 1 torch thread\n\n| table for 1 |" in text and "### 2 torch threads\n\n| table for 2 |" in text
    assert text.endswith("| dense table for 1 |") and "### Dense model (Qwen3-shaped), whole proofs, 1 torch thread" in text


def test_eval_section_has_a_row_per_policy_with_its_wall_time():
    from benchmarks.eval_bench import POLICIES, markdown

    assert POLICIES == ("mixed", "hammer")
    summary = {"theorems": 4, "proved": 2, "failed": 1, "error": 1, "checked_by": ["embedded kernel"],
               "by_source": {"mathd": {"attempted": 4, "proved": 2, "failed": 1, "error": 1}}}
    runs = {p: (summary, 12.0 + i, ["prover eval", "minif2f", "--policy", p]) for i, p in enumerate(POLICIES)}
    text = markdown(runs, workers=2, time_limit_s=20, max_expansions=64)
    assert "| mixed | 4 | **2** (50.0%) | 1 | 1 | 12 s |" in text
    assert "| hammer | 4 | **2** (50.0%) | 1 | 1 | 13 s |" in text
    assert "By source, mixed:" in text and "By source, hammer:" in text
