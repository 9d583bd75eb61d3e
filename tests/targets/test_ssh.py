"""The SSH target's services: your own commands on real hosts, systemd units as written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from slipway.backends import Backends
from slipway.backends.placement import read_placement
from slipway.clock import SystemClock
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store
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


def test_systemd_unit_runs_the_release_with_its_environment_file() -> None:
    service = SystemdService(None, "/srv/shop", app="shop", unit_dir="/etc/systemd/system")  # type: ignore[arg-type]
    spec = RemoteInstance(
        slot="web1-1_a",
        port=8000,
        version="v2",
        release_dir="/srv/shop/releases/v2",
        command=["python3", "server.py", "--name", "50% off $HOME"],
        env={"PORT": "8000"},
        stop_timeout_s=7,
    )
    unit = service.unit_text(spec)
    assert service.unit("web1-1_a") == "slipway-shop-web1-1_a.service"
    assert "WorkingDirectory=/srv/shop/releases/v2" in unit
    assert "TimeoutStopSec=7" in unit
    # systemd would expand % and $: they are doubled, and the argument stays one word
    assert "'50%% off $$HOME'" in unit
    assert "/srv/shop/.slipway/systemd/web1-1_a.env" in unit
    start = service.start_command(spec)
    assert "systemctl daemon-reload && systemctl restart slipway-shop-web1-1_a.service" in start
    assert service.stop_command("web1-1_a").startswith(
        "systemctl stop slipway-shop-web1-1_a.service || true; rm -f "
    )
