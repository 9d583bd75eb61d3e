"""Command check: a program (never a shell) that must exit 0 in time."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from slipway.checks.base import CheckResult, Status


class CommandCheck:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout_s: float = 10.0,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = f"command {argv[0]}"
        self._argv = list(argv)
        self._timeout = timeout_s
        self._env = dict(env) if env is not None else None
        self._cwd = cwd

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            result = subprocess.run(
                self._argv,
                capture_output=True,
                text=True,
                timeout=self._timeout,
                env=self._env,
                cwd=self._cwd,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return CheckResult("fail", f"timed out after {self._timeout:g}s", self._timeout)
        except OSError as exc:
            return CheckResult("fail", f"cannot run {self._argv[0]}: {exc}", 0.0)
        elapsed = time.monotonic() - started
        tail = (result.stdout + result.stderr).strip()[-300:]
        status: Status = "pass" if result.returncode == 0 else "fail"
        return CheckResult(status, f"exit {result.returncode}: {tail}".rstrip(": "), elapsed)
