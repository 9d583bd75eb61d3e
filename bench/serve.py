"""``slipway serve`` under load: live-event latency, many SSE clients, big histories.

    .venv/bin/python bench/serve.py [--quick]

prints ``{"event_latency_ms": {"median", "p99"}, "sse_clients": N, "lost_events": N,
"doubled_events": N, "overview_ms": x, "history_ms": x, "deployments": N}``:

- ``event_latency_ms``: from a runner's write of an event to the store (a separate process,
  stamping the wall clock into the event) to an SSE client reading it from ``slipway serve``
  (another process, the real CLI): the store poll, the feed, uvicorn, the socket. The client
  is httpx's stream reader, not a browser's ``EventSource`` (the page's script only fetches on
  each event). Target: p99 < 250 ms;
- ``sse_clients`` streams opened at once on the one server process, every one following
  ``/api/v1/events`` while the runner writes; ``lost_events`` / ``doubled_events``: events
  some client missed / saw twice (target: 0);
- ``overview_ms`` / ``history_ms``: median time of ``GET /`` and ``GET /history`` (signed in,
  with the DORA figures) on a store holding ``deployments`` recorded deployments (10,000),
  measured at the client over loopback; ``history_first_ms``: the first ``/history``, whose
  DORA figures are computed over the whole window (later ones reuse them until the history
  changes: ``metrics.DoraCache``). Target: < 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the sample app's spec, free loopback ports

from tests.server.kit import low_port  # noqa: E402
from tests.support.sample import write_sample_spec  # noqa: E402

from slipway.spec import load_spec  # noqa: E402
from slipway.store import Store  # noqa: E402
from slipway.store.tables import deployments, events, steps  # noqa: E402

STATUSES = ["succeeded"] * 8 + ["rolled_back", "failed"]
IDLE_S = 20.0  # a stream that got nothing new for this long (heartbeats aside) has lost some
RUNNER = """
import sys, time
from pathlib import Path
from slipway.store import Store
store = Store.for_state_dir(Path(sys.argv[1]))
dep, count, pause = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
sys.stdin.readline()  # go
for i in range(count):
    store.event(dep, f"bench {i}", sent=time.time())
    time.sleep(pause)
store.close()
"""


def say(text: str) -> None:
    print(f"bench/serve.py: {text}", file=sys.stderr, flush=True)


def seed(store: Store, app: str, env: str, count: int) -> str:
    """``count`` finished deployments over the last 30 days (a step and an event each), and
    one running deployment for the runner to write to; its id."""
    now = datetime.now(UTC)
    rows, step_rows, event_rows = [], [], []
    for i in range(count):
        started = now - timedelta(seconds=30 * 86_400 * (count - i) / count)
        at = started.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        dep_id = f"{started:%Y%m%d-%H%M%S}-{i:06x}"
        rows.append({
            "id": dep_id, "app": app, "environment": env, "kind": "deploy",
            "version": f"v{i}", "previous_version": f"v{i - 1}" if i else None,
            "strategy": "rolling", "status": random.choice(STATUSES), "started_at": at,
            "ended_at": at, "rollback_s": 1.5,
        })  # fmt: skip
        step_rows.append({
            "deployment_id": dep_id, "seq": 1, "phase": "deploy", "group_no": 0,
            "kind": "enable_instance", "params": "{}", "description": "enable",
            "state": "succeeded", "attempts": 1,
        })  # fmt: skip
        event_rows.append({"deployment_id": dep_id, "at": at, "level": "info", "message": "done"})
    with store._write(fenced=False) as conn:  # a bench's bulk load, not the engine's path
        conn.execute(deployments.insert(), rows)
        conn.execute(steps.insert(), step_rows)
        conn.execute(events.insert(), event_rows)
    running = store.new_deployment_id()
    store.create_deployment(
        deployment_id=running, app=app, environment=env, kind="deploy", version="live",
        previous_version=None, strategy="rolling",
    )  # fmt: skip
    return running


def start_server(spec: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "slipway", "serve", "-f", str(spec), "--listen", f"127.0.0.1:{port}"]
    )
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("slipway serve did not start")


async def follow(url: str, token: str, count: int, latencies: list[float] | None) -> list[int]:
    """Follow the global stream until ``count`` events came (or none for ``IDLE_S``); their
    ids. With ``latencies``, each event's age when read is noted too."""
    ids: list[int] = []
    headers = {"Authorization": f"Bearer {token}"}
    last = time.monotonic()
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(120, connect=60)) as client,
        client.stream("GET", f"{url}/api/v1/events", headers=headers) as stream,
    ):
        async for line in stream.aiter_lines():
            if line.startswith("id: "):
                ids.append(int(line[4:]))
                last = time.monotonic()
            elif line.startswith("data: "):
                if latencies is not None:
                    sent = json.loads(line[6:])["data"]["sent"]
                    latencies.append((time.time() - sent) * 1000)
                if len(ids) >= count:
                    break
            elif time.monotonic() - last > IDLE_S:
                break
    return ids


