# `make demo` and `make test` build .venv first when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/movebot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

demo: $(BIN)/movebot
	$(BIN)/movebot demo

lint: $(BIN)/movebot
	$(BIN)/ruff check bot rules tests benchmarks
	$(BIN)/ruff format --check bot rules tests benchmarks
	$(BIN)/mypy  # bot, rules, benchmarks, tests: `files` in pyproject.toml

test: lint
	$(BIN)/pytest

bench: $(BIN)/movebot
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
