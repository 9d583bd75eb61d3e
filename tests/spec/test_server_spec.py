"""``server:`` in slipway.yaml: loopback by default; beyond it only with TLS or a proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.spec import load_spec
from tests.support.sample import write_sample_spec


def test_the_server_listens_on_loopback_by_default(tmp_path: Path) -> None:
    spec = load_spec(write_sample_spec(tmp_path, count=1)).spec
    assert str(spec.server.listen) == "127.0.0.1:7400" and spec.server.tls is None


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("server: {listen: 0.0.0.0:7400}\n", "beyond loopback: tokens would travel in clear"),
        ("server: {listen: dashboard.example:7400}\n", "is not an IP address"),
        ("server: {listen: nonsense}\n", "listen must look like 127.0.0.1:8080"),
        ("server: {listen: 127.0.0.1:7400, session_ttl_s: 1}\n", "greater than or equal to 60"),
        ("server: {listne: 127.0.0.1:7400}\n", "listne"),
    ],
    ids=["exposed", "name", "shape", "ttl", "typo"],
)
def test_mistakes_point_at_the_line(tmp_path: Path, server: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write_sample_spec(tmp_path, count=1, extra=server))
    assert message in str(caught.value)
    assert "slipway.yaml:" in str(caught.value)


@pytest.mark.parametrize(
    "server",
    [
        "server: {listen: 0.0.0.0:7400, tls: {cert: c.pem, key: k.pem}}\n",
        "server: {listen: 0.0.0.0:7400, behind_proxy: true}\n",
    ],
)
def test_beyond_loopback_with_tls_or_a_proxy(tmp_path: Path, server: str) -> None:
    spec = load_spec(write_sample_spec(tmp_path, count=1, extra=server)).spec
    assert not spec.server.listen.loopback
