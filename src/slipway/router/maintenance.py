"""The maintenance page, on HAProxy: one rule in the frontend, switched by the runtime API.

The frontend answers ``503`` with the page and ``Retry-After`` when the key ``on`` is in the
map ``maintenance.map`` — unless the request carries the bypass header with a token listed in
``bypass.map`` (testers check the new release through the real router meanwhile). Switching
is ``add map``/``del map`` on the admin socket: no reload, no connection dropped, effective
for the next request. The map file is rewritten too, so a reload (a deploy changing the
config) keeps the state. The token lives only in ``bypass.map`` (mode 0600), never in
haproxy.cfg, in argv or in a log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from slipway.errors import BackendError, PermanentError

PAGE = "maintenance.html"
MAP = "maintenance.map"
BYPASS = "bypass.map"
KEY = "on"
DEFAULT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Back soon</title></head>
<body><h1>We are updating the site</h1><p>Back in a few minutes.</p></body></html>
"""
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")


@dataclass(frozen=True)
class MaintenancePage:
    """What the frontend's rule needs: the files (under the run directory) and the header."""

    run_dir: Path
    retry_after_s: int
    bypass_header: str

    @property
    def page(self) -> Path:
        return self.run_dir / PAGE

    @property
    def map(self) -> Path:
        return self.run_dir / MAP

    @property
    def bypass(self) -> Path:
        return self.run_dir / BYPASS

    def rule(self, quote: Callable[[Path], str]) -> str:
        """The frontend line; ``quote`` writes a path as haproxy.cfg wants it."""
        on = f"{{ str({KEY}),map({quote(self.map)}) -m found }}"
        tester = f"{{ req.hdr({self.bypass_header}),map({quote(self.bypass)}) -m found }}"
        return (
            '    http-request return status 503 content-type "text/html; charset=utf-8" '
            f"file {quote(self.page)} hdr Retry-After {self.retry_after_s} if {on} !{tester}"
        )

    def write_files(self, *, html: str, token: str | None) -> None:
        """The page and the bypass token as they are now; the state map only if missing (it
        is the switch's state, kept across reloads)."""
        if token is not None and not _TOKEN.fullmatch(token):
            raise PermanentError(
                "the maintenance bypass token must be 16 to 256 letters, digits or ._~+/=-"
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _write(self.page, html, 0o644)
        _write(self.bypass, f"{token} 1\n" if token else "", 0o600)
        if not self.map.exists():
            _write(self.map, "", 0o600)


class Runtime(Protocol):
    def command(self, line: str) -> str: ...


def switch(runtime: Runtime, page: MaintenancePage, on: bool) -> None:
    """On or off, at once, for the next request; idempotent."""
    if on == is_on(runtime, page):
        return
    line = f"add map {page.map} {KEY} 1" if on else f"del map {page.map} {KEY}"
    answer = runtime.command(line).strip()
    if answer:
        raise BackendError(f"HAProxy refused `{line}`: {answer}")
    _write(page.map, f"{KEY} 1\n" if on else "", 0o600)  # what a reload reads


def is_on(runtime: Runtime, page: MaintenancePage) -> bool:
    answer = runtime.command(f"show map {page.map}")
    if "Unknown map" in answer or "Unknown" in answer.split("\n", 1)[0]:
        raise BackendError(f"HAProxy has no maintenance map: {answer.strip()[:200]}")
    return any(line.split()[1:2] == [KEY] for line in answer.splitlines() if line.strip())


def _write(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
