"""HTTP check: one GET that must answer the expected status (and body) in time.

A refused connection, or one accepted that stays silent until the probe's timeout, is
*inconclusive*, not a failure: the process may not have opened its port yet, or (gunicorn,
uWSGI and every pre-forking server bind before their workers have loaded the app) the
kernel accepted for it while nobody reads; ``wait_healthy`` decides what that means. Anything
that did answer wrongly is a failure with the answer as evidence. Each probe opens a fresh
connection, so a probe sees what a new client would, and no socket outlives it. It is the
standard library's ``http.client``: a fleet's hundreds of instances are probed every tenth of
a second while they start, and an HTTP client object per probe cost more CPU and memory than
the probe itself. No proxy from the environment is used (a proxy must never stand in for the
instance) and redirects are not followed.
"""

from __future__ import annotations

import ssl
import threading
import time
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import urlsplit

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
            status, release, text = self._get()
        except _Unreachable as exc:
            return CheckResult("inconclusive", f"cannot connect: {exc}", _since(started))
        except TimeoutError as exc:
            name = "ReadTimeout" if exc.args[:1] != ("connect",) else "ConnectTimeout"
            return CheckResult(
                "inconclusive", f"{name}: no answer within {self.timeout_s:g}s", _since(started)
            )
        except (OSError, HTTPException) as exc:
            return CheckResult("fail", f"{type(exc).__name__}: {exc}", _since(started))
        elapsed = _since(started)
        answered = f"status {status}" + (f" from {release}" if release else "")
        if status != self.expect_status:
            snippet = text[:SNIPPET_CHARS].strip()
            evidence = f"{answered}, expected {self.expect_status}: {snippet!r}"
            return CheckResult("fail", evidence, elapsed)
        if self.expect_body is not None and self.expect_body not in text:
            snippet = text[:SNIPPET_CHARS].strip()
            evidence = f"{answered}, body does not contain {self.expect_body!r}: {snippet!r}"
            return CheckResult("fail", evidence, elapsed)
        return CheckResult("pass", f"{answered} in {elapsed * 1000:.0f} ms", elapsed)

    def _get(self) -> tuple[int, str | None, str]:
        """(status, the X-Release header, the body as text) of one GET on a new connection."""
        url = urlsplit(self.url)
        conn: HTTPConnection
        if url.scheme == "https":
            conn = HTTPSConnection(
                url.hostname or "", url.port, timeout=self.timeout_s, context=_tls_context()
            )
        else:
            conn = HTTPConnection(url.hostname or "", url.port, timeout=self.timeout_s)
        try:
            try:
                conn.connect()
            except TimeoutError:
                raise TimeoutError("connect") from None
            except OSError as exc:  # refused, unreachable, a TLS handshake that failed
                raise _Unreachable(exc.strerror or str(exc)) from None
            conn.request("GET", (url.path or "/") + (f"?{url.query}" if url.query else ""))
            response = conn.getresponse()
            body = response.read()
            charset = response.headers.get_content_charset() or "utf-8"
            try:
                text = body.decode(charset, errors="replace")
            except LookupError:  # a charset Python does not know
                text = body.decode("utf-8", errors="replace")
            return response.status, response.getheader("X-Release"), text
        finally:
            conn.close()


class _Unreachable(Exception):
    """Nothing answered the connection: the instance may not listen yet."""


def _since(started: float) -> float:
    return time.monotonic() - started
