"""The service's solver: a long-lived env, policy and event loop per worker, and whole files.

Proving one theorem (session, search, re-verification from scratch, guard) is `search.aprove`'s
job alone; `AgentSolver.solve` calls it with the run's `SearchConfig` and turns the result into a
record; this module never upgrades a result. Every record
carries the name of the backend that checked it ("embedded kernel", "lean repl", "lean dojo").
"""
from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lean_env.theorem import Theorem
from lean_env.types import LeanError, TacticTimeout
from prover.config import ProverConfig
from prover.metrics import ProverMetrics
from prover.records import TheoremRecord


class MeteredSession:
    """A `ProofSession` that counts tactic calls, errors and timeouts into the prover metrics."""

    def __init__(self, session: Any, metrics: ProverMetrics) -> None:
        self._session = session
        self._metrics = metrics
        self.theorem = session.theorem

    def run_tac(self, state: Any, tactic: str, timeout: float | None = None) -> Any:
        self._metrics.tactic_calls.inc()
        result = self._session.run_tac(state, tactic, timeout=timeout)
        if isinstance(result, TacticTimeout):
            self._metrics.tactic_timeouts.inc()
        elif isinstance(result, LeanError):
            self._metrics.tactic_errors.inc()
        return result

    def close(self) -> None:
        self._session.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class MeteredEnv:
    """A `ProofEnv` whose sessions are metered; Lean restarts are read from the backend if it counts them."""

    def __init__(self, env: Any, metrics: ProverMetrics) -> None:
        self._env = env
        self._metrics = metrics
        self.backend = env.backend
        self._restarts_seen = self._restarts()

    def _restarts(self) -> int:
        # ReplProofEnv.stats() counts process restarts; other backends may not count them.
        stats = getattr(self._env, "stats", None)
        value = stats().get("restarts", 0) if callable(stats) else getattr(self._env, "restarts", 0)
        return value if isinstance(value, int) else 0

    def start(self, theorem: Theorem) -> tuple[Any, Any]:
        session, state = self._env.start(theorem)
        return MeteredSession(session, self._metrics), state

    def verify(self, theorem: Theorem, proof: str) -> Any:
        return self._env.verify(theorem, proof)

    def report_restarts(self) -> None:
        now = self._restarts()
        if now > self._restarts_seen:
            self._metrics.lean_restarts.inc(now - self._restarts_seen)
        self._restarts_seen = now

    def close(self) -> None:
        self._env.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


def load_local_engine(model_dir: Path) -> Any:
    """An `AsyncEngine` over the checkpoint in `model_dir`, in this process (bf16 on a GPU if any)."""
    import torch

    from model.loader import load_model
    from model.tokenizer import load_tokenizer
    from serving import AsyncEngine

    if torch.cuda.is_available():
        model = load_model(model_dir, dtype=torch.bfloat16, device="cuda")
    else:
        model = load_model(model_dir)
    return AsyncEngine(model, load_tokenizer(model_dir))


def open_policy_url(url: str, model: str | None, metrics: ProverMetrics) -> Any:
    """A client of the OpenAI-compatible server at `url` in place of an engine; asks the server
    for its model now (so a wrong URL fails before any Lean starts). Requests report to `metrics`."""
    import asyncio
    import os

    from search.openai_policy import OpenAIEngine, RequestParams

    # a server started with an API key (vLLM's --api-key) wants it as a bearer token
    api_key = os.environ.get("PROVER_POLICY_API_KEY") or os.environ.get("OPENAI_API_KEY")
    engine = OpenAIEngine(url, model, api_key=api_key,
                          on_request=lambda *event: metrics.record_policy_request(*event))
    engine.sampling_params = RequestParams  # type: ignore[attr-defined]  # no engine import needed
    if model is None:
        async def ask_name() -> None:
            try:
                await engine.model_name()
            finally:
                await engine.aclose()  # its connections belong to this loop, which ends here

        asyncio.run(ask_name())
    return engine


@dataclass
class ModelEngineFactory:
    """Builds the engine where it runs (the policy server actor); picklable, holds only the path."""

    model_dir: Path

    def __call__(self) -> Any:
        return load_local_engine(self.model_dir)


