"""The JSON API of ``slipway serve``: every read endpoint, every role (401 without a token,
403 for the wrong role or environment), pages of history, and the OpenAPI document kept in
the repository matching the routes the server has and the answers it gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from starlette.routing import Route

from slipway.server import api
from slipway.server.app import make_app
from tests.server.kit import Served, record_deployment, serve, write_spec

DOC = json.loads(api.OPENAPI.read_text())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve(write_spec(tmp_path)) as s:
        yield s


def conforms(path: str, method: str, status: int, body: Any) -> None:
    """``body`` is what the document says ``method path`` answers with ``status``."""
    answer = DOC["paths"][path][method]["responses"][str(status)]
    schema = {**answer["content"]["application/json"]["schema"], "components": DOC["components"]}
    jsonschema_rs.validator_for(schema).validate(body)


def test_healthz_needs_no_token_and_everything_else_does(served: Served) -> None:
    with served.client() as anonymous:
        health = anonymous.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"ok": True, "store": "sqlite", "streams": 0}
        conforms("/healthz", "get", 200, health.json())
        for path in ("/api/v1/environments", "/api/v1/deployments", "/api/v1/metrics"):
            refused = anonymous.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"] == "Bearer"
            conforms(path, "get", 401, refused.json())
        wrong = anonymous.get("/api/v1/environments", headers={"Authorization": "Bearer slw_x"})
        assert wrong.status_code == 401 and "unknown, expired or revoked" in wrong.text


def test_environments_are_those_the_token_covers(served: Served) -> None:
    record_deployment(served.store, version="v7")
    with served.client("viewer") as viewer, served.client("viewer@production") as prod:
        every = viewer.get("/api/v1/environments").json()
        assert [e["environment"] for e in every["environments"]] == ["production", "staging"]
        conforms("/api/v1/environments", "get", 200, every)
        only = prod.get("/api/v1/environments").json()["environments"]
        assert [e["environment"] for e in only] == ["production"]
        assert only[0]["last_deployment"]["version"] == "v7"


def test_deployments_come_in_pages_newest_first_and_filtered(served: Served) -> None:
    made = [record_deployment(served.store, version=f"v{i}") for i in range(5)]
    record_deployment(served.store, environment="staging", version="s1", status="failed")
    with served.client("viewer") as viewer:
        first = viewer.get("/api/v1/deployments", params={"env": "production", "limit": 2}).json()
        conforms("/api/v1/deployments", "get", 200, first)
        seen = [d["id"] for d in first["deployments"]]
        cursor = first["next_cursor"]
        while cursor:
            page = viewer.get(
                "/api/v1/deployments", params={"env": "production", "limit": 2, "cursor": cursor}
            ).json()
            seen += [d["id"] for d in page["deployments"]]
            cursor = page["next_cursor"]
        # newest first; deployments started in the same millisecond are ordered by id
        newest_first = sorted(
            made, key=lambda d: (served.store.deployment(d).started_at, d), reverse=True
        )
        assert seen == newest_first
        failed = viewer.get("/api/v1/deployments", params={"status": "failed"}).json()
        assert [d["version"] for d in failed["deployments"]] == ["s1"]
        bad_queries = (
            {"status": "fine"},
            {"limit": 0},
            {"cursor": "nonsense"},
            {"environment": "x"},
        )
        for bad in bad_queries:
            answer = viewer.get("/api/v1/deployments", params=bad)
            assert answer.status_code == 400, bad
            conforms("/api/v1/deployments", "get", 400, answer.json())
        assert viewer.get("/api/v1/deployments", params={"env": "qa"}).status_code == 404


def test_a_token_for_production_reads_nothing_of_staging(served: Served) -> None:
    staged = record_deployment(served.store, environment="staging")
    with served.client("admin@production") as prod:
        listed = prod.get("/api/v1/deployments").json()["deployments"]
        assert listed == []
        for path in (f"/api/v1/deployments/{staged}", "/api/v1/metrics?env=staging"):
            refused = prod.get(path)
            assert refused.status_code == 403, path
            assert "does not cover environment 'staging'" in refused.json()["error"]
        refused = prod.get("/api/v1/deployments", params={"env": "staging"})
        assert refused.status_code == 403


def test_one_deployment_whole(served: Served) -> None:
    dep = record_deployment(served.store, version="v3")
    served.store.record_analysis(
        dep, analysis="canary", run_no=1, canary_version="v3", baseline_version="v2",
        weight=10, verdict="continue", summary="fine",
        measurements=[{"metric": "error_rate", "status": "pass", "canary": 0.0,
                       "baseline": 0.01, "detail": "0 <= `< 0.05`"}],
    )  # fmt: skip
    with served.client("viewer") as viewer:
        found = viewer.get(f"/api/v1/deployments/{dep}").json()
        conforms("/api/v1/deployments/{id}", "get", 200, found)
        assert found["deployment"]["version"] == "v3" and found["allowed"] == ["read"]
        assert found["steps"][0]["description"] == "start v3"
        assert found["events"][0]["message"] == "deploy of v3 started"
        assert found["analysis"][0]["measurements"][0]["metric"] == "error_rate"
        missing = viewer.get("/api/v1/deployments/nope")
        assert missing.status_code == 404
        conforms("/api/v1/deployments/{id}", "get", 404, missing.json())


def test_metrics_are_the_librarys_dora(served: Served) -> None:
    record_deployment(served.store)
    record_deployment(served.store, status="rolled_back")
    with served.client("viewer") as viewer:
        one = viewer.get("/api/v1/metrics", params={"env": "production"}).json()
        assert (one["deployments"], one["failures"], one["change_failure_rate"]) == (2, 1, 0.5)
        every = viewer.get("/api/v1/metrics").json()
        assert set(every) == {"production", "staging"}


def test_the_openapi_document_describes_exactly_the_routes(tmp_path: Path) -> None:
    with serve(write_spec(tmp_path)) as s, s.client() as anonymous:
        served_doc = anonymous.get("/api/v1/openapi.json").json()
        app = make_app(s.site)
    assert served_doc == DOC
    routes: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Route) and (
            route.path.startswith("/api/") or route.path == "/healthz"
        ):
            routes |= {(route.path, m.lower()) for m in route.methods or () if m != "HEAD"}
    documented = {(p, m) for p, ops in DOC["paths"].items() for m in ops}
    assert routes == documented


def test_the_runbook_document_of_an_environment(served: Served) -> None:
    record_deployment(served.store, version="v9")
    with served.client("viewer@production") as prod:
        document = prod.get("/api/v1/environments/production/runbook")
        assert document.status_code == 200
        assert document.headers["content-type"].startswith("text/markdown")
        assert document.text.startswith("# ") and "shop / production" in document.text
        assert "v9" in document.text  # the history, from the records
        french = prod.get("/api/v1/environments/production/runbook", params={"lang": "fr"})
        assert french.status_code == 200 and french.text != document.text
        assert prod.get("/api/v1/environments/staging/runbook").status_code == 403
        bad = prod.get("/api/v1/environments/production/runbook", params={"lang": "de"})
        assert bad.status_code == 400
        conforms("/api/v1/environments/{env}/runbook", "get", 400, bad.json())
