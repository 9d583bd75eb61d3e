# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# sshd, haproxy, nginx, pgbouncer, dockerd live in /usr/sbin, which a user's PATH may lack:
# `make test` finds them as .ci/run does
export PATH := $(PATH):/usr/sbin:/sbin

.PHONY: demo demo-django test lint typecheck layers unit bench setup system peers clean

demo: setup system
	$(BIN)/slipway demo

# The Django shop's story (examples/django/demo.py): PostgreSQL, Redis, gunicorn, Celery.
demo-django: setup system
	$(BIN)/python examples/django/demo.py

test: setup system peers lint typecheck layers unit

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The peers' virtualenv (ansible-core, pyinfra, fabric: never project dependencies), from
# pyenv's Python 3.13 when there is one (ansible-core needs >= 3.12). The inventory tests run
# ansible-inventory from it as their oracle; bench/fanout.py runs the peers from it.
PEERS        := bench/.venv-peers
PEERS_PYTHON ?= $(firstword $(wildcard /root/.pyenv/versions/3.13*/bin/python) \
                  $(shell command -v python3.13 python3.12 2>/dev/null))

peers: $(PEERS)/.installed

$(PEERS)/.installed: bench/peers-requirements.txt
	@test -n "$(PEERS_PYTHON)" || { echo "no Python >= 3.12 for $(PEERS): install python3.13 or set PEERS_PYTHON"; exit 1; }
	$(PEERS_PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet -r bench/peers-requirements.txt
	touch $@

# The Debian packages the tests, the demo and the benchmarks start for real, installed by
# scripts/system.sh when missing and we are root, with their services kept from starting:
# haproxy (the router), openssh-server (one sshd per fleet test host), iproute2 and util-linux
# (network and mount namespaces of the test hosts), postgresql and pgbouncer (backups, the
# team store), prometheus (the analysis provider), docker.io, busybox-static, debootstrap,
# docker-registry, apache2-utils (htpasswd) and docker-compose (containers, their base images,
# a registry with basic auth, the seeds' way in bench/containers.py), nginx (the second
# router), redis-server (the Django stack's broker), chromium and chromium-driver (the
# dashboard in a real browser), wrk and hyperfine (benchmarks).
SYSTEM_PACKAGES := haproxy openssh-server iproute2 util-linux postgresql pgbouncer prometheus \
  docker.io busybox-static debootstrap docker-registry apache2-utils docker-compose nginx \
  redis-server chromium chromium-driver wrk hyperfine

system:
	@scripts/system.sh $(SYSTEM_PACKAGES)

lint: setup
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: setup
	$(BIN)/mypy

layers: setup
	$(BIN)/lint-imports

unit: setup system peers
	$(BIN)/pytest -n 4

bench: setup system
	$(BIN)/python bench/rollout.py
	$(BIN)/python bench/detection.py --quick
	$(BIN)/python bench/switchback.py --quick
	$(BIN)/python bench/store.py --quick
	$(BIN)/python bench/containers.py --quick
	$(BIN)/python bench/serve.py --quick

clean:
	rm -rf $(VENV) .slipway .mypy_cache .ruff_cache .pytest_cache
