# Butler's two entry points: `make run` and `make test`. Each creates the virtual
# environment and installs what it needs first, so both work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test lint typecheck unit clean system-deps

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
test: setup system-deps lint typecheck
	$(BIN)/pytest

## Debian packages the tests need: espeak-ng generates the speech the voice tests hear.
system-deps:
	@command -v espeak-ng >/dev/null || { \
	  echo "installing espeak-ng (Debian package) for the voice tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng; }

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
