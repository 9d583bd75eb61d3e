"""Benchmark: one small deployment fanned out to N SSH hosts, by Slipway and by its peers.

Prints JSON. ``--hosts N`` measures N hosts::

    {"hosts": N, "results": {"slipway": {"wall_s": x, "peak_rss_mb": x, "cpu_s": x,
     "machine_cpu_s": x, "ok": true}, "ansible": {...}, "pyinfra": {...}, "fabric": {...},
     "asyncssh": {...}}, "ratios": {...}}

without it, 10, 50 and 100 hosts (``{"runs": [...]}``). Every tool does the same
deployment, on its own fresh test hosts (``tests.support.hosts``: one sshd per
network namespace): upload a 5 MB release, unpack it into
``releases/<version>/``, switch ``current``, restart the service (a
supervisord program, ``startsecs`` 1 for every tool), pass an HTTP health
check. A first deployment (v1) warms every tool up and is not timed; the
second (v2, a new 5 MB blob) is: wall time of the tool's own command, and the
peak resident memory of its whole process tree (Ansible's forks included),
sampled every 20 ms; its CPU time (``cpu_s``, user + system, its children included) and
the CPU time of the whole machine meanwhile (``machine_cpu_s``, every core, the test hosts'
sshd, tar and services included: on two cores a large fleet keeps the machine busy, and the
tool's own share is what it can still save). Afterwards every host is asked which release
answers: ``ok`` says all of them serve v2.

- **slipway**: ``slipway deploy`` on a fleet spec: rolling, the whole fleet in
  one batch (``batch_size: 100%``, ``max_surge: 100%``), ``max_parallel`` = N;
  it also drives HAProxy on one more host (the LB) and health-checks from here.
- **ansible**: ``ansible-playbook`` (ansible-core), forks = N, pipelining on,
  OpenSSH with ControlPersist, host keys checked.
- **pyinfra**: ``pyinfra --parallel N``.
- **fabric**: a ``Connection`` per host in N threads (``put`` + ``run``).
- **asyncssh**: a bare asyncssh script, the lower bound: per host one
  connection, the upload streamed into ``tar``, one more command for the rest.

Connecting may take 60 s for Slipway and pyinfra (both default to 10 s, which a few of 400
hosts on two cores missed); Fabric (paramiko) and asyncssh wait without a limit by default.

Peers run from their own virtualenv, ``bench/.venv-peers`` (Python >= 3.12 for
ansible-core), made on first use from ``bench/peers-requirements.txt``.
``--quick`` does one run per tool and size instead of the median of three.

Run: ``.venv/bin/python bench/fanout.py [--hosts N] [--quick] [--tools a,b]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.support.hosts: the test hosts the tests start

from tests.support.hosts import TestFleet, test_hosts  # noqa: E402
from tests.support.sample import SAMPLE_BUILD  # noqa: E402

PEERS_VENV = HERE / ".venv-peers"
PEERS = HERE / "peers"
TOOLS = ("slipway", "ansible", "pyinfra", "fabric", "asyncssh")
BLOB_MB = 5
PEER_PORT = 9200
DEPLOY_TO = "/srv/bench"
TIMEOUT_S = 900


def peers_python() -> Path:
    """The benchmark-only virtualenv of the peers, made on first use."""
    python = PEERS_VENV / "bin" / "python"
    if python.exists():
        return python
    candidates = sorted(Path("/root/.pyenv/versions").glob("3.1[3-9]*/bin/python"))
    base = str(candidates[-1]) if candidates else shutil.which("python3.13") or "python3.12"
    subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(HERE / "peers-requirements.txt")],
        check=True,
    )
    return python


def make_release(directory: Path, version: str) -> Path:
    """The sample app plus a 5 MB blob that differs per version (incompressible)."""
    out = directory / "releases" / version
    subprocess.run([sys.executable, str(SAMPLE_BUILD), version, str(out)], check=True)
    blob = random.Random(version).randbytes(BLOB_MB * 1024 * 1024)
    (out / "blob.bin").write_bytes(blob)
    tarball = directory / f"{version}.tar"
    subprocess.run(["tar", "-cf", str(tarball), "-C", str(out), "."], check=True)
    return tarball


class TreeMemory:
    """Peak summed RSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.02):
            self.peak_kb = max(self.peak_kb, self._sample())

    def _sample(self) -> int:
        parents: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/status") as fh:
                    fields = dict(line.split(":", 1) for line in fh if ":" in line)
            except OSError:
                continue
            pid = int(entry.name)
            parents[pid] = int(fields.get("PPid", "0").strip() or 0)
            rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0] or 0)
        tree, frontier = {self.pid}, [self.pid]
        children: dict[int, list[int]] = {}
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        while frontier:
            for child in children.get(frontier.pop(), []):
                if child not in tree:
                    tree.add(child)
                    frontier.append(child)
        return sum(rss.get(pid, 0) for pid in tree)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return round(self.peak_kb / 1024, 1)


