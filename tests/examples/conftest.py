"""Running the real sample app in tests: built, started on a free loopback port, always killed.

``start_sample_app`` is also imported by ``tests/checks`` and ``tests/test_traffic.py``,
which need a real server to aim at.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).resolve().parents[2] / "examples" / "app"
BUILD = APP / "build.py"


@dataclass
class SampleApp:
    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return (self.directory / "stdout.log").read_text()

    def kill(self) -> None:
        """SIGKILL by PID and reap; harmless when it already exited."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def build(version: str, directory: Path, **overrides: Any) -> Path:
    """Build ``version`` into ``directory``; ``overrides`` rewrite fields of its release.json."""
    subprocess.run([sys.executable, str(BUILD), version, str(directory)], check=True)
    if overrides:
        release_file = directory / "release.json"
        release = json.loads(release_file.read_text())
        release_file.write_text(json.dumps({**release, **overrides}))
    return directory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sample_app(
    directory: Path, *, port: int | None = None, slot: str = "", tries: int = 3
) -> SampleApp:
    """Run the release built in ``directory``; return once it listens.

    "Listens" is read from its own log line, not from a connect that could reach
    another process. A free port can be taken before the app binds it: then
    another port is tried (unless ``port`` was given).
    """
    for _ in range(tries):
        chosen = port or free_port()
        with (
            (directory / "stdout.log").open("wb") as out,
            (directory / "stderr.log").open("wb") as err,
        ):
            process = subprocess.Popen(
                [sys.executable, "server.py"],
                cwd=directory,
                env={**os.environ, "PORT": str(chosen), "SLIPWAY_SLOT": slot},
                stdout=out,
                stderr=err,
            )
        app = SampleApp(process, chosen, directory)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            if "listening on" in app.log:
                return app
            time.sleep(0.02)
        app.kill()
        stderr = (directory / "stderr.log").read_text()
        if port is not None or "Address already in use" not in stderr:
            raise RuntimeError(f"the sample app did not start:\n{stderr}")
    raise RuntimeError("the sample app found no free port")


StartApp = Callable[..., SampleApp]


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[StartApp]:
    """``start_app(version, **release_overrides)``: a running sample app, killed at teardown."""
    started: list[SampleApp] = []

    def start(
        version: str, *, port: int | None = None, slot: str = "", **overrides: Any
    ) -> SampleApp:
        directory = build(version, tmp_path / f"{version}-{len(started)}", **overrides)
        app = start_sample_app(directory, port=port, slot=slot)
        started.append(app)
        return app

    yield start
    for app in started:
        app.kill()
