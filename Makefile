# Every target sets up .venv on a fresh machine first (idempotent: a stamp file records the install).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup prove test bench train clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch pinned to the CPU build that lies on disk here; everything else from pyproject
	$(PY) -m pip install --quiet 'torch==2.13.0'
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

prove: $(STAMP)
	@if [ -f prover/cli.py ]; then \
		mkdir -p build; \
		$(VENV)/bin/prover prove examples/demo.lean --out build/demo.proved.lean --report build/demo.report.json; \
		rc=$$?; [ $$rc -le 1 ] || exit $$rc; \
		echo "Proved file: build/demo.proved.lean   report: build/demo.report.json"; \
	else \
		echo "The prover CLI is not built yet (see the open issues); nothing to prove."; \
	fi

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) -m benchmarks.run

# The shipped policy checkpoint: seeded (same weights on the same machine and thread count),
# 20-40 min on 2 shared CPU cores. Extra data on the two families the hammer cannot prove:
# 520 steps from scratch, then 400 + 350 steps continued on mostly those families.
train: $(STAMP)
	$(VENV)/bin/prover train --out build/policy_stage1 --seed 0 --steps 520 --per-family 30 \
		--focus-families existential,quadratic_inequality --focus-per-family 300 --focus-repeat 2 --threads 2
	$(VENV)/bin/prover train --out build/policy_stage2 --init build/policy_stage1 --tokenizer build/policy_stage1 \
		--seed 1 --steps 400 --warmup-steps 10 --lr 1.5e-3 --per-family 10 \
		--focus-families existential,quadratic_inequality --focus-per-family 300 --focus-repeat 2 --threads 2
	$(VENV)/bin/prover train --out checkpoints/policy --init build/policy_stage2 --tokenizer build/policy_stage2 \
		--seed 2 --steps 350 --warmup-steps 10 --lr 1e-3 --per-family 10 \
		--focus-families existential,quadratic_inequality --focus-per-family 1500 --focus-repeat 1 \
		--threads 2 --plots docs

clean:
	rm -rf $(VENV) build .pytest_cache
