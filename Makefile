# govern: two commands to start with (see README.md)
#   make serve   run the gateway on http://127.0.0.1:4000 (offline default: the sim provider)
#   make test    run the whole test suite (lint, types, tests)
#   make bench   benchmark against the floor and LiteLLM -> docs/benchmarks.md (~12 min)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: serve test docs docs-serve lint typecheck pytest services sim replay clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

serve: $(VENV)/.installed
	$(BIN)/python -m govern.serve $(ARGS)

sim: $(VENV)/.installed
	$(BIN)/python -m govern.sim $(ARGS)

replay: $(VENV)/.installed
	$(BIN)/python -m govern.replay $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check govern tests
	$(BIN)/ruff format --check govern tests

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

services:
	bash scripts/ensure-services.sh

pytest: $(VENV)/.installed-dev services
	$(BIN)/pytest -q $(ARGS)

test: lint typecheck docs pytest

# The documentation site (mkdocs.yml): strict, so broken links and API references fail.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs-serve: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve $(ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
