"""``slipway serve`` with ``server.tls``: HTTPS with the spec's certificate, and a session
cookie that a browser sends only over HTTPS (``Secure``)."""

from __future__ import annotations

import re
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.checks.test_tls import make_cert
from tests.server.kit import serve, write_spec


def test_https_with_the_specs_certificate_and_a_secure_cookie(tmp_path: Path) -> None:
    cert = make_cert(tmp_path / "tls", not_after=datetime.now(UTC) + timedelta(days=30))
    with serve(write_spec(tmp_path), tls=(str(cert.cert), str(cert.key))) as served:
        assert served.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(cert.cert))
        trust.check_hostname = False  # the certificate names localhost; no name is looked up
        with httpx.Client(base_url=served.url, verify=trust, timeout=30) as browser:
            assert browser.get("/healthz").json()["ok"] is True
            form = browser.get("/sign-in").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf is not None
            done = browser.post(
                "/sign-in", data={"csrf": csrf[1], "token": served.tokens["viewer"]}
            )
            cookie = done.headers["set-cookie"]
            assert "slipway_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
        plain = served.url.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
            httpx.get(f"{plain}/healthz", timeout=10)
