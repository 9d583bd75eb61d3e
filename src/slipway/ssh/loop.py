"""One asyncio event loop in one background thread, for callers that are threads.

The engine runs steps in threads; asyncssh is asynchronous. A pool of connections owns one
``LoopThread``: every call from a step thread is handed to the loop
(``run_coroutine_threadsafe``) and waited for, so hundreds of hosts cost one thread, not one
each. The loop starts on first use, so a pool that is never asked anything starts nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")
STOP_TIMEOUT_S = 15.0  # for the last coroutine and the thread's end, at ``stop``


class LoopThread:
    """The loop and its thread, started by the first ``call`` and ended by ``stop``.

    ``on_start`` runs each time a loop starts (again after a ``stop``): what is bound to a
    loop once used, such as an ``asyncio.Semaphore``, is made fresh there."""

    def __init__(self, name: str, on_start: Callable[[], None] | None = None) -> None:
        self.name = name
        self._on_start = on_start
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> asyncio.AbstractEventLoop:
        """The running loop, started here if it was not (safe from any thread)."""
        with self._start_lock:
            if self._loop is None:
                if self._on_start is not None:
                    self._on_start()
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def call(self, coro: Awaitable[T], *, timeout_s: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (from any thread but the loop's)."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(_as_coro(coro), self.start())
        return future.result(timeout=timeout_s)

    def soon(self, callback: Callable[[], object]) -> None:
        """Schedule a plain callable on the loop, if it runs (from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(callback)

    def stop(self, last: Awaitable[None]) -> None:
        """Run ``last`` (closing what lives on the loop), then end the loop and its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            if inspect.iscoroutine(last):
                last.close()  # never to run: not left to warn that it was never awaited
            return
        asyncio.run_coroutine_threadsafe(_as_coro(last), loop).result(timeout=STOP_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=STOP_TIMEOUT_S)
        loop.close()
        self._loop = self._thread = None


async def _as_coro(awaitable: Awaitable[T]) -> T:
    return await awaitable
