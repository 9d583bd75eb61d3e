"""Migrations of the Django shop that go wrong, or back: a rehearsal that fails is a No-Go
with nothing touched; a destructive migration is refused unless its release is marked as the
contract step; a release whose Celery task crashes fails its workers' check, web and workers
roll back, and the database migrates back — keeping every row written meanwhile."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from slipway.spec import load_spec
from slipway.store import Store
from tests.django.test_rollout import columns
from tests.engine.test_roles import events, most_at_once
from tests.support.django import Shop
from tests.support.postgres import PostgresCluster


def post_order(shop: Shop, customer: str) -> int:
    data = urllib.parse.urlencode({"customer": customer, "total": "3.50"}).encode()
    with urllib.request.urlopen(f"{shop.url}/orders/", data=data, timeout=10) as response:
        return int(json.loads(response.read())["id"])


def serving(shop: Shop) -> set[str]:
    status = json.loads(shop.slipway("status", "--output", "json").stdout)
    return {i["version"] for i in status["instances"] if i["serving"]}


def roles(shop: Shop) -> set[tuple[str, str]]:
    status = json.loads(shop.slipway("status", "--output", "json").stdout)
    return {(p["role"], p["version"]) for p in status["processes"] if p["state"] == "RUNNING"}


def test_a_failing_rehearsal_is_a_no_go_with_nothing_touched(
    shop: Shop, postgres: PostgresCluster, database_url: str
) -> None:
    assert shop.slipway("deploy", "--version", "v1").returncode == 0
    before = columns(postgres, database_url)
    refused = shop.slipway("deploy", "--version", "v2-bad-migration")
    assert refused.returncode == 4, refused.stdout
    said = " ".join(refused.stdout.split())
    assert "production was not touched" in said
    assert 'column "total" of relation "orders_order" already exists' in said
    assert columns(postgres, database_url) == before
    assert serving(shop) == {"v1"} and roles(shop) == {("worker", "v1"), ("beat", "v1")}


def test_a_destructive_migration_is_refused_unless_marked_as_contract(
    shop: Shop, postgres: PostgresCluster, database_url: str
) -> None:
    assert shop.slipway("deploy", "--version", "v1").returncode == 0
    expand = shop.slipway("deploy", "--version", "v3")  # 0002 and the expand step 0003
    assert expand.returncode == 0, expand.stdout
    assert "customer_email" in columns(postgres, database_url)
    contract = shop.slipway("deploy", "--version", "v4")
    assert contract.returncode == 4, contract.stdout
    said = " ".join(contract.stdout.split())
    assert "destructive migration: orders.0004_remove_order_customer: DROP COLUMN" in said
    assert "customer" in columns(postgres, database_url) and serving(shop) == {"v3"}

    def mark(data: dict[str, Any]) -> None:
        data["database"]["migrate"]["django"]["contract"] = ["v4"]

    shop.edit(mark)
    marked = shop.slipway("deploy", "--version", "v4")
    assert marked.returncode == 0, marked.stdout
    assert "customer" not in columns(postgres, database_url)
    assert serving(shop) == {"v4"}


def wait_for_gate(store: Store, gate: str, timeout_s: float = 300) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for dep in store.deployments("shop", "test", limit=3):
            for step in store.steps(dep.id):
                if step.params.get("gate") == gate and step.state == "running":
                    return dep.id
        time.sleep(0.2)
    raise AssertionError(f"no {gate} gate ran")


def test_a_crashing_task_rolls_back_web_and_workers_then_migrates_back_keeping_data(
    shop: Shop, postgres: PostgresCluster, database_url: str
) -> None:
    assert shop.slipway("deploy", "--version", "v1").returncode == 0
    kept = [post_order(shop, "alice")]
    deploy = shop.popen("deploy", "--version", "v2-crash-task")  # migrates 0002, then fails
    try:
        store = Store.for_state_dir(load_spec(shop.spec).environment("test").state_dir.parent)
        dep_id = wait_for_gate(store, "confirm_migrate_back")
        # traffic and workers are back on v1 before anyone is asked; `note` is still there
        assert serving(shop) == {"v1"}
        assert roles(shop) == {("worker", "v1"), ("beat", "v1")}
        assert "note" in columns(postgres, database_url)
        kept.append(post_order(shop, "bob"))  # written meanwhile, by v1
        said = shop.slipway("approve", dep_id, "-m", "reversible: migrate back")
        assert said.returncode == 0, said.stdout + said.stderr
        output, _ = deploy.communicate(timeout=300)
    finally:
        if deploy.poll() is None:
            deploy.kill()
            deploy.wait()
    assert deploy.returncode == 3, output
    dep = store.deployment(dep_id)
    assert dep.status == "rolled_back"
    assert dep.reason is not None and "check worker-" in dep.reason
    steps = store.steps(dep_id)
    assert not any(s.kind == "restore_database" for s in steps)  # migrating back, not a restore
    back = next(s for s in steps if s.kind == "migrate_back")
    assert back.state == "succeeded" and back.result == {"targets": {"orders": "0001_initial"}}
    assert columns(postgres, database_url) == ["created", "customer", "id", "total"]
    rows = postgres.execute(
        database_url.rsplit("/", 1)[1], "SELECT id, customer FROM orders_order ORDER BY id"
    )
    assert [(r[0], r[1]) for r in rows] == [(kept[0], "alice"), (kept[1], "bob")]
    assert most_at_once(events(shop.role_log), "beat-") == 1
    store.close()


def test_the_maintenance_page_is_served_during_a_blocking_migration_and_never_after(
    shop: Shop, postgres: PostgresCluster, database_url: str
) -> None:
    from slipway.demo.traffic import TrafficGenerator
    from tests.support.django import BYPASS_TOKEN

    def blocking(data: dict[str, Any]) -> None:
        data["database"]["migrate"]["maintenance"] = True

    shop.edit(blocking)
    assert shop.slipway("deploy", "--version", "v1").returncode == 0
    testers: list[int] = []
    with TrafficGenerator(
        f"{shop.url}/orders/", concurrency=2, max_requests=100_000, max_duration_s=300
    ) as traffic:
        deploy = shop.popen("deploy", "--version", "v2-slow-migration")  # holds its lock 3 s
        deadline = time.monotonic() + 240
        while deploy.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{shop.url}/health/", timeout=5).close()
            except urllib.error.HTTPError as exc:  # the page: a tester gets through
                exc.close()
                if exc.code == 503 and exc.headers.get("Retry-After") == "120":
                    request = urllib.request.Request(
                        f"{shop.url}/health/", headers={"X-Slipway-Bypass": BYPASS_TOKEN}
                    )
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        testers.append(answer.status)
            time.sleep(0.1)
        output, _ = deploy.communicate(timeout=60)
        time.sleep(0.5)
    assert deploy.returncode == 0, output
    samples = traffic.report.samples
    page = [s for s in samples if s.failed]
    assert page, "the maintenance page was never served"
    assert all(s.status == 503 and s.version is None for s in page)  # HAProxy's, not the app's
    first_v2 = min(s.sent for s in samples if s.version == "v2-slow-migration")
    assert max(s.sent for s in page) < first_v2  # never after: off before v2 serves
    assert testers and set(testers) == {200}
    assert json.loads(shop.slipway("maintenance", "status", "--output", "json").stdout) == {
        "environment": "test",
        "maintenance": False,
    }
    assert BYPASS_TOKEN not in output
    # by hand, for a person: on (503 at once), off (the app again)
    assert shop.slipway("maintenance", "on").returncode == 0
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{shop.url}/orders/", timeout=5)
    assert caught.value.code == 503
    caught.value.close()
    assert "maintenance page off" in shop.slipway("maintenance", "off").stdout
    with urllib.request.urlopen(f"{shop.url}/orders/", timeout=5) as answer:
        assert answer.status == 200
