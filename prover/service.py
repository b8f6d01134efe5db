"""HTTP API (FastAPI on Ray Serve): submit a statement file, poll for the proof.

    POST /prove      {"file": "<.lean text>"} or {"header": "...", "statement": "theorem … := by"},
                     optional {"search": {"budget": {"time_limit_s": 30, "max_expansions": 32},
                                          "concurrency": 4, ...}} (any `search.SearchConfig` field;
                                          the older top-level {"budget": {...}} is accepted too)
                     -> 202 {"job_id": "...", "status_url": "/jobs/<id>"}
    GET  /jobs/{id}  -> {"status": "running" | "done" | "error", "results": [...], "proved_file": ...}
    GET  /docs, /openapi.json  (docs: one self-contained page built from the schema, no CDN)

Inputs are validated by pydantic (sizes capped) and every statement file must pass
`lean_env.guard.check_file` before anything is run. Jobs live in the memory of the one replica
that accepted them (`num_replicas=1`); the proving itself runs as Ray tasks, or in threads when
the app runs without Ray (tests, `TestClient`). Binds 127.0.0.1 unless told otherwise: there is
no authentication, so do not expose it beyond a trusted network.
"""
from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from prover.config import ProverConfig
from search.config import SearchConfig

MAX_FILE_CHARS = 64_000
MAX_HEADER_CHARS = 8_000
MAX_STATEMENT_CHARS = 16_000
MAX_THEOREMS_PER_JOB = 16
MAX_TIME_LIMIT_S = 600.0
MAX_EXPANSIONS = 1024
MAX_CONCURRENCY = 64
MAX_CANDIDATES = 64
MAX_ROLLOUT_DEPTH = 64
MAX_MODEL_SAMPLES = 64
MAX_OPEN_JOBS = 64
# Refused before the body is read or parsed (each field is limited again by the model).
MAX_BODY_BYTES = 4 * (MAX_FILE_CHARS + MAX_HEADER_CHARS + MAX_STATEMENT_CHARS) + 4_096
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


# Caps on what one request may ask of the shared service; every other SearchConfig field is
# checked by SearchConfig itself.
REQUEST_CAPS: dict[tuple[str, ...], float] = {
    ("budget", "time_limit_s"): MAX_TIME_LIMIT_S,
    ("budget", "max_expansions"): MAX_EXPANSIONS,
    ("budget", "tactic_timeout_s"): MAX_TIME_LIMIT_S,
    ("concurrency",): MAX_CONCURRENCY,
    ("num_candidates",): MAX_CANDIDATES,
    ("rollout_depth",): MAX_ROLLOUT_DEPTH,
    ("model_samples",): MAX_MODEL_SAMPLES,
}
# Budget limits a request may not lift (the service has no unlimited searches), and their floor.
REQUIRED_LIMITS = {("budget", "time_limit_s"): 1e-9, ("budget", "max_expansions"): 1}


