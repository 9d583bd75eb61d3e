#!/usr/bin/env bash
# Installs the Debian packages that Slipway's tests, demo and benchmarks start for real.
# Root on Debian/Ubuntu: installs what is missing, with a policy-rc.d that keeps every
# package's service from starting (the tests start their own, on loopback). Otherwise: says
# which command to run, and fails.
set -euo pipefail

PACKAGES=(
  haproxy          # the router
  openssh-server   # one sshd per fleet test host
  iproute2         # network namespaces of the test hosts
  util-linux       # unshare: a private mount namespace per test host
  postgresql       # backups, rehearsals, the team store
  pgbouncer        # the team store behind a pooler
  prometheus       # the analysis provider
  docker.io        # the container target: tests start their own dockerd
  busybox-static   # base images for tests, made with `docker import`
  debootstrap      # the python base image of container tests (a Debian minbase rootfs)
  docker-registry  # a real registry on loopback: images pushed and pulled by digest
  apache2-utils    # htpasswd: the test registry's basic auth
  docker-compose   # 1.29: the seeds' way, side by side with Slipway in bench/containers.py
  nginx            # the second router
  redis-server     # the Django stack's broker
  chromium         # the dashboard, tested in a real browser
  chromium-driver
  wrk              # load in benchmarks
  hyperfine        # CLI start-up benchmark
)

# the programs the tests and the demo start, each from the package above that brings it
PROGRAMS=(haproxy sshd ip unshare postgres pgbouncer prometheus dockerd docker busybox
  debootstrap docker-registry htpasswd docker-compose nginx redis-server chromium chromedriver
  wrk hyperfine)
export PATH="$PATH:/usr/sbin:/sbin:$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)"

not_installed() {
  missing=()
  for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
  done
}

programs_found() {
  local absent=()
  for program in "${PROGRAMS[@]}"; do
    command -v "$program" >/dev/null || absent+=("$program")
  done
  if [ ${#absent[@]} -gt 0 ]; then
    echo "installed, yet not found on PATH ($PATH): ${absent[*]}" >&2
    return 1
  fi
}

not_installed
if [ ${#missing[@]} -eq 0 ]; then
  programs_found
  exit
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Slipway's tests need these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "installing ${missing[*]}" >&2
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  own_policy=1
fi
cleanup() { [ "$own_policy" = 1 ] && rm -f "$policy"; return 0; }
trap cleanup EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
not_installed
if [ ${#missing[@]} -gt 0 ]; then
  echo "apt-get did not install: ${missing[*]}" >&2
  exit 1
fi
programs_found
