"""Environment check: the variables and secret files a release needs are there.

Evidence names what is set, missing or empty — never a value, not even its
length, so the Go/No-Go table, the store and a CI log can be shown to anyone.
A secret file must exist, be non-empty and not be readable by every user.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from slipway.checks.base import CheckResult, Status


class EnvCheck:
    """Each of ``variables`` is set and non-empty; each secret file is present and private."""

    def __init__(
        self,
        *,
        variables: Sequence[str] = (),
        secret_files: Sequence[Path] = (),
        environ: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.variables = list(variables)
        self.secret_files = list(secret_files)
        self.environ = environ if environ is not None else os.environ
        self.name = name or "environment and secrets"

    def probe(self) -> CheckResult:
        started = time.monotonic()
        problems: list[str] = []
        missing = [v for v in self.variables if v not in self.environ]
        empty = [v for v in self.variables if v in self.environ and not self.environ[v].strip()]
        if missing:
            problems.append(f"not set: {', '.join(missing)}")
        if empty:
            problems.append(f"empty: {', '.join(empty)}")
        for path in self.secret_files:
            problem = _secret_file_problem(path)
            if problem:
                problems.append(problem)
        good = len(self.variables) - len(missing) - len(empty)
        summary = f"{good}/{len(self.variables)} variables set"
        if self.secret_files:
            bad_files = sum(1 for p in self.secret_files if _secret_file_problem(p))
            summary += (
                f", {len(self.secret_files) - bad_files}/{len(self.secret_files)} secret files"
            )
        evidence = summary + (f"; {'; '.join(problems)}" if problems else "")
        status: Status = "fail" if problems else "pass"
        return CheckResult(status, evidence, time.monotonic() - started)


def _secret_file_problem(path: Path) -> str | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"missing secret file {path}"
    except OSError as exc:
        return f"cannot read secret file {path}: {exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return f"secret {path} is not a regular file"
    if info.st_size == 0:
        return f"secret file {path} is empty"
    if info.st_mode & stat.S_IROTH:
        return f"secret file {path} is readable by every user (mode {stat.S_IMODE(info.st_mode):o})"
    return None
