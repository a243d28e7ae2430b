# `make demo` and `make test` build .venv first when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench storm clean constraints

# Installs exactly the versions tested (constraints.txt), so a fresh machine gets what CI got.
$(BIN)/movebot: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

# Re-resolves every dependency (runtime and dev) in a throwaway venv, newest within
# pyproject.toml's bounds, and pins the result. Run after changing dependencies, then `make test`.
constraints: pyproject.toml
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp"; \
	"$$tmp/bin/pip" install --quiet --upgrade pip; \
	"$$tmp/bin/pip" install --quiet -e '.[dev]'; \
	{ echo "# Every runtime and dev dependency, pinned as resolved and tested ($$("$$tmp/bin/python" -V), Linux)."; \
	  echo "# Used by make's install step: pip install -c constraints.txt -e '.[dev]'."; \
	  echo "# Regenerate with \`make constraints\` (a fresh venv, pip freeze minus movebot)."; \
	  "$$tmp/bin/pip" freeze --exclude movebot; } > constraints.txt

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

# 1,000 randomized staff edits at random moments of a run (the tests play 15)
storm: $(BIN)/movebot
	$(BIN)/python benchmarks/edit_storm.py -n 1000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
