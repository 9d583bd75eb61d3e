"""Runtime-API commands from many threads, sent to HAProxy together.

A fleet moves a hundred slots at once, each from its own step's thread, and
every ``set server`` is one connection to HAProxy's admin socket — over SSH on
the load balancer's host, one channel each. HAProxy takes several commands on
one line, separated by ``;``, runs them in order, and ends each one's answer
with an empty line (``set server`` answers nothing when it worked, one line
when not). So the threads that want to send while a batch is on its way queue
up, and the first of them to get the line sends them all: a hundred moves cost
a few connections, and each thread still gets its own command's answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from slipway.errors import BackendError

MAX_LINE_BYTES = 8000  # well under HAProxy's CLI buffer (tune.bufsize, 16 kB by default)


@dataclass
class _Pending:
    command: str
    answer: str | None = None
    error: BaseException | None = None
    done: bool = field(default=False)


class CommandBatcher:
    """Sends commands through ``send`` (one connection, one line), several at a time."""

    def __init__(self, send: Callable[[str], str]) -> None:
        self._send = send
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._line = threading.Lock()  # held by the thread sending a batch
        self.batches = 0  # connections made (what batching saves is visible)

    def run(self, command: str) -> str:
        """Send ``command``, with whatever other threads are sending now; its own answer.

        Commands must answer in one line at most (``set server`` does); a command with
        ``;`` or a line break in it is refused, as it would split the line.
        """
        if ";" in command or "\n" in command:
            raise BackendError(f"not one runtime-API command: {command!r}")
        mine = _Pending(command)
        with self._queue_lock:
            self._queue.append(mine)
        while not mine.done:
            with self._line:
                if mine.done:  # sent in the batch of the thread that had the line
                    break
                with self._queue_lock:
                    batch = _take(self._queue)
                self._flush(batch)
        if mine.error is not None:
            raise mine.error
        assert mine.answer is not None
        return mine.answer

    def _flush(self, batch: list[_Pending]) -> None:
        try:
            self.batches += 1
            answers = split_answers(self._send("; ".join(p.command for p in batch)), len(batch))
        except BaseException as exc:  # every waiting thread hears of it, then it goes up
            for pending in batch:
                pending.error, pending.done = exc, True
            return
        for pending, answer in zip(batch, answers, strict=True):
            pending.answer, pending.done = answer, True


def _take(queue: list[_Pending]) -> list[_Pending]:
    """The oldest commands that fit on one line (always at least one); the rest stay queued."""
    size, count = 0, 0
    for pending in queue:
        size += len(pending.command) + 2
        if count and size > MAX_LINE_BYTES:
            break
        count += 1
    batch = queue[:count]
    del queue[:count]
    return batch


def split_answers(text: str, count: int) -> list[str]:
    """Each command's answer from HAProxy's answer to ``count`` commands on one line."""
    answers: list[str] = []
    current: list[str] = []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # what follows the last line break is not a line
    for line in lines:
        if len(answers) == count:
            break
        if line:
            current.append(line)
            continue
        answers.append("\n".join(current))
        current = []
    if len(answers) < count:
        raise BackendError(
            f"HAProxy answered {len(answers)} of {count} commands sent together: {text[-400:]!r}"
        )
    return answers
