# Butler's two entry points: `make run` and `make test`. Each creates the virtual
# environment and installs what it needs first, so both work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test lint typecheck unit clean system-deps web web-test livekit livekit-if-go

# The official LiveKit server (open source, Go), built once from its pinned release into
# .tools/; `butler serve` runs it when no LiveKit URL is configured. The version is also
# in src/butler/stack/livekit_server.py.
LIVEKIT_VERSION := v1.13.5
LIVEKIT_BIN     := .tools/livekit-server-$(LIVEKIT_VERSION)

# The web app (web/): its npm packages, its API types (generated from the OpenAPI
# document) and its build, each redone only when what it is made from changed.
WEB_DEPS    := web/node_modules/.installed
WEB_SOURCES := $(shell find web/src web/public -type f ! -name schema.d.ts 2>/dev/null) \
               web/index.html web/vite.config.ts web/tsconfig.json
API_SOURCES := $(shell find src/butler -name '*.py' 2>/dev/null)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The Smart Turn end-of-turn model (8.7 MB), copied out of the pipecat-ai wheel once.
SMART_TURN := $(VENV)/share/butler/smart-turn-v3.2-cpu.onnx
$(SMART_TURN): $(STAMP)
	$(BIN)/python -m butler.voice.turn_model_install --to $@
	touch $@

setup: $(STAMP) $(SMART_TURN)

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/openapi.json: $(STAMP) $(API_SOURCES)
	$(BIN)/butler openapi --out $@

web/dist/index.html: $(WEB_DEPS) web/openapi.json $(WEB_SOURCES)
	cd web && npm run build

## Build the web app into web/dist (butler serve serves it at /).
web: web/dist/index.html

## Start Butler: embedded PostgreSQL, migrations, the API and the web app on http://127.0.0.1:8000,
## and for voice a LiveKit server and the voice worker (when Go can build the server).
run: setup web livekit-if-go
	$(BIN)/butler serve $(ARGS)

## Build the LiveKit server into .tools/ (needs Go 1.23+ and the Go module proxy; ~5 min once).
livekit: $(LIVEKIT_BIN)

$(LIVEKIT_BIN):
	@command -v go >/dev/null || { echo "Go is needed to build the LiveKit server: install Go 1.23+ (https://go.dev/doc/install), or see the README for other ways to get livekit-server."; exit 1; }
	@echo "building the LiveKit server $(LIVEKIT_VERSION) into .tools/ (once; a few minutes)"
	mkdir -p .tools/go-bin
	GOBIN=$(CURDIR)/.tools/go-bin go install github.com/livekit/livekit-server/cmd/server@$(LIVEKIT_VERSION)
	mv .tools/go-bin/server $@

# For `make run`: voice when Go is there, chat alone (with a message) when it is not.
livekit-if-go:
	@if [ -x $(LIVEKIT_BIN) ] || command -v livekit-server >/dev/null; then :; \
	elif command -v go >/dev/null; then $(MAKE) --no-print-directory livekit; \
	else echo "Go is not installed, so Butler starts without voice. See 'Voice' in the README to add it."; fi

## Everything CI runs: lint, format check, type checks, the web app's unit tests, and the
## whole Python suite (which includes the web app end to end in Chromium).
test: setup system-deps livekit web lint typecheck web-test
	tests/isolated_network.sh $(BIN)/pytest

## The web app's unit tests (Vitest).
web-test: $(WEB_DEPS)
	cd web && npm test

## Debian packages the tests need: espeak-ng generates the speech the voice tests hear;
## chromium runs the web app's end-to-end tests; iproute2 sets up the tests' own network
## namespace (tests/isolated_network.sh).
system-deps:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for the tests:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

## Fast feedback: unit tests only (no database, no servers).
unit: setup
	$(BIN)/pytest tests/unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist web/openapi.json .tools
