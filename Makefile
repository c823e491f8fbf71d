PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000
# One OpenBLAS kernel family on every x86-64 machine with AVX2, so that float32 answers, and the
# README's and docs/api.md's examples, are the same bits wherever they are computed (machines
# with AVX-512 would otherwise take other kernels, which round differently). The image sets it too.
export OPENBLAS_CORETYPE ?= Haswell
# The lowest total line coverage `make test` accepts (measured: see docs/architecture.md).
COVERAGE_MIN := 95

.PHONY: serve test lint typecheck bench bench-container train evaluate docs-examples screenshots lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The service's dependencies only: what the container installs too.
$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV) $(RUNTIME)

serve: $(RUNTIME)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m service

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_MIN)

# After retraining the artifact or changing a setting: rewrite the curl outputs of README.md and
# docs/api.md, the README's models table and docs/api.md's settings table.
docs-examples: $(DEV)
	$(BIN)/python -m tests.utils.examples --write

# The demo page on the committed artifact, at desktop and phone width (needs chromium).
screenshots: $(DEV)
	$(BIN)/python -m tests.utils.screenshots

bench: $(DEV)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

# The image: build time, size, time to ready and to healthy, drain on docker stop (docs/deployment.md).
# Needs a Docker engine and the base image: `.ci/run make bench-container` sets both up.
bench-container: $(DEV)
	$(BIN)/python -m bench.container

# RECIPE names the settings (assignment or darwin-lstm); the artifact goes to a new directory
# under runs/ (git ignores it) unless OUT says otherwise, and an existing one is never replaced
# unless TRAIN_FLAGS=--force.
RECIPE ?= assignment
OUT ?= runs/$(RECIPE)-$(shell date +%Y%m%d-%H%M%S)
TRAIN_FLAGS ?=

train: $(DEV)
	$(BIN)/python -m pip install --quiet -e '.[dev,plot]'
	$(BIN)/python -m training --recipe $(RECIPE) --out $(OUT) $(TRAIN_FLAGS)

# Every shipped artifact's recorded figures (static and adaptive) recomputed from its weights,
# beside the n-grams', then the compressors' on the same text (each skipped without its package).
evaluate: $(DEV)
	$(BIN)/python -m training.evaluate
	$(BIN)/python -m bench.compressors

# The image's pinned runtime dependencies, resolved by uv from pyproject.toml (never edited by hand).
lock: $(DEV)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--custom-compile-command 'make lock' --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis .coverage .coverage.*
