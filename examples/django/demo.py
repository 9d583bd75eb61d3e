"""``make demo-django``: the Django shop's story, on this machine, with the real parts.

A PostgreSQL cluster and a Redis are started for the demo (on loopback, in a temporary
directory, stopped at the end); the spec is the one ``slipway init --preset django`` writes,
pointed at them. Then, each phase a real ``slipway`` command:

1. v1 is deployed (backups, rehearsal, migrate, gunicorn behind HAProxy, 2 Celery workers
   and beat);
2. v2-crash-task migrates (0002), its workers fail their check (the task crashes): web and
   workers roll back, and the migration is reversed behind the gate (approved here) —
   the orders written meanwhile stay;
3. v2 goes out under steady traffic: no request fails, workers and beat end on v2;
4. v4 drops a column without its expand step having shipped: a No-Go, nothing touched;
5. the maintenance page, on and off, without a reload.

It prints one JSON line per phase. It needs a checkout of Slipway (its test kit starts the
servers) and PyPI (the shop's packages go into the releases' virtualenvs).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import stop_environment  # noqa: E402
from tests.support.django import Shop, make_shop  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

from slipway.demo.traffic import TrafficGenerator  # noqa: E402
from slipway.spec import load_spec  # noqa: E402
from slipway.store import Store  # noqa: E402


def phase(name: str, **facts: object) -> None:
    print(json.dumps({"phase": name, **facts}), flush=True)


def check(done: subprocess.CompletedProcess[str], *expected: int) -> None:
    """A phase that did not end as the story says stops the demo, saying why."""
    if done.returncode not in expected:
        print(done.stdout[-3000:] + done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"exit {done.returncode}, expected {expected}")


def order(shop: Shop, customer: str) -> None:
    data = urllib.parse.urlencode({"customer": customer}).encode()
    urllib.request.urlopen(f"{shop.url}/orders/", data=data, timeout=10).close()


def approve_when_asked(shop: Shop) -> threading.Thread:
    store = Store.for_state_dir(load_spec(shop.spec).environment("test").state_dir.parent)

    def watch() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            for dep in store.deployments("shop", "test", limit=2):
                for step in store.steps(dep.id):
                    if (
                        step.params.get("gate") == "confirm_migrate_back"
                        and step.state == "running"
                    ):
                        shop.slipway("approve", dep.id, "-m", "demo: reversible, migrate back")
                        return
            time.sleep(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def story(shop: Shop) -> None:
    started = time.monotonic()
    done = shop.slipway("deploy", "--version", "v1")
    check(done, 0)
    phase("v1", exit=done.returncode, duration_s=round(time.monotonic() - started, 1))
    order(shop, "alice")

    started = time.monotonic()
    watcher = approve_when_asked(shop)
    done = shop.slipway("deploy", "--version", "v2-crash-task")
    watcher.join(timeout=5)
    check(done, 3)
    count = json.loads(urllib.request.urlopen(f"{shop.url}/orders/", timeout=10).read())
    phase("v2-crash-task", exit=done.returncode, outcome="rolled back, migrated back",
          orders_kept=count["orders"], duration_s=round(time.monotonic() - started, 1))  # fmt: skip

    with TrafficGenerator(f"{shop.url}/orders/", concurrency=3, max_duration_s=600) as traffic:
        started = time.monotonic()
        done = shop.slipway("deploy", "--version", "v2")
        elapsed = time.monotonic() - started
    check(done, 0)
    status = json.loads(shop.slipway("status", "--output", "json").stdout)
    processes = sorted(f"{p['process']}={p['version']}" for p in status["processes"])
    phase("v2", exit=done.returncode, duration_s=round(elapsed, 1), processes=processes,
          requests=traffic.report.requests, failed_requests=traffic.report.failed)  # fmt: skip

    done = shop.slipway("deploy", "--version", "v4")
    check(done, 4)
    said = " ".join(done.stdout.split())
    reason = said[said.find("destructive migration") :].split(" — ")[0]
    phase("v4", exit=done.returncode, outcome=f"No-Go: {reason}")

    shop.slipway("maintenance", "on")
    try:
        urllib.request.urlopen(shop.url + "/", timeout=5)
        code = 200
    except urllib.error.HTTPError as exc:
        code = exc.code
        exc.close()
    shop.slipway("maintenance", "off")
    back = urllib.request.urlopen(shop.url + "/", timeout=5).status
    phase("maintenance", while_on=code, after_off=back)


def main() -> int:
    postgres, redis = PostgresCluster(), RedisServer()
    with tempfile.TemporaryDirectory(prefix="slipway-django-demo-") as tmp:
        shop = None
        try:
            postgres.start()
            redis.start()
            postgres.create_database("shop")
            # an empty database dumps to an archive `pg_restore --list` finds nothing in,
            # which the backup's verification refuses: give it the team's existing data
            postgres.execute("shop", "CREATE TABLE legacy_customers (id serial PRIMARY KEY)")
            work = Path(tmp)
            shop = make_shop(work, cache=work / "venvs", database_url=postgres.url("shop"),
                             redis_url=redis.url)  # fmt: skip
            story(shop)
        finally:
            if shop is not None:
                stop_environment(load_spec(shop.spec).environment("test"))
            redis.stop()
            postgres.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
