"""The release layout on a real SSH test host: switching `current`, and pruning with what the
switch saw."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from slipway.ssh import SshHost
from slipway.ssh.layout import RemoteLayout
from tests.ssh.test_supervisor import CountingPool
from tests.support.hosts import TestFleet

DEPLOY_TO = "/srv/app"


@pytest.fixture
def layout(make_hosts: Callable[..., TestFleet]) -> Iterator[tuple[RemoteLayout, CountingPool]]:
    fleet = make_hosts(1)
    host = fleet.hosts[0]
    pool = CountingPool(
        [SshHost(host.name, host.address, host.port, "root", fleet.key_file)],
        known_hosts=fleet.known_hosts,
    )
    # four releases, put in place in this order (their directories' ctime says so)
    for version in ("v1", "v2", "v3", "v4"):
        pool.run(host.name, f"mkdir -p {DEPLOY_TO}/releases/{version}")
    try:
        yield RemoteLayout(pool, DEPLOY_TO), pool
    finally:
        pool.close()


def test_switch_reads_the_releases_and_prune_needs_no_other_read(
    layout: tuple[RemoteLayout, CountingPool],
) -> None:
    remote, pool = layout
    pool.sent.clear()
    listing = pool.call(remote.switch_current("h1", "v3"))
    assert listing == (["v1", "v2", "v3", "v4"], "v3")
    assert pool.run("h1", f"readlink {DEPLOY_TO}/current").stdout.strip() == "releases/v3"
    pool.sent.clear()
    removed = pool.call(remote.prune("h1", keep=1, protect={"v1"}, listing=listing))
    assert removed == ["v2"]  # v1 protected, v3 current, v4 the newest kept
    assert pool.sent["command"] == 1  # the removal only
    assert pool.call(remote.listing("h1")) == (["v1", "v3", "v4"], "v3")


def test_prune_without_a_listing_reads_one(layout: tuple[RemoteLayout, CountingPool]) -> None:
    remote, pool = layout
    pool.call(remote.switch_current("h1", "v4"))
    assert pool.call(remote.prune("h1", keep=2, protect=set())) == ["v1", "v2"]
    assert pool.call(remote.versions("h1")) == ["v3", "v4"]
