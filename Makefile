# Butler's two entry points: `make run` and `make test`. Each creates the virtual
# environment and installs what it needs first, so both work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: setup run test lint typecheck unit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Start Butler: embedded PostgreSQL, migrations, API on http://127.0.0.1:8000
run: setup
	$(BIN)/butler serve $(ARGS)

## Everything CI runs: lint, format check, type check, the whole test suite.
test: setup lint typecheck
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

## Fast feedback: unit tests only (no database, no servers).
unit: setup
	$(BIN)/pytest tests/unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
