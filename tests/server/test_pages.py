"""The dashboard's pages: signing in with a token gives a session cookie (HttpOnly,
SameSite=Strict) and never keeps the token; every form needs the session's CSRF token;
hostile values are shown, never run; buttons appear only for roles that may use them;
every asset comes from Slipway itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.server.kit import Served, record_deployment, serve, write_spec

HOSTILE = "<script>alert(1)</script>{{ 7*7 }}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve(write_spec(tmp_path), sign_in_limit=5) as s:
        yield s


@contextmanager
def sign_in(served: Served, role: str) -> Iterator[httpx.Client]:
    """A browser-like client signed in with the token of ``role``."""
    with served.client(follow_redirects=False) as client:
        form = client.get("/sign-in")
        token = served.tokens[role]
        done = client.post("/sign-in", data={"csrf": csrf_of(form.text), "token": token})
        assert done.status_code == 303, done.text
        yield client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def test_signing_in_gives_a_strict_http_only_session_and_not_the_token(served: Served) -> None:
    with served.client(follow_redirects=False) as browser:
        assert browser.get("/").headers["location"] == "/sign-in?next=/"
        form = browser.get("/sign-in")
        assert "default-src 'self'" in form.headers["content-security-policy"]
        forged = browser.post("/sign-in", data={"csrf": "forged", "token": served.tokens["viewer"]})
        assert forged.status_code == 403
        form = forged  # a refused form comes back with a fresh one-time value
        wrong = browser.post("/sign-in", data={"csrf": csrf_of(form.text), "token": "slw_nope"})
        assert wrong.status_code == 401 and "unknown, expired or revoked" in wrong.text
        form = browser.get("/sign-in")
        token = served.tokens["viewer"]
        done = browser.post("/sign-in", data={"csrf": csrf_of(form.text), "token": token})
        assert done.status_code == 303
        cookie = next(
            v for k, v in done.headers.multi_items() if k == "set-cookie" and "slipway_session" in v
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert token not in cookie
        overview = browser.get("/")
        assert overview.status_code == 200 and "production" in overview.text
        assert token not in overview.text
    log = [(e["action"], e["token_name"]) for e in served.store.access_log()]
    assert ("signed_in", "viewer") in log and ("refused", None) in log


def test_forms_without_the_sessions_csrf_token_are_refused(served: Served) -> None:
    dep = record_deployment(served.store)
    with sign_in(served, "admin") as browser:
        page = browser.get(f"/deployments/{dep}").text
        refused = browser.post(f"/deployments/{dep}/abort", data={"csrf": "guess"})
        assert refused.status_code == 403 and "CSRF" in refused.text
        assert browser.post(f"/deployments/{dep}/abort").status_code == 403
        allowed = browser.post(f"/deployments/{dep}/abort", data={"csrf": csrf_of(page)})
        assert allowed.status_code == 409  # past the CSRF check: nothing runs to abort
        signed_out = browser.post("/sign-out", data={"csrf": csrf_of(page)})
        assert signed_out.status_code == 303
        assert browser.get("/").status_code == 303  # the session ended


def test_hostile_values_are_shown_and_never_run(served: Served) -> None:
    dep = record_deployment(served.store, version=HOSTILE)
    served.store.event(dep, f"health body: {HOSTILE}")
    served.store.record_analysis(
        dep, analysis="canary", run_no=1, canary_version=HOSTILE, baseline_version=None,
        weight=5, verdict="abort", summary=HOSTILE,
        measurements=[{"metric": HOSTILE, "status": "fail", "canary": 1, "detail": HOSTILE}],
    )  # fmt: skip
    with sign_in(served, "viewer") as browser:
        runbook = "/environments/production/runbook"
        for path in ("/", "/history", f"/deployments/{dep}", f"/deployments/{dep}/live", runbook):
            html = browser.get(path).text
            assert "<script>alert" not in html, path
            # escaped, and the braces shown as written: a value is never a template
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
            assert "{{ 7*7 }}" in html, path


def test_buttons_only_for_the_roles_that_may_use_them(served: Served) -> None:
    dep = record_deployment(served.store, status="running")
    served.store.add_steps(
        dep,
        [{"seq": 2, "phase": "deploy", "group_no": 0, "kind": "gate",
          "params": {"gate": "go_no_go"}, "description": "Go/No-Go for v1"}],
    )  # fmt: skip
    gate = next(s for s in served.store.steps(dep) if s.kind == "gate")
    served.store.set_step(gate.id, state="running")
    expected = {
        "viewer": set(),
        "deployer": {"promote", "abort", "rollback"},
        "approver": {"promote", "abort", "rollback", "approve", "reject"},
    }
    for role, buttons in expected.items():
        with sign_in(served, role) as browser:
            html = browser.get(f"/deployments/{dep}").text
            assert set(re.findall(r'data-action="([a-z]+)"', html)) == buttons, role
    with sign_in(served, "viewer") as browser:
        refused = browser.post(f"/deployments/{dep}/approve", data={"csrf": csrf_of(html)})
        assert refused.status_code == 403
    live = record_deployment(served.store, version="v2")
    served.store.set_current("shop", "production", version="v2", digest=None, deployment_id=live)
    for role, buttons in {"viewer": set(), "deployer": {"rollback"}}.items():
        with sign_in(served, role) as browser:
            html = browser.get(f"/deployments/{live}").text
            # finished: only a rollback, and only of what the environment runs now
            assert set(re.findall(r'data-action="([a-z]+)"', html)) == buttons, role


def test_every_asset_is_served_by_slipway(served: Served) -> None:
    dep = record_deployment(served.store)
    with sign_in(served, "viewer") as browser:
        for path in ("/", "/history", f"/deployments/{dep}", "/environments/staging/runbook"):
            html = browser.get(path).text
            # every script, stylesheet and image from this server (a URL in the text is text)
            loaded = re.findall(r'<(?:script|img)[^>]* src="([^"]*)"', html)
            loaded += re.findall(r'<link[^>]* href="([^"]*)"', html)
            assert loaded and all(u.startswith("/") and not u.startswith("//") for u in loaded)
            for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
                fetched = browser.get(asset)
                assert fetched.status_code == 200 and fetched.content, asset


def test_refused_sign_ins_are_rate_limited_per_address(served: Served) -> None:
    with served.client(follow_redirects=False) as browser:
        for _ in range(5):
            form = browser.get("/sign-in")
            browser.post("/sign-in", data={"csrf": csrf_of(form.text), "token": "slw_guess"})
        form = browser.get("/sign-in")
        good = served.tokens["viewer"]
        stopped = browser.post("/sign-in", data={"csrf": csrf_of(form.text), "token": good})
        assert stopped.status_code == 429
        with served.client("viewer") as api:
            assert api.get("/api/v1/environments").status_code == 429


def test_an_aborted_canary_says_which_measurements_decided(served: Served) -> None:
    dep = record_deployment(served.store, version="v4", status="rolled_back")
    served.store.record_analysis(
        dep, analysis="canary", run_no=3, canary_version="v4", baseline_version="v3",
        weight=10, verdict="abort", summary="error_rate failed",
        measurements=[
            {"metric": "error_rate", "status": "fail", "canary": 0.05, "baseline": 0.0,
             "detail": "0.05 fails `> 0.01`", "limit": 0.01},
            {"metric": "p95_latency_ms", "status": "pass", "canary": 40, "baseline": 41,
             "detail": "40 passes `> 2 * baseline`", "limit": 82},
        ],
    )  # fmt: skip
    with sign_in(served, "viewer") as browser:
        html = browser.get(f"/deployments/{dep}").text
    decided = re.search(r'<p class="decided error" id="decided">(.*?)</p>', html, re.S)
    assert decided is not None
    assert "error_rate" in decided[1] and "0.05 fails `&gt; 0.01`" in decided[1]
    assert "p95_latency_ms" not in decided[1]
