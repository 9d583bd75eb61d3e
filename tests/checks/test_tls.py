"""TLS check against certificates made here, from a file and served by a real TLS server on
loopback; the clock stands at exact distances from expiry."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from slipway.checks.tls import TlsCheck
from slipway.clock import ManualClock

EXPIRY = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Cert:
    cert: Path
    key: Path


def make_cert(directory: Path, *, not_after: datetime, cn: str = "localhost") -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=365))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Cert(cert_path, key_path)


@contextlib.contextmanager
def tls_server(cert: Cert) -> Iterator[int]:
    """A TLS server on a loopback port that completes handshakes until closed."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2)
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        done.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture
def cert(tmp_path: Path) -> Cert:
    return make_cert(tmp_path / "good", not_after=EXPIRY)


@pytest.mark.parametrize(
    ("days_before_expiry", "status"),
    [(31, "pass"), (30, "pass"), (29.9, "fail"), (1, "fail"), (-2, "fail")],
)
def test_served_certificate_days_left(cert: Cert, days_before_expiry: float, status: str) -> None:
    clock = ManualClock(start=EXPIRY - timedelta(days=days_before_expiry))
    with tls_server(cert) as port:
        result = TlsCheck(
            host="127.0.0.1", port=port, server_name="localhost", min_days=30, clock=clock
        ).probe()
    assert result.status == status, result.evidence
    assert "CN=localhost expires 2027-03-01 12:00 UTC" in result.evidence
    if days_before_expiry < 0:
        assert "expired 2.0 days ago" in result.evidence


def test_certificate_from_a_file(cert: Cert) -> None:
    clock = ManualClock(start=EXPIRY - timedelta(days=45))
    result = TlsCheck(file=cert.cert, min_days=30, clock=clock).probe()
    assert result.status == "pass"
    assert "in 45.0 days" in result.evidence
    assert TlsCheck(file=cert.cert, min_days=60, clock=clock).probe().status == "fail"


def test_not_yet_valid_certificate_fails(cert: Cert) -> None:
    clock = ManualClock(start=EXPIRY - timedelta(days=400))
    result = TlsCheck(file=cert.cert, min_days=30, clock=clock).probe()
    assert result.status == "fail"
    assert "not valid before" in result.evidence


def test_chain_is_verified_when_a_ca_file_is_given(cert: Cert, tmp_path: Path) -> None:
    clock = ManualClock(start=EXPIRY - timedelta(days=60))
    other = make_cert(tmp_path / "other", not_after=EXPIRY)
    with tls_server(cert) as port:
        trusted = TlsCheck(
            host="127.0.0.1",
            port=port,
            server_name="localhost",
            ca_file=cert.cert,
            min_days=30,
            clock=clock,
        ).probe()
        untrusted = TlsCheck(
            host="127.0.0.1",
            port=port,
            server_name="localhost",
            ca_file=other.cert,
            min_days=30,
            clock=clock,
        ).probe()
        wrong_name = TlsCheck(
            host="127.0.0.1",
            port=port,
            server_name="shop.example",
            ca_file=cert.cert,
            min_days=30,
            clock=clock,
        ).probe()
    assert trusted.status == "pass", trusted.evidence
    assert untrusted.status == "fail"
    assert "chain not trusted" in untrusted.evidence
    assert wrong_name.status == "fail"
    assert "chain not trusted" in wrong_name.evidence


def test_nothing_listening_is_inconclusive(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = TlsCheck(
        host="127.0.0.1", port=port, min_days=30, clock=ManualClock(), timeout_s=1
    ).probe()
    assert result.status == "inconclusive"
    assert f"127.0.0.1:{port}" in result.evidence


def test_a_file_that_is_not_a_certificate_is_inconclusive(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    result = TlsCheck(file=bad, min_days=30, clock=ManualClock()).probe()
    assert result.status == "inconclusive"
