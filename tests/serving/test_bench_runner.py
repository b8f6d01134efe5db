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
