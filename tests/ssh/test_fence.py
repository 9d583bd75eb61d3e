"""The lease's token on real test hosts: recorded beside ``current``, and a runner holding an
older one refused before it runs anything there."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from slipway.errors import HostFailed, LeaseLost
from slipway.ssh import SshHost, SshPool
from slipway.ssh.fence import HostFence
from tests.support.hosts import TestFleet


def pool_for(fleet: TestFleet) -> SshPool:
    hosts = [SshHost(h.name, h.address, h.port, "root", fleet.key_file) for h in fleet.hosts]
    return SshPool(hosts, known_hosts=fleet.known_hosts)


def test_hosts_record_the_newest_token_and_refuse_an_older_one(
    make_hosts: Callable[..., TestFleet],
) -> None:
    fleet = make_hosts(2)
    newer, stale = pool_for(fleet), pool_for(fleet)
    token_file = fleet.host("h1").srv / "shop" / "lease-token"
    try:
        newer.fence = HostFence("/srv/shop/lease-token")
        newer.fence.arm(7)
        assert newer.run("h1", "echo acted").stdout == "acted\n"
        assert token_file.read_text() == "7\n"
        # a runner still holding token 6 (paused, cut off from the store) acts nowhere there
        stale.fence = HostFence("/srv/shop/lease-token")
        stale.fence.arm(6)
        with pytest.raises(
            LeaseLost, match=r"host h1 records lease token 7.*newer than this runner's 6"
        ):
            stale.run("h1", "touch /srv/shop/stale-was-here")
        assert not (fleet.host("h1").srv / "shop" / "stale-was-here").exists()
        # …but on a host the newer runner has not reached, it still records its own
        stale.run("h2", "true")
        assert (fleet.host("h2").srv / "shop" / "lease-token").read_text() == "6\n"
        # the same token is checked once per arming, not once per command
        for _ in range(3):
            newer.run("h1", "true")
        assert newer.fence.recorded("h1")
        token_file.write_text("9\n")  # a newer runner came by meanwhile
        newer.run("h1", "true")  # not checked again until the next group of steps…
        newer.fence.arm(7)
        with pytest.raises(LeaseLost):  # …where it is
            newer.run("h1", "true")
    finally:
        newer.close()
        stale.close()


def test_a_host_slow_to_answer_the_check_has_the_commands_timeout(
    make_hosts: Callable[..., TestFleet],
) -> None:
    """The check waits as long as any command on the host (``command_timeout_s``), not a
    fixed time of its own: a busy fleet's slowest hosts answer late, and that is the user's
    setting to make. A FIFO as the token file makes the check's ``cat`` wait for a writer."""
    fleet = make_hosts(1)
    host = fleet.hosts[0]
    (host.srv / "shop").mkdir(parents=True)
    os.mkfifo(host.srv / "shop" / "lease-token")
    pool = SshPool(
        [SshHost(host.name, host.address, host.port, "root", fleet.key_file)],
        known_hosts=fleet.known_hosts,
        command_timeout_s=1.5,
    )
    try:
        pool.fence = HostFence("/srv/shop/lease-token")
        pool.fence.arm(3)
        started = time.monotonic()
        with pytest.raises(HostFailed, match=r"no answer to the lease-token check within 1\.5s"):
            pool.run("h1", "true")
        assert 1.5 <= time.monotonic() - started < 8
    finally:
        pool.close()
