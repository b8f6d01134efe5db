"""Shared fixtures for the prover tests: one small local Ray for the whole session (it costs ~5 s to start)."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lean_env.datasets import minif2f_dir

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = minif2f_dir()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray with 2 CPUs, no dashboard, metrics exported on a known port (reported every second)."""
    import ray

    port = free_port()
    ray.init(
        address="local",  # a private instance, even if a `ray start` cluster runs on this machine
        num_cpus=2,
        include_dashboard=False,
        namespace="prover-tests",
        _metrics_export_port=port,
        _system_config={"metrics_report_interval_ms": 1000},
        log_to_driver=False,
    )
    try:
        yield {"metrics_port": port}
    finally:
        ray.shutdown()
