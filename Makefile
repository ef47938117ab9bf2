# govern: two commands to start with (see README.md)
#   make serve   run the gateway on http://127.0.0.1:4000 (offline default: the sim provider)
#   make test    run the whole test suite (lint, types, tests)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: serve test lint typecheck pytest services sim replay clean

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

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
