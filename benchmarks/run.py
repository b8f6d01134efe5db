"""`make bench`: run every benchmark that exists and rewrite its section of docs/BENCHMARKS.md.

Sections: the engine (benchmarks/engine_bench.py, one table per --engine-threads count, then the
dense-model whole-proof table of benchmarks/dense_bench.py at the first thread count), the embedded kernel (coverage, recall and
server throughput, lean_env/embedded/measure.py), proof search (benchmarks/search_bench.py,
if present), miniF2F-valid through `prover eval` for the default policy and the hammer (benchmarks/eval_bench.py), the trained policy against the
hammer (benchmarks/policy_bench.py) and the kernels (kernels/bench.py on a GPU; without one the section says
"not measured: no GPU"). Every table of the document comes from here; each section is
delimited by HTML comments so a rerun replaces only its own section, and records the command,
the machine (lscpu model name, cores) and the date.

Usage: python -m benchmarks.run [--only engine|embedded|search|eval|policy|kernels ...] [--out docs/BENCHMARKS.md]
                               [--engine-threads 1,2]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import io
import os
import platform
import re
import subprocess
import sys
import tempfile
import traceback
from contextlib import redirect_stdout
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
ENGINE_THREADS = [1, 2]  # torch thread counts of the engine tables (--engine-threads)
DEFAULT_OUT = REPO / "docs" / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nWritten by `make bench` (`python -m benchmarks.run`); each section is rewritten by its own run.\n"


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        found = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if found:
            model = found.group(1).strip()
    except (OSError, subprocess.SubprocessError):
        pass
    gpu = ""
    try:
        import torch

        if torch.cuda.is_available():
            gpu = f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return f"{model}, {os.cpu_count()} cores{gpu}"


def _engine(threads: list[int]) -> str:
    """One engine table per torch thread count (on a shared machine one thread can beat two)."""
    from benchmarks import dense_bench, engine_bench

    parts = []
    for count in threads:
        parts.append(f"### {count} torch thread{'s' if count > 1 else ''}\n\n{engine_bench.main(threads=count).strip()}")
    count = threads[0]
    parts.append(f"### Dense model (Qwen3-shaped), whole proofs, {count} torch thread{'s' if count > 1 else ''}\n\n"
                 f"Command: `python -m benchmarks.dense_bench --threads {count}`.\n\n"
                 f"{dense_bench.main(threads=count).strip()}")
    return "\n\n".join(parts)


def _search() -> str:
    module = importlib.import_module("benchmarks.search_bench")
    if hasattr(module, "run"):
        lines: list[str] = []
        result = module.run(lines)
        return "\n".join(lines) if lines else str(result or "")
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        result = module.main()
    return result if isinstance(result, str) and result.strip() else buffer.getvalue()


def _embedded() -> str:
    from lean_env.embedded import measure

    parsed, blocked = measure.parse_coverage()
    total = len(parsed) + len(blocked)
    matched, with_state, _ = measure.initial_state_match(parsed)
    accepted, proofs, _ = measure.recall(parsed)
    rate = measure.benchmark()
    core_code, core_total = measure.core_lines()
    return "\n".join([
        "miniF2F-valid through the embedded kernel (per-theorem tables: docs/EMBEDDED_KERNEL.md).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| statements that parse and elaborate | {len(parsed)}/{total} = {100 * len(parsed) / total:.1f}% | >= 60% |",
        f"| initial states printed as Lean prints them (of parsed, with a Lean state) | {matched}/{with_state} = "
        f"{100 * matched / max(with_state, 1):.1f}% | >= 90% |",
        f"| published proofs accepted as they are (of parsed) | {accepted}/{proofs} = "
        f"{100 * accepted / max(proofs, 1):.1f}% | >= 70% |",
        f"| `intro`/`constructor` requests through the server process | {rate:.0f} calls/s | >= 500 |",
        f"| trusted core (`lean_env/embedded/core/`), lines of code | {core_code} ({core_total} with docs and comments) "
        "| well under 2,500 |",
    ])


def _eval() -> str:
    from benchmarks import eval_bench

    return eval_bench.main([])


def _policy() -> str:
    from benchmarks import policy_bench

    return policy_bench.main([])


NO_GPU = ("Not measured: no GPU. The Triton kernels are timed on a CUDA device (`python -m kernels.bench`); "
          "on this machine they run only under the Triton interpreter, in the tests, against their torch twins.")


def _kernels(cuda_available: Callable[[], bool] | None = None) -> str:
    """The kernels' table from a GPU, or a line saying it was not measured (the section is always written)."""
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available
    if not cuda_available():
        return NO_GPU
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "kernels.md"
        proc = subprocess.run(
            [sys.executable, "-m", "kernels.bench", "--out", str(out)], cwd=REPO, capture_output=True, text=True
        )
        text = out.read_text() if out.exists() else proc.stdout
        if proc.returncode != 0:
            text += f"\n\n(kernels.bench exited with {proc.returncode}: {proc.stderr.strip()[-2000:]})"
        return text


BENCHES: dict[str, tuple[str, str, Callable[[], str]]] = {
    "engine": ("Serving engine", "python -m benchmarks.engine_bench --threads N", lambda: _engine(ENGINE_THREADS)),
    "embedded": ("Embedded kernel", "python -m lean_env.embedded.measure", _embedded),
    "search": ("Proof search", "python -m benchmarks.search_bench", _search),
    "eval": ("miniF2F-valid with `prover eval` on Ray", "python -m benchmarks.eval_bench", _eval),
    "policy": ("Policies at equal budget: hammer vs model vs mixed", "python -m benchmarks.policy_bench", _policy),
    "kernels": ("Kernels", "python -m kernels.bench", _kernels),
}


def replace_section(document: str, name: str, body: str) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(document):
        return pattern.sub(lambda _: block, document)
    return document.rstrip() + "\n\n" + block + "\n"


def run(names: list[str], out: Path) -> int:
    document = out.read_text() if out.exists() else HEADER
    failures = 0
    for name in names:
        title, command, bench = BENCHES[name]
        try:
            body = bench()
        except ImportError as e:
            print(f"[bench] {name}: skipped, its module is not importable ({e})")
            continue
        except Exception:  # noqa: BLE001 - record the failure, run the others
            failures += 1
            body = "The run failed:\n\n```\n" + traceback.format_exc()[-3000:] + "```"
        stamp = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        section = (
            f"## {title}\n\nCommand: `{command}` (via `make bench`). Machine: {machine()}. Date: {stamp}.\n\n{body.strip()}\n"
        )
        document = replace_section(document, name, section)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(document)  # after each bench, so a later crash keeps earlier results
        print(f"[bench] {name}: written to {out}")
    return 1 if failures else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the benchmarks and update docs/BENCHMARKS.md")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHES), default=list(BENCHES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--engine-threads", default=",".join(map(str, ENGINE_THREADS)),
                        help="comma-separated torch thread counts; one engine table each")
    args = parser.parse_args(argv)
    args.engine_threads = [int(t) for t in args.engine_threads.split(",") if t.strip()]
    if not args.engine_threads or min(args.engine_threads) < 1:
        parser.error("--engine-threads needs positive thread counts, e.g. 1,2")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    ENGINE_THREADS[:] = args.engine_threads
    sys.exit(run(args.only, args.out))


if __name__ == "__main__":
    main()
