"""Live events for ``slipway serve``: one reader of the store per server process, many
server-sent-event streams.

The runner and the server may be different processes on different machines: the store is
all they share. So the ``Feed`` polls the store for events past the last id it saw (one
indexed query every ``poll_s``, however many browsers watch) and hands each to the streams
whose filter takes it. An event's SSE id is its id in the store, a sequence number; a stream
that reconnects with ``Last-Event-ID: n`` is first given, *from the store*, every event after
``n`` up to where the feed stood when it subscribed, then the feed's own — so nothing is lost
and nothing comes twice, whether it was away one second or one day.

A gap in the ids (PostgreSQL hands out a sequence number when a row is inserted, and a
transaction that commits later shows its row after a higher one) is waited for up to
``gap_wait_s`` before it is taken as a rolled-back insert and stepped over: the feed never
moves past an id that may still appear. SQLite writes one at a time and has no gaps.

A stream that falls ``QUEUE_MAX`` events behind is closed rather than fed without bound; its
client reconnects with its last id and catches up from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import cached_property

from anyio import to_thread

from slipway.clock import Clock, SystemClock
from slipway.errors import StoreError
from slipway.store import Event, Store

QUEUE_MAX = 10_000
PAGE = 1000


@dataclass(frozen=True)
class FeedEvent:
    event: Event
    app: str
    environment: str

    @cached_property
    def sse(self) -> str:
        """The event as one SSE message, made once however many streams send it."""
        e = self.event
        data = {
            "id": e.id,
            "deployment": e.deployment_id,
            "environment": self.environment,
            "at": e.at,
            "level": e.level,
            "message": e.message,
            "data": e.data,
        }
        return f"id: {e.id}\nevent: event\ndata: {json.dumps(data, default=str)}\n\n"


Wanted = Callable[[FeedEvent], bool]


@dataclass(eq=False)
class Subscription:
    wanted: Wanted
    horizon: int  # what the feed had delivered when this subscribed
    queue: asyncio.Queue[FeedEvent] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))
    overflowed: bool = False


class Feed:
    """Follows the store's events; ``stream`` gives one client its SSE."""

    def __init__(
        self,
        store: Store,
        *,
        poll_s: float = 0.05,
        gap_wait_s: float = 1.0,
        heartbeat_s: float = 15.0,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._poll_s, self._gap_wait_s, self.heartbeat_s = poll_s, gap_wait_s, heartbeat_s
        self._clock = clock or SystemClock()
        self.horizon = 0
        self._gap_since: float | None = None
        self._subscribers: set[Subscription] = set()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Poll until ``stop``; a store that fails to answer is tried again next time."""
        self.horizon = await to_thread.run_sync(self._store.last_event_id)
        while not self._stopping.is_set():
            try:
                rows = await to_thread.run_sync(self._read)
            except StoreError:  # the store is away for a moment: the next poll tries again
                rows = []
            self._publish(rows)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_s)

    def stop(self) -> None:
        self._stopping.set()

    @property
    def streams(self) -> int:
        """How many clients follow the feed now."""
        return len(self._subscribers)

    def _read(self) -> list[FeedEvent]:
        return self._page(self.horizon)

    def _page(self, after: int) -> list[FeedEvent]:
        return [FeedEvent(*row) for row in self._store.events_after(after, limit=PAGE)]

    def _publish(self, rows: list[FeedEvent]) -> None:
        for row in rows:
            if row.event.id != self.horizon + 1 and not self._gap_is_old():
                return  # an id below it may still be committed: wait for it
            self._gap_since = None
            self.horizon = row.event.id
            for sub in list(self._subscribers):
                if sub.wanted(row):
                    self._offer(sub, row)

    def _gap_is_old(self) -> bool:
        now = self._clock.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since >= self._gap_wait_s

    @staticmethod
    def _offer(sub: Subscription, row: FeedEvent) -> None:
        try:
            sub.queue.put_nowait(row)
        except asyncio.QueueFull:
            sub.overflowed = True

    async def stream(
        self, wanted: Wanted, *, last_id: int | None, allowed: Callable[[], bool] | None = None
    ) -> AsyncIterator[str]:
        """One client's SSE: what it missed since ``last_id`` (from the store), then live
        events and heartbeats, until it goes away — or, asked at each heartbeat, until
        ``allowed()`` says its token or session no longer is (revoked, expired, ended)."""
        sub = Subscription(wanted, horizon=self.horizon)
        self._subscribers.add(sub)
        try:
            yield "retry: 1000\n\n"
            sent = self.horizon if last_id is None else last_id
            async for row in self._missed(sub, after=sent):
                sent = row.event.id
                yield row.sse
            while not self._stopping.is_set() and not sub.overflowed:
                try:
                    row = await asyncio.wait_for(sub.queue.get(), self.heartbeat_s)
                except TimeoutError:
                    if allowed is not None and not await to_thread.run_sync(allowed):
                        return
                    yield ": heartbeat\n\n"
                    continue
                if row.event.id > sent:
                    sent = row.event.id
                    yield row.sse
        finally:
            self._subscribers.discard(sub)

    async def _missed(self, sub: Subscription, *, after: int) -> AsyncIterator[FeedEvent]:
        """Events after ``after`` up to the feed's horizon when ``sub`` subscribed."""
        while after < sub.horizon:
            page = await to_thread.run_sync(self._page, after)
            if not page:
                return
            for row in page:
                if row.event.id > sub.horizon:
                    return
                after = row.event.id
                if sub.wanted(row):
                    yield row
