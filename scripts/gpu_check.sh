#!/usr/bin/env bash
# One prepared GPU check for the kernels (run on a lent CUDA machine, e.g. through the
# device tool): compiled-kernel correctness tests, then the benchmark table.
# Everything it produces goes under $OUT (default: build/gpu_check).
set -uo pipefail
OUT="${OUT:-build/gpu_check}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

{
  echo "== $(date -u +%FT%TZ) host $(hostname)"
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>&1 || true
  "$PY" -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__, 'gpu', torch.cuda.is_available())"
} 2>&1 | tee "$OUT/env.txt"

# Correctness: the same tests as on CPU, but compiled on CUDA (no interpreter).
KERNELS_TEST_DEVICE=cuda "$PY" -m pytest -q -p no:cacheprovider tests/kernels \
  --deselect tests/kernels/test_import_order.py 2>&1 | tee "$OUT/tests.txt"
tests_rc=${PIPESTATUS[0]}

"$PY" -m kernels.bench --out "$OUT/BENCHMARKS.md" 2>&1 | tee "$OUT/bench.txt"
bench_rc=${PIPESTATUS[0]}

echo "tests exit $tests_rc, bench exit $bench_rc" | tee "$OUT/summary.txt"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
