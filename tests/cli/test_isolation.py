"""What a deployment's processes get from the runner, and what two environments on one machine
get from each other: nothing. Real ``slipway`` runs, real supervisord, HAProxy and instances."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slipway.spec import load_spec
from slipway.supervisord.launch import BASE_ENV
from tests.conftest import stop_environment, write_spec

SLIPWAY = [sys.executable, "-m", "slipway"]
SECRETS = {
    "DATABASE_URL": "postgresql://app:s3cret-pw@127.0.0.1:5432/app",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/services/T0/B0/s3cret-token",
}


def slipway(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SLIPWAY, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def clones(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The sample app's spec in two checkouts, the second a copy of the first (same ports)."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = write_spec(tmp_path / "one")
    second = tmp_path / "two" / "slipway.yaml"
    second.write_text(first.read_text())
    try:
        yield first, second
    finally:
        for spec in (first, second):
            stop_environment(load_spec(spec).environment("test"))


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if item)


def haproxy_pids(spec: Path) -> list[int]:
    """HAProxy's master (the supervisord program) and its workers."""
    run = load_spec(spec).environment("test").state_dir / "run"
    code = (
        "import sys; from pathlib import Path; from slipway.supervisord.local import Supervisor; "
        "info = Supervisor(Path(sys.argv[1])).info('haproxy'); print(info['pid'] if info and "
        "info['statename'] == 'RUNNING' else 0)"
    )
    master = int(subprocess.check_output([sys.executable, "-c", code, str(run)], text=True))
    if not master:
        return []
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def with_env(spec: Path, env: str) -> None:
    text = spec.read_text()
    marker = "  stop_timeout_s: 5\n"
    text = text.replace(marker, marker + f"  env: {env}\n", 1)
    spec.write_text(text)


def test_instances_and_haproxy_get_nothing_of_the_runners_environment(
    clones: tuple[Path, Path],
) -> None:
    spec, _ = clones
    with_env(spec, "{GREETING: hello, OLD: gone}")
    deployed = slipway("deploy", "-f", spec, "--version", "v1", env=SECRETS)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    status = json.loads(slipway("status", "-f", spec, "-o", "json").stdout)
    pids = [i["pid"] for i in status["instances"] if i["serving"]]
    assert len(pids) == 3
    base = {name: os.environ[name] for name in BASE_ENV if name in os.environ}
    for pid in pids:
        found = environ(pid)
        slipway_own = {k: v for k, v in found.items() if k in ("PORT", "SLIPWAY_SLOT")}
        assert found == {
            **base,
            "GREETING": "hello",
            "OLD": "gone",
            "SLIPWAY_VERSION": "v1",
            **slipway_own,
        }
        assert set(slipway_own) == {"PORT", "SLIPWAY_SLOT"}
    hap = haproxy_pids(spec)
    assert len(hap) >= 2
    for pid in hap:
        names = {k for k in environ(pid) if not k.startswith("HAPROXY_")}  # HAProxy's own
        assert names <= set(BASE_ENV), (pid, names)
    # the next deploy's instances get the spec's environment as it is now
    spec.write_text(spec.read_text().replace("{GREETING: hello, OLD: gone}", "{GREETING: bonjour}"))
    deployed = slipway("deploy", "-f", spec, "--version", "v2", env=SECRETS)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    status = json.loads(slipway("status", "-f", spec, "-o", "json").stdout)
    for pid in [i["pid"] for i in status["instances"] if i["serving"]]:
        found = environ(pid)
        assert (found["GREETING"], found["SLIPWAY_VERSION"]) == ("bonjour", "v2")
        assert "OLD" not in found and not set(SECRETS) & set(found)


def test_a_second_checkout_on_the_same_port_fails_and_leaves_the_first_serving(
    clones: tuple[Path, Path],
) -> None:
    """Once, the second one's deploy failed but left its HAProxy up beside the first one's
    (SO_REUSEPORT): 15 of 20 requests to the first environment got 503."""
    first, second = clones
    assert slipway("deploy", "-f", first, "--version", "v1").returncode == 0
    failed = slipway("deploy", "-f", second, "--version", "v2")
    assert failed.returncode != 0
    assert "is held by pid" in failed.stdout + failed.stderr
    assert "haproxy -W -db -f" in failed.stdout + failed.stderr
    assert haproxy_pids(second) == []
    listen = load_spec(first).environment("test").router.listen
    with httpx.Client() as client:
        answers = [client.get(f"http://{listen}/") for _ in range(20)]
    assert [(a.status_code, a.headers.get("X-Release")) for a in answers] == [(200, "v1")] * 20


def test_plan_says_what_listens_beyond_loopback(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    listen = load_spec(spec).environment("test").router.listen
    spec.write_text(
        spec.read_text().replace(f'"127.0.0.1:{listen.port}"', f'"0.0.0.0:{listen.port}"')
    )
    text = slipway("plan", "-f", spec, "--version", "v1")
    assert text.returncode == 0, text.stderr
    assert (
        f"listens beyond loopback:\n  0.0.0.0:{listen.port}: the app, through HAProxy"
        in text.stdout
    )
    data = json.loads(slipway("plan", "-f", spec, "--version", "v1", "-o", "json").stdout)
    assert data["exposed"] == [f"0.0.0.0:{listen.port}: the app, through HAProxy"]
