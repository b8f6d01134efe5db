"""Search benchmark: miniF2F-valid on the embedded kernel with the hammer policy.

For each search (best-first, RMaxTS) at one fixed small budget: theorems proved, theorems the
kernel could not open (unsupported statement), expansions per second and environment calls
per second of search time. Proofs are re-verified inside `aprove`, as always.

    python -m benchmarks.search_bench [--limit N] [--out FILE.md]

`run(out_lines)` appends the markdown section to a list (for `benchmarks/run.py`); `main()`
returns it as a string.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from lean_env.datasets import minif2f_file
from lean_env.theorem import Theorem
from search import SearchBudget, prove
from search.policy import HammerPolicy

REPO = Path(__file__).resolve().parents[1]
DATA = minif2f_file("valid.jsonl")
ALGORITHMS = ("best-first", "rmaxts")
# The env-call limit is the one both searches share; RMaxTS's rollout limit rarely binds first.
BUDGET = SearchBudget(max_expansions=64, time_limit_s=20.0, max_env_calls=128, tactic_timeout_s=5.0)
NUM_CANDIDATES = 16
CONCURRENCY = 4


@dataclass
class Tally:
    attempted: int = 0
    proved: int = 0
    not_opened: int = 0   # env.start failed: statement outside the kernel's fragment
    failed: int = 0
    expansions: int = 0
    env_calls: int = 0
    search_s: float = 0.0
    proved_names: list[str] = field(default_factory=list)

    def add(self, result) -> None:
        self.attempted += 1
        if result.status == "proved":
            self.proved += 1
            self.proved_names.append(result.name)
        elif result.status == "error":
            self.not_opened += 1
        else:
            self.failed += 1
        self.expansions += result.expansions
        self.env_calls += result.env_calls
        if result.status != "error":
            self.search_s += result.time_s


def load_theorems(path: Path = DATA, limit: int | None = None) -> list[Theorem]:
    if not path.exists():
        raise FileNotFoundError(f"miniF2F data not found at {path}; the repo keeps it in datasets/minif2f/")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    theorems = [Theorem(r["name"], r["header"], r["formal_statement"]) for r in rows]
    return theorems[:limit] if limit else theorems


def bench(limit: int | None = None, env_kind: str = "embedded") -> dict[str, Tally]:
    from lean_env import open_env

    theorems = load_theorems(limit=limit)
    tallies = {alg: Tally() for alg in ALGORITHMS}
    # Statements outside the kernel's fragment are counted, not logged one by one.
    logging.getLogger("search").setLevel(logging.ERROR)
    with open_env(env_kind) as env:
        for algorithm in ALGORITHMS:
            for theorem in theorems:
                result = prove(theorem, env, HammerPolicy(), algorithm=algorithm, budget=BUDGET,
                               num_candidates=NUM_CANDIDATES, concurrency=CONCURRENCY)
                tallies[algorithm].add(result)
    return tallies


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def table(tallies: dict[str, Tally], wall_s: float, limit: int | None) -> list[str]:
    """The section body: budget, one row per search, what each proved."""
    b = BUDGET
    subset = f"the first {limit} theorems of " if limit else ""
    lines = [
        f"Data: {subset}miniF2F-valid ({DATA.name}); embedded kernel; hammer policy; wall {wall_s:.0f} s.",
        f"Budget per theorem: {b.max_expansions} expansions (RMaxTS: rollouts), {b.max_env_calls} env calls, "
        f"{b.time_limit_s:.0f} s, tactic timeout {b.tactic_timeout_s:.0f} s; {NUM_CANDIDATES} candidates per "
        f"request, concurrency {CONCURRENCY}. Every proof is re-verified from scratch by the embedded kernel "
        "(not by Lean) and checked by the guard. Rates are per second of search time on theorems the "
        "kernel could open.",
        "",
        "| search | theorems | proved | not opened (outside kernel fragment) | failed | search time | expansions/s | env calls/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for alg, t in tallies.items():
        per_s = (lambda n, t=t: f"{n / t.search_s:.1f}" if t.search_s > 0 else "n/a")
        lines.append(f"| {alg} | {t.attempted} | {t.proved} | {t.not_opened} | {t.failed} | {t.search_s:.0f} s | "
                     f"{per_s(t.expansions)} | {per_s(t.env_calls)} |")
    lines.append("")
    for alg, t in tallies.items():
        lines.append(f"Proved by {alg} ({t.proved}): {', '.join(t.proved_names) or 'none'}.")
        lines.append("")
    return lines


def body(limit: int | None = None) -> list[str]:
    started = time.monotonic()
    tallies = bench(limit)
    return table(tallies, time.monotonic() - started, limit)


def run(out_lines: list[str], limit: int | None = None) -> None:
    """For `benchmarks/run.py`, which adds the heading, command, machine and date itself."""
    out_lines.extend(body(limit))


def main(limit: int | None = None) -> str:
    """The whole markdown section, with heading, command, machine and date."""
    command = f"python -m benchmarks.search_bench{f' --limit {limit}' if limit else ''}"
    head = ["## Proof search", "",
            f"Command: `{command}`. Machine: {cpu_name()}, {os.cpu_count()} cores. "
            f"Date: {time.strftime('%Y-%m-%d %H:%M')}.", ""]
    return "\n".join(head + body(limit))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N theorems")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown to this file")
    args = parser.parse_args()
    text = main(args.limit)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
