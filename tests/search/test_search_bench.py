"""The search benchmark's data loading and table (the run itself is `make bench`)."""
from types import SimpleNamespace

from benchmarks.search_bench import BUDGET, Tally, load_theorems, table


def test_loads_minif2f_valid_statements_as_theorems():
    theorems = load_theorems(limit=3)
    assert len(theorems) == 3
    assert all(t.statement.rstrip().endswith(":= by") and "import Mathlib" in t.header for t in theorems)


def test_table_counts_outcomes_and_rates_per_search_second():
    tally = Tally()
    for status, exp, calls, secs in (("proved", 2, 10, 1.0), ("failed", 6, 30, 3.0), ("error", 0, 0, 0.5)):
        tally.add(SimpleNamespace(name=f"t_{status}", status=status, expansions=exp, env_calls=calls, time_s=secs))
    lines = table({"best-first": tally}, wall_s=5.0, limit=3)
    row = next(line for line in lines if line.startswith("| best-first"))
    assert row == "| best-first | 3 | 1 | 1 | 1 | 4 s | 2.0 | 10.0 |"  # wall (search) time beside the rates
    assert any(f"{BUDGET.max_env_calls} env calls" in line for line in lines)
    assert "Proved by best-first (1): t_proved." in lines