class AgentSolver:
    """Proves theorems in this process with one long-lived env, policy and event loop.

    `engine` is given when the model runs elsewhere (a `cluster.RemoteEngine`); otherwise a
    model policy loads the checkpoint here. The env is opened on first use, so constructing a
    solver (e.g. to ship it to a Ray actor) is cheap.
    """

    def __init__(self, config: ProverConfig, *, engine: Any = None,
                 engine_resolver: Callable[[], Any] | None = None) -> None:
        self.config = config
        self._engine = engine
        self._engine_resolver = engine_resolver
        self._metrics = ProverMetrics.disabled()
        self._env: MeteredEnv | None = None
        self._policy: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        # Ship only the settings: env, loop and engine are rebuilt in the receiving process.
        return {"config": self.config, "engine_resolver": self._engine_resolver}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["config"], engine_resolver=state["engine_resolver"])

    def attach_metrics(self, metrics: ProverMetrics) -> None:
        self._metrics = metrics

    @property
    def backend(self) -> str:
        return self._open()[0].backend

    def open(self) -> None:
        """Start the environment and policy now (raises if the backend cannot start)."""
        self._open()

    def _open(self) -> tuple[MeteredEnv, Any]:
        if self._env is None:
            from lean_env import open_env
            from search.policy import make_search_policy

            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            if self._policy is None:  # the policy first: a model that fails to load leaves no Lean running
                engine = None
                policy = self.config.policy
                if policy.uses_model:
                    engine = self._engine
                    if engine is None and policy.url is not None:
                        engine = open_policy_url(policy.url, policy.served_model, self._metrics)
                    if engine is None and self._engine_resolver is not None:
                        engine = self._engine_resolver()
                    if engine is None:
                        engine = load_local_engine(policy.model_dir)
                model_name = getattr(engine, "model", None) if policy.url else policy.model_dir
                self._policy = make_search_policy(
                    policy.name, self.config.search, engine=engine, model_name=str(model_name or ""),
                    model_dir=policy.model_dir,
                    sampling_params=getattr(engine, "sampling_params", None))
            self._env = MeteredEnv(open_env(self.config.env.kind, **self.config.env.options), self._metrics)
        return self._env, self._policy

    def solve(self, theorem: Theorem) -> TheoremRecord:
        from search import aprove

        with self._lock:  # one search at a time per solver: one env, one loop
            try:
                env, policy = self._open()
            except Exception as exc:
                return TheoremRecord.error_record(
                    theorem.name, f"could not start the {self.config.policy.name} policy or the "
                    f"{self.config.env.kind} environment: {type(exc).__name__}: {exc}")
            assert self._loop is not None
            search_env: Any = GivenTacticsEnv(env) if theorem.given_tactics else env
            try:
                result = self._loop.run_until_complete(aprove(theorem, search_env, policy, self.config.search))
                record = TheoremRecord.from_search_result(result)
            except Exception as exc:
                record = TheoremRecord.error_record(
                    theorem.name, f"{type(exc).__name__}: {exc}", backend=env.backend)
            env.report_restarts()
            return record

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
        self._policy = None
        if self._loop is not None:
            self._loop.close()
            self._loop = None


# ----------------------------------------------------------------------------- whole files


