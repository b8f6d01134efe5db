"""`prover prove` / `prover eval` as a batch user runs them, through a subprocess: an unusable
backend is one line and exit 2 with nothing written; output streams when piped (`--json`,
`--quiet`); `--resume` refuses another run; errors name flags, not internal fields."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEADER = "import Mathlib\n\nopen Real\n"
HAMMER = ["--policy", "hammer", "--time-limit", "20", "--max-expansions", "8"]


def easy(name: str, k: int) -> str:
    return f"theorem {name} (x : ℝ) (h₀ : x + {k} = {k + 3}) : x = 3 := by\n  sorry\n"


def lean_file(path: Path, count: int) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(easy(f"e{i}", i) for i in range(count)), encoding="utf-8")
    return path


def jsonl(path: Path, count: int) -> Path:
    rows = [{"name": f"e{i}", "header": HEADER, "formal_statement": easy(f"e{i}", i).removesuffix("\n  sorry\n")}
            for i in range(count)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **extra}
    for var in [v for v in env if v.startswith("PROVER_")]:
        del env[var]
    return env


def prover(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prover.cli", *args], cwd=cwd, env=env or cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def test_repl_without_lean_is_one_clear_line_exit_2_and_nothing_written(tmp_path: Path) -> None:
    source = lean_file(tmp_path / "two.lean", 2)
    data = jsonl(tmp_path / "two.jsonl", 2)
    no_lean = cli_env(PATH=str(tmp_path / "empty-bin"))  # no `lake` anywhere on PATH
    proved = prover("prove", str(source), "--env", "repl", *HAMMER, cwd=tmp_path, env=no_lean)
    assert proved.returncode == 2, proved.stderr
    evaluated = prover("eval", "--data", str(data), "--workers", "0", "--out", str(tmp_path / "run"),
                       "--env", "repl", *HAMMER, cwd=tmp_path, env=no_lean)
    assert evaluated.returncode == 2, evaluated.stderr
    served = prover("serve", "--env", "repl", "--policy", "hammer", "--port", "1", cwd=tmp_path, env=no_lean)
    assert served.returncode == 2, served.stderr  # refused before Ray or the HTTP server start
    for result in (proved, evaluated, served):
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(errors) == 1, result.stderr  # one line, not one failure per theorem
        assert "--env repl" in errors[0] and "`lake` is not on PATH" in errors[0]
        assert "--env embedded" in errors[0]  # what to do instead
        assert result.stdout == "" and "checked by" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.jsonl", "two.lean"]  # nothing written


def test_piped_json_streams_one_object_per_theorem_as_it_finishes(tmp_path: Path) -> None:
    """`prover prove FILE --json > log` on a terminal: stdout is a pipe, stderr the terminal
    (where the progress bar goes); every result reaches stdout as its theorem finishes."""
    import pty
    import threading

    source = lean_file(tmp_path / "many.lean", 12)
    terminal, terminal_end = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "prover.cli", "prove", str(source), "--json", *HAMMER],
                            cwd=tmp_path, env=cli_env(TERM="xterm"), stdout=subprocess.PIPE, stderr=terminal_end,
                            text=True)
    os.close(terminal_end)
    on_terminal: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the process closed its end
                return
            if not chunk:
                return
            on_terminal.append(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        first = json.loads(proc.stdout.readline())
        still_running = proc.poll() is None  # the first result came while the other eleven were being proved
        rest = [json.loads(line) for line in proc.stdout]
        assert proc.wait(timeout=300) == 0
    finally:
        proc.kill()
        proc.stdout.close()
        reader.join(timeout=10)
        os.close(terminal)
    assert b"proving" in b"".join(on_terminal)  # the progress bar was on the terminal, not on stdout
    assert still_running
    theorems, summary = [first, *rest[:-1]], rest[-1]
    assert [t["type"] for t in theorems] == ["theorem"] * 12 and summary["type"] == "summary"
    assert [t["name"] for t in theorems] == [f"e{i}" for i in range(12)]
    assert all(t["status"] == "proved" and t["file"] == str(source) for t in theorems)
    assert (summary["theorems"], summary["proved"], summary["checked_by"]) == (12, 12, "embedded kernel")
    # Proofs are stored without the file's indentation; splicing puts it back.
    assert all(t["proof"] == t["proof"].lstrip() and t["proof"] for t in theorems)
    report = json.loads((tmp_path / "many.report.json").read_text())
    assert all(not row["proof"].startswith(" ") for row in report["results"])
    spliced = (tmp_path / "many.proved.lean").read_text()
    assert f":= by\n  {theorems[0]['proof'].splitlines()[0]}" in spliced and "sorry" not in spliced


def test_piped_lines_quiet_and_flag_mistakes(tmp_path: Path) -> None:
    source = lean_file(tmp_path / "two.lean", 2)
    piped = prover("prove", str(source), *HAMMER, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert lines[0].startswith("[1/2] proved e0 (") and lines[1].startswith("[2/2] proved e1 (")
    assert lines[2].startswith("2/2 proved; checked by: embedded kernel")
    assert "┃" not in piped.stdout  # no table when piped: the lines are the record

    quiet = prover("prove", str(source), "--quiet", "--out", str(tmp_path / "q.lean"), *HAMMER, cwd=tmp_path)
    assert quiet.returncode == 0 and "[1/2]" not in quiet.stdout and quiet.stdout.startswith("2/2 proved")
    assert quiet.stderr == ""

    hammer_model = prover("prove", str(source), "--out", str(tmp_path / "m.lean"), "--model", str(tmp_path),
                          "--quiet", *HAMMER, cwd=tmp_path)
    assert hammer_model.returncode == 0
    assert "warning: --model" in hammer_model.stderr and "ignored with --policy hammer" in hammer_model.stderr

    bad_time = prover("prove", str(source), "--policy", "hammer", "--time-limit", "-5", cwd=tmp_path)
    assert bad_time.returncode == 2
    assert bad_time.stderr.strip() == "error: --time-limit -5.0: must be at least 0"
    bad_workers = prover("eval", "--data", str(jsonl(tmp_path / "d.jsonl", 1)), "--workers", "-1", cwd=tmp_path)
    assert bad_workers.returncode == 2
    assert bad_workers.stderr.strip() == "error: --workers -1: must be between 0 and 1024"
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("command, codes", [
    ([], "Exit codes: 0 all proved, 1 some not proved, 2 bad input or an unusable backend"),
    (["prove"], "Exit codes: 0 all proved (or nothing to prove), 1 some not, 2 bad input or an unusable backend "
                "(nothing written)"),
    (["eval"], "Exit codes: 0 the run finished (whatever was proved), 2 bad input, an unusable backend or a "
               "--resume of another run, 130 interrupted"),
])
def test_help_states_the_exit_codes(command: list[str], codes: str) -> None:
    result = prover(*command, "--help", cwd=REPO, env=cli_env(NO_COLOR="1", TERM="dumb"))
    text = " ".join(result.stdout.replace("│", " ").split())
    assert result.returncode == 0 and codes in text, text


def test_resume_refuses_another_dataset_or_settings_naming_each_difference(tmp_path: Path) -> None:
    first, second = jsonl(tmp_path / "first.jsonl", 2), jsonl(tmp_path / "second.jsonl", 3)
    out = tmp_path / "run"
    started = prover("eval", "--data", str(first), "--workers", "0", "--out", str(out), "--limit", "1", *HAMMER,
                     cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    results = (out / "results.jsonl").read_text()
    assert len(results.splitlines()) == 1

    mixed = prover("eval", "--data", str(second), "--workers", "0", "--out", str(out), "--resume",
                   "--policy", "hammer", "--time-limit", "5", "--max-expansions", "8", cwd=tmp_path)
    assert mixed.returncode == 2
    for field in ("data (--data / --split)", "data_sha256", "limit (--limit): 1 in that run, null now",
                  "search.budget.time_limit_s (--time-limit): 20.0 in that run, 5.0 now", "another --out"):
        assert field in mixed.stderr, (field, mixed.stderr)
    assert "max_expansions" not in mixed.stderr  # the same in both runs: not named
    assert (out / "results.jsonl").read_text() == results  # nothing appended

    edited = prover("eval", "--data", str(jsonl(first, 4)), "--workers", "0", "--out", str(out), "--resume",
                    "--limit", "1", *HAMMER, cwd=tmp_path)
    assert edited.returncode == 2 and "data_sha256" in edited.stderr and "--time-limit" not in edited.stderr

    jsonl(first, 2)  # the original content again: the same run, which --resume continues
    resumed = prover("eval", "--data", str(first), "--workers", "0", "--out", str(out), "--resume", "--limit", "1",
                     *HAMMER, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "1/1 proved (1 from an earlier run)" in resumed.stdout
    assert (out / "results.jsonl").read_text() == results
