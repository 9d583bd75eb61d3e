"""The sample app asks its flag over OFREP per request, takes the flag's code path for users
who have it, and says which variant each request got (header and metric labels)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slipway.flags import StoreFlags, bucket
from slipway.flags.server import FlagServer, ofrep_app, source_for
from slipway.spec import load_spec
from slipway.store import Store
from tests.examples.conftest import StartApp
from tests.examples.test_sample_app import parse_metrics
from tests.flags.test_server import Served
from tests.support.sample import free_port_range, write_sample_spec


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    port = free_port_range(1)
    (tmp_path / "spec").mkdir()
    spec = write_sample_spec(tmp_path / "spec", extra=f"    flags: {{listen: 127.0.0.1:{port}}}\n")
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    monkeypatch.setenv("OFREP_URL", f"http://127.0.0.1:{port}")
    try:
        with FlagServer(ofrep_app(source_for(env, store)), host="127.0.0.1", port=port) as server:
            yield Served(env, store, server)
    finally:
        store.close()


def test_users_with_the_flag_take_its_code_path(served: Served, start_app: StartApp) -> None:
    StoreFlags(served.env, served.store).set_weight("new-checkout", 50, by="test")
    served.wait_revision(1)
    app = start_app("flag_errors_20pct", flag_error_rate=1.0)  # every flag-on request fails
    users = [f"user-{i}" for i in range(60)]
    with httpx.Client(trust_env=False) as http:
        for user in users:
            answer = http.get(f"{app.url}/work", headers={"X-User": user})
            on = bucket("new-checkout", user) < 50
            assert answer.headers["X-Flag-Variant"] == f"new-checkout={'on' if on else 'off'}"
            assert answer.status_code == (500 if on else 200)
        # without a user the split cannot be evaluated: the flag is off (the SDK's default)
        anonymous = http.get(f"{app.url}/work")
        assert anonymous.headers["X-Flag-Variant"] == "new-checkout=off"
        assert "X-Flag-Variant" not in http.get(f"{app.url}/health").headers
        metrics = parse_metrics(http.get(f"{app.url}/metrics").text)
    on_users = sum(bucket("new-checkout", u) < 50 for u in users)
    labels = {"version": "flag_errors_20pct", "feature_flag_key": "new-checkout"}

    def count(code: str, variant: str) -> float:
        key = frozenset({**labels, "code": code, "feature_flag_variant": variant}.items())
        return metrics.get(("app_requests_total", key), 0.0)

    assert count("500", "on") == on_users
    assert count("200", "off") == len(users) - on_users + 1


def test_the_flag_is_off_when_its_server_is_gone(
    start_app: StartApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFREP_URL", f"http://127.0.0.1:{free_port_range(1)}")  # nothing there
    app = start_app("flag_errors_20pct", flag_error_rate=1.0)
    answer = httpx.get(f"{app.url}/work", headers={"X-User": "u1"}, trust_env=False)
    assert answer.status_code == 200 and answer.headers["X-Flag-Variant"] == "new-checkout=off"


def test_a_release_without_a_flag_says_nothing_of_flags(start_app: StartApp) -> None:
    app = start_app("v1")
    answer = httpx.get(f"{app.url}/work", headers={"X-User": "u1"}, trust_env=False)
    assert "X-Flag-Variant" not in answer.headers
    assert "feature_flag" not in httpx.get(f"{app.url}/metrics", trust_env=False).text
