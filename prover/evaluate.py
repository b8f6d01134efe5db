"""Batch evaluation: prove every theorem of a JSONL benchmark, one result line per theorem.

Nothing is lost: each result is appended to `results.jsonl` (one `write`, flushed and
fsynced) the moment its theorem finishes, so a crash or Ctrl-C leaves a valid file holding
every finished theorem. `resume=True` reads that file and skips the theorems already in it.

A run's identity (dataset and its content hash, split, limit, names, env, policy, search
settings) is kept in `run.json` beside the results; `resume` refuses a run whose identity
differs, naming each difference, so results of two runs are never mixed in one file.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lean_env.datasets import minif2f_file
from lean_env.guard import check_file
from lean_env.theorem import Theorem
from prover.records import TheoremRecord

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
PLOT_FILE = "proved.png"


class DataError(ValueError):
    """The benchmark file is missing or malformed; the message names the file and line."""


def default_data_path(split: str) -> Path:
    """`datasets/minif2f/<split>.jsonl` in the repository (or the shared copy beside it)."""
    return minif2f_file(f"{split}.jsonl")


def load_problems(path: Path) -> list[Theorem]:
    """Read miniF2F-format JSONL (`name`, `header`, `formal_statement` per line)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"benchmark file not found: {path}. Pass --data PATH.jsonl (lines with name, header, "
            "formal_statement), or put the miniF2F data at datasets/minif2f/ in the repository"
        )
    problems: list[Theorem] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                name, header, statement = row["name"], row["header"], row["formal_statement"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(
                    f"{path}:{line_number}: not a problem line ({exc!r}); each line must be a JSON "
                    "object with name, header and formal_statement"
                ) from None
            if name in seen:
                raise DataError(f"{path}:{line_number}: theorem name {name!r} appears twice")
            seen.add(name)
            refused = check_file(f"{header}\n{statement.rstrip()}\n")
            if refused:  # a header with an axiom or an option the guard refuses would be trusted below
                raise DataError(f"{path}:{line_number}: {name}: the guard refuses its header or statement: "
                                + "; ".join(refused[:5]))
            problems.append(Theorem(name=name, header=header, statement=statement.rstrip()))
    return problems


class ResumeMismatch(DataError):
    """`--resume` of a run whose dataset or settings differ; the message names each difference."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_identity(*, data: Path, split: str | None, limit: int | None, names: Sequence[str] | None,
                 settings: dict[str, Any]) -> dict[str, Any]:
    """What makes two runs the same run: the problems (file, content hash, selection) and the
    settings that decide each result (`ProverConfig.model_dump(mode="json")`: env, policy, search)."""
    return {
        "data": str(Path(data).resolve()),
        "data_sha256": file_sha256(data),
        "split": split,
        "limit": limit,
        "names": sorted(names) if names else None,
        **settings,
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def identity_differences(before: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, value of the earlier run, value now) for every field that differs, by dotted path."""
    old, new = _flatten(before), _flatten(now)
    missing = object()
    return [(key, old.get(key, missing), new.get(key, missing)) for key in sorted(old.keys() | new.keys())
            if old.get(key, missing) != new.get(key, missing)]


def check_resume(out_dir: Path, identity: dict[str, Any] | None, *, resume: bool,
                 names: dict[str, str] | None = None) -> None:
    """Refuse (raise `DataError`) to start in `out_dir` when that would mix two runs: results are
    there without `resume`, or `resume` is asked of a run whose identity differs.
    `names` spells a dotted identity field the way the user sets it (`--time-limit`)."""
    out_dir = Path(out_dir)
    results = out_dir / RESULTS_FILE
    has_results = results.exists() and results.stat().st_size > 0
    if has_results and not resume:
        raise DataError(
            f"{results} already holds results: pass --resume to continue that run, "
            "or choose another --out directory"
        )
    run_file = out_dir / RUN_FILE
    if not (resume and has_results and identity is not None and run_file.is_file()):
        return
    try:
        before = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{run_file}: unreadable ({exc}); delete {out_dir} to start fresh") from None
    differences = identity_differences(before, identity)
    if differences:
        names = names or {}

        def show(value: Any) -> str:
            return "(not set)" if not isinstance(value, (str, int, float, bool, list, type(None))) else json.dumps(value)

        lines = [f"{key}{f' ({names[key]})' if key in names else ''}: {show(old)} in that run, {show(new)} now"
                 for key, old, new in differences]
        raise ResumeMismatch(
            f"--resume: {out_dir} holds a different run, so its results would be mixed with this one's:\n  "
            + "\n  ".join(lines)
            + f"\nrerun with that run's dataset and settings to continue it, or start fresh with another --out "
            f"(or delete {results} and {run_file})"
        )


def write_identity(out_dir: Path, identity: dict[str, Any]) -> None:
    path = Path(out_dir) / RUN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(identity, indent=2, sort_keys=True) + "\n", encoding="utf-8")


