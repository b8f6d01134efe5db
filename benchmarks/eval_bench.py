"""miniF2F-valid end to end: the real `prover eval` command on Ray, embedded kernel, hammer policy.

Runs `prover eval minif2f --split valid` in a subprocess (exactly what a user runs), then reads
the run's `summary.json` and reports theorems proved, wall time, workers and budget, with the
per-source table. Proofs are checked by the embedded kernel, not by Lean.

    python -m benchmarks.eval_bench [--workers 2] [--time-limit 20] [--max-expansions 64] [--limit N]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_prover_eval(arguments: list[str]) -> float:
    """`prover eval ARGUMENTS` in a subprocess (what a user runs); its wall time in seconds.
    Exit 1 (some theorems unproved) is a normal outcome; anything else raises."""
    command = [sys.executable, "-m", "prover.cli", "eval", *arguments]
    started = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall_s = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    return wall_s


def run_eval(workers: int, time_limit_s: float, max_expansions: int, limit: int | None) -> tuple[dict, float, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "eval"
        command = ["minif2f", "--split", "valid", "--workers", str(workers), "--time-limit", str(time_limit_s),
                   "--max-expansions", str(max_expansions), "--out", str(out)]
        if limit:
            command += ["--limit", str(limit)]
        wall_s = run_prover_eval(command)
        summary = json.loads((out / "summary.json").read_text())
        shown = ["prover eval minif2f --split valid"] + command[command.index("--workers"):command.index("--out")]
        return summary, wall_s, shown


def markdown(summary: dict, wall_s: float, shown: list[str], workers: int, time_limit_s: float,
             max_expansions: int) -> str:
    lines = [
        f"Run: `{' '.join(shown)}` (search best-first, policy hammer, backend {', '.join(summary['checked_by'])}).",
        "",
        "| theorems | proved | failed | outside the kernel's fragment | wall time | workers | budget per theorem |",
        "|---|---|---|---|---|---|---|",
        f"| {summary['theorems']} | **{summary['proved']}** ({100 * summary['proved'] / max(summary['theorems'], 1):.1f}%) "
        f"| {summary['failed']} | {summary['error']} | {wall_s:.0f} s | {workers} | {time_limit_s:g} s, "
        f"{max_expansions} expansions |",
        "",
        "| source | attempted | proved | failed | error |",
        "|---|---|---|---|---|",
    ]
    for source, row in summary["by_source"].items():
        lines.append(f"| {source} | {row['attempted']} | {row['proved']} | {row['failed']} | {row['error']} |")
    lines += ["", "`error` here is a statement the embedded kernel cannot parse (outside its fragment; see "
              "docs/EMBEDDED_KERNEL.md). These proofs were checked by the embedded kernel, not by Lean."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--max-expansions", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    summary, wall_s, shown = run_eval(args.workers, args.time_limit, args.max_expansions, args.limit)
    text = markdown(summary, wall_s, shown, args.workers, args.time_limit, args.max_expansions)
    print(text)
    return text


if __name__ == "__main__":
    main()
