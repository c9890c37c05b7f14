# wardgate developer entry points. `make check` is the whole suite CI runs.
# The distribution's python3 when it is 3.11+ (an optimised build), else python3: see
# scripts/pick-python. `make install PYTHON=/path/to/python3.x` picks another.
PYTHON ?= $(shell scripts/pick-python)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install quickstart check test quick lint typecheck format clean

$(STAMP): pyproject.toml scripts/install-system-deps
	./scripts/install-system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Install and run the gateway with examples/quickstart in front of local PostgreSQL.
quickstart: $(STAMP)
	$(BIN)/wardgate serve -c examples/quickstart/wardgate.yaml

## The whole suite: formatting, lint, strict typing, every test.
check: $(STAMP)
	$(BIN)/ruff format --check src protocols tests benchmarks
	$(BIN)/ruff check src protocols tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

## Fast subset while working: no servers, no external clients.
quick: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff format --check src protocols tests benchmarks
	$(BIN)/ruff check src protocols tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src protocols tests benchmarks
	$(BIN)/ruff check --fix src protocols tests benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