class GivenTacticsSession:
    """A session whose root is the goal left by the tactics a file gives before its final `sorry`."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.theorem = session.theorem

    def run_tac(self, state: Any, tactic: str, timeout: float | None = None) -> Any:
        return self._session.run_tac(state, tactic, timeout=timeout)

    def close(self) -> None:
        self._session.close()


class GivenTacticsEnv:
    """A `ProofEnv` for a theorem whose proof ends in `sorry`: `start` runs the file's tactics
    first (the search continues from there), `verify` checks them together with the proof found,
    from scratch, as one tactic block. Only the found tactics are returned as the proof (they
    replace the `sorry`)."""

    def __init__(self, env: Any) -> None:
        self._env = env
        self.backend = env.backend

    def start(self, theorem: Theorem) -> tuple[Any, Any]:
        from lean_env.types import ProofFinished

        session, state = self._env.start(theorem)
        try:
            for number, tactic in enumerate(theorem.given_tactics, 1):
                result = session.run_tac(state, tactic)
                where = f"the file's tactic {number} of {len(theorem.given_tactics)} ({tactic.splitlines()[0][:60]!r})"
                if isinstance(result, ProofFinished):
                    raise ValueError(f"{where} already closes every goal: the final `sorry` has nothing left "
                                     "to prove; delete it")
                if isinstance(result, (LeanError, TacticTimeout)):
                    # its positions are in the tactic's own text; the report gives the tactic's place in the file
                    detail = _TACTIC_POSITION.sub("", getattr(result, "error", None) or str(result))
                    raise ValueError(f"{where} fails before the final `sorry`: {detail}")
                if not hasattr(result, "pp"):
                    raise ValueError(f"{where} gave {type(result).__name__}: {result}")
                state = result
        except BaseException:
            session.close()
            raise
        return GivenTacticsSession(session), state

    def verify(self, theorem: Theorem, proof: str) -> Any:
        from lean_env.theorem import full_proof

        return self._env.verify(theorem, full_proof(theorem, proof))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


NOTHING_TO_PROVE = ("nothing to prove: no theorem, lemma or example has a missing proof "
                    "(`:= by sorry`, `:= sorry`, `:= by` and nothing after it) or a proof ending in `sorry`")


@dataclass
class FilePlan:
    """What proving a .lean file will do, decided once for the CLI and the HTTP API alike.

    `problems` non-empty: the file is refused (CLI exit 2, HTTP 422), nothing is attempted.
    Otherwise `parsed.sites` are attempted in file order, `parsed.skipped` are reported as
    not attempted, `notes` are said to the user (e.g. that there is nothing to prove)."""

    text: str
    path: str | None
    parsed: Any = None  # lean_env.theorem.LeanFile
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def nothing_to_prove(self) -> bool:
        return not self.problems and not self.parsed.sites and not self.parsed.skipped


def plan_file(text: str, path: str | None = None) -> FilePlan:
    """Read a .lean text (a byte order mark and CRLF line endings are fine) and decide what to prove.

    Refused: text that cannot be split into commands (with line:column), and what the guard does
    not allow in a statement file (`lean_env.guard.check_file`: axioms, options, meta-programming...)."""
    from lean_env.guard import check_file
    from lean_env.lean_text import LeanSyntaxError
    from lean_env.theorem import BOM, parse_lean_file

    plan = FilePlan(text=text, path=path)
    try:
        plan.parsed = parse_lean_file(text, path=path)
    except LeanSyntaxError as exc:
        plan.problems.append(f"cannot parse the .lean text: {exc}")
        return plan
    where = f"{path}: " if path else ""
    plan.problems += [where + problem for problem in check_file(text[len(BOM):] if plan.parsed.bom else text)]
    if plan.problems:
        return plan
    plan.notes += list(plan.parsed.notes)
    if plan.nothing_to_prove:
        plan.notes.append(NOTHING_TO_PROVE)
    return plan


def read_lean_file(path: Path) -> str:
    """The file's text exactly as stored (UTF-8; no newline translation, a byte order mark kept)."""
    return path.read_bytes().decode("utf-8")


_POSITION = re.compile(r"(?<![\w:.>])(\d+):(\d+): (?=\S)")
_TACTIC_POSITION = re.compile(r"(<input>:)?\d+:\d+: ")


def _in_file(message: str | None, site: Any) -> str | None:
    """`message` with the positions Lean gave (in the statement it was sent) made line:column
    positions in the user's file. Header positions are the file's already (the header is the
    file itself, other declarations blanked in place)."""
    if not message:
        return message
    outside = re.search(r"embedded kernel: (unsupported|.*outside the fragment)", message) is not None
    if "header does not elaborate" in message:
        if outside:
            message = message.replace(
                "the header does not elaborate cleanly (errors or sorry), so nothing built on it can be trusted",
                "the file before it uses something outside the embedded kernel's fragment of Lean (Lean itself "
                "may accept it: try --env repl)")
        return message

    def shift(m: re.Match) -> str:
        line, col = int(m.group(1)), int(m.group(2))
        return f"{line + site.line - 1}:{col + site.column if line == 1 else col}: "

    message = _POSITION.sub(shift, message)
    message = re.sub(r"the file's tactic (\d+) of \d+",
                     lambda m: f"{m.group(0)} at {':'.join(map(str, site.given_at[int(m.group(1)) - 1]))}", message)
    if outside:
        message = message.replace(f"the statement of {site.theorem.name} does not elaborate",
                                  f"the statement of {site.theorem.name} is outside the embedded kernel's "
                                  "fragment of Lean (Lean itself may accept it: try --env repl)")
    return message


