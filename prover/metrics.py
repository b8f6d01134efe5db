"""Prover metrics on Ray's metrics endpoint (`ray.util.metrics`; Prometheus adds a `ray_` prefix).

Each process (driver, worker actor, policy server) creates the metric objects it records
once, lazily, after Ray is up. Outside Ray (plain `prover prove`) `ProverMetrics.disabled()`
makes every call a no-op, so the agent code does not branch on where it runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Public names: tests and dashboards look for these (each appears as ray_<name> in Prometheus).
THEOREMS_ATTEMPTED = "prover_theorems_attempted"
THEOREMS_PROVED = "prover_theorems_proved"
THEOREMS_FAILED = "prover_theorems_failed"
THEOREMS_ERRORED = "prover_theorems_errored"
TACTIC_CALLS = "prover_tactic_calls"
TACTIC_ERRORS = "prover_tactic_errors"
TACTIC_TIMEOUTS = "prover_tactic_timeouts"
LEAN_RESTARTS = "prover_lean_restarts"
WORKER_DEATHS = "prover_worker_deaths"
POLICY_BATCH_SIZE = "prover_policy_batch_size"
GENERATED_TOKENS_PER_S = "prover_generated_tokens_per_s"
QUEUE_DEPTH = "prover_queue_depth"
POLICY_REQUESTS = "prover_policy_requests"  # --policy-url: requests by endpoint and outcome
POLICY_REQUEST_LATENCY_S = "prover_policy_request_latency_s"
POLICY_REQUEST_RETRIES = "prover_policy_request_retries"

ALL_METRIC_NAMES = (
    THEOREMS_ATTEMPTED, THEOREMS_PROVED, THEOREMS_FAILED, THEOREMS_ERRORED,
    TACTIC_CALLS, TACTIC_ERRORS, TACTIC_TIMEOUTS, LEAN_RESTARTS, WORKER_DEATHS,
    POLICY_BATCH_SIZE, GENERATED_TOKENS_PER_S, QUEUE_DEPTH, POLICY_REQUESTS, POLICY_REQUEST_LATENCY_S,
    POLICY_REQUEST_RETRIES,
)

_BATCH_SIZE_BOUNDARIES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
_LATENCY_BOUNDARIES = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600]


class _NoOp:
    def inc(self, value: float = 1.0, tags: dict | None = None) -> None:
        pass

    def set(self, value: float, tags: dict | None = None) -> None:
        pass

    def observe(self, value: float, tags: dict | None = None) -> None:
        pass


@dataclass
class ProverMetrics:
    theorems_attempted: Any
    theorems_proved: Any
    theorems_failed: Any
    theorems_errored: Any
    tactic_calls: Any
    tactic_errors: Any
    tactic_timeouts: Any
    lean_restarts: Any
    worker_deaths: Any
    policy_batch_size: Any
    generated_tokens_per_s: Any
    queue_depth: Any
    policy_requests: Any = None
    policy_request_latency_s: Any = None
    policy_request_retries: Any = None

    @classmethod
    def disabled(cls) -> "ProverMetrics":
        noop = _NoOp()
        return cls(*([noop] * 15))

    @classmethod
    def create(cls) -> "ProverMetrics":
        """Real Ray metrics when Ray is initialised in this process, no-ops otherwise."""
        import ray

        if not ray.is_initialized():
            return cls.disabled()
        from ray.util.metrics import Counter, Gauge, Histogram

        return cls(
            theorems_attempted=Counter(THEOREMS_ATTEMPTED, description="Theorems a search was started on."),
            theorems_proved=Counter(THEOREMS_PROVED, description="Theorems proved and re-verified."),
            theorems_failed=Counter(THEOREMS_FAILED, description="Theorems whose budget ran out unproved."),
            theorems_errored=Counter(THEOREMS_ERRORED, description="Theorems that ended in an error."),
            tactic_calls=Counter(TACTIC_CALLS, description="Tactics sent to the Lean backend."),
            tactic_errors=Counter(TACTIC_ERRORS, description="Tactics the backend rejected with an error."),
            tactic_timeouts=Counter(TACTIC_TIMEOUTS, description="Tactics that ran past their time limit."),
            lean_restarts=Counter(LEAN_RESTARTS, description="Lean backend processes restarted after a crash or timeout."),
            worker_deaths=Counter(WORKER_DEATHS, description="Prover worker actors that died and were restarted."),
            policy_batch_size=Histogram(
                POLICY_BATCH_SIZE, description="Requests the policy engine runs in one step.",
                boundaries=_BATCH_SIZE_BOUNDARIES,
            ),
            generated_tokens_per_s=Gauge(GENERATED_TOKENS_PER_S, description="Policy tokens generated per second."),
            queue_depth=Gauge(QUEUE_DEPTH, description="Theorems waiting for a prover worker."),
            policy_requests=Counter(POLICY_REQUESTS, description="Requests to the --policy-url server, by endpoint "
                                    "and outcome (ok/error); their rate is the request rate.",
                                    tag_keys=("endpoint", "outcome")),
            policy_request_latency_s=Histogram(
                POLICY_REQUEST_LATENCY_S, description="Latency of --policy-url requests, retries included (s).",
                boundaries=_LATENCY_BOUNDARIES, tag_keys=("endpoint",)),
            policy_request_retries=Counter(POLICY_REQUEST_RETRIES, description="Retried --policy-url requests."),
        )

    def record_policy_request(self, endpoint: str, outcome: str, latency_s: float, retries: int) -> None:
        """One request to the policy server (search.openai_policy's `on_request` hook)."""
        self.policy_requests.inc(tags={"endpoint": endpoint, "outcome": outcome})
        self.policy_request_latency_s.observe(latency_s, tags={"endpoint": endpoint})
        if retries:
            self.policy_request_retries.inc(retries)

    def count_outcome(self, status: str) -> None:
        self.theorems_attempted.inc()
        {"proved": self.theorems_proved, "failed": self.theorems_failed}.get(status, self.theorems_errored).inc()
