# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck layers unit bench setup system clean

demo: setup system
	$(BIN)/slipway demo

test: setup system lint typecheck layers unit

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The Debian packages the tests, the demo and the benchmarks start for real (scripts/system.sh):
# installed when missing and we are root, with their services kept from starting.
system:
	@scripts/system.sh

lint: setup
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: setup
	$(BIN)/mypy

layers: setup
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest -n 4

bench: setup system
	$(BIN)/python bench/rollout.py
	$(BIN)/python bench/detection.py --quick
	$(BIN)/python bench/switchback.py --quick

clean:
	rm -rf $(VENV) .slipway .mypy_cache .ruff_cache .pytest_cache
