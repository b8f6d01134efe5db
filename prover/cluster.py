"""Proving on Ray: a pool of `ProverWorker` actors and one `PolicyServer` actor.

- Each `ProverWorker` owns its own Lean environment (through a `Solver`) and proves one
  theorem at a time. Theorems are handed out dynamically: a worker gets the next one as soon
  as it reports its last, so slow theorems do not hold up a fixed share.
- A worker that dies (Lean took the process down, OOM, `ray.kill`) is restarted by Ray
  (`max_restarts=-1`) and the theorem it held goes back to the front of the queue. A theorem
  that has killed `max_worker_deaths` (3) workers is recorded as an error instead of being
  retried forever, so every run terminates with exactly one result per theorem.
- With a model policy, one `PolicyServer` owns the `AsyncEngine`; every worker's policy sends
  its generation requests there concurrently, so the engine batches across workers.

Actors are named (`prover-<run>-worker-<i>`, `prover-<run>-policy`) so they can be found in
the Ray dashboard and with `ray.get_actor(name, namespace)`.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

from lean_env.theorem import Theorem
from prover.config import ClusterConfig
from prover.evaluate import Solver
from prover.metrics import ProverMetrics
from prover.records import TheoremRecord


def connect(address: str | None = None, *, num_cpus: int | None = None, include_dashboard: bool | None = None,
            metrics_export_port: int | None = None, namespace: str | None = None) -> None:
    """Start a local Ray (address None) or join a running cluster ("auto", "host:port")."""
    if ray.is_initialized():
        return
    options: dict[str, Any] = {"namespace": namespace, "log_to_driver": True}
    if address is None:
        # "local": always a private instance, never a `ray start` cluster that happens to run here.
        options["address"] = "local"
        options["num_cpus"] = num_cpus
        if include_dashboard is not None:
            options["include_dashboard"] = include_dashboard
        if metrics_export_port is not None:
            options["_metrics_export_port"] = metrics_export_port
    else:
        options["address"] = address
    ray.init(**options)


@ray.remote
class ProverWorker:
    """Proves theorems with its own solver (its own Lean environment and policy client)."""

    def __init__(self, solver: Solver, index: int) -> None:
        self.solver = solver
        self.index = index
        self.metrics = ProverMetrics.create()
        # Solvers that can record tactic metrics take them here.
        if hasattr(self.solver, "attach_metrics"):
            self.solver.attach_metrics(self.metrics)

    def solve(self, theorem: Theorem) -> TheoremRecord:
        try:
            record = self.solver.solve(theorem)
        except Exception as exc:  # a Python error in one theorem is its result, not the worker's end
            record = TheoremRecord.error_record(theorem.name, f"{type(exc).__name__}: {exc}")
        self.metrics.count_outcome(record.status)
        return record

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.solver.close()


@ray.remote
class PolicyServer:
    """Owns the generation engine; all workers call `submit` concurrently (async actor).

    `engine_factory()` builds the engine inside this actor (weights are loaded where they are
    used, not pickled through Ray). The engine must offer `async submit(prompt, params)`.
    """

    def __init__(self, engine_factory: Callable[[], Any], stats_interval_s: float = 1.0) -> None:
        self.engine = engine_factory()
        self.metrics = ProverMetrics.create()
        self.stats_interval_s = stats_interval_s
        self.in_flight = 0
        self.requests = 0
        self.generated_tokens = 0
        self._reporter: asyncio.Task | None = None

    async def submit(self, prompt: Any, params: Any) -> Any:
        if self._reporter is None:
            self._reporter = asyncio.get_running_loop().create_task(self._report_rates())
        self.in_flight += 1
        self.requests += 1
        if self._engine_stats() is None:
            # No per-step record from the engine: report the concurrency at its door instead.
            self.metrics.policy_batch_size.observe(self.in_flight)
        try:
            result = await self.engine.submit(prompt, params)
        finally:
            self.in_flight -= 1
        self.generated_tokens += _count_tokens(result)
        return result

    def _engine_stats(self) -> Any:
        """`serving` engines keep `stats` (num_steps, batch_sizes, num_generated_tokens)."""
        stats = getattr(self.engine, "stats", None)
        return stats if hasattr(stats, "batch_sizes") and hasattr(stats, "num_steps") else None

    async def _report_rates(self) -> None:
        last_tokens, last_time, last_steps = self.generated_tokens, time.monotonic(), 0
        while True:
            await asyncio.sleep(self.stats_interval_s)
            now = time.monotonic()
            rate = (self.generated_tokens - last_tokens) / max(now - last_time, 1e-9)
            self.metrics.generated_tokens_per_s.set(rate)
            last_tokens, last_time = self.generated_tokens, now
            stats = self._engine_stats()
            if stats is not None:  # the engine's real batch sizes, one per step since last time
                new_steps = stats.num_steps - last_steps
                for size in list(stats.batch_sizes)[-new_steps:] if new_steps > 0 else []:
                    self.metrics.policy_batch_size.observe(size)
                last_steps = stats.num_steps

    def stats(self) -> dict[str, int]:
        return {"requests": self.requests, "generated_tokens": self.generated_tokens, "in_flight": self.in_flight}


def _count_tokens(result: Any) -> int:
    """Generated tokens in an engine result (one output or a list of `n` samples)."""
    outputs = result if isinstance(result, (list, tuple)) else [result]
    total = 0
    for output in outputs:
        for name in ("token_ids", "output_token_ids", "tokens"):
            tokens = getattr(output, name, None)
            if tokens is not None:
                total += len(tokens)
                break
        else:
            samples = getattr(output, "outputs", None)
            if samples:
                total += _count_tokens(list(samples))
    return total


class RemoteEngine:
    """Stands in for an `AsyncEngine` inside a worker: forwards `submit` to the `PolicyServer`.

    `tokenizer` is a local copy of the server engine's tokenizer: the policy reads it to know the
    engine takes text and to line up per-token log-probs with the text (no model weights here)."""

    def __init__(self, server: Any, tokenizer: Any = None) -> None:
        self.server = server
        self.tokenizer = tokenizer

    async def submit(self, prompt: Any, params: Any) -> Any:
        return await self.server.submit.remote(prompt, params)


def start_policy_server(engine_factory: Callable[[], Any], *, name: str, num_gpus: float = 0.0) -> Any:
    return PolicyServer.options(name=name, num_cpus=0, num_gpus=num_gpus, max_concurrency=1000).remote(engine_factory)


class ProverPool:
    """A `Runner` on Ray: named worker actors, dynamic hand-out, restart-and-retry on worker death."""

    def __init__(self, solver: Solver, cluster: ClusterConfig, *, run_id: str | None = None,
                 on_worker_death: Callable[[str, int], None] | None = None,
                 policy_server: Any = None) -> None:
        if cluster.workers < 1:
            raise ValueError("ProverPool needs at least one worker (workers=0 means prove in-process)")
        self.solver = solver
        self.cluster = cluster
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.on_worker_death = on_worker_death
        self.metrics = ProverMetrics.create()
        self.worker_deaths = 0
        self.workers: list[Any] = []
        # Held so the policy server lives as long as the pool (an unreferenced actor is collected).
        self.policy_server = policy_server

    def worker_name(self, index: int) -> str:
        return f"prover-{self.run_id}-worker-{index}"

    def _start_workers(self) -> None:
        for index in range(self.cluster.workers):
            self.workers.append(
                ProverWorker.options(
                    name=self.worker_name(index),
                    namespace=ray.get_runtime_context().namespace,
                    num_cpus=self.cluster.cpus_per_worker,
                    max_restarts=-1,  # Ray brings a dead worker back with the same name
                    max_task_retries=0,  # ...but we decide about retrying its theorem
                ).remote(self.solver, index)
            )

    def run(self, problems: Sequence[Theorem], on_result: Callable[[TheoremRecord], None]) -> None:
        if not self.workers:
            self._start_workers()
        queue: deque[Theorem] = deque(problems)
        deaths: dict[str, int] = {}
        idle: list[int] = []
        lost: set[int] = set()
        # ref -> (worker index, theorem) for a proof; (worker index, None) for a liveness probe.
        # Every worker is probed before its first theorem, so the overdue clock of a theorem
        # starts on a running worker, never while its process is still starting.
        in_flight: dict[Any, tuple[int, Theorem | None]] = {
            worker.pid.remote(): (index, None) for index, worker in enumerate(self.workers)
        }
        probe_failures: dict[int, int] = {}
        started: dict[Any, float] = {}
        while queue or any(theorem is not None for _, theorem in in_flight.values()):
            if len(lost) == len(self.workers):
                for theorem in queue:
                    on_result(TheoremRecord.error_record(
                        theorem.name, "every prover worker was lost and could not be restarted"))
                return
            while idle and queue:
                index = idle.pop(0)
                theorem = queue.popleft()
                ref = self.workers[index].solve.remote(theorem)
                in_flight[ref] = (index, theorem)
                started[ref] = time.monotonic()
            self.metrics.queue_depth.set(len(queue))
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            self._kill_overdue(in_flight, started, finished=set(ready))
            for ref in ready:
                index, theorem = in_flight.pop(ref)
                started.pop(ref, None)
                if theorem is None:  # a probe of a restarted worker
                    try:
                        ray.get(ref)
                        probe_failures.pop(index, None)
                        idle.append(index)
                    except RayActorError:
                        probe_failures[index] = probe_failures.get(index, 0) + 1
                        if probe_failures[index] >= _MAX_PROBES:
                            lost.add(index)
                        else:
                            time.sleep(0.2)
                            in_flight[self.workers[index].pid.remote()] = (index, None)
                    continue
                try:
                    record = ray.get(ref)
                except RayActorError as exc:
                    self.worker_deaths += 1
                    self.metrics.worker_deaths.inc()
                    # Give the worker work again only once Ray has it back: a task sent to it
                    # before then would fail too and be wrongly blamed on its theorem.
                    in_flight[self.workers[index].pid.remote()] = (index, None)
                    count = deaths[theorem.name] = deaths.get(theorem.name, 0) + 1
                    if self.on_worker_death is not None:
                        self.on_worker_death(theorem.name, count)
                    if count >= self.cluster.max_worker_deaths:
                        self.metrics.count_outcome("error")
                        on_result(TheoremRecord.error_record(
                            theorem.name,
                            f"killed its prover worker {count} times; not retried "
                            f"(last: {_first_line(str(exc))})",
                            worker_deaths=count,
                        ))
                    else:
                        queue.appendleft(theorem)  # retried next, on whichever worker is free
                    continue
                except RayTaskError as exc:  # e.g. a result that would not serialise
                    record = TheoremRecord.error_record(theorem.name, _first_line(str(exc)))
                idle.append(index)
                if isinstance(record, TheoremRecord) and deaths.get(theorem.name):
                    record = record.model_copy(update={"worker_deaths": deaths[theorem.name]})
                on_result(record)
        self.metrics.queue_depth.set(0)

    def _kill_overdue(self, in_flight: dict[Any, tuple[int, Theorem | None]], started: dict[Any, float],
                      finished: set[Any]) -> None:
        """A worker stuck far past the search's own time limit is killed (and restarted by Ray);
        its theorem then counts a worker death like any other crash. A theorem whose result is
        already in (`finished`) is never overdue, however late it is read."""
        deadline = self.cluster.theorem_deadline_s
        if deadline is None:
            return
        now = time.monotonic()
        for ref, began in list(started.items()):
            if ref not in finished and now - began > deadline:
                index, _ = in_flight[ref]
                started.pop(ref)
                ray.kill(self.workers[index], no_restart=False)

    def close(self) -> None:
        # Let workers close their Lean processes, but do not wait long on a stuck one.
        closing = [worker.close.remote() for worker in self.workers]
        if closing:
            ray.wait(closing, num_returns=len(closing), timeout=5.0)
        for actor in [*self.workers, *([self.policy_server] if self.policy_server is not None else [])]:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # already gone
                pass
        self.workers = []
        self.policy_server = None


_MAX_PROBES = 50  # liveness probes (0.2 s apart) before a dead worker counts as lost


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), text)[:500]


class NamedEngine:
    """Picklable: resolves to a `RemoteEngine` on the named `PolicyServer` inside whichever process calls it."""

    def __init__(self, name: str, namespace: str | None = None, tokenizer_dir: Any = None) -> None:
        self.name = name
        self.namespace = namespace
        self.tokenizer_dir = tokenizer_dir

    def __call__(self) -> RemoteEngine:
        tokenizer = None
        if self.tokenizer_dir is not None:
            from model.tokenizer import load_tokenizer

            tokenizer = load_tokenizer(self.tokenizer_dir)
        return RemoteEngine(ray.get_actor(self.name, namespace=self.namespace), tokenizer)
