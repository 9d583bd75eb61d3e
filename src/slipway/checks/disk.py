"""Disk check: free space on a path, as a percentage, on every target.

A check does not know how to reach a target: it asks a ``DiskReader``. The
local machine reads ``statvfs``; a remote target (SSH) runs ``df -P -k PATH``
and hands its output to ``parse_df``, so both give the same ``DiskUsage``.
"Free" is what an unprivileged process may still write (``f_bavail``, df's
"Available"), not the blocks reserved for root: an app that fills the disk
hits that limit first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from slipway.checks.base import CheckResult, Status
from slipway.errors import BackendError


@dataclass(frozen=True)
class DiskUsage:
    total_bytes: int
    free_bytes: int

    @property
    def free_percent(self) -> float:
        return 100.0 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0


@runtime_checkable
class DiskReader(Protocol):
    def disk_usage(self, path: str) -> DiskUsage:
        """Size and free space of the file system holding ``path``; ``BackendError`` if unknown."""


class LocalDisk:
    """This machine's file systems."""

    def disk_usage(self, path: str) -> DiskUsage:
        try:
            st = os.statvfs(path)
        except OSError as exc:
            raise BackendError(f"cannot read disk usage of {path}: {exc}") from exc
        # Like df: "Size" counts the blocks an unprivileged user could have (used + available).
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        free = st.f_bavail * st.f_frsize
        return DiskUsage(total_bytes=used + free, free_bytes=free)


class CommandDisk:
    """A machine reached by running commands (an SSH host): ``run`` takes an argv and returns
    what it printed, raising ``BackendError`` when it cannot run it."""

    def __init__(self, run: Callable[[Sequence[str]], str]) -> None:
        self._run = run

    def disk_usage(self, path: str) -> DiskUsage:
        return parse_df(self._run(df_command(path)))


def df_command(path: str) -> list[str]:
    """The argv a remote target runs; its output goes to ``parse_df``."""
    return ["df", "-P", "-k", "--", path]


def parse_df(output: str) -> DiskUsage:
    """Read POSIX ``df -P -k`` output (one file system: header, then one line)."""
    lines = [line for line in output.splitlines() if line.strip()]
    if len(lines) < 2:
        raise BackendError(f"unexpected df output: {output.strip()[:200]!r}")
    fields = lines[-1].split()
    try:
        used_kb, free_kb = int(fields[-4]), int(fields[-3])
    except (IndexError, ValueError) as exc:
        raise BackendError(f"unexpected df output: {lines[-1][:200]!r}") from exc
    return DiskUsage(total_bytes=(used_kb + free_kb) * 1024, free_bytes=free_kb * 1024)


class DiskCheck:
    """At least ``min_free_percent`` of the file system holding ``path`` is free on ``where``."""

    def __init__(
        self,
        path: str,
        *,
        min_free_percent: float,
        reader: DiskReader,
        where: str = "local",
        name: str | None = None,
    ) -> None:
        self.path = path
        self.min_free_percent = min_free_percent
        self.reader = reader
        self.where = where
        self.name = name or f"disk {where}:{path}"

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            usage = self.reader.disk_usage(self.path)
        except BackendError as exc:
            return CheckResult("inconclusive", str(exc), time.monotonic() - started)
        free = usage.free_percent
        status: Status = "pass" if free >= self.min_free_percent else "fail"
        evidence = (
            f"{self.where}:{self.path} {free:.1f}% free ({_size(usage.free_bytes)} of "
            f"{_size(usage.total_bytes)}), need >= {self.min_free_percent:g}%"
        )
        return CheckResult(status, evidence, time.monotonic() - started)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{n} B"
