# Bullpen — `make run` starts everything; `make test` is the tier to run after every change;
# `make check` is everything CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests with these markers need a browser, docker-compose, a stack or a replay of their own, or
# inject faults: `make check` runs them, `make test` does not (pyproject.toml declares them).
CHECK_MARKERS := browser or chaos or fuzz or replay or e2e or compose
# A test process per core (`-n auto`, tests/conftest.py), a file's tests in one process (they
# share its module fixtures).
PYTEST := $(BIN)/pytest --durations=25 -n auto --dist loadfile

.PHONY: run test check check-tools test-check test-chaos test-stacks test-services test-unit \
	test-integration chaos fuzz lint format bench soak migration clean

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

# Everything, what CI runs: the tools it needs first (or one line saying what to install),
# `make test`, the tests of the markers above (chaos with 3 trials), the integration tests
# again against this machine's own PostgreSQL and Redis when it runs them, then lint.
check: check-tools test test-check test-services lint

check-tools: $(STAMP)
	@$(BIN)/python -m tests.tools

# Two processes side by side, each one pytest session: the chaos tests share one chaos stack;
# the replay, page, fuzz and end-to-end tests share one replayed week. Each prints when it ends.
test-check: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-chaos test-stacks

test-chaos: $(STAMP)
	$(BIN)/pytest --durations=25 -p no:xdist -m chaos

test-stacks: $(STAMP)
	$(BIN)/pytest --durations=25 -p no:xdist -m "($(CHECK_MARKERS)) and not chaos"

# The integration tests that use PostgreSQL and Redis (not those that start stacks of their
# own), against this machine's servers on their standard ports, in one process (tests/conftest.py:
# the processes would share its Redis databases); skipped when the servers are not up.
test-services: $(STAMP)
	@if $(BIN)/python -m tests.tools --services; then \
	  BULLPEN_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
	  BULLPEN_BROKER_URL=redis://127.0.0.1:6379/14 \
	  BULLPEN_FEATURE_STORE_URL=redis://127.0.0.1:6379/15 \
	  $(PYTEST) -m "integration and not ($(CHECK_MARKERS))"; \
	fi

test-unit: $(STAMP)
	$(PYTEST) tests/unit -m "not ($(CHECK_MARKERS))"

test-integration: $(STAMP)
	$(PYTEST) tests/integration -m "not ($(CHECK_MARKERS))"

# Style, then the layers and the no-cycles contracts of pyproject.toml ([tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

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
	$(BIN)/python -m app.stack.autogenerate "$(or $(MESSAGE),schema change)"

clean:
	rm -rf $(VENV) var .pytest_cache
