"""HTTP check: a GET that must answer the expected status (and body) in time."""

from __future__ import annotations

import time

import httpx

from slipway.checks.base import CheckResult


class HttpCheck:
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
        self._status = expect_status
        self._body = expect_body
        self._timeout = timeout_s

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            with httpx.Client(timeout=self._timeout, trust_env=False) as client:
                response = client.get(self.url)
        except httpx.ConnectError as exc:
            return CheckResult("inconclusive", f"cannot connect: {exc}", time.monotonic() - started)
        except httpx.HTTPError as exc:
            return CheckResult("fail", f"{type(exc).__name__}: {exc}", time.monotonic() - started)
        elapsed = time.monotonic() - started
        if response.status_code != self._status:
            snippet = response.text[:200].strip()
            return CheckResult(
                "fail",
                f"status {response.status_code}, expected {self._status}: {snippet}",
                elapsed,
            )
        if self._body is not None and self._body not in response.text:
            return CheckResult("fail", f"body does not contain {self._body!r}", elapsed)
        return CheckResult(
            "pass", f"status {response.status_code} in {elapsed * 1000:.0f} ms", elapsed
        )
