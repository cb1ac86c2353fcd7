# Bullpen — `make run` starts everything; `make test` is the tier to run after every change;
# `make check` is everything CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests with these markers need a browser, docker-compose, a stack or a replay of their own, or
# inject faults: `make check` runs them, `make test` does not (pyproject.toml declares them).
CHECK_MARKERS := browser or chaos or fuzz or replay or e2e or compose
# A test process per core (`-n auto`); a file's tests, or those sharing a replay or a chaos
# stack, in one process (`--dist loadgroup`, tests/conftest.py).
PYTEST := $(BIN)/pytest --durations=25 -n auto --dist loadgroup

.PHONY: run test check check-tools test-check test-services test-unit test-integration chaos \
	fuzz lint format bench soak migration clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bullpen up

# Unit tests and integration tests against embedded PostgreSQL and Redis and a real Celery
# worker: nothing to install but Python and a C compiler.
test: $(STAMP)
	$(PYTEST) -m "not ($(CHECK_MARKERS))"

# Everything: `make test`, the tests of the markers above (chaos with 3 trials), the
# integration tests again against this machine's own PostgreSQL and Redis when it runs them,
# then lint. What CI runs.
check: test check-tools test-check test-services lint

check-tools:
	@$(BIN)/python -m tests.tools

test-check: $(STAMP)
	$(PYTEST) -m "$(CHECK_MARKERS)"

# The integration tests that use PostgreSQL and Redis (not those that start stacks of their
# own), against this machine's servers on their standard ports; skipped when they are not up.
test-services: $(STAMP)
	@if $(BIN)/python -m tests.tools --services; then \
	  BULLPEN_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
	  BULLPEN_BROKER_URL=redis://127.0.0.1:6379/14 \
	  BULLPEN_FEATURE_STORE_URL=redis://127.0.0.1:6379/15 \
	  $(PYTEST) -p no:xdist -m "integration and not ($(CHECK_MARKERS))"; \
	fi

test-unit: $(STAMP)
	$(PYTEST) tests/unit -m "not ($(CHECK_MARKERS))"

test-integration: $(STAMP)
	$(PYTEST) tests/integration -m "not ($(CHECK_MARKERS))"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every fault of tests/chaos, each kill repeated 20 times (3 in `make check`).
chaos: $(STAMP)
	CHAOS_TRIALS=20 $(BIN)/pytest -s tests/chaos

fuzz: $(STAMP)
	$(BIN)/pytest -s tests/integration/api/test_schemathesis.py

bench: $(STAMP)
	@for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

# The stack as `make run` starts it, under load and a fault every 10 minutes, for MINUTES
# (60 by default); memory, latency and outcomes over time to var/bench/soak.{json,png,svg}.
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes $(or $(MINUTES),60)

# Regenerate the initial migration from the models (before the first release only).
migration: $(STAMP)
	$(BIN)/python -m app.db.autogenerate "$(or $(MESSAGE),schema change)"

clean:
	rm -rf $(VENV) var .pytest_cache
