# The chatbot appliance. `make help` lists the targets.
# Fragments in mk/ add the UI, deployment and host targets; they share these variables.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv dev-venv migrate run serve-prod test test-app test-pg lint format lock bench clean

help: ## List the targets
	@grep -hE '^[a-z][a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime ## Create .venv with the pinned runtime dependencies

dev-venv: $(VENV)/.dev ## Create .venv with runtime + test/lint tools

migrate: venv ## Apply database migrations (DATABASE_URL or the SQLite file in ./data)
	$(PY) -m app.manage migrate

run: migrate ## Serve UI + API on http://127.0.0.1:8000 (development mode, SQLite)
	$(PY) -m uvicorn --factory app.main:create_app --host $(HOST) --port $(PORT) --reload \
	  --reload-dir app --reload-dir frontend

serve-prod: migrate ## Serve with gunicorn + uvicorn workers, as in production
	$(VENV)/bin/gunicorn -c app/gunicorn_conf.py 'app.main:create_app()' --bind $(HOST):$(PORT)

# The suites `make test` runs once the linters pass, TEST_JOBS at a time, longest first (the
# multi-host suite last, so that it never runs beside the deploy suite): by
# default the deploy suite (much of it waiting on its test host's apt, pip and SSH) beside the
# others one after another. Each suite's output is printed whole when it ends; every suite runs
# even if another fails. TEST_JOBS=1 runs them all in turn. See docs/decisions.md ("make test").
TEST_SUITES := test-deploy test-app test-pg test-e2e test-provision test-js test-multihost
TEST_JOBS ?= 2

# testhost-deps runs here, before the suites: in the parallel make (-o: taken as done) its quick
# recipe would take a job slot, and make hands freed slots to the later goals, not to the deploy
# suite waiting behind it.
test: lint ansible-lint testhost-deps ## Run every test suite: linters, then the suites, TEST_JOBS=2 at a time
	$(MAKE) --no-print-directory --keep-going --output-sync=target -o testhost-deps \
	  -j$(TEST_JOBS) $(TEST_SUITES)

test-app: dev-venv ## Service tests on SQLite
	$(PY) -m pytest -W default tests/app $(PYTEST_ARGS)

test-pg: dev-venv ## Service tests on a PostgreSQL server started for the run
	$(PY) -m tests.pg_server -- $(PY) -m pytest -W default tests/app $(PYTEST_ARGS)

lint: dev-venv lint-js ## ruff lint + format check, ESLint, mypy (strict) over app/ and scripts/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: dev-venv ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: dev-venv ## Re-pin requirements*.txt from requirements*.in
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-dev.txt requirements-dev.in

bench: dev-venv ## Run the benchmarks in bench/ and print their figures
	$(PY) -m bench.run_all

clean: ## Remove the venv, caches and local data
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache data test-artifacts

-include mk/*.mk
