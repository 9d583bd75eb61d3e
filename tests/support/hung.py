"""A command that does not finish in time says where it is: run with faulthandler on, and on
timeout sent SIGABRT so that Python prints every thread's stack before it exits — a CI log
then shows the wait that hung instead of a truncated repr of the output."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence


def run_or_dump(
    argv: Sequence[str], *, env: Mapping[str, str], timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(capture_output=True, text=True)`, but a timeout fails the test with the
    whole output and the stacks of every thread of the command."""
    environ = {**env, "PYTHONFAULTHANDLER": "1"}
    with subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGABRT)
            try:
                out, err = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            raise AssertionError(
                f"{' '.join(argv)} did not finish in {timeout_s:.0f} s\n"
                f"--- stdout\n{out}\n--- stderr (stacks)\n{err}"
            ) from None
    return subprocess.CompletedProcess(list(argv), process.returncode, out, err)
