"""The sample app's processes without traffic: a worker (``worker.py NAME``), a scheduler
(``worker.py NAME --beat``), and their check (``worker.py NAME --check``).

Standard library only, like ``server.py``; it reads the same ``release.json``. Each process
writes one line per event to the file named by ``ROLE_LOG`` (when set), so that a test can
replay who ran when: ``<monotonic_ns> <start|task|done|stop> <name> <version> <pid>``
(``CLOCK_MONOTONIC`` is one clock for every process of the machine).

- A worker takes a "task" every ``TASK_S`` seconds; each task lasts ``task_s`` (from
  ``release.json``, 0.5 s by default). SIGTERM is a *warm shutdown*, as Celery's: the task
  running finishes, then the process exits 0.
- With ``--beat`` it only "schedules": one ``task`` line every 0.2 s.
- ``--check`` exits 0 when the process ``NAME`` of this release has written its heartbeat
  file (``.<NAME>.alive`` in the working directory) in the last 5 s — and 1 when the
  release's ``worker_fails`` is true: a release whose workers are broken although its web
  instances are healthy.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

RELEASE = json.loads((Path(__file__).parent / "release.json").read_text())
VERSION = str(RELEASE.get("version", "unknown"))
TASK_S = 0.2
ALIVE_S = 5.0


def log(event: str, name: str) -> None:
    path = os.environ.get("ROLE_LOG")
    if path:
        with open(path, "a") as fh:  # one short write per line: appends do not interleave
            fh.write(f"{time.monotonic_ns()} {event} {name} {VERSION} {os.getpid()}\n")


def alive_file(name: str) -> Path:
    return Path.cwd() / f".{name}.alive"


def run(name: str, *, beat: bool) -> int:
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("start", name)
    task_s = float(RELEASE.get("task_s", 0.5))
    while not stopping:
        alive_file(name).write_text(str(os.getpid()))
        log("task", name)
        if not beat:
            deadline = time.monotonic() + task_s
            while time.monotonic() < deadline:  # a task is not interrupted by SIGTERM
                time.sleep(0.02)
            log("done", name)
        time.sleep(TASK_S)
    alive_file(name).unlink(missing_ok=True)
    log("stop", name)
    return 0


def check(name: str) -> int:
    if RELEASE.get("worker_fails"):
        print(f"{name}: this release's tasks fail", file=sys.stderr)
        return 1
    try:
        age = time.time() - alive_file(name).stat().st_mtime
    except OSError:
        print(f"{name}: no heartbeat yet", file=sys.stderr)
        return 1
    if age > ALIVE_S:
        print(f"{name}: last heartbeat {age:.1f}s ago", file=sys.stderr)
        return 1
    print(f"{name}: alive ({age:.1f}s)")
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: worker.py NAME [--beat | --check]", file=sys.stderr)
        return 2
    name, flags = argv[0], set(argv[1:])
    if "--check" in flags:
        return check(name)
    return run(name, beat="--beat" in flags)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
