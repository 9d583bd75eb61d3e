"""Backup check: the last backup recorded for the environment is recent, verified and intact.

"Recent" is measured with the injected clock against the backup's recorded
time. "Verified" means ``pg_restore --list`` read the whole archive when it
was made. "Intact" means the file is still where the record says, with the
recorded size: a backup deleted by a cleanup job is no backup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from slipway.checks.base import CheckResult
from slipway.clock import Clock
from slipway.store.records import Backup


class BackupCheck:
    """``last()`` returns a backup younger than ``max_age_s`` (and verified, if required)."""

    def __init__(
        self,
        last: Callable[[], Backup | None],
        *,
        max_age_s: float,
        clock: Clock,
        require_verified: bool = True,
        name: str | None = None,
    ) -> None:
        self.last = last
        self.max_age_s = max_age_s
        self.clock = clock
        self.require_verified = require_verified
        self.name = name or "last backup"

    def probe(self) -> CheckResult:
        started = time.monotonic()
        backup = self.last()
        if backup is None:
            return CheckResult("fail", "no backup recorded for this environment", _since(started))
        age_s = (self.clock.now() - datetime.fromisoformat(backup.created_at)).total_seconds()
        head = f"{backup.id} of {backup.database}, {_age(age_s)} old"
        problems = []
        if age_s > self.max_age_s:
            problems.append(f"older than {_age(self.max_age_s)}")
        if self.require_verified and not backup.verified:
            problems.append("not verified")
        path = Path(backup.location)
        if not path.is_file():
            problems.append(f"file {path} is gone")
        elif path.stat().st_size != backup.size_bytes:
            problems.append(f"file {path} changed size since it was made")
        if problems:
            return CheckResult("fail", f"{head}: {'; '.join(problems)}", _since(started))
        verified = ", verified" if backup.verified else ""
        evidence = f"{head}{verified}, {backup.size_bytes} bytes, sha256 {backup.sha256[:12]}…"
        return CheckResult("pass", evidence, _since(started))


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def _since(started: float) -> float:
    return time.monotonic() - started
