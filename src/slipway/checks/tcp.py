"""TCP check: something accepts connections on the port."""

from __future__ import annotations

import socket
import time

from slipway.checks.base import CheckResult


class TcpCheck:
    def __init__(self, host: str, port: int, *, timeout_s: float = 2.0) -> None:
        self.name = f"tcp {host}:{port}"
        self._address = (host, port)
        self._timeout = timeout_s

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            with socket.create_connection(self._address, timeout=self._timeout):
                pass
        except ConnectionRefusedError as exc:
            return CheckResult("inconclusive", f"refused: {exc}", time.monotonic() - started)
        except OSError as exc:
            return CheckResult("fail", f"cannot connect: {exc}", time.monotonic() - started)
        elapsed = time.monotonic() - started
        return CheckResult("pass", f"connected in {elapsed * 1000:.0f} ms", elapsed)
