"""Shared fixtures: a sample-app environment on free loopback ports, torn down even on failure."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.spec import load_spec
from slipway.spec.environment import Environment
from tests.support.hosts import Mode, TestFleet, test_hosts
from tests.support.postgres import database_url, postgres, store_url  # real PostgreSQL
from tests.support.sample import SAMPLE_BUILD, free_port_range, write_sample_spec

BUILD = SAMPLE_BUILD
__all__ = ["database_url", "postgres", "store_url"]


def write_spec(directory: Path, *, count: int = 3, on_interrupt: str = "resume") -> Path:
    return write_sample_spec(directory, count=count, on_interrupt=on_interrupt)


def stop_environment(env: Environment) -> None:
    """Stop supervisord (and with it HAProxy and the instances) by the PID it wrote."""
    run_dir = env.state_dir / "run"
    with contextlib.suppress(Exception):  # teardown must go on to the PID below
        Backends.for_environment(env, clock=SystemClock()).target.down()
    pidfile = run_dir / "supervisord.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text().strip() or 0)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)


@pytest.fixture
def spec_file(tmp_path: Path) -> Iterator[Path]:
    """A spec of the sample app with 3 instances, its state under tmp_path; stopped afterwards."""
    path = write_spec(tmp_path)
    yield path
    stop_environment(load_spec(path).environment("test"))


def start_sample_app(release_dir: Path, version: str, port: int) -> subprocess.Popen[bytes]:
    """Build ``version`` of the sample app into ``release_dir`` and run it on ``port``."""
    subprocess.run([sys.executable, str(BUILD), version, str(release_dir)], check=True)
    process = subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=release_dir,
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError("the sample app did not start")


@pytest.fixture
def sample_app(tmp_path: Path) -> Iterator[int]:
    """The sample app's v1 on a free loopback port; killed by its PID afterwards."""
    port = free_port_range(1)
    process = start_sample_app(tmp_path / "v1", "v1", port)
    yield port
    process.kill()
    process.wait()


@pytest.fixture
def make_hosts(tmp_path: Path) -> Iterator[Callable[..., TestFleet]]:
    """``make_hosts(n)``: n running SSH test hosts (network namespaces), torn down afterwards."""
    with contextlib.ExitStack() as stack:
        made = itertools.count(1)

        def make(count: int, *, mode: Mode = "auto") -> TestFleet:
            directory = tmp_path / f"fleet{next(made)}"
            return stack.enter_context(test_hosts(count, directory, mode=mode))

        yield make