def _set_fields(config: BaseModel, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """The fields a request set explicitly, by path (nested models walked)."""
    found: dict[tuple[str, ...], Any] = {}
    for name in config.model_fields_set:
        value = getattr(config, name)
        if isinstance(value, BaseModel):
            found.update(_set_fields(value, (*prefix, name)))
        else:
            found[(*prefix, name)] = value
    return found


class ProveRequest(BaseModel):
    """A whole statement file, or one statement with its header; never both."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = Field(None, max_length=MAX_FILE_CHARS,
                             description="A .lean file; theorems ending in `:= by sorry` (or `:= by`) are proved.")
    header: str | None = Field(None, max_length=MAX_HEADER_CHARS,
                               description="Imports/opens the statement needs, e.g. `import Mathlib`.")
    statement: str | None = Field(None, max_length=MAX_STATEMENT_CHARS,
                                  description="`theorem name … := by` without a proof.")
    search: SearchConfig = Field(
        default_factory=SearchConfig,
        description="How to search; fields left out take the server's settings (`prover serve` flags), "
                    "whose defaults are the ones shown.")

    @model_validator(mode="before")
    @classmethod
    def _budget_at_the_top(cls, data: Any) -> Any:
        """`{"budget": {...}}` (the first API's spelling) means `{"search": {"budget": {...}}}`."""
        if isinstance(data, dict) and "budget" in data:
            data = dict(data)
            search = dict(data.get("search") or {})
            if "budget" in search:
                raise ValueError("send the budget once: `search.budget` (or the older top-level `budget`)")
            search["budget"] = data.pop("budget")
            data["search"] = search
        return data

    @model_validator(mode="after")
    def _within_the_service_caps(self) -> "ProveRequest":
        for path, value in _set_fields(self.search).items():
            where = "search." + ".".join(path)
            if path in REQUIRED_LIMITS and (value is None or value < REQUIRED_LIMITS[path]):
                floor = REQUIRED_LIMITS[path]
                raise ValueError(f"{where} must be greater than or equal to {floor:g} on this service")
            if path in REQUEST_CAPS and value is not None and value > REQUEST_CAPS[path]:
                raise ValueError(f"{where} must be less than or equal to {REQUEST_CAPS[path]:g} on this service")
        return self

    @model_validator(mode="after")
    def _one_input(self) -> "ProveRequest":
        if (self.file is None) == (self.statement is None):
            raise ValueError("send either `file` (a .lean text) or `statement` (with optional `header`), not both or neither")
        if self.file is not None and self.header is not None:
            raise ValueError("`header` goes with `statement`; a `file` carries its own header")
        return self

    def lean_text(self) -> str:
        if self.file is not None:
            return self.file
        statement = self.statement.rstrip()
        if not statement.endswith(":= by"):
            raise ValueError("`statement` must end with `:= by` (the proof is what we find)")
        return f"{(self.header or '').rstrip()}\n\n{statement}\n  sorry\n"


class JobCreated(BaseModel):
    job_id: str
    status_url: str


class JobStatus(BaseModel):
    job_id: str
    status: Literal["running", "done", "error"]
    submitted_at: float
    finished_at: float | None = None
    checked_by: str | None = None
    theorems: int = 0
    proved: int = 0
    results: list[dict[str, Any]] = Field(default_factory=list)
    proved_file: str | None = None
    notes: list[str] = Field(default_factory=list, description="e.g. that the file has nothing to prove")
    error: str | None = None


class Executor(Protocol):
    def submit(self, text: str, config: ProverConfig) -> concurrent.futures.Future:
        ...


def prove_text(text: str, config: ProverConfig, engine_resolver: Any = None) -> dict[str, Any]:
    """Prove the open theorems of one file (runs where the executor puts it)."""
    from prover.agent import AgentSolver, prove_file

    solver = AgentSolver(config, engine_resolver=engine_resolver)
    try:
        outcome = prove_file(text, solver)
    finally:
        solver.close()
    return {**outcome.report(), "proved_file": outcome.text}


class ThreadExecutor:
    """Proves in threads of this process: for running the app without Ray."""

    def __init__(self, max_workers: int = 2, engine_resolver: Any = None) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="prove-job")
        self.engine_resolver = engine_resolver

    def submit(self, text: str, config: ProverConfig) -> concurrent.futures.Future:
        return self._pool.submit(prove_text, text, config, self.engine_resolver)


class RayExecutor:
    """Proves each job as a Ray task (1 CPU), so the HTTP replica only keeps the books.

    With a model policy, `engine_resolver` (a `cluster.NamedEngine`) points the task's policy
    at the shared `PolicyServer` actor instead of loading the model in every task."""

    def __init__(self, engine_resolver: Any = None) -> None:
        self.engine_resolver = engine_resolver

    def submit(self, text: str, config: ProverConfig) -> concurrent.futures.Future:
        import ray

        task = ray.remote(num_cpus=1, max_retries=1)(prove_text)
        return task.remote(text, config, self.engine_resolver).future()


@dataclass
class Job:
    job_id: str
    future: concurrent.futures.Future
    submitted_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    def status(self) -> JobStatus:
        if not self.future.done():
            return JobStatus(job_id=self.job_id, status="running", submitted_at=self.submitted_at)
        if self.finished_at is None:
            self.finished_at = time.time()
        error = self.future.exception()
        if error is not None:
            return JobStatus(job_id=self.job_id, status="error", submitted_at=self.submitted_at,
                             finished_at=self.finished_at, error=f"{type(error).__name__}: {error}"[:2000])
        report = self.future.result()
        return JobStatus(
            job_id=self.job_id, status="done", submitted_at=self.submitted_at, finished_at=self.finished_at,
            checked_by=report.get("checked_by") or None, theorems=report["theorems"], proved=report["proved"],
            results=report["results"], proved_file=report["proved_file"], notes=report.get("notes", []),
        )


class JobManager:
    """Jobs of this replica by id."""

    def __init__(self, config: ProverConfig, executor: Executor) -> None:
        self.config = config
        self.executor = executor
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def open_jobs(self) -> int:
        return sum(not job.future.done() for job in self.jobs.values())

    def submit(self, text: str, search: SearchConfig | None = None) -> Job:
        """Prove `text` with the server's settings, the fields `search` sets explicitly replacing them."""
        config = self.config
        if search is not None:
            merged = self.config.search.model_dump()
            for path, value in _set_fields(search).items():
                section = merged
                for part in path[:-1]:
                    section = section[part]
                section[path[-1]] = value
            config = config.model_copy(update={"search": SearchConfig.model_validate(merged)})
        with self._lock:
            if self.open_jobs() >= MAX_OPEN_JOBS:
                raise HTTPException(429, f"{MAX_OPEN_JOBS} jobs are already running; retry when some finish")
            job = Job(job_id=uuid.uuid4().hex, future=self.executor.submit(text, config))
            self.jobs[job.job_id] = job
        return job


@dataclass
class ManagerFactory:
    """Builds the job manager inside the process that serves requests (picklable for Ray Serve)."""

    config: ProverConfig
    use_ray: bool
    engine_resolver: Any = None

    def __call__(self) -> JobManager:
        executor: Executor
        if self.use_ray:
            executor = RayExecutor(self.engine_resolver)
        else:
            executor = ThreadExecutor(engine_resolver=self.engine_resolver)
        return JobManager(self.config, executor)


def check_statement_file(text: str) -> list[str]:
    """Problems that make a statement file unacceptable (empty list: fine to prove).

    The same decision as `prover prove` (`prover.agent.plan_file`: what is refused, what is
    attempted), plus this service's cap on theorems per job. A file with nothing to prove is
    accepted: its job finishes at once with 0 theorems and a note saying so."""
    from prover.agent import plan_file

    plan = plan_file(text)
    if plan.problems:
        return plan.problems
    pending = plan.parsed.sites
    if len(pending) > MAX_THEOREMS_PER_JOB:
        return [f"{len(pending)} theorems to prove; at most {MAX_THEOREMS_PER_JOB} per job"]
    return []


_MANAGER_LOCK = threading.Lock()


def get_manager(request: Request) -> JobManager:
    """The replica's job manager, built on first use (the app is pickled to the replica without it)."""
    state = request.app.state
    with _MANAGER_LOCK:
        if state.manager is None:
            state.manager = state.manager_factory()
    return state.manager


MAX_ECHOED_CHARS = 80  # an error quotes at most this much of a bad value; never a whole file


def _short(value: Any) -> Any:
    """A value fit to quote in an error: short scalars as they are, anything else cut or summarised."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_ECHOED_CHARS else value[:MAX_ECHOED_CHARS] + f"... ({len(value)} chars)"
    if isinstance(value, dict):
        return f"<object with {len(value)} keys>"
    if isinstance(value, (list, tuple)):
        return f"<list of {len(value)} items>"
    return f"<{type(value).__name__}>"


MAX_PROBLEMS_LISTED = 20


def _first_problems(problems: list[str]) -> list[str]:
    """At most `MAX_PROBLEMS_LISTED` problems, each cut to a few lines' length: a file with
    thousands of bad lines gets a short answer, not one as large as itself."""
    listed = [p if len(p) <= 4 * MAX_ECHOED_CHARS else p[: 4 * MAX_ECHOED_CHARS] + "..."
              for p in problems[:MAX_PROBLEMS_LISTED]]
    if len(problems) > MAX_PROBLEMS_LISTED:
        listed.append(f"... and {len(problems) - MAX_PROBLEMS_LISTED} more")
    return listed


async def validation_error(request: Request, exc: Any) -> Any:
    """422 naming each problem (where, what) without sending the request back: FastAPI's default
    handler echoes every bad input whole, a 200 KB file included."""
    from fastapi.responses import JSONResponse

    problems = []
    for error in exc.errors():
        message = str(error.get("msg", ""))
        if isinstance(error.get("input"), str):  # a validator that quotes the value must not echo it whole
            message = message.replace(repr(error["input"]), repr(_short(error["input"])))
        if len(message) > 4 * MAX_ECHOED_CHARS:
            message = message[: 4 * MAX_ECHOED_CHARS] + "..."
        problem = {"loc": list(error.get("loc", ())), "msg": message, "type": error.get("type", "")}
        if "input" in error:
            problem["input"] = _short(error["input"])
        if isinstance(error.get("ctx"), dict):
            # the limits that were broken (max_length, ge, ...); a value error's `error` repeats `msg`
            problem["ctx"] = {key: _short(value) for key, value in error["ctx"].items()
                              if isinstance(value, (str, int, float, bool))}
        problems.append(problem)
    return JSONResponse({"detail": problems}, status_code=422)


async def limit_body_size(request: Request, call_next: Any) -> Any:
    """413 for a declared body over `MAX_BODY_BYTES` (or a body sent without a length)."""
    from fastapi.responses import JSONResponse

    if request.method == "POST":
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit():
            return JSONResponse({"detail": "send a Content-Length header"}, status_code=411)
        if int(declared) > MAX_BODY_BYTES:
            return JSONResponse({"detail": f"request body of {declared} bytes is over the limit of "
                                           f"{MAX_BODY_BYTES} bytes"}, status_code=413)
    return await call_next(request)


def build_app(factory: ManagerFactory) -> FastAPI:
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse

    app = FastAPI(
        docs_url=None,  # FastAPI's Swagger UI and ReDoc load from a CDN: /docs is ours (below)
        redoc_url=None,
        title="Lean prover",
        version="0.1.0",
        description="Submit Lean 4 statements; a proof search fills in the proofs. Each result names the "
                    "backend that checked it (the embedded kernel is not Lean).",
    )
    app.state.manager_factory = factory
    app.state.manager = None
    app.middleware("http")(limit_body_size)
    app.exception_handler(RequestValidationError)(validation_error)

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        from prover.api_docs import render_docs

        return HTMLResponse(render_docs(app.openapi()))

    @app.post("/prove", status_code=202, response_model=JobCreated)
    def prove(body: ProveRequest, jobs: JobManager = Depends(get_manager)) -> JobCreated:
        try:
            text = body.lean_text()
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        problems = check_statement_file(text)
        if problems:
            raise HTTPException(422, {"error": "statement file rejected", "problems": _first_problems(problems)})
        job = jobs.submit(text, body.search)
        return JobCreated(job_id=job.job_id, status_url=f"/jobs/{job.job_id}")

    @app.get("/jobs/{job_id}", response_model=JobStatus)
    def job_status(job_id: str, jobs: JobManager = Depends(get_manager)) -> JobStatus:
        job = jobs.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r} on this server (jobs are kept in memory until it restarts)")
        return job.status()

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def deploy(config: ProverConfig, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
           name: str = "prover", blocking: bool = False, engine_resolver: Any = None) -> str:
    """Run the API on Ray Serve (Ray must be initialised); returns the base URL."""
    from ray import serve

    app = build_app(ManagerFactory(config=config, use_ray=True, engine_resolver=engine_resolver))

    @serve.deployment(name="ProverService", num_replicas=1, ray_actor_options={"num_cpus": 0})
    @serve.ingress(app)
    class ProverService:
        """Job book-keeping only; proofs run as separate Ray tasks."""

    serve.start(http_options={"host": host, "port": port})
    serve.run(ProverService.bind(), name=name, route_prefix="/", blocking=blocking)
    return f"http://{host}:{port}"
