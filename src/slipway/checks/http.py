"""HTTP check: one GET that must answer the expected status (and body) in time.

A refused connection is *inconclusive*, not a failure: the process may not have
opened its port yet, and ``wait_healthy`` decides what that means. Anything
that did answer, wrongly or too slowly, is a failure with the answer as
evidence. Each probe opens a fresh connection, so a probe sees what a new
client would, and no socket outlives it.
"""

from __future__ import annotations

import ssl
import threading
import time

import httpx

from slipway.checks.base import CheckResult

SNIPPET_CHARS = 200
_tls_lock = threading.Lock()
_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """One default TLS context for every probe: building one (loading the CA bundle) costs
    ~15 ms of CPU, which a fleet's hundreds of probes would otherwise pay each time."""
    global _tls
    with _tls_lock:
        if _tls is None:
            _tls = ssl.create_default_context()
        return _tls


class HttpCheck:
    """``GET url`` answers ``expect_status`` (and contains ``expect_body``) within ``timeout_s``."""

    def __init__(
        self,
        url: str,
        *,
        expect_status: int = 200,
        expect_body: str | None = None,
        timeout_s: float = 2.0,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.name = name or f"http {url}"
        self.expect_status = expect_status
        self.expect_body = expect_body
        self.timeout_s = timeout_s

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            # trust_env=False: a proxy from the environment must never stand in for the instance
            with httpx.Client(
                timeout=self.timeout_s, trust_env=False, verify=_tls_context()
            ) as client:
                response = client.get(self.url)
        except httpx.ConnectError as exc:
            return CheckResult("inconclusive", f"cannot connect: {exc}", _since(started))
        except httpx.HTTPError as exc:
            return CheckResult("fail", f"{type(exc).__name__}: {exc}", _since(started))
        elapsed = _since(started)
        release = response.headers.get("X-Release")
        answered = f"status {response.status_code}" + (f" from {release}" if release else "")
        if response.status_code != self.expect_status:
            snippet = response.text[:SNIPPET_CHARS].strip()
            evidence = f"{answered}, expected {self.expect_status}: {snippet!r}"
            return CheckResult("fail", evidence, elapsed)
        if self.expect_body is not None and self.expect_body not in response.text:
            snippet = response.text[:SNIPPET_CHARS].strip()
            evidence = f"{answered}, body does not contain {self.expect_body!r}: {snippet!r}"
            return CheckResult("fail", evidence, elapsed)
        return CheckResult("pass", f"{answered} in {elapsed * 1000:.0f} ms", elapsed)


def _since(started: float) -> float:
    return time.monotonic() - started
