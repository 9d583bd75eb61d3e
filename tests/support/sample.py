"""Helpers for tests and benchmarks: free loopback ports and a spec of the sample app.

Like ``kopf.testing``, this ships with the package so that ``tests/`` and
``bench/`` (and a user's own tests) build environments the same way.
It needs a checkout of Slipway for ``examples/app``.
"""

from __future__ import annotations

import json
import random
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BUILD = ROOT / "examples" / "app" / "build.py"

SAMPLE_SPEC = """\
version: 1
app: {app}
state_dir: state
release:
  build: {python} {build} {{version}} {{output}}
  keep: 3
process:
  command: [{python}, server.py]
  stop_timeout_s: 5{process_env}
health:
  check: {{type: http, path: /health, timeout_s: 1}}
  interval_s: {interval_s}
  timeout_s: 15
  healthy_threshold: 2
  unhealthy_threshold: 3
strategy: {strategy}
on_interrupt: {on_interrupt}
environments:
  {environment}:
    router: {{type: haproxy, listen: "127.0.0.1:{listen}", drain_timeout_s: 10{router_extra}}}
    instances: {{count: {count}, base_port: {base}}}
"""


ROLLING = "{type: rolling, batch_size: 1, max_surge: 1, max_unavailable: 0}"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port_range(size: int) -> int:
    """First of ``size`` consecutive free loopback ports, outside the ephemeral range.

    Ports the kernel hands to outgoing connections (HAProxy's to its servers, the traffic
    generator's) must not be used for servers: a client may be given the very port a server
    is about to listen on, and even connect to itself there. Best effort: another process may
    still take a port before it is used.
    """
    low, high = _ephemeral_range()
    choices = [p for p in range(10_000, 65_000 - size) if p + size < low or p > high]
    for _ in range(200):
        base = random.choice(choices)
        if all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free range of loopback ports")


def write_sample_spec(
    directory: Path,
    *,
    app: str = "shop",
    environment: str = "test",
    count: int = 3,
    on_interrupt: str = "resume",
    interval_s: float = 0.1,
    strategy: str = ROLLING,
    metrics_port: int | None = None,
    extra: str = "",
    process_env: dict[str, str] | None = None,
) -> Path:
    """A ``slipway.yaml`` of the sample app in ``directory``, on free loopback ports.

    ``strategy`` is the YAML of its ``strategy:`` (indented for a block under it, or a
    flow mapping); ``extra`` is appended (more top-level sections, or the environment's
    when indented by four); ``process_env`` is the instances' ``process.env``.
    """
    base = free_port_range(2 * count + 1)
    path = directory / "slipway.yaml"
    path.write_text(
        SAMPLE_SPEC.format(
            app=app,
            python=sys.executable,
            build=SAMPLE_BUILD,
            interval_s=interval_s,
            strategy=strategy,
            router_extra=f", metrics_port: {metrics_port}" if metrics_port else "",
            process_env=f"\n  env: {json.dumps(process_env)}" if process_env else "",
            on_interrupt=on_interrupt,
            environment=environment,
            listen=base + 2 * count,
            count=count,
            base=base,
        )
        + extra
    )
    return path
