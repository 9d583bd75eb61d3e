"""v1 → v2 of the Django shop under steady traffic: the full pre-flight (check --deploy, the
settings rules, bandit for real, the audit, coverage, Redis, the database), `migrate --plan`
in `slipway plan`, the migration and collectstatic, zero failed requests, workers and beat on
v2 after — and never two beats."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from slipway.demo.traffic import TrafficGenerator
from slipway.spec import load_spec
from tests.conftest import stop_environment
from tests.engine.test_roles import events, most_at_once
from tests.support.django import make_shop
from tests.support.postgres import PostgresCluster
from tests.support.redis import RedisServer


def columns(postgres: PostgresCluster, url: str) -> list[str]:
    dbname = url.rsplit("/", 1)[1]
    rows = postgres.execute(
        dbname,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'orders_order' ORDER BY 1",
    )
    return [str(r[0]) for r in rows]


def test_v1_to_v2_under_traffic(
    tmp_path: Path,
    venv_cache: Path,
    bandit: list[str],
    postgres: PostgresCluster,
    database_url: str,
    redis_server: RedisServer,
) -> None:
    shop = make_shop(
        tmp_path, cache=venv_cache, database_url=database_url, redis_url=redis_server.url,
        bandit=bandit,
    )  # fmt: skip
    try:
        first = shop.slipway("deploy", "--version", "v1")
        assert first.returncode == 0, first.stdout + first.stderr
        assert columns(postgres, database_url) == ["created", "customer", "id", "total"]

        planned = json.loads(shop.slipway("plan", "--version", "v2", "--output", "json").stdout)
        assert planned["migrations"]["apps"] == {
            "orders": ["0002_order_note", "    Add field note to order", "    Raw Python operation"]
        }
        text = shop.slipway("plan", "--version", "v2").stdout
        assert "migrations of orders (migrate --plan):" in text

        (shop.media / "documents").mkdir(parents=True, exist_ok=True)
        (shop.media / "documents" / "invoice.pdf").write_bytes(b"%PDF-1.4 uploaded by v1")
        with TrafficGenerator(
            f"{shop.url}/orders/", concurrency=3, max_requests=100_000, max_duration_s=300
        ) as traffic:
            time.sleep(0.5)
            second = shop.slipway("deploy", "--version", "v2")
            finished = time.monotonic()
            time.sleep(0.5)
        assert second.returncode == 0, second.stdout + second.stderr
        report = traffic.report
        assert report.requests > 100
        assert report.failed == 0, report.errors
        assert report.versions_after(finished) == {"v2"}
        assert columns(postgres, database_url) == ["created", "customer", "id", "note", "total"]
        with urllib.request.urlopen(f"{shop.url}/static/orders/version.txt", timeout=5) as r:
            assert r.read() == b"v2\n"  # collected into the release

        status = json.loads(shop.slipway("status", "--output", "json").stdout)
        assert {(p["role"], p["version"], p["state"]) for p in status["processes"]} == {
            ("worker", "v2", "RUNNING"),
            ("beat", "v2", "RUNNING"),
        }
        assert len([p for p in status["processes"] if p["role"] == "worker"]) == 2
        assert status["problems"] == []
        assert most_at_once(events(shop.role_log), "beat-") == 1

        logs = json.loads(
            shop.slipway("logs", status["last_deployment"]["id"], "--output", "json").stdout
        )
        said = [e["message"] for e in logs["events"]]
        assert any(
            m.startswith("before the migration:") and "orders at 0001_initial" in m for m in said
        ), said
        assert any("reversible: migrate orders 0001_initial" in m for m in said), said
        media = [m for m in said if m.startswith("media backup bk-")]
        assert len(media) == 1 and "1 files" in media[0]
        assert "re-read: 1 files match their sha256" in media[0]
        check = shop.slipway("check", "--output", "json")
        rows = {r["name"]: r for r in json.loads(check.stdout)["checks"]}
        assert rows["Django settings: SECRET_KEY, DEBUG, ALLOWED_HOSTS"]["status"] == "pass"
        assert rows["bandit: no HIGH issue"]["status"] == "pass"
        assert rows["Redis answers PING"]["status"] == "pass"
        assert rows["backup media < 24h"]["status"] == "pass"  # the deployments' own
        assert shop.environ["DJANGO_SECRET_KEY"] not in check.stdout + first.stdout + second.stdout
    finally:
        stop_environment(load_spec(shop.spec).environment("test"))
