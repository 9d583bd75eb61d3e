"""TLS check: a certificate stays valid for at least N more days.

The certificate comes from a server (``host:port``, with SNI) or from a PEM
file. Its dates are read first, whatever the chain: an expiring certificate
must be reported even when it is also untrusted. With ``ca_file`` the chain
(and the host name) is then verified too, in a second handshake. Time is the
injected clock's, so a test can stand 29 days before expiry exactly.
"""

from __future__ import annotations

import socket
import ssl
import time
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from slipway.checks.base import CheckResult, Status
from slipway.clock import Clock

DAY_S = 86_400.0


class TlsCheck:
    """The certificate of ``host:port`` (or in ``file``) is valid for at least ``min_days``."""

    def __init__(
        self,
        *,
        min_days: float,
        clock: Clock,
        host: str | None = None,
        port: int = 443,
        file: Path | None = None,
        server_name: str | None = None,
        ca_file: Path | None = None,
        timeout_s: float = 5.0,
        name: str | None = None,
    ) -> None:
        if (host is None) == (file is None):
            raise ValueError("TlsCheck needs exactly one of host or file")
        self.host, self.port, self.file = host, port, file
        self.server_name = server_name or host
        self.ca_file = ca_file
        self.min_days = min_days
        self.clock = clock
        self.timeout_s = timeout_s
        self.name = name or f"tls {file or f'{host}:{port}'}"

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            cert = self._fetch()
        except (OSError, ValueError) as exc:
            evidence = f"cannot read the certificate of {self._where()}: {exc}"
            return CheckResult("inconclusive", evidence, time.monotonic() - started)
        status, evidence = self._judge(cert)
        if status == "pass" and self.ca_file is not None and self.host is not None:
            trusted = self._verify_chain()
            if trusted is not None:
                status, evidence = "fail", f"{evidence}; chain not trusted: {trusted}"
        return CheckResult(status, evidence, time.monotonic() - started)

    def _where(self) -> str:
        return str(self.file) if self.file else f"{self.host}:{self.port}"

    def _fetch(self) -> x509.Certificate:
        if self.file is not None:
            certs = x509.load_pem_x509_certificates(self.file.read_bytes())
            return certs[0]  # the leaf comes first in a chain file
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # dates first; trust is checked apart
        assert self.host is not None
        with (
            socket.create_connection((self.host, self.port), timeout=self.timeout_s) as sock,
            context.wrap_socket(sock, server_hostname=self.server_name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        if not der:
            raise ValueError("the server sent no certificate")
        return x509.load_der_x509_certificate(der)

    def _judge(self, cert: x509.Certificate) -> tuple[Status, str]:
        now = self.clock.now()
        not_after: datetime = cert.not_valid_after_utc
        not_before: datetime = cert.not_valid_before_utc
        days_left = (not_after - now).total_seconds() / DAY_S
        subject = _common_name(cert)
        head = f"{subject} expires {not_after:%Y-%m-%d %H:%M} UTC"
        if now < not_before:
            return "fail", f"{subject} is not valid before {not_before:%Y-%m-%d %H:%M} UTC"
        if days_left < 0:
            return "fail", f"{head}: expired {-days_left:.1f} days ago"
        verdict: Status = "pass" if days_left >= self.min_days else "fail"
        return verdict, f"{head}, in {days_left:.1f} days (need >= {self.min_days:g})"

    def _verify_chain(self) -> str | None:
        """None when the chain and the name verify against ``ca_file``; else why not."""
        assert self.host is not None and self.ca_file is not None
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with (
                socket.create_connection((self.host, self.port), timeout=self.timeout_s) as sock,
                context.wrap_socket(sock, server_hostname=self.server_name),
            ):
                return None
        except ssl.SSLCertVerificationError as exc:
            return exc.verify_message or str(exc)
        except (OSError, ssl.SSLError) as exc:
            return str(exc)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return f"CN={value!s}"
