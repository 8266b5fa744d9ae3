# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make run`/`make dev` install the runtime only (pipeline + sandbox, both editable); test, lint and
# bench add the pipeline's dev extra (pytest, playwright, ruff, ...). Either goes stale when a pyproject changes, or
# this Makefile (how packages are installed, e.g. --compile-bytecode, reaches existing venvs too).
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
INSTALL_INPUTS := pyproject.toml sandbox/pyproject.toml Makefile
# ruff: everything lints clean; benchmarks/ keeps its hand-laid tables out of the formatter.
RUFF_CHECK := bp_pipelines tests sandbox benchmarks
RUFF_FORMAT := bp_pipelines tests sandbox
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# `make sql Q="..."`: handed over through the environment so quotes inside the query survive the shell.
export BP_SQL_QUERY = $(Q)

.PHONY: install install-dev dagster-home run test dev sql check reset-warehouse bench lint browser-deps clean

# --compile-bytecode: the .pyc files are written once here. Without them every Python process compiles what it imports
# (dagster alone: ~1 s) whenever PYTHONDONTWRITEBYTECODE is set, and the tests start hundreds of processes.
define uv_install
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet --disable-pip-version-check uv
	@test -x $(BIN)/python || $(PY) -m uv venv --quiet --python $(PY) $(VENV)
	@$(PY) -m uv pip install --quiet --compile-bytecode --python $(BIN)/python $(1)
endef

$(STAMP_RUN): $(INSTALL_INPUTS)
	$(call uv_install,-e . -e ./sandbox)
	@touch $(STAMP_RUN)

# The dev install is a superset of the runtime one, so it refreshes the runtime stamp too.
$(STAMP_DEV): $(INSTALL_INPUTS)
	$(call uv_install,-e ".[dev]" -e ./sandbox)
	@touch $(STAMP_DEV) $(STAMP_RUN)

dagster-home:
	@mkdir -p $(DAGSTER_HOME) && cp -n dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true

install: $(STAMP_RUN) dagster-home

install-dev: $(STAMP_DEV) dagster-home

# Debian's chromium for the UI tests (playwright cannot download browsers here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# ARGS: e.g. `make run ARGS=--reconcile` (sweep every id of every stream now, not only when due).
run: install
	@$(BIN)/python -m bp_pipelines.cli run $(ARGS)

dev: install
	@$(BIN)/python -m bp_pipelines.cli dev

# Q: a query on the published snapshot, e.g. make sql Q="SELECT * FROM analytics.daily_sales LIMIT 5"
sql: install
	@$(BIN)/python -m bp_pipelines.cli sql "$$BP_SQL_QUERY"

# The checks `make run` makes before a run (credential groups, the warehouse's source, one cheap call), alone.
check: install
	@$(BIN)/python -m bp_pipelines.cli check

# Delete the warehouse (BP_WAREHOUSE_PATH) and the Dagster history of its assets; asks first (ARGS=--yes does not).
reset-warehouse: install
	@$(BIN)/python -m bp_pipelines.cli reset-warehouse $(ARGS)

# Test files (warehouses, DAGSTER_HOMEs) on tmpfs when the machine has one: DuckDB and Dagster's SQLite sync every
# commit to disk, which cost the CLI tests 40% of their wall time on a disk (116 s -> 70 s measured). One folder per
# checkout, so that two checkouts can test at once; removed when every test passed (they take RAM there). The browser
# test runs alone after the rest: the real UI in chromium is timing-sensitive under load.
TEST_TMP := $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm/bp_pipelines-tests-$$(echo "$(CURDIR)" | cksum | cut -d" " -f1))
test: install-dev browser-deps
	@$(BIN)/ruff check $(RUFF_CHECK)
	@# The .pyc of our own packages too (editable installs: uv compiles only site-packages); a stale .pyc is never used (Python checks the source mtime).
	@$(BIN)/python -m compileall -q bp_pipelines sandbox/bp_sandbox >/dev/null
	@$(BIN)/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder --ignore=tests/browser $(if $(TEST_TMP),--basetemp=$(TEST_TMP)-suite)
	@$(BIN)/python -m pytest -q tests/browser $(if $(TEST_TMP),--basetemp=$(TEST_TMP)-browser)
	@# Passed: give the memory back (a failed run stops above and keeps its files for a look).
	@$(if $(TEST_TMP),rm -rf $(TEST_TMP)-suite $(TEST_TMP)-browser)

# BENCH_PUSH=0 skips the storefront push benchmark (benchmarks/push.py: ~15 min at the real rate limit).
bench: install-dev
	@$(BIN)/python -m benchmarks
	@if [ "$${BENCH_PUSH:-1}" != "0" ]; then $(BIN)/python -m benchmarks.push; fi

lint: install-dev
	@$(BIN)/ruff check $(RUFF_CHECK) && $(BIN)/ruff format --check $(RUFF_FORMAT)

clean:
	rm -rf $(VENV) .dagster_home warehouse.duckdb warehouse.snapshot.duckdb warehouse.duckdb.sandbox