@dataclass
class FileProof:
    """The result of proving a .lean file: the new text and one record per theorem to prove."""

    path: str | None
    original_text: str
    text: str
    records: list[TheoremRecord]
    backend: str
    settings: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def all_proved(self) -> bool:
        return all(record.status == "proved" for record in self.records)

    def report(self) -> dict:
        return {
            "file": self.path,
            "checked_by": self.backend,
            "theorems": len(self.records),
            "proved": sum(record.status == "proved" for record in self.records),
            "results": [record.model_dump() for record in self.records],
            "notes": list(self.notes),
            "settings": self.settings,
        }


def open_theorems(text: str, path: str | None = None) -> list[Any]:
    """The theorems of a .lean file this run attempts (missing proof, or a proof ending in `sorry`).

    Raises `lean_env.lean_text.LeanSyntaxError` (a ValueError, with line and column) on text
    that cannot be split into commands."""
    from lean_env.theorem import parse_lean_file

    return list(parse_lean_file(text, path=path).sites)


def prove_file(text: str | FilePlan, solver: AgentSolver | Any, *, path: str | None = None,
               on_start: Callable[[Theorem], None] | None = None,
               on_result: Callable[[TheoremRecord], None] | None = None) -> FileProof:
    """Prove every open theorem of `text` (or of a `plan_file` plan); splice the proved ones back
    (every other byte kept). Theorems the file uses `sorry` in otherwise are recorded as not
    attempted. Raises ValueError for a file `plan_file` refuses."""
    from lean_env.theorem import proof_splice_changes, splice_changes, splice_proofs

    plan = text if isinstance(text, FilePlan) else plan_file(text, path)
    if plan.problems:
        raise ValueError("; ".join(plan.problems))
    parsed = plan.parsed
    entries = sorted([*((s.line, s) for s in parsed.sites), *((s.line, s) for s in parsed.skipped)],
                     key=lambda entry: entry[0])
    records: list[TheoremRecord] = []
    proofs: dict[Any, str] = {}  # keyed by site: the place each proof was verified for
    for line, site in entries:
        if not hasattr(site, "theorem"):  # skipped: reported, not attempted
            record = TheoremRecord.error_record(site.name, site.reason, line=line)
            records.append(record)
            if on_result is not None:
                on_result(record)
            continue
        theorem = site.theorem
        if on_start is not None:
            on_start(theorem)
        try:
            record = solver.solve(theorem)
        except Exception as exc:
            record = TheoremRecord.error_record(theorem.name, f"{type(exc).__name__}: {exc}")
        record = record.model_copy(update={"line": line, "error": _in_file(record.error, site)})
        if site.partial:
            record = record.model_copy(update={"note": (
                f"the file's {len(theorem.given_tactics)} tactic(s) before the final `sorry` are kept; the proof "
                "shown replaces that `sorry`")})
        if record.status == "proved" and record.proof:
            # never report (or write) a proof the file would read differently once it is written in
            changed = proof_splice_changes(parsed, site, record.proof)
            if changed:
                record = record.model_copy(update={"status": "error", "proof": None, "error": (
                    "the proof was checked, but writing it into the file would change the file's other text ("
                    f"{'; '.join(changed)[:300]}); it was not written: please report this file")})
            else:
                proofs[site] = record.proof
        records.append(record)
        if on_result is not None:
            on_result(record)
    new_text = splice_proofs(parsed, proofs) if proofs else plan.text
    changed = splice_changes(parsed, new_text) if proofs else []
    if changed:  # each proof passed on its own: together they must too, or none is written
        new_text = plan.text
        records = [r.model_copy(update={"status": "error", "proof": None, "error": (
            "the proofs were checked, but writing them into the file together would change its other text ("
            f"{'; '.join(changed)[:300]}); none was written: please report this file")})
                   if r.status == "proved" else r for r in records]
    backends = sorted({record.backend for record in records if record.backend})
    settings = solver.config.model_dump(mode="json") if hasattr(solver, "config") else {}
    return FileProof(path=plan.path, original_text=plan.text, text=new_text, records=records,
                     backend=", ".join(backends), settings=settings, notes=list(plan.notes))
