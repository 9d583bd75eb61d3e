"""The local target against a real supervisord and the sample app."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.engine import Engine
from slipway.errors import BackendError, PermanentError
from slipway.sockets import socket_dir
from slipway.spec import load_spec
from slipway.store import Store
from slipway.supervisord.launch import BASE_ENV
from slipway.supervisord.local import Supervisor
from slipway.targets.base import InstanceSpec
from slipway.targets.local import LocalTarget
from tests.conftest import BUILD, free_port_range, stop_environment
from tests.support.sample import write_sample_spec


@pytest.fixture
def target(tmp_path: Path) -> Iterator[LocalTarget]:
    supervisor = Supervisor(tmp_path / "run")
    local = LocalTarget("local", supervisor)
    local.ensure_up()
    try:
        yield local
    finally:
        supervisor.shutdown()


def release(tmp_path: Path, version: str) -> Path:
    out = tmp_path / "releases" / version
    if not out.exists():
        subprocess.run([sys.executable, str(BUILD), version, str(out)], check=True)
    return out


def spec(tmp_path: Path, version: str, port: int, slot: str = "web-1_a") -> InstanceSpec:
    return InstanceSpec(
        slot=slot,
        port=port,
        version=version,
        release_dir=release(tmp_path, version),
        command=[sys.executable, "server.py"],
        env={"GREETING": '\'a "quoted", 100% value, $HOME `id`'},
        stop_timeout_s=5,
    )


def wait_answering(port: int) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/")
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_supervisord_outlives_its_starter_and_shuts_down(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code = (
        "from pathlib import Path; from slipway.supervisord.local import Supervisor;"
        f"Supervisor(Path({str(run)!r})).ensure_running()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    supervisor = Supervisor(run)
    pid = supervisor.pid()
    try:
        assert supervisor.is_running() and pid is not None
        assert os.getsid(pid) == pid  # its own session: Ctrl-C of the CLI does not reach it
    finally:
        supervisor.shutdown()
    assert not supervisor.is_running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_start_is_idempotent_and_replaces_versions(target: LocalTarget, tmp_path: Path) -> None:
    port = free_port_range(1)
    target.start(spec(tmp_path, "v1", port))
    first = wait_answering(port).json()
    target.start(spec(tmp_path, "v1", port))  # same version: nothing happens
    assert wait_answering(port).json()["pid"] == first["pid"]
    target.start(spec(tmp_path, "v2", port))
    assert wait_answering(port).json()["version"] == "v2"
    (instance,) = target.instances()
    assert (instance.slot, instance.version, instance.running) == ("web-1_a", "v2", True)
    target.stop("web-1_a")
    target.stop("web-1_a")  # idempotent
    assert target.instances() == []


def test_env_values_reach_the_process_intact(target: LocalTarget, tmp_path: Path) -> None:
    port = free_port_range(1)
    instance = spec(tmp_path, "v1", port)
    target.start(instance)
    wait_answering(port)
    (state,) = target.instances()
    environ = Path(f"/proc/{state.pid}/environ").read_bytes().split(b"\0")
    assert b'GREETING=\'a "quoted", 100% value, $HOME `id`' in environ
    assert f"PORT={port}".encode() in environ


def test_an_instance_that_dies_at_start_is_a_permanent_error(
    target: LocalTarget, tmp_path: Path
) -> None:
    broken = InstanceSpec(
        slot="web-2_a",
        port=free_port_range(1),
        version="v1",
        release_dir=release(tmp_path, "v1"),
        command=[sys.executable, "-c", "import sys; print('cannot start: no config'); sys.exit(1)"],
    )
    with pytest.raises(PermanentError, match="cannot start: no config"):
        target.start(broken)


def test_a_state_directory_too_deep_for_unix_sockets_still_deploys(tmp_path: Path) -> None:
    """HAProxy allows 97 bytes for a log socket's path: a deep checkout or CI workspace must
    not break an environment, so its sockets go to a short private directory instead."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    spec = write_sample_spec(deep, count=1)
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    engine = Engine(env, store=store, backends=Backends.for_environment(env, clock=SystemClock()))
    try:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        sockets = socket_dir(env.state_dir / "run")
        assert len(str(sockets / "requests.sock")) < 97 and sockets.stat().st_mode & 0o777 == 0o700
        assert {p.name for p in sockets.iterdir()} >= {"sv.sock", "hap.sock"}
        listen = env.router.listen
        answer = httpx.get(f"http://{listen.host}:{listen.port}/", timeout=5)
        assert answer.status_code == 200 and "v1" in answer.text
    finally:
        store.close()
        stop_environment(env)


