"""miniF2F-valid end to end: the real `prover eval` command on Ray, embedded kernel, for the
default policy and for the hammer.

Runs `prover eval minif2f --split valid --policy P` in a subprocess per policy (exactly what a
user runs), then reads each run's `summary.json` and reports theorems proved and wall time at the
same budget, with the per-source tables. Proofs are checked by the embedded kernel, not by Lean.

    python -m benchmarks.eval_bench [--policies mixed,hammer] [--workers 2] [--time-limit 20]
                                    [--max-expansions 64] [--limit N]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prover.config import DEFAULT_POLICY

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


# The default policy of `prover eval` first, then the hammer alone, at the same budget.
POLICIES = (DEFAULT_POLICY, "hammer")


def run_eval(policy: str, workers: int, time_limit_s: float, max_expansions: int,
             limit: int | None) -> tuple[dict, float, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "eval"
        command = ["minif2f", "--split", "valid", "--policy", policy, "--workers", str(workers),
                   "--time-limit", f"{time_limit_s:g}", "--max-expansions", str(max_expansions), "--out", str(out)]
        if limit:
            command += ["--limit", str(limit)]
        wall_s = run_prover_eval(command)
        summary = json.loads((out / "summary.json").read_text())
        shown = ["prover eval"] + command[: command.index("--out")]
        return summary, wall_s, shown


def markdown(runs: dict[str, tuple[dict, float, list[str]]], workers: int, time_limit_s: float,
             max_expansions: int) -> str:
    """One row per policy (same budget, wall time beside each), then each policy's per-source table."""
    checked = sorted({b for summary, _, _ in runs.values() for b in summary["checked_by"]})
    lines = [
        f"Search best-first; budget per theorem {time_limit_s:g} s, {max_expansions} expansions; {workers} Ray "
        f"workers; checked by {', '.join(checked) or 'nothing'}. The default policy ({DEFAULT_POLICY}) and the "
        "hammer alone, at the same budget.",
        "",
        "| policy | theorems | proved | failed | outside the kernel's fragment | wall time | command |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for policy, (summary, wall_s, shown) in runs.items():
        proved = summary["proved"]
        lines.append(f"| {policy} | {summary['theorems']} | **{proved}** ({100 * proved / max(summary['theorems'], 1):.1f}%) "
                     f"| {summary['failed']} | {summary['error']} | {wall_s:.0f} s | `{' '.join(shown)}` |")
    for policy, (summary, _, _) in runs.items():
        lines += ["", f"By source, {policy}:", "", "| source | attempted | proved | failed | error |",
                  "|---|---:|---:|---:|---:|"]
        for source, row in summary["by_source"].items():
            lines.append(f"| {source} | {row['attempted']} | {row['proved']} | {row['failed']} | {row['error']} |")
    lines += ["", "`error` here is a statement the embedded kernel cannot parse (outside its fragment; see "
              "docs/EMBEDDED_KERNEL.md). These proofs were checked by the embedded kernel, not by Lean."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated, one row each")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--max-expansions", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    runs = {policy: run_eval(policy, args.workers, args.time_limit, args.max_expansions, args.limit)
            for policy in (p.strip() for p in args.policies.split(",")) if policy}
    text = markdown(runs, args.workers, args.time_limit, args.max_expansions)
    print(text)
    return text


if __name__ == "__main__":
    main()
