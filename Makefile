# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install run test dev bench lint browser-deps clean

$(STAMP): pyproject.toml
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet --disable-pip-version-check uv
	@test -x $(BIN)/python || $(PY) -m uv venv --quiet --python $(PY) $(VENV)
	@$(PY) -m uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)
	@mkdir -p $(DAGSTER_HOME) && cp -n dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true

# Debian's chromium for the UI tests (playwright cannot download browsers here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

run: install
	@$(BIN)/python -m bp_pipelines.cli run

dev: install
	@$(BIN)/python -m bp_pipelines.cli dev

test: install browser-deps
	@$(BIN)/ruff check bp_pipelines tests
	@$(BIN)/python -m pytest -q

bench: install
	@$(BIN)/python -m benchmarks

lint: install
	@$(BIN)/ruff check bp_pipelines tests && $(BIN)/ruff format --check bp_pipelines tests

clean:
	rm -rf $(VENV) .dagster_home warehouse.duckdb warehouse.snapshot.duckdb
