"""DORA's four keys from a history of known deployments, on both stores: each count and each
duration as the definitions say."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.clock import ManualClock, utc_iso
from slipway.metrics import DoraCache, dora
from slipway.release import commit_time
from slipway.store import Store
from slipway.store.records import Records

DAY = 86400.0


@pytest.fixture(params=["sqlite", "postgresql"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, ManualClock]]:
    clock = ManualClock()
    if request.param == "sqlite":
        store = Store.for_state_dir(tmp_path / "state", clock=clock)
    else:
        store = Store.open(request.getfixturevalue("store_url"), clock=clock)
    yield store, clock
    store.close()


def deployment(
    store: Store,
    clock: ManualClock,
    version: str,
    status: str,
    *,
    kind: str = "deploy",
    previous: str | None = None,
    traffic: str | None = None,
    rollback_s: float | None = None,
    took_s: float = 60,
    commit_age_s: float | None = None,
) -> str:
    """A finished deployment ``took_s`` long; ``traffic``: the state its traffic step ended in."""
    dep = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep, app="shop", environment="prod", kind=kind, version=version,
        previous_version=previous, strategy="rolling",
    )  # fmt: skip
    if traffic is not None:
        store.add_steps(
            dep,
            [{"seq": 0, "phase": "deploy", "group_no": 0, "kind": "enable_instance",
              "params": {"slot": "web-1_b"}, "description": "enable"}],
        )  # fmt: skip
        store.set_step(store.steps(dep)[0].id, state=traffic)
    started = clock.now()
    clock.sleep(took_s)
    store.update_deployment(dep, status=status, ended_at=store.now(), rollback_s=rollback_s)
    if commit_age_s is not None:
        commit_at = utc_iso(
            started.replace() - __import__("datetime").timedelta(seconds=commit_age_s)
        )
        Records(store).note_deployment(
            dep, spec_digest="x", who="ci", commit_id="abc", commit_at=commit_at
        )
    clock.sleep(3600)
    return dep


def test_the_four_keys(history: tuple[Store, ManualClock]) -> None:
    store, clock = history
    deployment(store, clock, "v0", "succeeded")  # more than 30 days ago: outside the window
    clock.sleep(31 * DAY)
    deployment(store, clock, "v1", "succeeded", traffic="succeeded", commit_age_s=3600)
    deployment(store, clock, "v2", "rolled_back", traffic="skipped", rollback_s=1.5)  # caught
    deployment(store, clock, "v3", "rolled_back", traffic="compensated", rollback_s=2.5)  # escaped
    deployment(store, clock, "v4", "succeeded", traffic="succeeded", commit_age_s=7200)
    deployment(
        store, clock, "v1", "succeeded", kind="rollback", previous="v4", took_s=3
    )  # undoes v4
    deployment(store, clock, "v5", "no_go")  # started nothing
    deployment(store, clock, "v6", "failed")  # failed before any traffic step: caught
    found = dora(store, "shop", environment="prod", since_days=30, clock=clock)
    assert (found.deployments, found.succeeded) == (5, 2)
    assert found.per_day == round(2 / 30, 3)
    assert (found.failures, found.caught, found.escaped) == (4, 2, 2)
    assert found.change_failure_rate == 0.8
    assert found.restore_s == {"median": 2.5, "max": 3.0, "count": 3}
    # commit → live: 3600 s + the deployment's 60 s, and 7200 + 60
    assert found.lead_time_s == {"median": 5460.0, "p90": 7260.0, "known": 2}
    assert set(found.definitions) == {
        "deployment frequency", "lead time for changes", "change failure rate", "time to restore",
    }  # fmt: skip
    empty = dora(store, "shop", environment="staging", since_days=30, clock=clock)
    assert empty.deployments == 0 and empty.change_failure_rate is None


def test_a_commit_time_comes_from_git(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        env = {"GIT_COMMITTER_DATE": "2026-01-05T09:30:00+01:00", "GIT_AUTHOR_DATE": "2026-01-05T09:30:00+01:00",
               "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # fmt: skip
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                              text=True, env=env).stdout.strip()  # fmt: skip

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    head = git("rev-parse", "HEAD")
    assert commit_time(tmp_path, head) == "2026-01-05T08:30:00.000Z"
    assert commit_time(tmp_path, head[:8]) == "2026-01-05T08:30:00.000Z"
    assert commit_time(tmp_path, "deadbeef") is None  # not a commit of this repository
    assert commit_time(tmp_path, "--output=/tmp/x") is None  # never an option
    assert commit_time(tmp_path / "nowhere", head) is None


def test_slipway_metrics_prints_the_table_and_its_definitions(tmp_path: Path) -> None:
    import json

    from tests.cli.test_team_store import run, seed_sqlite
    from tests.support.sample import write_sample_spec

    spec = write_sample_spec(tmp_path, count=1)
    seed_sqlite(tmp_path / "state", 3)
    shown = run("metrics", "-f", spec, "--since", "7d")
    assert shown.returncode == 0, shown.stderr
    assert "deployment frequency" in shown.stdout and "0.429/day (3 succeeded)" in shown.stdout
    assert "change failure rate: deployments failed or rolled back" in shown.stdout
    data = json.loads(run("metrics", "-f", spec, "--env", "test", "-o", "json").stdout)
    assert (data["deployments"], data["change_failure_rate"], data["days"]) == (3, 0.0, 30.0)
    bad = run("metrics", "-f", spec, "--since", "a while")
    assert bad.returncode == 2 and "not a window" in bad.stderr


def test_the_cache_recomputes_when_the_history_changes_or_the_window_slides(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    store = Store.for_state_dir(tmp_path / "state", clock=clock)
    try:
        cache = DoraCache(store, "shop", ttl_s=DAY, clock=clock)
        deployment(store, clock, "v1", "succeeded")
        first = cache.get("prod")
        assert cache.get("prod") is first  # nothing changed: not read again
        deployment(store, clock, "v2", "failed")
        second = cache.get("prod")
        assert (first.deployments, second.deployments, second.failures) == (1, 2, 1)
        clock.sleep(DAY)
        assert cache.get("prod") is not second  # the window slid
    finally:
        store.close()
