"""TCP check: something accepts connections on the port.

Refused is *inconclusive* (nothing listens yet, or any more: ``wait_healthy``
decides which); a timeout or an unreachable host is a failure.
"""

from __future__ import annotations

import socket
import time

from slipway.checks.base import CheckResult


class TcpCheck:
    """``host:port`` accepts a connection within ``timeout_s``."""

    def __init__(
        self, host: str, port: int, *, timeout_s: float = 2.0, name: str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.name = name or f"tcp {host}:{port}"

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout_s):
                pass
        except ConnectionRefusedError as exc:
            return CheckResult("inconclusive", f"refused: {exc}", time.monotonic() - started)
        except OSError as exc:  # timeouts, unreachable hosts, unknown names
            evidence = f"cannot connect: {type(exc).__name__}: {exc}"
            return CheckResult("fail", evidence, time.monotonic() - started)
        elapsed = time.monotonic() - started
        return CheckResult("pass", f"connected in {elapsed * 1000:.0f} ms", elapsed)
