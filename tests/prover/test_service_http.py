"""The HTTP API on Ray Serve, for real: POST /prove -> job id -> GET /jobs/{id} until done,
checked by the embedded kernel; a malicious file is refused over the wire too."""
from __future__ import annotations

import socket
import time

import httpx

from prover.config import ProverConfig

HEADER = "import Mathlib\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_http_round_trip_on_ray_serve(ray_session) -> None:
    from ray import serve

    from prover.service import deploy

    port = free_port()
    config = ProverConfig.build(policy="hammer", time_limit_s=30, max_expansions=16, environ={})
    base = deploy(config, port=port, name="prover-test")
    try:
        assert base == f"http://127.0.0.1:{port}"  # bound to localhost by default
        with httpx.Client(base_url=base, timeout=30) as client:
            bad = client.post("/prove", json={"file": HEADER + "axiom boom : False\n\ntheorem t : False := by\n  sorry\n"})
            assert bad.status_code == 422 and "axiom" in bad.text
            huge = client.post("/prove", json={"file": HEADER + "-- pad\n" * 30_000})  # ~200 KB
            assert huge.status_code == 422 and len(huge.content) < 2_000  # the body is not echoed back
            docs = client.get("/docs")
            assert docs.status_code == 200 and "/prove" in docs.text and "http" not in docs.text  # no CDN

            created = client.post("/prove", json={
                "header": HEADER,
                "statement": "theorem http_linear (x : ℝ) (h₀ : 2 * x + 1 = 7) : x = 3 := by",
                "budget": {"time_limit_s": 30, "max_expansions": 16},
            })
            assert created.status_code == 202, created.text
            job = created.json()
            status = {}
            for _ in range(120):
                status = client.get(job["status_url"]).json()
                if status["status"] != "running":
                    break
                time.sleep(0.5)
            assert status["status"] == "done", status
            assert status["checked_by"] == "embedded kernel"
            assert status["theorems"] == 1 and status["proved"] == 1
            [result] = status["results"]
            assert result["name"] == "http_linear" and result["status"] == "proved" and result["proof"]
            assert "sorry" not in status["proved_file"]
            assert "theorem http_linear (x : ℝ) (h₀ : 2 * x + 1 = 7) : x = 3 := by" in status["proved_file"]
            assert client.get("/openapi.json").status_code == 200
    finally:
        serve.shutdown()