class ResultLog:
    """Append-only JSONL of `TheoremRecord`s that survives crashes and interrupts."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, TheoremRecord]:
        """Finished theorems by name. A torn last line (crash mid-write) is dropped from the file."""
        if not self.path.exists():
            return {}
        raw = self.path.read_bytes()
        complete_end = raw.rfind(b"\n") + 1
        if complete_end < len(raw):
            # The process died inside a write: cut the partial line so appends stay valid JSONL.
            with self.path.open("r+b") as handle:
                handle.truncate(complete_end)
                handle.flush()
                os.fsync(handle.fileno())
        records: dict[str, TheoremRecord] = {}
        for line_number, line in enumerate(raw[:complete_end].decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = TheoremRecord.model_validate_json(line)
            except ValueError as exc:
                raise DataError(
                    f"{self.path}:{line_number}: unreadable result line ({exc}); fix or delete "
                    "that line, then rerun with --resume"
                ) from None
            records[record.name] = record
        return records

    def append(self, record: TheoremRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = record.to_json_line().encode("utf-8")
        # O_APPEND + a single write: the line lands whole or (on a crash) as a torn tail we cut.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


class Runner(Protocol):
    """Proves theorems somewhere (in-process, or on Ray) and reports each as it finishes."""

    def run(self, problems: Sequence[Theorem], on_result: Callable[[TheoremRecord], None]) -> None:
        ...

    def close(self) -> None:
        ...


class Solver(Protocol):
    """Proves one theorem in the current process."""

    def solve(self, theorem: Theorem) -> TheoremRecord:
        ...

    def close(self) -> None:
        ...


class LocalRunner:
    """Proves theorems one after another in this process (`--workers 0`)."""

    def __init__(self, solver: Solver) -> None:
        self.solver = solver

    def run(self, problems: Sequence[Theorem], on_result: Callable[[TheoremRecord], None]) -> None:
        for theorem in problems:
            try:
                record = self.solver.solve(theorem)
            except Exception as exc:  # one broken theorem must not end the whole run
                record = TheoremRecord.error_record(theorem.name, f"{type(exc).__name__}: {exc}")
            on_result(record)

    def close(self) -> None:
        self.solver.close()


@dataclass
class EvalOutcome:
    """What a run did: every record (old and new), how many were new, and whether it finished."""

    records: list[TheoremRecord]
    total: int
    skipped: int
    new: int
    wall_s: float
    interrupted: bool = False
    out_dir: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def proved(self) -> int:
        return sum(record.status == "proved" for record in self.records)


def run_evaluation(
    problems: Sequence[Theorem],
    runner: Runner,
    out_dir: Path,
    *,
    resume: bool = False,
    on_result: Callable[[TheoremRecord], None] | None = None,
    identity: dict[str, Any] | None = None,
) -> EvalOutcome:
    """Prove `problems`, appending each result to `out_dir/results.jsonl` as it finishes.

    Without `resume`, an existing results file is an error (so a finished run is never mixed
    with a new one by accident); with it, a run of another `identity` is refused, and results
    of theorems outside `problems` too. Ctrl-C stops the run; the file keeps every finished theorem.
    """
    out_dir = Path(out_dir)
    check_resume(out_dir, identity, resume=resume)
    log = ResultLog(out_dir / RESULTS_FILE)
    finished = log.read() if resume else {}
    wanted = {theorem.name for theorem in problems}
    strangers = sorted(set(finished) - wanted)
    if strangers:  # a run from before identities were kept, or a hand-edited file
        raise ResumeMismatch(
            f"--resume: {log.path} holds results of {len(strangers)} theorem(s) not in this run's problems "
            f"({', '.join(strangers[:5])}{', ...' if len(strangers) > 5 else ''}); continue it with the same "
            "dataset and selection, or start fresh with another --out"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    if identity is not None and not (resume and (out_dir / RUN_FILE).is_file() and finished):
        write_identity(out_dir, identity)
    todo = [theorem for theorem in problems if theorem.name not in finished]
    records = {name: record for name, record in finished.items() if name in wanted}
    new = 0

    def record_result(record: TheoremRecord) -> None:
        nonlocal new
        if record.name in records:  # exactly one line per theorem, whatever the runner does
            return
        log.append(record)
        records[record.name] = record
        new += 1
        if on_result is not None:
            on_result(record)

    started = time.monotonic()
    interrupted = False
    try:
        runner.run(todo, record_result)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        runner.close()
    ordered = [records[t.name] for t in problems if t.name in records]
    return EvalOutcome(
        records=ordered,
        total=len(problems),
        skipped=len(problems) - len(todo),
        new=new,
        wall_s=time.monotonic() - started,
        interrupted=interrupted,
        out_dir=out_dir,
    )


def summarize_by_source(records: Iterable[TheoremRecord]) -> dict[str, dict[str, int]]:
    """Per source prefix (mathd, amc, aime, imo, …): attempted, proved, failed, error."""
    table: dict[str, dict[str, int]] = {}
    for record in records:
        row = table.setdefault(record.source, {"attempted": 0, "proved": 0, "failed": 0, "error": 0})
        row["attempted"] += 1
        row[record.status] += 1
    return dict(sorted(table.items()))


def write_summary(outcome: EvalOutcome, path: Path, settings: dict | None = None) -> dict:
    """Write the run's summary JSON (totals, per source, settings) and return it."""
    by_source = summarize_by_source(outcome.records)
    backends = sorted({r.backend for r in outcome.records if r.backend})
    summary = {
        "theorems": outcome.total,
        "finished": len(outcome.records),
        "proved": outcome.proved,
        "failed": sum(r.status == "failed" for r in outcome.records),
        "error": sum(r.status == "error" for r in outcome.records),
        "interrupted": outcome.interrupted,
        "wall_s_this_run": round(outcome.wall_s, 3),
        "checked_by": backends,
        "by_source": by_source,
        "settings": settings or {},
        **outcome.extra,
    }
    Path(path).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return summary
