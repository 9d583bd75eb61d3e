"""Live events over SSE: ids are the store's sequence numbers, a client that drops and comes
back with ``Last-Event-ID`` gets every event it missed from the store — none lost, none
twice — heartbeats keep an idle stream open, and a token sees only its environments."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from slipway.clock import ManualClock
from slipway.server.feed import Feed, FeedEvent
from slipway.store import Event, Store
from tests.server.kit import Served, record_deployment, serve, write_spec


def sse(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The messages of an SSE stream: ``{"id", "event", "data"}`` or ``{"comment"}``."""
    message: dict[str, Any] = {}
    for line in response.iter_lines():
        if line == "":
            if message:
                yield message
            message = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            message[field] = value.removeprefix(" ")


def take(stream: Iterator[dict[str, Any]], count: int) -> list[int]:
    """The ids of the next ``count`` events (heartbeats skipped)."""
    ids: list[int] = []
    for message in stream:
        if "id" in message:
            ids.append(int(message["id"]))
            if len(ids) == count:
                break
    return ids


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve(write_spec(tmp_path), heartbeat_s=0.3) as s:
        yield s


def test_a_dropped_stream_resumes_from_the_store_with_nothing_lost_or_doubled(
    served: Served,
) -> None:
    dep = record_deployment(served.store, status="running")
    path = f"/api/v1/deployments/{dep}/events"
    first = served.store.events(dep)[0].id
    with served.client("viewer") as client:
        with client.stream("GET", path, headers={"Last-Event-ID": str(first - 1)}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            messages = sse(stream)
            assert take(messages, 1) == [first]  # from the store: it was written before
            for i in range(3):
                served.store.event(dep, f"live {i}")
            got = take(messages, 3)  # live, through the feed
        # the connection is dropped; the runner goes on writing
        for i in range(5):
            served.store.event(dep, f"while away {i}")
        with client.stream("GET", path, headers={"Last-Event-ID": str(got[-1])}) as stream:
            messages = sse(stream)
            served.store.event(dep, "after the return")
            again = take(messages, 6)
    everything = [e.id for e in served.store.events(dep)]
    assert [first, *got, *again] == everything  # in order, each once
    assert len(set(again) & set(got)) == 0


def test_an_idle_stream_gets_heartbeats(served: Served) -> None:
    with served.client("viewer") as client, client.stream("GET", "/api/v1/events") as stream:
        messages = sse(stream)
        comments = [next(messages) for _ in range(2)]
    assert {"comment": "heartbeat"} in comments


def test_the_global_stream_shows_only_the_tokens_environments(served: Served) -> None:
    prod = record_deployment(served.store, status="running")
    staged = record_deployment(served.store, environment="staging", status="running")
    start = served.store.last_event_id()
    with served.client("viewer@production") as client:
        headers = {"Last-Event-ID": str(start)}
        with client.stream("GET", "/api/v1/events", headers=headers) as stream:
            messages = sse(stream)
            served.store.event(staged, "staging only")
            served.store.event(prod, "production")
            seen = next(m for m in messages if "id" in m)
    assert '"production"' in seen["data"] and "staging only" not in seen["data"]
    with served.client("viewer@production") as client:
        refused = client.get(f"/api/v1/deployments/{staged}/events")
        assert refused.status_code == 403
        bad = client.get("/api/v1/events", headers={"Last-Event-ID": "x"})
        assert bad.status_code == 400


def test_a_revoked_tokens_stream_ends_at_its_next_heartbeat(served: Served) -> None:
    with served.client("viewer") as client, client.stream("GET", "/api/v1/events") as stream:
        messages = sse(stream)
        assert next(messages) == {"retry": "1000"}
        served.store.revoke_token("viewer", by="test")
        after = [m for _, m in zip(range(100), messages, strict=False)]  # bounded
    assert len(after) < 100  # the stream ended: it did not go on beating
    assert all("id" not in m for m in after)


def _row(event_id: int) -> FeedEvent:
    return FeedEvent(Event(event_id, "d", "t", "info", "m", {}), "shop", "production")


def test_the_feed_waits_for_a_gap_before_stepping_over_it(tmp_path: Path) -> None:
    """PostgreSQL may show id 4 before id 3 commits: the feed holds back until 3 appears or
    ``gap_wait_s`` shows it was rolled back."""
    clock = ManualClock()
    store = Store.for_state_dir(tmp_path, clock=clock)
    try:
        feed = Feed(store, gap_wait_s=1.0, clock=clock)

        async def scenario() -> list[int]:
            seen: list[int] = []
            stream = feed.stream(lambda _row: True, last_id=0)
            assert await anext(stream) == "retry: 1000\n\n"
            feed._publish([_row(1), _row(2), _row(4)])
            seen += [int((await anext(stream)).split()[1]) for _ in range(2)]
            assert feed.horizon == 2  # 4 is held back: 3 may still commit
            clock.sleep(0.5)
            feed._publish([_row(4)])
            assert feed.horizon == 2
            clock.sleep(0.6)
            feed._publish([_row(4), _row(5)])
            seen += [int((await anext(stream)).split()[1]) for _ in range(2)]
            await stream.aclose()
            return seen

        assert asyncio.run(scenario()) == [1, 2, 4, 5]
    finally:
        store.close()
