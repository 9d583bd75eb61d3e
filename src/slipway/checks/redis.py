"""Redis check: the server at a URL answers ``PING`` with ``+PONG`` (after ``AUTH`` when the
URL has a password). Plain RESP over a socket: Slipway needs no Redis client for one word.
The evidence names the server as ``redis://host:port/db``, never the password."""

from __future__ import annotations

import socket
import time
from urllib.parse import unquote, urlsplit

from slipway.checks.base import CheckResult


def _command(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RedisCheck:
    def __init__(self, url: str, *, timeout_s: float, name: str = "Redis answers PING") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("a Redis URL starts with redis://")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.where = f"redis://{self.host}:{self.port}{parts.path or ''}"
        self.tls = parts.scheme == "rediss"
        self.timeout_s = timeout_s
        self.name = name

    def probe(self) -> CheckResult:
        started = time.monotonic()
        if self.tls:
            return CheckResult("inconclusive", f"{self.where}: rediss:// is not checked (yet)")
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as s:
                if self.password is not None:
                    words = [self.user, self.password] if self.user else [self.password]
                    s.sendall(_command("AUTH", *words))
                    if not s.recv(256).startswith(b"+OK"):
                        return CheckResult("fail", f"{self.where} refused the password")
                s.sendall(_command("PING"))
                answer = s.recv(256)
        except OSError as exc:
            return CheckResult("fail", f"{self.where}: {exc}", time.monotonic() - started)
        took = time.monotonic() - started
        if answer.startswith(b"+PONG"):
            return CheckResult("pass", f"{self.where}: PONG in {took * 1000:.0f} ms", took)
        first = answer.decode(errors="replace").strip()[:100]
        return CheckResult("fail", f"{self.where} answered {first!r}", took)
