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

# HAProxy and PostgreSQL are Debian packages: installed here when missing and we are root.
system:
	@command -v haproxy >/dev/null 2>&1 || PATH="$$PATH:/usr/sbin" command -v haproxy >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; \
	  else \
	    echo "HAProxy (>= 2.6) is needed: install it with 'sudo apt-get install haproxy' (Debian/Ubuntu)"; exit 1; \
	  fi; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "PostgreSQL is needed (backups, rehearsals, their tests): 'sudo apt-get install postgresql'"; exit 1; \
	  fi; }

lint: setup
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: setup
	$(BIN)/mypy

layers: setup
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest

bench: setup system
	$(BIN)/python bench/rollout.py
	$(BIN)/python bench/detection.py --quick
	$(BIN)/python bench/switchback.py --quick

clean:
	rm -rf $(VENV) .slipway .mypy_cache .ruff_cache .pytest_cache
