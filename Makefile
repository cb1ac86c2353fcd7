# Bullpen — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-integration chaos fuzz lint format bench migration clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bullpen up

test: $(STAMP)
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP)
	$(BIN)/pytest tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every fault of tests/chaos, each kill repeated 20 times (3 in `make test`).
chaos: $(STAMP)
	CHAOS_TRIALS=20 $(BIN)/pytest -s tests/chaos

fuzz: $(STAMP)
	$(BIN)/pytest -s tests/integration/api/test_schemathesis.py

bench: $(STAMP)
	@for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

# Regenerate the initial migration from the models (before the first release only).
migration: $(STAMP)
	$(BIN)/python -m app.db.autogenerate "$(or $(MESSAGE),schema change)"

clean:
	rm -rf $(VENV) var .pytest_cache
