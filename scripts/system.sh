#!/usr/bin/env bash
# Installs the Debian packages (its arguments: the Makefile's SYSTEM_PACKAGES) that Slipway's
# tests, demo and benchmarks start for real.
# Root on Debian/Ubuntu: installs what is missing, with a policy-rc.d that keeps every
# package's service from starting (the tests start their own, on loopback). Otherwise: says
# which command to run, and fails.
set -euo pipefail

# the packages: the Makefile's SYSTEM_PACKAGES (`make system`), each said there with its use
PACKAGES=("$@")
if [ ${#PACKAGES[@]} -eq 0 ]; then
  echo "usage: scripts/system.sh PACKAGE... (make system passes the Makefile's list)" >&2
  exit 2
fi

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
