"""Command check: a program, run without a shell, that must exit 0 in time.

The argv goes straight to ``exec``: no shell ever parses it, so a value put in
it (a port, a path, a version) cannot become a second command. The evidence is
the exit status and the tail of what the program printed (stdout and stderr
interleaved, as a person would have seen them).

The program runs in a session of its own, so that on timeout the whole group
is killed: a check must not leave behind a ``sleep`` started by a script.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from slipway.checks.base import CheckResult, Status
from slipway.errors import UsageError

TAIL_CHARS = 500
TAIL_LINES = 10


class CommandCheck:
    """``argv`` exits 0 within ``timeout_s``.

    ``env`` is *added* to Slipway's own environment (a check wants ``PATH`` and
    ``HOME`` like any program); ``cwd`` defaults to the current directory.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout_s: float = 10.0,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(argv, str) or not argv:
            raise UsageError(
                "a command check needs a non-empty argv list",
                hint='write the command as a list, e.g. ["pg_isready", "-h", "127.0.0.1"]',
            )
        self.argv = list(argv)
        self.timeout_s = timeout_s
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.name = name or f"command {self.argv[0]}"

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env} if self.env is not None else None,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            evidence = f"cannot run {self.argv[0]!r}: {exc}"
            return CheckResult("fail", evidence, time.monotonic() - started)
        with process:
            try:
                output, _ = process.communicate(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                output = _kill_group(process)
                evidence = _with_tail(f"timed out after {self.timeout_s:g}s", output)
                return CheckResult("fail", evidence, time.monotonic() - started)
        elapsed = time.monotonic() - started
        code = process.returncode
        status: Status = "pass" if code == 0 else "fail"
        how = f"exit {code}" if code >= 0 else f"killed by signal {-code}"
        return CheckResult(status, _with_tail(how, output), elapsed)


def _kill_group(process: subprocess.Popen[bytes]) -> bytes:
    """Kill the program and everything it started; what it printed until then."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        # bounded: a grandchild that left the group could hold the pipe open forever
        output, _ = process.communicate(timeout=1.0)
    except subprocess.TimeoutExpired:
        return b""
    return output


def _with_tail(head: str, output: bytes) -> str:
    text = output.decode(errors="replace").strip()
    if not text:
        return head
    tail = "\n".join(text.splitlines()[-TAIL_LINES:])[-TAIL_CHARS:]
    return f"{head}: {tail}"
