"""Test hosts: N real SSH servers on this machine, for tests and benchmarks of fleets.

Each host is a network namespace (``ip netns``) joined to a bridge by a veth
pair, with its own address in 198.18.0.0/15 (RFC 2544's range for network
benchmarks, never routed), and its own ``sshd`` with its own host key. sshd
runs in its own mount namespace (``unshare --mount``) where ``/tmp``,
``/root``, ``/run`` and ``/srv`` are the host's private directories, so two
hosts never see each other's deploy directory or runtime sockets, while the
Python installation and the project's virtualenv (shared file system) stay
usable on every host. Where network namespaces cannot be made, each host gets
its own 127.x.y.z address on loopback instead (same private directories).

``test_hosts`` tears everything down even when the code using it fails: every
process inside a host's namespace (sshd, the supervisord and the instances
deployed there) is killed by the PID the kernel lists for that namespace, then
the namespaces, links and bridge are deleted. Names carry this process's PID,
so parallel test runs never collide.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import asyncssh

Mode = Literal["auto", "netns", "loopback"]
SSHD = "/usr/sbin/sshd"
START_TIMEOUT_S = 20.0
_counter = itertools.count(1)

SSHD_CONFIG = """\
ListenAddress {listen}
HostKey /run/th/host_key
PidFile /run/sshd.pid
AuthorizedKeysFile /run/th/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
MaxStartups 500
MaxSessions 500
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
Subsystem sftp internal-sftp
LogLevel ERROR
"""


@dataclass
class TestHost:
    """One test host: where to reach it and where its private directories are."""

    __test__ = False  # not a pytest test class

    name: str
    address: str
    port: int
    directory: Path  # its /tmp, /root, /run and /srv are sub-directories of this
    host_key: asyncssh.SSHKey
    netns: str | None = None
    link: str | None = None  # the root-side end of its veth pair
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)  # its sshd

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def srv(self) -> Path:
        """The host's /srv, seen from outside it."""
        return self.directory / "srv"

    def known_hosts_line(self) -> str:
        pattern = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        return f"{pattern} {self.host_key.export_public_key().decode().strip()}"

    def fingerprint(self) -> str:
        return str(self.host_key.get_fingerprint())

    def cut(self) -> None:
        """Cut the host off the network (its link down), as a failed switch port would."""
        if self.link is None:
            raise RuntimeError("only network-namespace hosts can be cut off")
        _ip("link", "set", self.link, "down")

    def run_inside(self, script: str) -> str:
        """Run ``script`` with ``sh`` inside the host (its mount and network namespaces)."""
        if self.pid is None:
            raise RuntimeError(f"test host {self.name} is not running")
        found = subprocess.run(
            [
                "nsenter",
                "-t",
                str(self.pid),
                "-m",
                *(["-n"] if self.netns else []),
                "sh",
                "-c",
                script,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return found.stdout

    def reconnect(self) -> None:
        if self.link is not None:
            _ip("link", "set", self.link, "up")


@dataclass
class TestFleet:
    """The hosts, the client key that logs in to all of them, and a known_hosts trusting them."""

    __test__ = False

    hosts: list[TestHost]
    directory: Path
    key_file: Path
    known_hosts: Path
    mode: Literal["netns", "loopback"]
    bridge: str | None = None
    gateway: str | None = None  # this side's address on the bridge
    _namespaces: list[str] = field(default_factory=list)

    def host(self, name: str) -> TestHost:
        return next(h for h in self.hosts if h.name == name)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def netns_possible() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"slipway-probe-{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except (subprocess.CalledProcessError, OSError):
        return False
    with contextlib.suppress(subprocess.CalledProcessError):
        _ip("netns", "del", probe)
    return True


def _free_subnet(count: int) -> ipaddress.IPv4Network:
    """The smallest subnet of 198.18.0.0/15 holding a gateway and ``count`` hosts (a /24 up to
    253 hosts; larger for the benchmarks' bigger fleets) that no interface here overlaps;
    chosen from the PID first."""
    prefix = 24
    while (1 << (32 - prefix)) - 2 < count + 1:
        prefix -= 1
    used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=False)
    taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for token in used.stdout.split():
        with contextlib.suppress(ValueError):
            taken.append(ipaddress.ip_interface(token).network)
    subnets = list(ipaddress.IPv4Network("198.18.0.0/15").subnets(new_prefix=prefix))
    start = (os.getpid() * 7 + next(_counter)) % len(subnets)
    for net in subnets[start:] + subnets[:start]:
        if not any(net.overlaps(other) for other in taken):
            return net
    raise RuntimeError(f"no free /{prefix} in 198.18.0.0/15 for {count} test hosts")


PRIVATE = ("/root", "/tmp", "/srv")  # each host has its own (and its own /run)
ROOT = Path(__file__).resolve().parents[2]  # this checkout: its venv, src/ and examples/


def _passthrough_dirs(also: Sequence[Path] = ()) -> list[str]:
    """What of the runner's private directories a host must still see: the Python of this
    process (pyenv under /root, a venv in a checkout under /tmp) and the checkout itself
    (the editable install's src/, the sample app). The first entry below /root, /tmp or /srv
    of each, so a clone under /tmp runs its tests as well as one anywhere else."""
    keep = set()
    paths = [Path(sys.executable).resolve(), Path(sys.prefix), Path(sys.base_prefix).resolve()]
    for path in [*paths, ROOT, *also]:
        parts = path.absolute().parts
        if len(parts) > 2 and f"/{parts[1]}" in PRIVATE:
            keep.add(f"/{parts[1]}/{parts[2]}")
    return sorted(keep)


def _boot_script(directory: Path, also: Sequence[Path] = ()) -> str:
    """Run in the host's new mount namespace: private dirs, then exec sshd."""
    d = shlex.quote(str(directory))
    lines = [
        "set -e",
        f"mount --bind {d}/run /run",
        "mkdir -p /run/th /run/sshd /run/keep",
        f"mount --bind {d} /run/th",
    ]
    keep = _passthrough_dirs(also)
    for i, path in enumerate(keep):  # held aside while the private dirs go over them
        lines += [f"mkdir -p /run/keep/{i}", f"mount --bind {shlex.quote(path)} /run/keep/{i}"]
    lines += [f"mount --bind /run/th/{p[1:]} {p}" for p in PRIVATE]
    for i, path in enumerate(keep):
        lines += [
            f"mkdir -p {shlex.quote(path)}",
            f"mount --bind /run/keep/{i} {shlex.quote(path)}",
        ]
    lines.append(f"exec {SSHD} -D -e -f /run/th/sshd_config")
    return "\n".join(lines)


def _start_host(host: TestHost, client_public: str, also: Sequence[Path] = ()) -> None:
    d = host.directory
    for sub in ("run", "root", "tmp", "srv"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(d / "tmp", 0o1777)
    key = d / "host_key"
    key.write_bytes(host.host_key.export_private_key())
    key.chmod(0o600)
    (d / "authorized_keys").write_text(client_public + "\n")
    listen = host.address if host.port == 22 else f"{host.address}:{host.port}"
    (d / "sshd_config").write_text(SSHD_CONFIG.format(listen=listen))
    prefix = ["ip", "netns", "exec", host.netns] if host.netns else []
    argv = [*prefix, "unshare", "--mount", "--propagation", "private", "sh", "-c"]
    with (d / "sshd.log").open("wb") as log:
        process = subprocess.Popen(
            [*argv, _boot_script(d, also)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    host.process = process


def _wait_listening(hosts: list[TestHost]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = list(hosts)
    while pending:
        host = pending[0]
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host.address, host.port)) == 0:
                pending.pop(0)
                continue
        if time.monotonic() > deadline:
            log = (host.directory / "sshd.log").read_text(errors="replace")[-800:]
            raise RuntimeError(f"sshd of test host {host.name} did not start: {log}")
        time.sleep(0.05)


def _make_netns(fleet: TestFleet, count: int, tag: str) -> None:
    net = _free_subnet(count)
    addresses = list(net.hosts())
    fleet.bridge = f"sb{tag}"
    fleet.gateway = str(addresses[0])
    _ip("link", "add", fleet.bridge, "type", "bridge")
    _ip("addr", "add", f"{fleet.gateway}/{net.prefixlen}", "dev", fleet.bridge)
    _ip("link", "set", fleet.bridge, "up")
    for i, host in enumerate(fleet.hosts):
        host.netns = f"slipway-{os.getpid()}-{tag}-{host.name}"
        host.link = f"sv{tag}h{i:x}"
        host.address = str(addresses[i + 1])
        fleet._namespaces.append(host.netns)
        _ip("netns", "add", host.netns)
        batch = "\n".join(
            [
                f"link add {host.link} type veth peer name eth0 netns {host.netns}",
                f"link set {host.link} master {fleet.bridge}",
                f"link set {host.link} up",
            ]
        )
        subprocess.run(["ip", "-batch", "-"], input=batch, text=True, check=True, timeout=30)
        inner = "\n".join(
            [
                "link set lo up",
                f"addr add {host.address}/{net.prefixlen} dev eth0",
                "link set eth0 up",
            ]
        )
        subprocess.run(
            ["ip", "-n", host.netns, "-batch", "-"], input=inner, text=True, check=True, timeout=30
        )


def _loopback_addresses(fleet: TestFleet) -> None:
    third = os.getpid() % 250 + 1
    fourth = next(_counter) % 200
    for i, host in enumerate(fleet.hosts):
        host.address = f"127.{third}.{fourth}.{i + 2}"


@contextlib.contextmanager
def test_hosts(
    count: int, directory: Path, *, mode: Mode = "auto", keep: Sequence[Path] = ()
) -> Iterator[TestFleet]:
    """``count`` running test hosts named ``h1`` … ``hN``; all torn down on exit.

    ``keep``: more paths of this machine the hosts must see although they lie in a directory
    that is private to each host (the runner's Python and this checkout always are)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    chosen: Literal["netns", "loopback"] = (
        mode if mode != "auto" else "netns" if netns_possible() else "loopback"
    )
    tag = f"{os.getpid():x}{next(_counter):x}"
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    client = asyncssh.generate_private_key("ssh-ed25519")
    key_file = directory / "id_ed25519"
    key_file.write_bytes(client.export_private_key())
    key_file.chmod(0o600)
    hosts = [
        TestHost(
            name=f"h{i + 1}",
            address="",
            port=22,
            directory=directory / "hosts" / f"h{i + 1}",
            host_key=asyncssh.generate_private_key("ssh-ed25519"),
        )
        for i in range(count)
    ]
    fleet = TestFleet(hosts, directory, key_file, directory / "known_hosts", chosen)
    neighbours = _roomy_neighbour_table(count) if chosen == "netns" else {}
    try:
        if chosen == "netns":
            _make_netns(fleet, count, tag)
        else:
            _loopback_addresses(fleet)
        public = client.export_public_key().decode().strip()
        for host in hosts:
            _start_host(host, public, keep)
        fleet.known_hosts.write_text("".join(h.known_hosts_line() + "\n" for h in hosts))
        _wait_listening(hosts)
        yield fleet
    finally:
        _teardown(fleet)
        _restore(neighbours)


NEIGHBOUR_SYSCTLS = "/proc/sys/net/ipv4/neigh/default/gc_thresh{}"


def _roomy_neighbour_table(count: int) -> dict[str, str]:
    """Room in the kernel's ARP table for ``count`` hosts; what it was, to put back.

    The table and its limits are the machine's, shared by every network namespace: this one
    knows each host, each host knows the gateway and its load balancer, and the load balancer
    knows every host — ~3 entries per host. Past ``gc_thresh3`` (1,024 by default, so ~300
    hosts) the kernel logs "neighbor table overflow" and drops packets to addresses it cannot
    resolve: TCP connections to some hosts stall and a fleet's deployment fails for the test
    kit's reasons, not the tool's."""
    wanted = {"1": 8 * count, "2": 16 * count, "3": 32 * count}
    before: dict[str, str] = {}
    for level, value in wanted.items():
        path = Path(NEIGHBOUR_SYSCTLS.format(level))
        current = path.read_text().strip()
        if int(current) < value:
            before[level] = current
            path.write_text(str(value))
    return before


def _restore(before: dict[str, str]) -> None:
    for level, value in before.items():
        with contextlib.suppress(OSError):
            Path(NEIGHBOUR_SYSCTLS.format(level)).write_text(value)


def _namespace_pids(host: TestHost) -> set[int]:
    """Every process started on the host: in its network namespace, or under its sshd."""
    pids: set[int] = set()
    if host.netns:
        found = subprocess.run(
            ["ip", "netns", "pids", host.netns], capture_output=True, text=True, check=False
        )
        pids |= {int(p) for p in found.stdout.split() if p.isdigit()}
    if host.pid is not None:
        pids |= _same_mount_ns(host.pid)
    return pids


def _same_mount_ns(pid: int) -> set[int]:
    """Processes sharing sshd's mount namespace: what was started on a loopback host."""
    try:
        mine = os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return set()
    if mine == os.readlink("/proc/self/ns/mnt"):
        return set()  # sshd never got its own namespace: nothing there is the host's alone
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(entry / "ns" / "mnt") == mine:
                found.add(int(entry.name))
    return found


def _teardown(fleet: TestFleet) -> None:
    for host in fleet.hosts:
        for pid in _namespace_pids(host):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if host.process is not None:
            host.process.kill()
            host.process.wait(timeout=30)
    for name in fleet._namespaces:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    for host in fleet.hosts:
        if host.link:
            subprocess.run(["ip", "link", "del", host.link], capture_output=True, check=False)
    if fleet.bridge:
        subprocess.run(["ip", "link", "del", fleet.bridge], capture_output=True, check=False)


FLEET_SPEC = """\
version: 1
app: {app}
state_dir: state
release:
  build: {python} {build} {{version}} {{output}}
  keep: 3
process:
  command: [{python}, server.py]
  stop_timeout_s: 5
health:
  check: {{type: http, path: /health, timeout_s: 1}}
  interval_s: 0.1
  timeout_s: {health_timeout_s}
  healthy_threshold: 2
  unhealthy_threshold: 3
strategy: {strategy}
environments:
  test:
    router: {{type: haproxy, host: {lb}, listen: "{lb_address}:8080", drain_timeout_s: 5{admin}}}
    instances: {{per_host: {per_host}, base_port: 9100}}
    targets:
      - type: ssh
        select: web
        key_file: {key_file}
        known_hosts: {known_hosts}
        deploy_to: /srv/{app}
        python: {python}
        service: {service}
        connect_timeout_s: 3
        command_timeout_s: {command_timeout_s}
        max_parallel: {max_parallel}
{target_extra}        hosts:
{hosts}
"""


def write_fleet_spec(
    directory: Path,
    fleet: TestFleet,
    *,
    app: str = "shop",
    per_host: int = 1,
    strategy: str = "{type: rolling, batch_size: 1, max_surge: 1, max_unavailable: 0}",
    target_extra: str = "",
    command_timeout_s: float = 10,
    health_timeout_s: float = 15,
    max_parallel: int = 20,
    service: str | None = None,
    admin_port: int | None = None,
) -> Path:
    """A ``slipway.yaml`` of the sample app on ``fleet``: HAProxy on its last host (group
    ``lb``), the app on every other host (group ``web``)."""
    from tests.support.sample import SAMPLE_BUILD

    *web, lb = fleet.hosts
    lines = [f"          {h.name}: {{address: {h.address}, groups: [web]}}" for h in web]
    lines.append(f"          {lb.name}: {{address: {lb.address}, groups: [lb]}}")
    extra = "".join(f"        {line}\n" for line in target_extra.splitlines() if line.strip())
    path = directory / "slipway.yaml"
    path.write_text(
        FLEET_SPEC.format(
            app=app,
            python=sys.executable,
            build=SAMPLE_BUILD,
            strategy=strategy,
            lb=lb.name,
            lb_address=lb.address,
            per_host=per_host,
            key_file=fleet.key_file,
            known_hosts=fleet.known_hosts,
            command_timeout_s=command_timeout_s,
            health_timeout_s=health_timeout_s,
            max_parallel=max_parallel,
            target_extra=extra,
            hosts="\n".join(lines),
            service=service or "{type: supervisord}",
            admin=f', admin: "{lb.address}:{admin_port}", expose_admin: true' if admin_port else "",
        )
    )
    return path
