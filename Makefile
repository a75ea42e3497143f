# Fenicia: `make run` starts the dashboard with the sandbox demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
STAMP := $(VENV)/.installed
# `make test` spreads the suite over TEST_WORKERS pytest-xdist processes (TEST_WORKERS=0: one process);
# the process-level tests (marked slow) stay in one worker, one at a time (see tests/conftest.py).
# PYTEST_ARGS adds pytest options or narrows the selection.
TEST_WORKERS ?= 3
# Tests start many Python processes (xdist workers, `fenicia` subprocesses): each one compiling src/ and
# tests/ again costs about a second, so `make test` keeps compiled files, out of the tree, in the venv,
# even where PYTHONDONTWRITEBYTECODE is set.
TEST_ENV := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache

.PHONY: run test bench lint install clean screenshots

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Fenicia needs Python 3.11 or newer"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/fenicia migrate
	$(BIN)/fenicia serve --demo --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

screenshots: $(STAMP)
	FENICIA_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) fenicia-data .pytest_cache .mypy_cache .ruff_cache
