"""A real Prometheus for tests and benchmarks: started on loopback, scraping what it is told.

Debian's ``prometheus`` package gives the binary; this writes a config whose
one job scrapes the given ``host:port`` targets every ``interval_s``, starts
the server with its storage in a temporary directory and its web API on
127.0.0.1 only, waits until it is ready, and stops it by its PID.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.sample import free_port_range

READY_TIMEOUT_S = 30.0


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


class PrometheusServer:
    def __init__(self, directory: Path, *, targets: Sequence[str], interval_s: float = 1.0) -> None:
        self.directory = directory
        self.targets = list(targets)
        self.interval_s = interval_s
        self.port = free_port_range(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrometheusServer:
        binary = prometheus_binary()
        if binary is None:
            raise RuntimeError("Prometheus is not installed: apt-get install prometheus")
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "prometheus.yml"
        interval = f"{int(self.interval_s * 1000)}ms"
        targets = ", ".join(f'"{t}"' for t in self.targets)
        config.write_text(
            "global:\n"
            f"  scrape_interval: {interval}\n"
            f"  evaluation_interval: {interval}\n"
            "scrape_configs:\n"
            "  - job_name: slipway-test\n"
            f"    static_configs: [{{targets: [{targets}]}}]\n"
        )
        log = (self.directory / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = (self.directory / "prometheus.log").read_text(errors="replace")[-800:]
                raise RuntimeError(f"Prometheus exited:\n{tail}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Prometheus was not ready within {READY_TIMEOUT_S:g}s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
