"""Policies at equal budget: hammer vs model vs mixed, on held-out generated theorems and miniF2F-valid.

Each cell is the real `prover eval` command (one process, embedded kernel) with the same search
budget; only `--policy` differs. The held-out theorems come from `training.curriculum` (split
"heldout": no statement equals a training one) with seeds that training never used. Prints a
markdown table with the per-family counts of the generated sets. Proofs are checked by the
embedded kernel, not by Lean.

    python -m benchmarks.policy_bench [--seeds 2,3] [--per-family 20] [--model checkpoints/policy]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.eval_bench import REPO, run_prover_eval

POLICIES = ("hammer", "model", "mixed")


@dataclass(frozen=True)
class Budget:
    max_expansions: int = 16
    time_limit_s: float = 60.0

    def flags(self) -> list[str]:
        return ["--max-expansions", str(self.max_expansions), "--time-limit", f"{self.time_limit_s:g}"]


@dataclass
class Cell:
    proved: set[str]
    theorems: int
    wall_s: float


def write_heldout(seed: int, per_family: int, path: Path) -> dict[str, str]:
    """The held-out file for `seed`; returns theorem name -> family."""
    from training.curriculum import generate, write_jsonl

    items = generate(seed, "heldout", per_family)
    write_jsonl(items, path)
    return {item.name: item.family for item in items}


def run_policy(source: list[str], policy: str, model: Path, budget: Budget, out: Path) -> Cell:
    """`prover eval SOURCE --policy POLICY` in a subprocess; the names it proved."""
    arguments = [*source, "--workers", "0", "--policy", policy, *budget.flags(), "--out", str(out)]
    if policy != "hammer":
        arguments += ["--model", str(model)]
    wall_s = run_prover_eval(arguments)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    return Cell({r["name"] for r in rows if r["status"] == "proved"}, len(rows), wall_s)


def _percent(part: int, whole: int) -> str:
    return f"{part} ({100 * part / max(whole, 1):.1f}%)"


def markdown(heldout: dict[int, tuple[dict[str, str], dict[str, Cell]]], minif2f: dict[str, Cell] | None,
             model: Path, budget: Budget, per_family: int) -> str:
    lines = [
        f"Policy checkpoint `{model}`. Budget for every cell: best-first, {budget.max_expansions} expansions, "
        f"{budget.time_limit_s:g} s per theorem, one process (`prover eval … --workers 0 --policy P "
        f"{' '.join(budget.flags())}`); checked by the embedded kernel.",
        "",
        "| set | theorems | hammer | model | mixed | mixed − hammer | wall time hammer / model / mixed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [(f"held-out generated, seed {seed}, {per_family} per family", cells)
            for seed, (_, cells) in heldout.items()]
    if len(heldout) > 1:
        merged = {p: Cell(set().union(*(cells[p].proved for _, cells in heldout.values())),
                          sum(cells[p].theorems for _, cells in heldout.values()),
                          sum(cells[p].wall_s for _, cells in heldout.values())) for p in POLICIES}
        rows.append(("held-out generated, all seeds", merged))
    if minif2f is not None:
        rows.append(("miniF2F-valid", minif2f))
    for label, cells in rows:
        n = cells["hammer"].theorems
        gap = 100 * (len(cells["mixed"].proved) - len(cells["hammer"].proved)) / max(n, 1)
        lines.append(f"| {label} | {n} | " + " | ".join(_percent(len(cells[p].proved), n) for p in POLICIES)
                     + f" | **{gap:+.1f} points** | "
                     + " / ".join(f"{cells[p].wall_s:.0f} s" for p in POLICIES) + " |")
    lines += ["", "Per family, held-out generated (all seeds):", "",
              "| family | theorems | hammer | model | mixed |", "|---|---:|---:|---:|---:|"]
    families: dict[str, str] = {}
    for names, _ in heldout.values():
        families.update(names)
    totals = Counter(families.values())
    for family in sorted(totals):
        counts = [sum(1 for seed_names, cells in heldout.values()
                      for name in cells[p].proved if seed_names.get(name) == family) for p in POLICIES]
        lines.append(f"| {family} | {totals[family]} | " + " | ".join(map(str, counts)) + " |")
    if minif2f is not None:
        lines.append("")
        only_hammer = sorted(minif2f["hammer"].proved - minif2f["mixed"].proved)
        only_mixed = sorted(minif2f["mixed"].proved - minif2f["hammer"].proved)
        lines.append(f"miniF2F-valid proved by the hammer but not by mixed: {', '.join(only_hammer) or 'none'}; "
                     f"by mixed but not by the hammer: {', '.join(only_mixed) or 'none'}.")
    return "\n".join(lines)


def search_batch_sizes(model: Path, budget: Budget, count: int = 40) -> str:
    """One line: the engine batch sizes the mixed policy's search produces on the first `count`
    miniF2F-valid theorems, in this process (the engine's own counters), and its step time."""
    import collections
    import time

    from lean_env.datasets import minif2f_file
    from prover.agent import AgentSolver, load_local_engine
    from prover.config import ProverConfig
    from prover.evaluate import load_problems

    theorems = load_problems(minif2f_file("valid.jsonl"))[:count]
    engine = load_local_engine(model)
    try:
        engine.engine.decode_graphs.wait_ready()
        config = ProverConfig.build(policy="mixed", model_dir=model, max_expansions=budget.max_expansions,
                                    time_limit_s=budget.time_limit_s)
        solver = AgentSolver(config, engine=engine)
        started = time.monotonic()
        for theorem in theorems:
            solver.solve(theorem)
        wall = time.monotonic() - started
        stats = engine.stats
        decode = [b for b, t in zip(stats.batch_sizes, stats.batch_tokens) if b == t]
        buckets = collections.Counter(next(f"{lo}-{hi}" for lo, hi in ((1, 1), (2, 4), (5, 8), (9, 16), (17, 64), (65, 10**9))
                                           if lo <= b <= hi) for b in decode)
        shown = ", ".join(f"{k.replace('-1000000000', '+')}: {v}" for k, v in sorted(buckets.items(), key=lambda kv: int(kv[0].split("-")[0])))
        engine_s = sum(stats.seconds.values())
        return (f"Engine batches under search (mixed, first {len(theorems)} miniF2F-valid theorems, one process, same budget): "
                f"{stats.num_steps} steps, {len(decode)} of them decode-only with {sum(decode) / max(len(decode), 1):.1f} "
                f"sequences on average (max {max(decode, default=0)}; by size {shown}); the engine's steps took "
                f"{engine_s:.1f} s of the {wall:.1f} s wall time ({stats.seconds['forward']:.1f} s forward, "
                f"{stats.seconds['sample']:.1f} s sampling); decode path: {engine.engine.decode_graphs.describe()}.")
    finally:
        engine.shutdown()


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="2,3", help="held-out curriculum seeds, comma-separated")
    parser.add_argument("--per-family", type=int, default=20)
    parser.add_argument("--model", type=Path, default=REPO / "checkpoints" / "policy")
    parser.add_argument("--max-expansions", type=int, default=Budget.max_expansions)
    parser.add_argument("--time-limit", type=float, default=Budget.time_limit_s)
    parser.add_argument("--no-minif2f", action="store_true", help="skip miniF2F-valid")
    parser.add_argument("--no-batch-sizes", action="store_true", help="skip the engine batch sizes under search")
    args = parser.parse_args(argv)
    budget = Budget(args.max_expansions, args.time_limit)
    model = args.model.resolve()
    heldout: dict[int, tuple[dict[str, str], dict[str, Cell]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",") if s.strip()):
            data = Path(tmp) / f"heldout_{seed}.jsonl"
            names = write_heldout(seed, args.per_family, data)
            heldout[seed] = (names, {p: run_policy(["--data", str(data)], p, model, budget,
                                                   Path(tmp) / f"h{seed}-{p}") for p in POLICIES})
        minif2f = None if args.no_minif2f else {
            p: run_policy(["minif2f", "--split", "valid"], p, model, budget, Path(tmp) / f"m-{p}") for p in POLICIES}
    try:
        shown = model.relative_to(REPO)
    except ValueError:
        shown = model
    text = markdown(heldout, minif2f, shown, budget, args.per_family)
    if not args.no_batch_sizes:
        text += "\n\n" + search_batch_sizes(model, budget)
    print(text)
    return text


if __name__ == "__main__":
    main()