def test_a_newline_in_an_argument_reaches_the_instance_intact(
    target: LocalTarget, tmp_path: Path
) -> None:
    """``[sh, -c, "…\\n…"]`` is a legitimate command: supervisord's config cannot hold it, so it
    must not be written there."""
    port = free_port_range(1)
    script = f"echo starting >&2\nexec {shlex.quote(sys.executable)} server.py"
    target.start(replace(spec(tmp_path, "v1", port), command=["/bin/sh", "-c", script]))
    assert wait_answering(port).json()["version"] == "v1"
    (state,) = target.instances()
    assert state.running


def test_a_value_supervisord_cannot_hold_is_refused_and_the_environment_still_deploys(
    target: LocalTarget, tmp_path: Path
) -> None:
    """Once, a bad program file was left in programs/: every later reloadConfig failed, and the
    environment could be neither deployed nor rolled back until someone deleted it."""
    good = spec(tmp_path, "v1", free_port_range(1))
    odd = tmp_path / "rel\nease"
    shutil.copytree(good.release_dir, odd)
    with pytest.raises(PermanentError, match="control character"):
        target.start(replace(good, slot="web-2_a", release_dir=odd))
    programs = sorted(p.name for p in (tmp_path / "run" / "programs").iterdir())
    assert not any(name.startswith("inst-web-2_a") for name in programs), programs
    target.start(good)  # the environment still deploys
    assert wait_answering(good.port).json()["version"] == "v1"
    target.stop(good.slot)  # and takes things away
    assert target.instances() == []


def test_an_instance_gets_its_environment_and_nothing_of_the_runners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """supervisord once passed the environment of the CLI that started it to every instance."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s3cret@127.0.0.1/app")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.example.invalid/T0/B0/secret")
    supervisor = Supervisor(tmp_path / "run")
    local = LocalTarget("local", supervisor)
    try:
        local.ensure_up()
        port = free_port_range(1)
        first = replace(spec(tmp_path, "v1", port), env={"GREETING": "hello", "OLD": "gone"})
        local.start(first)
        wait_answering(port)
        base = {name for name in BASE_ENV if name in os.environ}
        assert environ_of(local) == {
            **{name: os.environ[name] for name in base},
            "GREETING": "hello",
            "OLD": "gone",
            "PORT": str(port),
            "SLIPWAY_VERSION": "v1",
            "SLIPWAY_SLOT": "web-1_a",
        }
        assert set(environ_of_pid(supervisor.pid())) == base  # supervisord itself
        second = replace(spec(tmp_path, "v2", port), env={"GREETING": "bonjour"})
        local.start(second)
        wait_answering(port)
        found = environ_of(local)
        assert (found["GREETING"], found["SLIPWAY_VERSION"]) == ("bonjour", "v2")
        assert "OLD" not in found
    finally:
        supervisor.shutdown()


def environ_of(target: LocalTarget) -> dict[str, str]:
    (state,) = target.instances()
    return environ_of_pid(state.pid)


def environ_of_pid(pid: int | None) -> dict[str, str]:
    assert pid is not None
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if item)


def test_a_run_directory_with_a_newline_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    run = tmp_path / "r\n[include]\nfiles=/x"
    with pytest.raises(PermanentError, match="control character"):
        Supervisor(run).ensure_running()
    assert not (run / "supervisord.conf").exists()


def test_a_program_whose_only_change_is_its_environment_is_redefined(tmp_path: Path) -> None:
    """The argv and environment live in the launch file, not in the config supervisord
    compares: its digest on the command line makes the change one supervisord sees."""
    supervisor = Supervisor(tmp_path / "run")
    code = "import time; time.sleep(600)"
    try:
        supervisor.ensure_running()
        for value in ("one", "two"):
            supervisor.put_program(
                "p",
                command=[sys.executable, "-c", code],
                directory=tmp_path,
                env={"VALUE": value},
                stop_timeout_s=2,
            )
            supervisor.start("p")
            info = supervisor.info("p")
            assert info is not None
            assert environ_of_pid(int(info["pid"]))["VALUE"] == value
    finally:
        supervisor.shutdown()


def test_a_program_supervisord_refuses_is_taken_back(tmp_path: Path) -> None:
    """Whatever supervisord refuses at ``reloadConfig`` (here: its log directory is gone) must
    not stay in programs/, where it would fail every later ``reloadConfig``."""
    supervisor = Supervisor(tmp_path / "run")
    try:
        supervisor.ensure_running()
        shutil.rmtree(tmp_path / "run" / "logs")
        with pytest.raises(BackendError, match="CANT_REREAD"):
            supervisor.put_program(
                "p", command=["sleep", "60"], directory=tmp_path, env={}, stop_timeout_s=1
            )
        assert not (tmp_path / "run" / "programs" / "p.conf").exists()
        (tmp_path / "run" / "logs").mkdir()
        supervisor.put_program(
            "q", command=["sleep", "60"], directory=tmp_path, env={}, stop_timeout_s=1
        )
        supervisor.start("q")
    finally:
        supervisor.shutdown()
