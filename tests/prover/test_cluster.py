"""The Ray worker pool: dynamic hand-out, a killed worker is restarted and its theorem retried,
a theorem that kills workers three times is an error, and every theorem gets exactly one line."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ray import cloudpickle

from lean_env.theorem import Theorem
from prover.config import ClusterConfig
from prover.evaluate import RESULTS_FILE, run_evaluation
from prover.metrics import (
    GENERATED_TOKENS_PER_S,
    POLICY_BATCH_SIZE,
    QUEUE_DEPTH,
    THEOREMS_ATTEMPTED,
    THEOREMS_PROVED,
    WORKER_DEATHS,
)
from prover.records import TheoremRecord

# Test modules are not importable inside Ray workers (importlib mode): ship this one by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class CrashingSolver:
    """Stands in for a Lean backend that can take its process down.

    `crash_once_*` theorems kill the worker process the first time they are tried (a marker file
    remembers it across processes); `poison_*` theorems kill it every time; others are proved
    when their name ends in an even digit; `hang_*` never return.
    """

    def __init__(self, marker_dir: str) -> None:
        self.marker_dir = Path(marker_dir)

    def solve(self, theorem: Theorem) -> TheoremRecord:
        if theorem.name.startswith("poison"):
            os._exit(1)
        if theorem.name.startswith("hang"):
            time.sleep(3600)  # a backend that never answers
        if theorem.name.startswith("crash_once"):
            marker = self.marker_dir / theorem.name
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os._exit(1)
        time.sleep(0.05)
        proved = int(theorem.name[-1]) % 2 == 0
        return TheoremRecord(
            name=theorem.name, status="proved" if proved else "failed",
            proof="norm_num" if proved else None, time_s=0.05, expansions=1, backend="crashing test solver",
        )

    def close(self) -> None:
        pass


def _theorems(names: list[str]) -> list[Theorem]:
    return [Theorem(name=name, header="", statement=f"theorem {name} : True := by") for name in names]


def test_killed_worker_is_restarted_and_every_theorem_gets_one_line(ray_session, tmp_path: Path) -> None:
    from prover.cluster import ProverPool

    names = ["mathd_t0", "mathd_t1", "crash_once_t2", "amc_t3", "poison_t5", "imo_t4", "hang_t7", "imo_t6"]
    deaths: list[tuple[str, int]] = []
    pool = ProverPool(
        CrashingSolver(str(tmp_path)), ClusterConfig(workers=2, cpus_per_worker=1.0, theorem_deadline_s=3.0),
        on_worker_death=lambda name, count: deaths.append((name, count)),
    )
    outcome = run_evaluation(_theorems(names), pool, tmp_path / "run")

    lines = [json.loads(line) for line in (tmp_path / "run" / RESULTS_FILE).read_text().splitlines()]
    assert sorted(row["name"] for row in lines) == sorted(names)  # exactly one line each
    by_name = {row["name"]: row for row in lines}
    # The theorem that crashed its worker once was retried on a restarted worker and finished.
    assert by_name["crash_once_t2"]["status"] == "proved"
    assert by_name["crash_once_t2"]["worker_deaths"] == 1
    # The theorem that kills every worker is given up after three deaths, as an error.
    assert by_name["poison_t5"]["status"] == "error"
    assert "3 times" in by_name["poison_t5"]["error"]
    assert deaths.count(("poison_t5", 3)) == 1 and ("crash_once_t2", 1) in deaths
    # A worker stuck past the deadline is killed and restarted; three strikes and it is an error.
    assert by_name["hang_t7"]["status"] == "error" and by_name["hang_t7"]["worker_deaths"] == 3
    assert pool.worker_deaths == 7
    assert {row["status"] for name, row in by_name.items() if name[-1] in "0246" and "poison" not in name} == {"proved"}
    assert by_name["mathd_t1"]["status"] == "failed"
    assert outcome.proved == 4 and not outcome.interrupted


@dataclass
class Completion:
    text: str
    token_ids: list[int]


@dataclass
class Output:
    outputs: list[Completion]


class SlowEchoEngine:
    """A stand-in generation engine: each request takes 0.3 s and returns n completions of 5 tokens.
    It records how many requests were inside it at once (what a real engine could batch)."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0

    async def submit(self, prompt: str, params: dict) -> Output:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await asyncio.sleep(0.3)
        self.inside -= 1
        return Output([Completion(f"{prompt} :: {self.most_inside}", [1, 2, 3, 4, 5]) for _ in range(params["n"])])


def test_policy_server_sees_concurrent_requests_from_all_callers(ray_session) -> None:
    import ray

    from prover.cluster import NamedEngine, start_policy_server

    server = start_policy_server(SlowEchoEngine, name="test-policy")
    engine = NamedEngine("test-policy", namespace="prover-tests")()  # what a worker's policy gets

    async def many() -> list[Output]:
        return await asyncio.gather(*(engine.submit(f"p{i}", {"n": 2}) for i in range(6)))

    outputs = asyncio.run(many())
    assert [len(o.outputs) for o in outputs] == [2] * 6
    # All six were inside the engine together: the server does not serialise its callers.
    assert max(int(o.outputs[0].text.rsplit(" ", 1)[1]) for o in outputs) == 6
    assert ray.get_actor("test-policy", namespace="prover-tests")._actor_id == server._actor_id  # named
    assert ray.get(server.stats.remote())["generated_tokens"] == 6 * 2 * 5
    time.sleep(1.5)  # let the rate reporter publish tokens/s once
    ray.kill(server)


def test_metrics_endpoint_lists_prover_metrics(ray_session, tmp_path: Path) -> None:
    from prover.cluster import ProverPool

    pool = ProverPool(CrashingSolver(str(tmp_path)), ClusterConfig(workers=1, cpus_per_worker=1.0))
    run_evaluation(_theorems(["mathd_a2", "crash_once_b4"]), pool, tmp_path / "run")
    wanted = {f"ray_{name}" for name in (THEOREMS_ATTEMPTED, THEOREMS_PROVED, WORKER_DEATHS, QUEUE_DEPTH,
                                          POLICY_BATCH_SIZE, GENERATED_TOKENS_PER_S)}
    url = f"http://127.0.0.1:{ray_session['metrics_port']}/metrics"
    seen: set[str] = set()
    for _ in range(30):  # metrics reach the endpoint on the next report (every second here)
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        seen = {name for name in wanted if f"# TYPE {name}" in text}
        if seen == wanted:
            break
        time.sleep(1)
    assert seen == wanted