def machine_busy_s() -> float:
    """CPU seconds this machine's cores have been busy since boot (all of them, /proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall time, peak memory and CPU time of one command; and how busy the whole machine was
    meanwhile (the test hosts share its cores with the tool)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = machine_busy_s()
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    memory = TreeMemory(process.pid)
    output, _ = process.communicate(timeout=TIMEOUT_S)
    wall = time.monotonic() - started
    busy = machine_busy_s() - busy
    peak = memory.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited with {process.returncode}:\n{output[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": peak,
        "cpu_s": round(cpu, 2),
        "machine_cpu_s": round(busy, 2),
    }


def serving(address: str, port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/", timeout=5) as answer:
            return str(json.loads(answer.read())["version"])
    except (OSError, ValueError, KeyError):
        return None


# Slipway


SLIPWAY_SPEC = """\
version: 1
app: bench
state_dir: state
release: {{path: "releases/{{version}}", keep: 3}}
process: {{command: [python3, server.py], stop_timeout_s: 5}}
health:
  check: {{type: http, path: /health, timeout_s: 2}}
  interval_s: 0.1
  timeout_s: 60
  healthy_threshold: 2
strategy: {{type: rolling, batch_size: 100%, max_surge: 100%}}
environments:
  bench:
    router: {{type: haproxy, host: lb, listen: "{lb}:8080", drain_timeout_s: 5}}
    instances: {{per_host: 1, base_port: 9100}}
    targets:
      - type: ssh
        select: web
        key_file: {key}
        known_hosts: {known_hosts}
        deploy_to: {deploy_to}
        service: {{type: supervisord, python: {python}}}
        max_parallel: {parallel}
        command_timeout_s: 120
        connect_timeout_s: 60
        hosts:
{hosts}
"""


def run_slipway(
    fleet: TestFleet, work: Path, *, launcher: tuple[str, ...] = (sys.executable, "-m", "slipway")
) -> dict[str, Any]:
    """v1 (untimed), then v2 timed; ``launcher`` runs ``slipway`` (``bench/footprint.py``
    puts itself in front to see what the deploying process imports)."""
    *web, lb = fleet.hosts
    hosts = [f"          {h.name}: {{address: {h.address}, groups: [web]}}" for h in web]
    hosts.append(f"          lb: {{address: {lb.address}}}")
    spec = work / "slipway.yaml"
    spec.write_text(
        SLIPWAY_SPEC.format(
            lb=lb.address,
            key=fleet.key_file,
            known_hosts=fleet.known_hosts,
            deploy_to=DEPLOY_TO,
            python=sys.executable,
            parallel=len(web),
            hosts="\n".join(hosts),
        )
    )
    deploy = [*launcher, "deploy", "-f", str(spec)]
    timed([*deploy, "--version", "v1"], cwd=work)
    result = timed([*deploy, "--version", "v2"], cwd=work)
    answers = {serving(h.address, 9101) for h in web}
    result["ok"] = answers == {"v2"}
    return result


# the peers: a supervisord program `app` in DEPLOY_TO/current on every host, set up untimed


SUPERVISOR_CONF = """\
[unix_http_server]
file = {d}/sv/sv.sock
[supervisord]
pidfile = {d}/sv/supervisord.pid
logfile = {d}/sv/supervisord.log
directory = {d}/sv
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl = unix://{d}/sv/sv.sock
[program:app]
command = python3 server.py
directory = {d}/current
environment = PORT="{port}",SLIPWAY_ADDRESS="%(ENV_BENCH_ADDRESS)s"
autostart = false
startsecs = 1
stopasgroup = true
redirect_stderr = true
stdout_logfile = {d}/sv/app.log
"""


def setup_peer_hosts(fleet: TestFleet) -> None:
    """Each host: an empty layout and a supervisord owning the program `app` (not timed)."""
    conf = SUPERVISOR_CONF.format(d=DEPLOY_TO, port=PEER_PORT)
    procs = []
    for host in fleet.hosts:
        script = (
            f"mkdir -p {DEPLOY_TO}/sv {DEPLOY_TO}/releases {DEPLOY_TO}/shared && "
            f"cat > {DEPLOY_TO}/sv/supervisord.conf && "
            f"BENCH_ADDRESS={host.address} {sys.executable} -m supervisor.supervisord "
            f"-c {DEPLOY_TO}/sv/supervisord.conf"
        )
        procs.append(
            subprocess.Popen(
                [
                    "ssh",
                    "-i",
                    str(fleet.key_file),
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    f"UserKnownHostsFile={fleet.known_hosts}",
                    "-o",
                    "StrictHostKeyChecking=yes",
                    f"root@{host.address}",
                    script,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
            )
        )
        procs[-1].communicate(conf.encode(), timeout=60)
    if any(p.returncode for p in procs):
        raise RuntimeError("setting up supervisord on the test hosts failed")


def peer_config(fleet: TestFleet, work: Path, version: str, tarball: Path) -> Path:
    config = work / f"peer-{version}.json"
    config.write_text(
        json.dumps(
            {
                "hosts": [h.address for h in fleet.hosts],
                "key_file": str(fleet.key_file),
                "known_hosts": str(fleet.known_hosts),
                "tarball": str(tarball),
                "version": version,
                "deploy_to": DEPLOY_TO,
                "port": PEER_PORT,
                "supervisorctl": f"{sys.executable} -m supervisor.supervisorctl "
                f"-c {DEPLOY_TO}/sv/supervisord.conf",
                "work": str(work),
            }
        )
    )
    return config


def run_peer(tool: str, fleet: TestFleet, work: Path, tarballs: dict[str, Path]) -> dict[str, Any]:
    python = peers_python()
    setup_peer_hosts(fleet)
    env = {"PATH": f"{python.parent}:{os.environ['PATH']}"}
    for version in ("v1", "v2"):
        config = peer_config(fleet, work, version, tarballs[version])
        result = timed(
            [str(python), str(PEERS / f"{tool}_deploy.py"), str(config)], cwd=work, env=env
        )
    answers = {serving(h.address, PEER_PORT) for h in fleet.hosts}
    result["ok"] = answers == {"v2"}
    return result


def one(tool: str, hosts: int, base: Path) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"{tool}-", dir=base))
    tarballs = {v: make_release(work, v) for v in ("v1", "v2")}
    extra = 1 if tool == "slipway" else 0  # Slipway also drives HAProxy on an LB host
    with test_hosts(hosts + extra, work / "hosts") as fleet:
        if tool == "slipway":
            return run_slipway(fleet, work)
        return run_peer(tool, fleet, work, tarballs)


def measure(hosts: int, *, runs: int, tools: list[str], base: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for tool in tools:
        samples = [one(tool, hosts, base) for _ in range(runs)]
        results[tool] = {
            "wall_s": round(statistics.median(s["wall_s"] for s in samples), 2),
            "peak_rss_mb": round(statistics.median(s["peak_rss_mb"] for s in samples), 1),
            "cpu_s": round(statistics.median(s["cpu_s"] for s in samples), 2),
            "machine_cpu_s": round(statistics.median(s["machine_cpu_s"] for s in samples), 2),
            "ok": all(s["ok"] for s in samples),
            **({"runs_wall_s": [s["wall_s"] for s in samples]} if runs > 1 else {}),
        }
    mine = results.get("slipway")
    ratios = {}
    if mine:
        for tool, peer in results.items():
            if tool != "slipway" and peer["wall_s"]:
                ratios[f"slipway/{tool}"] = {
                    "wall": round(mine["wall_s"] / peer["wall_s"], 2),
                    "memory": round(mine["peak_rss_mb"] / peer["peak_rss_mb"], 2),
                }
    return {"hosts": hosts, "results": results, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, help="one fleet size (default: 10, 50 and 100)")
    parser.add_argument("--quick", action="store_true", help="one run per tool, not 3")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset")
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; known: {', '.join(TOOLS)}")
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        sizes = [args.hosts] if args.hosts else [10, 50, 100]
        measured = [measure(n, runs=runs, tools=tools, base=Path(tmp)) for n in sizes]
    print(json.dumps(measured[0] if args.hosts else {"runs": measured}, indent=2))


if __name__ == "__main__":
    main()
