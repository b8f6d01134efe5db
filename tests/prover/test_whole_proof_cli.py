"""End to end: `prover serve-model` on Ray Serve answers a stock `openai` client, and
`prover prove FILE --search whole-proof --policy-url …` proves with it exactly what `--model DIR`
proves in-process with the same seed."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO / "checkpoints" / "policy"
DEMO = REPO / "examples" / "demo.lean"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def _prove(path: Path, out: Path, *extra: str) -> dict:
    report = out.with_suffix(".json")
    run = subprocess.run(
        [sys.executable, "-m", "prover.cli", "prove", str(path), "--out", str(out), "--report", str(report),
         "--search", "whole-proof", "--policy", "model", "--seed", "5", "--model-samples", "4",
         "--repair-rounds", "1", "--time-limit", "60", *extra],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    return json.loads(report.read_text())


@pytest.fixture(scope="module")
def model_server():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "prover.cli", "serve-model", "--model", str(CHECKPOINT),
                               "--port", str(port)], cwd=REPO, env=_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 240
    try:
        while True:
            assert server.poll() is None, f"serve-model exited: {server.stdout.read()}"
            assert time.monotonic() < deadline, "serve-model did not answer within 240 s"
            try:
                if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # stops Serve and Ray cleanly
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


@pytest.mark.slow
def test_policy_url_proves_what_the_in_process_model_proves(model_server, tmp_path):
    client = openai.OpenAI(base_url=model_server, api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["policy"]
    answer = client.completions.create(model="policy", prompt="theorem", max_tokens=4, seed=1, n=2)
    assert len(answer.choices) == 2

    lean = tmp_path / "few.lean"
    text = DEMO.read_text()
    lean.write_text(text[: text.index("/-- Two times a product")])  # linear, numerals, remainders, conjunction
    remote = _prove(lean, tmp_path / "remote.lean", "--policy-url", model_server)
    local = _prove(lean, tmp_path / "local.lean", "--model", str(CHECKPOINT))

    def outcome(report):
        return [(r["name"], r["status"], r["proof"], r["tokens"], r["expansions"]) for r in report["results"]]

    assert outcome(remote) == outcome(local)  # same seed: the same samples, the same proofs
    assert (tmp_path / "remote.lean").read_text() == (tmp_path / "local.lean").read_text()
    proved = [r for r in remote["results"] if r["status"] == "proved"]
    assert len(proved) >= 3 and all(r["backend"] == "embedded kernel" for r in proved)
    assert remote["settings"]["policy"]["url"] == model_server
