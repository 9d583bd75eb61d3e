"""Staged check: the version must have succeeded in staging first, per the store's records."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from slipway.checks.staged import StagedCheck
from slipway.clock import ManualClock
from slipway.store import Store

CLOCK_START = ManualClock().now()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.for_state_dir(tmp_path, clock=ManualClock(start=CLOCK_START))


def deployed(store: Store, version: str, status: str, environment: str = "staging") -> str:
    dep = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep, app="shop", environment=environment, kind="deploy", version=version,
        previous_version=None, strategy="rolling",
    )  # fmt: skip
    store.update_deployment(dep, status=status, ended_at=store.now())
    return dep


def check(
    store: Store, version: str | None, *, hours_later: float = 1, max_age_s: float | None = None
) -> StagedCheck:
    clock = ManualClock(start=CLOCK_START + timedelta(hours=hours_later))
    return StagedCheck(
        lambda: store.deployments("shop", "staging"), version=version, environment="staging",
        clock=clock, max_age_s=max_age_s,
    )  # fmt: skip


def test_a_version_that_succeeded_in_staging_passes(store: Store) -> None:
    dep = deployed(store, "v2", "succeeded")
    result = check(store, "v2").probe()
    assert result.status == "pass" and dep in result.evidence


def test_failed_other_environment_or_other_version_does_not_count(store: Store) -> None:
    deployed(store, "v2", "rolled_back")
    deployed(store, "v2", "succeeded", environment="production")
    deployed(store, "v1", "succeeded")
    result = check(store, "v2").probe()
    assert result.status == "fail"
    assert result.evidence == "v2 was never deployed successfully to staging"


def test_too_long_ago_fails_when_the_spec_says_so(store: Store) -> None:
    deployed(store, "v2", "succeeded")
    assert check(store, "v2", hours_later=30, max_age_s=86400).probe().status == "fail"
    assert check(store, "v2", hours_later=20, max_age_s=86400).probe().status == "pass"


def test_without_a_version_it_cannot_tell(store: Store) -> None:
    result = check(store, None).probe()
    assert result.status == "inconclusive" and "--version" in result.evidence
