"""Test-wide settings."""

import os

# Engines built with the default decode_mode (auto) run their decode steps eager in tests: a
# torch.compile warm-up per engine would cost tens of seconds of CPU. The compiled and
# CUDA-graph paths are tested explicitly (tests/serving/test_decode_graph.py).
os.environ.setdefault("PROVER_DECODE_MODE", "eager")
