"""Measurements of the embedded kernel on miniF2F-valid (`python -m lean_env.embedded.measure`).

Prints: parse coverage (with the blocking construct of each rejected theorem), initial-state
printing match rate against Lean's own printing, recall on published proofs, and a
micro-benchmark of simple tactics through the server process. `--markdown` prints tables for
docs/EMBEDDED_KERNEL.md.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter

from lean_env.datasets import minif2f_dir

from .checker import check_command
from .errors import KernelError, Unsupported
from .statement import elaborate_theorem

DATA = minif2f_dir()


def load(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def norm_ws(s: str) -> str:
    return " ".join(s.split())


def parse_coverage() -> tuple[dict[str, object], dict[str, str]]:
    """name -> elaborated theorem, and name -> blocking construct for the others."""
    parsed, blocked = {}, {}
    for row in load("valid.jsonl"):
        try:
            parsed[row["name"]] = elaborate_theorem(row["formal_statement"])
        except Unsupported as e:
            blocked[row["name"]] = e.construct
        except KernelError as e:
            blocked[row["name"]] = f"parse/elaboration: {e.message}"
    return parsed, blocked


def initial_state_match(parsed: dict) -> tuple[int, int, list[tuple[str, str, str]]]:
    states = {r["name"]: r["initial_state"] for r in load("valid_initial_states.jsonl")}
    ok, total, diffs = 0, 0, []
    for name, th in parsed.items():
        if name not in states:
            continue
        total += 1
        ours = th.goal.pretty()
        if norm_ws(ours) == norm_ws(states[name]):
            ok += 1
        else:
            diffs.append((name, ours, states[name]))
    return ok, total, diffs


def classify_failure(messages: list) -> str:
    errs = [m.data for m in messages if m.severity == "error"]
    if not errs:
        return "ok"
    first = errs[0].splitlines()[0]
    if first.startswith("unknown tactic") or "unsupported" in first or "not in the embedded lemma library" in first:
        return "not supported: " + first[:90]
    if "unknown identifier" in first or "unknown constant" in first:
        return "not supported (lemma missing): " + first[:90]
    return "kernel weaker than Lean (or proof broken): " + first[:90]


def recall(parsed: dict) -> tuple[int, int, list[tuple[str, str, float]]]:
    statements = {r["name"]: r for r in load("valid.jsonl")}
    rows = []
    ok = total = 0
    for row in load("valid_proofs.jsonl"):
        name = row["name"]
        if name not in parsed:
            continue
        total += 1
        st = statements[name]
        preamble = (row.get("preamble") or "")
        statement, proof = st["formal_statement"], row["proof"]
        if proof.lstrip().startswith("by") and statement.rstrip().endswith("by"):
            # some sources give the proof as `by ...` to follow `:=`; the statement already has `by`
            statement = statement.rstrip()[:-2].rstrip()
        text = st["header"] + "\n" + preamble + ("\n" if preamble else "") + statement + "\n" + proof
        t0 = time.monotonic()
        res = check_command(text, allow_imports=True, env_lemmas={})
        dt = time.monotonic() - t0
        verdict = classify_failure(res.messages)
        if verdict == "ok" and not res.sorries and not any("sorry" in m.data for m in res.messages):
            ok += 1
        rows.append((name, verdict, dt))
    return ok, total, rows


def benchmark(n: int = 400) -> float:
    """Calls per second of `intro`/`constructor` tactic requests through the server process."""
    proc = subprocess.Popen([sys.executable, "-m", "lean_env.embedded"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def call(req: dict) -> dict:
        proc.stdin.write(json.dumps(req) + "\n\n")
        proc.stdin.flush()
        lines = []
        while True:
            line = proc.stdout.readline()
            if line.strip() == "":
                break
            lines.append(line)
        return json.loads("".join(lines))

    call({"cmd": "import Mathlib"})
    r = call({"cmd": "theorem b : ∀ x : ℝ, x = x → (x ≤ x ∧ x ≥ x) := by\n  sorry", "env": 0})
    root = r["sorries"][0]["proofState"]
    t0 = time.monotonic()
    for _ in range(n):
        s = call({"tactic": "intro y hy", "proofState": root})
        call({"tactic": "constructor", "proofState": s["proofState"]})
    dt = time.monotonic() - t0
    proc.stdin.close()
    proc.wait(timeout=10)
    return 2 * n / dt


def core_lines() -> tuple[int, int]:
    """The trusted core's size: (lines of code without blanks, comments and docstrings, all lines)."""
    import ast
    import io
    import tokenize
    from pathlib import Path

    code = total = 0
    for path in sorted((Path(__file__).parent / "core").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        total += len(text.splitlines())
        doc_lines: set[int] = set()
        for node in ast.walk(ast.parse(text)):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                    isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
                doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
        lines = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                 if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                     tokenize.DEDENT, tokenize.ENDMARKER)}
        code += len(lines - doc_lines)
    return code, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--markdown", action="store_true", help="print tables for docs/EMBEDDED_KERNEL.md")
    ap.add_argument("--skip-bench", action="store_true")
    args = ap.parse_args()
    parsed, blocked = parse_coverage()
    n = len(parsed) + len(blocked)
    print(f"parse coverage: {len(parsed)}/{n} = {100 * len(parsed) / n:.1f}%")
    ok, total, diffs = initial_state_match(parsed)
    print(f"initial state match: {ok}/{total} = {100 * ok / max(total, 1):.1f}% (of parsed theorems with a Lean state)")
    rok, rtotal, rows = recall(parsed)
    print(f"recall on published proofs: {rok}/{rtotal} = {100 * rok / max(rtotal, 1):.1f}% (theorems that parse)")
    if not args.skip_bench:
        print(f"server micro-benchmark (intro/constructor): {benchmark():.0f} calls/s")
    code, total = core_lines()
    print(f"trusted core (lean_env/embedded/core): {code} lines of code ({total} lines with docs and comments)")
    if args.markdown:
        print("\n| theorem | blocking construct |\n|---|---|")
        for name, why in sorted(blocked.items()):
            print(f"| {name} | {why} |")
        print("\n| theorem | verdict | seconds |\n|---|---|---|")
        for name, verdict, dt in rows:
            print(f"| {name} | {verdict} | {dt:.2f} |")
        print("\nPrinting differences:")
        for name, ours, theirs in diffs:
            print(f"- {name}: ours `{norm_ws(ours)}` vs Lean `{norm_ws(theirs)}`")
    else:
        for name, verdict, _ in rows:
            if verdict != "ok":
                print(f"  {name}: {verdict}")
        c = Counter(why for why in blocked.values())
        print("blocking constructs:", c.most_common())


if __name__ == "__main__":
    main()