async def crowd(url: str, token: str, clients: int, count: int) -> None:
    """``clients`` streams in this process (``--crowd``): "ready" once all are open, then
    the ids each saw, as JSON."""
    tasks = [asyncio.create_task(follow(url, token, count, None)) for _ in range(clients)]
    while not await _all_open(url, clients):
        failed = [t for t in tasks if t.done() and t.exception() is not None]
        if failed:
            say(f"{len(failed)} streams failed: {failed[0].exception()!r}")
            raise SystemExit(1)
        await asyncio.sleep(0.2)
    print("ready", flush=True)
    print(json.dumps(await asyncio.gather(*tasks)), flush=True)


async def _all_open(url: str, clients: int) -> bool:
    """Whether the server counts ``clients`` streams (its healthz says how many follow)."""
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(f"{url}/healthz")
    return int(answer.json().get("streams", 0)) >= clients


async def measured(url: str, token: str, count: int, go: subprocess.Popen[str]) -> list[float]:
    """One more stream, in this process, timing each event; the runner starts once it is open."""
    latencies: list[float] = []
    task = asyncio.create_task(follow(url, token, count, latencies))
    async with httpx.AsyncClient(timeout=30) as client:
        base = int((await client.get(f"{url}/healthz")).json()["streams"])
        while int((await client.get(f"{url}/healthz")).json()["streams"]) <= base:
            await asyncio.sleep(0.05)
    assert go.stdin is not None
    go.stdin.write("go\n")
    go.stdin.flush()
    await asyncio.wait_for(task, 600)
    return latencies


def page_ms(client: httpx.Client, path: str, rounds: int) -> tuple[float, float]:
    """The first request's time (nothing cached) and the median of the following ones."""
    times = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text[:300]
    return round(times[0], 1), round(statistics.median(times[1:]), 1)


def signed_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    client.post("/sign-in", data={"csrf": csrf[1], "token": token})
    return client


def streams(
    url: str, token: str, state: Path, running: str, *, clients: int, count: int
) -> tuple[list[float], list[list[int]], set[int]]:
    """The runner's events timed by one client while ``clients`` others follow: the
    latencies, the ids each of the others saw, and the ids the runner wrote."""
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(state), running, str(count), "0.02"],
        stdin=subprocess.PIPE, text=True,
    )  # fmt: skip
    followers = subprocess.Popen(
        [sys.executable, __file__, "--crowd", url, token, str(clients), str(count)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert followers.stdout is not None
        assert followers.stdout.readline().strip() == "ready"
        say(f"{clients} streams open; the runner writes {count} events")
        latencies = asyncio.run(measured(url, token, count, runner))
        seen: list[list[int]] = json.loads(followers.stdout.readline())
        say(f"timed {len(latencies)} events; the crowd is done")
        runner.wait(timeout=120)
    finally:
        runner.kill()
        followers.kill()
    reader = Store.for_state_dir(state)
    written = {e.id for e in reader.events(running) if e.message.startswith("bench ")}
    reader.close()
    return latencies, seen, written


def pages(url: str, token: str, rounds: int) -> tuple[float, float, float]:
    """Overview (median), history (median) and the first history, in ms."""
    browser = signed_in(url, token)
    try:
        (_, overview), (history_cold, history) = (
            page_ms(browser, "/", rounds),
            page_ms(browser, "/history", rounds),
        )
    finally:
        browser.close()
    return overview, history, history_cold


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--crowd", nargs=4, metavar=("URL", "TOKEN", "CLIENTS", "COUNT"))
    args = parser.parse_args()
    if args.crowd:
        url, token, clients, count = args.crowd
        asyncio.run(crowd(url, token, int(clients), int(count)))
        return
    history, clients, count = (10_000, 50, 100) if args.quick else (10_000, 200, 300)
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_sample_spec(Path(tmp), count=1, environment="production")
        env = load_spec(spec).environment("production")
        store = Store.for_state_dir(env.state_dir.parent)
        running = seed(store, env.app, env.name, history)
        _, token = store.create_token(
            "bench", role="viewer", environments=("*",), expires_at=None, created_by="bench"
        )
        store.close()
        port = low_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(spec, port)
        try:
            latencies, seen, written = streams(
                url, token, env.state_dir.parent, running, clients=clients, count=count
            )
            overview, history_page, history_cold = pages(url, token, 5 if args.quick else 20)
        finally:
            server.terminate()
            server.wait(timeout=30)
    result: dict[str, Any] = {
        "event_latency_ms": {
            "median": round(statistics.median(latencies), 1),
            "p99": round(statistics.quantiles(latencies, n=100)[98], 1),
        },
        "sse_clients": clients + 1,
        "events": count,
        "lost_events": sum(len(written - set(ids)) for ids in seen),
        "doubled_events": sum(len(ids) - len(set(ids)) for ids in seen),
        "overview_ms": overview,
        "history_ms": history_page,
        "history_first_ms": history_cold,  # the DORA figures computed, not yet cached
        "deployments": history,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
