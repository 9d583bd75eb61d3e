"""The SSH target's services: your own commands on real hosts, systemd units as written."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from slipway.backends import Backends
from slipway.backends.placement import read_placement
from slipway.clock import SystemClock
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store
from slipway.supervisord.remote import launch_script
from slipway.targets.ssh_services import RemoteInstance, SystemdService
from tests.support.hosts import TestFleet, write_fleet_spec

COMMANDS = (
    "{type: command,"
    ' start: [sh, -c, "nohup \\"$0\\" server.py >/srv/shop/{slot}.log 2>&1 &'
    ' echo $! >/srv/shop/{slot}.pid", python3],'
    ' stop: [sh, -c, "kill $(cat /srv/shop/{slot}.pid) && rm /srv/shop/{slot}.pid"],'
    ' status: [sh, -c, "test -f /srv/shop/{slot}.pid && kill -0 $(cat /srv/shop/{slot}.pid)"]}'
)


def test_command_service_starts_checks_and_stops_with_your_commands(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(3)
    spec = write_fleet_spec(
        tmp_path,
        fleet,
        strategy="{type: rolling, batch_size: 100%, max_surge: 100%}",
        service=COMMANDS,
    )
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        engine = Engine(env, store=store, backends=backends)
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        second = engine.deploy("v2")
        assert second.exit_code == 0, second.deployment.reason
        live = {p.slot: (p.version, p.serving) for p in read_placement(backends)}
        assert live == {"h1-1_b": ("v2", True), "h2-1_b": ("v2", True)}
        assert not (fleet.host("h1").srv / "shop" / "h1-1_a.pid").exists()  # v1 stopped
        assert (fleet.host("h1").srv / "shop" / "h1-1_b.pid").exists()
    finally:
        backends.close()
        store.close()


def test_systemd_unit_runs_the_release_with_its_argv_and_environment(tmp_path: Path) -> None:
    """The unit passes systemd's own parser (``systemd-analyze verify``); what its ExecStart
    runs gets the argv (a newline, ``%``, ``$`` and quotes in it) and exactly the environment.
    An argument with a newline once went onto ExecStart, which systemd refused."""
    state = tmp_path / "srv"
    service = SystemdService(None, str(state), app="shop", unit_dir="/etc/systemd/system")  # type: ignore[arg-type]
    report = "import json, os, sys; print(json.dumps([sys.argv[1:], dict(os.environ)]))"
    odd = "50% off $HOME\nand 'more' \"here\""
    spec = RemoteInstance(
        slot="web1-1_a",
        port=8000,
        version="v2",
        release_dir=str(tmp_path),
        command=[sys.executable, "-c", report, "--name", odd],
        env={"PORT": "8000", "QUOTED": odd},
        stop_timeout_s=7,
    )
    unit = service.unit_text(spec)
    assert service.unit("web1-1_a") == "slipway-shop-web1-1_a.service"
    assert f"WorkingDirectory={tmp_path}" in unit
    assert "TimeoutStopSec=7" in unit
    unit_file = tmp_path / service.unit("web1-1_a")
    unit_file.write_text(unit)
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    # run ExecStart as systemd would: `$$` and `%%` undoubled, words split, a bare environment
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(exec_start.removeprefix("ExecStart=").replace("$$", "$").replace("%%", "%"))
    (state / ".slipway" / "systemd").mkdir(parents=True)
    (state / ".slipway" / "systemd" / "web1-1_a.env").write_text(
        launch_script(spec.env, spec.command)
    )
    bare = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "INVOCATION_ID": "x"}  # systemd's
    ran = subprocess.run(argv, capture_output=True, text=True, check=True, env=bare)
    args, environ = json.loads(ran.stdout)
    assert args == ["--name", odd]
    assert environ == {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PORT": "8000", "QUOTED": odd}
    start = service.start_command(spec)
    assert "systemctl daemon-reload && systemctl restart slipway-shop-web1-1_a.service" in start
    assert service.stop_command("web1-1_a").startswith(
        "systemctl stop slipway-shop-web1-1_a.service || true; rm -f "
    )
