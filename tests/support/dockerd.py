"""A private Docker engine for tests: its own dockerd, its own directories, torn down always.

No system service runs here and nothing outside the test may be touched, so each engine is
started as the container tests need it and nothing else::

    dockerd --iptables=false --ip6tables=false --ip-masq=false --bridge=none
            --exec-opt native.cgroupdriver=cgroupfs --data-root D/data --exec-root D/exec
            -H unix://D/docker.sock --pidfile D/docker.pid [--live-restore]

No bridge, no iptables, no masquerading: containers use the host's network (``--network
host``), on loopback ports below 32768. ``D`` is a short directory under /tmp (unix socket
paths are limited to 108 bytes, and containerd's live under ``D/exec``).

Teardown runs even when the test failed: every container is removed while the engine still
answers, dockerd is stopped by the PID it wrote (SIGTERM, then SIGKILL), any containerd shim
left behind (``--live-restore`` leaves them running) is killed by its PID — found by the
engine's own directory on its command line — and the engine's mounts (``D/data``,
``D/exec/netns/default``, an overlay still mounted) are unmounted before ``D`` is removed.

Images are made here, never pulled: ``busybox`` is busybox-static copied into a rootfs and
``docker import``-ed (2 MB); ``python`` is a Debian minbase rootfs with python3, made once by
``debootstrap`` and kept as a tarball in the cache directory (``$SLIPWAY_TEST_CACHE``, or
``~/.cache/slipway-tests``) for the next runs — built again when it is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"  # Debian's client (a newer one may be first on PATH)
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
BUSYBOX = "slipway-test/busybox:1"
PYTHON = "slipway-test/python:bookworm"
# a new recipe of the python base: bump, and the cached tarball is made again
PYTHON_RECIPE = "r1"
TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt")


class Dockerd:
    """One private Docker engine in ``root``; ``start``, ``stop``, ``restart``, ``cleanup``."""

    def __init__(self, root: Path, *, live_restore: bool = False) -> None:
        self.root = root
        self.live_restore = live_restore
        self.socket = root / "docker.sock"
        self.pidfile = root / "docker.pid"
        self.log = root / "dockerd.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The engine's address, as ``DOCKER_HOST`` and the spec's ``docker_host`` say it."""
        return f"unix://{self.socket}"

    def argv(self) -> list[str]:
        argv = [
            DOCKERD, "--iptables=false", "--ip6tables=false", "--ip-masq=false",
            "--bridge=none", "--exec-opt", "native.cgroupdriver=cgroupfs",
            "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
            "-H", self.host, "--pidfile", str(self.pidfile),
        ]  # fmt: skip
        return [*argv, "--live-restore"] if self.live_restore else argv

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                self.argv(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dockerd exited at its start:\n{self.log_tail()}")
            if self.socket.exists() and self.answers():
                return
            time.sleep(0.05)
        raise RuntimeError(f"dockerd did not answer in {START_TIMEOUT_S:g}s:\n{self.log_tail()}")

    def answers(self) -> bool:
        try:
            with contextlib.closing(self.client(timeout=2)) as client:
                return bool(client.ping())
        except docker.errors.DockerException:
            return False
        except OSError:
            return False

    def client(self, *, timeout: int = 60) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=timeout)

    def cli(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Debian's ``docker`` client against this engine; raises on a non-zero exit."""
        return subprocess.run(
            [DOCKER, "-H", self.host, *args],
            input=input,
            capture_output=True,
            check=True,
            timeout=300,
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def pid(self) -> int | None:
        if self._process is not None and self._process.poll() is None:
            return self._process.pid
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self, *, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop dockerd by its PID: ``sig`` (SIGTERM: containers stop too, unless
        ``--live-restore``), then SIGKILL after ``STOP_TIMEOUT_S``."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if not _wait_gone(pid, STOP_TIMEOUT_S):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove_containers(self) -> None:
        with (
            contextlib.suppress(docker.errors.DockerException, OSError),
            contextlib.closing(self.client()) as c,
        ):
            for container in c.containers.list(all=True):
                with contextlib.suppress(docker.errors.DockerException):
                    container.remove(force=True)

    def cleanup(self) -> None:
        """Everything this engine started or mounted, gone; safe to call more than once.

        Each stage runs even when the one before it failed: a dockerd that no longer answers
        is still stopped, its shims still killed, its mounts still unmounted."""
        try:
            if self.pid() is not None and self.answers():
                self.remove_containers()
        finally:
            try:
                self.stop()
            finally:
                for pid in _processes_naming(str(self.root)):  # shims left by --live-restore
                    _kill_tree(pid)
                for mount in _mounts_under(self.root):
                    subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
                shutil.rmtree(self.root, ignore_errors=True)


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    return False


def _processes_naming(text: str) -> list[int]:
    """PIDs of processes whose command line holds ``text`` (this engine's own directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _kill_tree(pid: int) -> None:
    for child in _children(pid):
        _kill_tree(child)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root``, deepest first."""
    prefix = str(root)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


# base images


def cache_dir() -> Path:
    path = Path(os.environ.get("SLIPWAY_TEST_CACHE") or Path.home() / ".cache" / "slipway-tests")
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_busybox(engine: Dockerd) -> str:
    """``slipway-test/busybox:1``: busybox-static alone in a rootfs, ``docker import``-ed."""
    with tempfile.TemporaryDirectory(prefix="bb-", dir=engine.root) as work:
        rootfs = Path(work) / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
        for applet in ("sh", "echo", "sleep", "cat", "true", "false", "wget", "httpd", "kill"):
            (rootfs / "bin" / applet).symlink_to("busybox")
        (rootfs / "tmp").mkdir()
        archive = Path(work) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        engine.cli("import", str(archive), BUSYBOX)
    return BUSYBOX


def import_python(engine: Dockerd) -> str:
    """``slipway-test/python:bookworm``: Debian minbase with python3, from the cached rootfs."""
    engine.cli("import", "--change", 'CMD ["python3"]', str(python_rootfs()), PYTHON)
    return PYTHON


def python_rootfs() -> Path:
    """The python base's rootfs tarball in the cache; made (once, under a lock) if missing."""
    suite = _debian_suite()
    tarball = cache_dir() / f"python-{suite}-{PYTHON_RECIPE}.tar"
    with (cache_dir() / f"{tarball.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker; the other workers wait for its tarball
        if not tarball.exists():
            _make_python_rootfs(tarball, suite)
    return tarball


def _make_python_rootfs(tarball: Path, suite: str) -> None:
    with tempfile.TemporaryDirectory(prefix="py-rootfs-", dir=tarball.parent) as work:
        rootfs = Path(work) / "rootfs"
        argv = ["debootstrap", "--variant=minbase", "--include=python3", suite, str(rootfs)]
        mirror = _debian_mirror()
        result = subprocess.run(
            argv + ([mirror] if mirror else []), capture_output=True, text=True, timeout=900
        )
        if result.returncode != 0:
            raise RuntimeError(f"debootstrap failed: {result.stdout[-2000:]}{result.stderr}")
        for part in TRIM:
            shutil.rmtree(rootfs / part, ignore_errors=True)
        for lists in (rootfs / "var/lib/apt/lists").glob("*_*"):
            lists.unlink()
        partial = Path(work) / "rootfs.tar"
        with tarfile.open(partial, "w") as tar:
            tar.add(rootfs, arcname=".")
        partial.replace(tarball)


def _debian_suite() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"') or "bookworm"
    return "bookworm"


def _debian_mirror() -> str | None:
    """The Debian mirror this machine's apt uses (debootstrap's own default when none)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    with contextlib.suppress(OSError):
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split(":", 1)[1].split()[0]
    with contextlib.suppress(OSError):
        for line in Path("/etc/apt/sources.list").read_text().splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "deb" and "security" not in words[1]:
                return words[1] if words[1].startswith("http") else words[2]
    return None


@contextlib.contextmanager
def running_dockerd(*, live_restore: bool = False) -> Iterator[Dockerd]:
    """A started private engine, cleaned up afterwards whatever happened."""
    engine = Dockerd(Path(tempfile.mkdtemp(prefix="dk-", dir="/tmp")), live_restore=live_restore)
    try:
        engine.start()
        yield engine
    finally:
        engine.cleanup()


def _need_docker() -> None:
    if not (Path(DOCKERD).exists() and Path(DOCKER).exists()):
        pytest.fail("Docker's engine is not installed: run `make system` (Debian docker.io)")


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Dockerd]:
    """One private engine per test session (per xdist worker), with the base images."""
    _need_docker()
    with running_dockerd() as engine:
        import_busybox(engine)
        import_python(engine)
        yield engine


@pytest.fixture
def dockerd(docker_engine: Dockerd) -> Iterator[Dockerd]:
    """The session's engine, answering and without containers; a test may stop or restart it
    (``live_restore`` too): afterwards it is a plain running engine again, its containers gone.
    """
    if not docker_engine.answers():
        docker_engine.restart()
    yield docker_engine
    if docker_engine.live_restore or not docker_engine.answers():
        docker_engine.live_restore = False
        docker_engine.restart()
    docker_engine.remove_containers()
