# `make run` and `make test` set everything up on a fresh machine (venv, CPU torch, Kabar).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kabar-installed
# The app's own index for `make run`, so the bundled samples never mix into your default store.
export KABAR_STORE ?= $(CURDIR)/.kabar/store
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: setup run test lint format check-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch (plain `torch` pulls a multi-GB CUDA build).
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/kabar index index/data/samples --prune
	$(BIN)/python app.py --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy index assistant

test: lint
	$(BIN)/python -m pytest -q

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .kabar .pytest_cache .mypy_cache .ruff_cache
