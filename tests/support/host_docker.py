"""A Docker engine inside a test host (``tests/support/hosts.py``): each host its own dockerd.

The engine runs in the host's network and mount namespaces (``nsenter`` into its sshd), so
it has the host's address and the host's private directories: its socket is the host's
``/run/docker.sock`` (which ``/var/run/docker.sock`` names there), its data under the host's
``/root``. Containers use the host's network — they listen on the host's own address — and
nothing is shared with another host or with this machine's engines. The test hosts' teardown
kills every process of the namespace (dockerd, its containerd, the containers), and the
mounts dockerd made live and die in the host's private mount namespace.

``write_docker_fleet_spec`` is the sample app on such a fleet: releases built here (the
test session's engine) from ``examples/app/Dockerfile``, sent to the hosts by Slipway.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support.dockerd import DOCKER, DOCKERD, PYTHON
from tests.support.hosts import TestFleet, TestHost
from tests.support.sample_docker import APP_DIR

START_TIMEOUT_S = 30.0
SOCKET = "/run/docker.sock"


def start_host_dockerd(host: TestHost, *, insecure_registries: Sequence[str] = ()) -> None:
    """Start a dockerd inside ``host``; return once it answers there. ``insecure_registries``:
    registries it may reach over plain HTTP (one on the test bridge, ``HOST:PORT``)."""
    if host.pid is None:
        raise RuntimeError(f"test host {host.name} is not running")
    dockerd = [
        DOCKERD, "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--bridge=none",
        "--exec-opt", "native.cgroupdriver=cgroupfs", "--data-root", "/root/docker",
        "--exec-root", "/run/docker", "-H", f"unix://{SOCKET}", "--pidfile", "/run/docker.pid",
    ]  # fmt: skip
    dockerd += [f"--insecure-registry={r}" for r in insecure_registries]
    script = "\n".join([*_cgroup_mounts(), f"exec {shlex.join(dockerd)}"])
    argv = ["nsenter", "-t", str(host.pid), "-m", *(["-n"] if host.netns else []), "sh", "-c"]
    log = (host.directory / "dockerd.log").open("ab")
    with log:
        process = subprocess.Popen(
            [*argv, script], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    # reaped whenever the hosts' teardown kills it (every process of the namespace)
    threading.Thread(target=process.wait, name=f"dockerd-{host.name}", daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if (host.directory / "run" / "docker.sock").exists():
            try:
                docker_on(host, "version", "--format", "{{.Server.Version}}")
                return
            except subprocess.CalledProcessError:
                pass
        time.sleep(0.1)
    tail = (host.directory / "dockerd.log").read_text(errors="replace")[-1500:]
    raise RuntimeError(f"dockerd of test host {host.name} did not answer: {tail}")


def _cgroup_mounts() -> list[str]:
    """Shell lines mounting this machine's cgroup hierarchies again inside a host: ``ip netns
    exec`` mounted a fresh /sys there, without them (the same hierarchies, so the kernel's
    limits and accounting are the machine's)."""
    lines = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = fields[4]
        kind, options = fields[fields.index("-") + 1], fields[-1]
        if not point.startswith("/sys/fs/cgroup") or kind not in ("tmpfs", "cgroup", "cgroup2"):
            continue
        wanted = ",".join(o for o in options.split(",") if o not in ("rw", "ro")) or "defaults"
        mount = shlex.join(["mount", "-t", kind, "-o", wanted, kind, point])
        lines.append(
            f"mountpoint -q {shlex.quote(point)} || {{ mkdir -p {shlex.quote(point)} && {mount}; }}"
        )
    return lines


def docker_on(host: TestHost, *args: str) -> str:
    """Debian's ``docker`` client inside ``host``, against its engine; its output."""
    return host.run_inside(shlex.join([DOCKER, "-H", f"unix://{SOCKET}", *args]))


def containers_on(host: TestHost) -> dict[str, str]:
    """name → version label of every container the host's engine has."""
    out = docker_on(host, "ps", "-a", "--format", '{{.Names}} {{.Label "slipway.version"}}')
    return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


def image_loads(host: TestHost, since: float) -> int:
    """How many images were loaded (``docker load``) into the host's engine since ``since``."""
    out = docker_on(
        host, "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
        "--filter", "type=image", "--filter", "event=load", "--format", "{{json .}}",
    )  # fmt: skip
    return sum(1 for line in out.splitlines() if line.strip() and json.loads(line))


DOCKER_FLEET_SPEC = """\
version: 1
app: {app}
state_dir: state
release:
  image:
    build:
      context: {context}
      args: {{VERSION: "{{version}}", BASE: {base}}}
  keep: 3
process:
  command: [python3, server.py]
  env: {{APP_GREETING: hello}}
  stop_timeout_s: 5
health:
  check: {{type: http, path: /health, timeout_s: 1}}
  interval_s: 0.1
  timeout_s: 20
  healthy_threshold: 2
  unhealthy_threshold: 3
strategy: {strategy}
{extra}environments:
  test:
    router: {{type: haproxy, host: {lb}, listen: "{lb_address}:8080", drain_timeout_s: 5}}
    instances: {{per_host: {per_host}, base_port: 9100}}
    targets:
      - type: ssh
        runtime: docker
        select: web
        key_file: {key_file}
        known_hosts: {known_hosts}
        deploy_to: /srv/{app}
        python: {python}
        connect_timeout_s: 3
        command_timeout_s: 20
        hosts:
{hosts}
"""


def write_docker_fleet_spec(
    directory: Path,
    fleet: TestFleet,
    *,
    app: str = "shop",
    per_host: int = 1,
    strategy: str = "{type: rolling, batch_size: 1, max_surge: 1, max_unavailable: 0}",
    workers: int = 0,
    extra: str = "",
) -> Path:
    """A ``slipway.yaml`` of the sample app as containers on ``fleet``: HAProxy on its last
    host (group ``lb``), the app on the ``workers`` hosts before it (group ``workers``) and on
    every other host (group ``web``)."""
    *rest, lb = fleet.hosts
    web, work = rest[: len(rest) - workers], rest[len(rest) - workers :]
    lines = [f"          {h.name}: {{address: {h.address}, groups: [web]}}" for h in web]
    lines += [f"          {h.name}: {{address: {h.address}, groups: [workers]}}" for h in work]
    lines.append(f"          {lb.name}: {{address: {lb.address}, groups: [lb]}}")
    path = directory / "slipway.yaml"
    path.write_text(
        DOCKER_FLEET_SPEC.format(
            app=app,
            context=APP_DIR,
            base=PYTHON,
            strategy=strategy,
            extra=extra,
            lb=lb.name,
            lb_address=lb.address,
            per_host=per_host,
            key_file=fleet.key_file,
            known_hosts=fleet.known_hosts,
            python=sys.executable,
            hosts="\n".join(lines),
        )
    )
    return path
