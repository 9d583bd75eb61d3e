"""Programs of a fleet host's supervisord, over SSH: start, start again, change, stop, and what
each costs in round trips."""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from slipway.errors import PermanentError
from slipway.ssh import SshHost, SshPool
from slipway.ssh.pool import CommandResult
from slipway.supervisord.launch import BASE_ENV
from slipway.targets.ssh_services import RemoteInstance, SupervisordPrograms
from tests.support.hosts import TestFleet

DEPLOY_TO = "/srv/app"


class CountingPool(SshPool):
    """An ``SshPool`` that counts what goes over the wire: commands, and RPCs by method."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: collections.Counter[str] = collections.Counter()

    async def arun(self, name: str, command: str, **kwargs: Any) -> CommandResult:
        self.sent["command"] += 1
        return await super().arun(name, command, **kwargs)

    async def aunix(self, name: str, path: str, request: bytes, **kwargs: Any) -> bytes:
        method = request.partition(b"<methodName>")[2].partition(b"<")[0].decode()
        self.sent[method] += 1
        return await super().aunix(name, path, request, **kwargs)


@pytest.fixture
def programs(
    make_hosts: Callable[..., TestFleet],
) -> Iterator[tuple[SupervisordPrograms, CountingPool]]:
    fleet = make_hosts(1)
    host = fleet.hosts[0]
    pool = CountingPool(
        [SshHost(host.name, host.address, host.port, "root", fleet.key_file)],
        known_hosts=fleet.known_hosts,
    )
    service = SupervisordPrograms(pool, DEPLOY_TO, python=sys.executable, start_secs=1)
    pool.run(host.name, "mkdir -p /tmp/releases/v1 /tmp/releases/v2")
    try:
        yield service, pool
    finally:
        pool.call(service.down(host.name))
        pool.close()


def instance(version: str, *, slot: str = "h1-1_a") -> RemoteInstance:
    return RemoteInstance(
        slot=slot,
        port=9000,
        version=version,
        release_dir=f"/tmp/releases/{version}",
        command=["sleep", "600"],
        env={"SLIPWAY_VERSION": version},
    )


def running(service: SupervisordPrograms, pool: SshPool) -> dict[str, tuple[str, int | None]]:
    return {i.slot: (i.version, i.pid) for i in pool.call(service.instances("h1")) if i.running}


def test_start_again_leaves_the_running_program_as_it_is(
    programs: tuple[SupervisordPrograms, CountingPool],
) -> None:
    service, pool = programs
    pool.call(service.start("h1", instance("v1")))
    first = running(service, pool)
    assert first["h1-1_a"][0] == "v1"
    pool.call(service.start("h1", instance("v1")))  # a resumed step
    assert running(service, pool) == first


def test_a_changed_program_restarts_with_its_new_config(
    programs: tuple[SupervisordPrograms, CountingPool],
) -> None:
    service, pool = programs
    pool.call(service.start("h1", instance("v1")))
    before = running(service, pool)["h1-1_a"]
    pool.call(service.start("h1", instance("v2")))
    after = running(service, pool)["h1-1_a"]
    assert after[0] == "v2"
    assert after[1] != before[1]


def test_stop_forgets_the_program_and_its_files_and_again_is_harmless(
    programs: tuple[SupervisordPrograms, CountingPool], tmp_path: Path
) -> None:
    service, pool = programs
    pool.call(service.start("h1", instance("v1")))
    pool.call(service.start("h1", instance("v1", slot="h1-1_b")))
    pool.call(service.stop("h1", "h1-1_a"))
    assert set(running(service, pool)) == {"h1-1_b"}
    files = pool.run("h1", f"ls {DEPLOY_TO}/.slipway/supervisor/programs").stdout.split()
    assert not [f for f in files if "h1-1_a" in f]
    pool.call(service.stop("h1", "h1-1_a"))
    assert set(running(service, pool)) == {"h1-1_b"}


def test_start_and_stop_cost_few_round_trips(
    programs: tuple[SupervisordPrograms, CountingPool],
) -> None:
    """A hundred hosts pay every round trip a hundred times: start is one command, two RPCs
    and the polls for RUNNING; stop is one RPC and one command; reading is one of each."""
    service, pool = programs
    pool.call(service.ensure_up("h1"))
    pool.sent.clear()
    pool.call(service.start("h1", instance("v1")))
    start = dict(pool.sent)
    polls = start.pop("supervisor.getProcessInfo", 0)
    assert start == {"command": 1, "supervisor.reloadConfig": 1, "system.multicall": 1}
    assert polls >= 1
    pool.sent.clear()
    pool.call(service.stop("h1", "h1-1_a"))
    assert dict(pool.sent) == {"command": 1, "system.multicall": 1}
    pool.sent.clear()
    pool.call(service.instances("h1"))
    assert dict(pool.sent) == {"command": 1, "system.multicall": 1}


def environ(pid: int | None) -> dict[str, str]:
    assert pid is not None
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if item)


def test_a_program_gets_its_argv_and_exactly_its_environment(
    programs: tuple[SupervisordPrograms, CountingPool],
) -> None:
    """A newline in an argument once broke the program's config; the programs got the SSH
    session's environment through supervisord, and supervisord's own variables."""
    service, pool = programs
    script = "import sys, time; open('/tmp/argv0', 'w').write(sys.argv[1]); time.sleep(600)"
    odd = 'it\'s\n"me" $HOME 100%'
    env = {"GREETING": odd, "OLD": "gone", "SLIPWAY_VERSION": "v1"}
    first = replace(instance("v1"), command=[sys.executable, "-c", script, odd], env=env)
    pool.call(service.start("h1", first))
    assert pool.run("h1", "cat /tmp/argv0").stdout == odd
    pidfile = pool.run("h1", f"cat {DEPLOY_TO}/.slipway/supervisor/supervisord.pid").stdout
    base = environ(int(pidfile))
    assert set(base) <= set(BASE_ENV) and "PATH" in base  # supervisord's own
    assert environ(running(service, pool)["h1-1_a"][1]) == {**base, **env}
    second = replace(first, version="v2", env={"GREETING": "bonjour", "SLIPWAY_VERSION": "v2"})
    pool.call(service.start("h1", second))
    assert environ(running(service, pool)["h1-1_a"][1]) == {**base, **second.env}


def test_a_program_the_hosts_supervisord_refuses_is_taken_back(
    programs: tuple[SupervisordPrograms, CountingPool],
) -> None:
    """Refused at ``reloadConfig`` (its log directory is gone), a program's config must not
    stay in programs/, where it would fail every later ``reloadConfig`` of the host."""
    service, pool = programs
    pool.call(service.ensure_up("h1"))
    run = f"{DEPLOY_TO}/.slipway/supervisor"
    pool.run("h1", f"rm -r {run}/logs")
    with pytest.raises(PermanentError, match="CANT_REREAD"):
        pool.call(service.start("h1", instance("v1")))
    files = pool.run("h1", f"ls {run}/programs").stdout.split()
    assert "inst-h1-1_a.conf" not in files, files
    pool.run("h1", f"mkdir {run}/logs")
    pool.call(service.start("h1", instance("v1")))
    assert running(service, pool)["h1-1_a"][0] == "v1"
