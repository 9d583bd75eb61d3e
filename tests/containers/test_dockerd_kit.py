"""The test kit's private Docker engine: it runs containers on the host's network, and its
teardown leaves no process and no mount behind — even with ``--live-restore``, which keeps
containers running after dockerd exits, and even when the test using it fails."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.support.dockerd import (
    BUSYBOX,
    PYTHON,
    Dockerd,
    _mounts_under,
    _processes_naming,
    import_busybox,
    python_rootfs,
    running_dockerd,
)
from tests.support.sample import free_port_range


def test_a_container_on_the_host_network_answers_on_loopback(dockerd: Dockerd) -> None:
    port = free_port_range(1)
    server = (
        "import http.server as h; h.test(h.SimpleHTTPRequestHandler, port=%d, bind='127.0.0.1')"
    )
    dockerd.cli(
        "run", "-d", "--name", "web", "--network", "host", "--init", PYTHON,
        "python3", "-c", server % port,
    )  # fmt: skip
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as answer:
                assert answer.status == 200
                break
        except OSError:
            subprocess.run(["sleep", "0.1"], check=True)
    else:
        raise AssertionError(f"the container never answered: {dockerd.cli('logs', 'web').stderr!r}")
    out = dockerd.cli("run", "--rm", "--network", "host", BUSYBOX, "echo", "hi").stdout
    assert out == b"hi\n"


@pytest.mark.parametrize("live_restore", [False, True], ids=["plain", "live-restore"])
def test_teardown_leaves_no_process_and_no_mount(live_restore: bool) -> None:
    root: Path | None = None
    with (
        pytest.raises(RuntimeError, match="the test failed"),
        running_dockerd(live_restore=live_restore) as engine,
    ):
        root = engine.root
        import_busybox(engine)
        engine.cli("run", "-d", "--network", "host", "--init", BUSYBOX, "sleep", "600")
        if live_restore:  # dockerd gone, its container still running: teardown must cope
            engine.stop()
            assert _processes_naming(str(root)), "live-restore kept no shim running"
        assert _mounts_under(root)
        raise RuntimeError("the test failed")
    assert root is not None
    assert not root.exists()
    assert _processes_naming(str(root)) == []
    assert _mounts_under(root) == []


def test_python_base_is_cached_between_runs(dockerd: Dockerd) -> None:
    """The session's engine imported the cached rootfs tarball; asking again makes nothing."""
    tarball = python_rootfs()
    made = tarball.stat().st_mtime_ns
    version = dockerd.cli("run", "--rm", "--network", "host", PYTHON, "python3", "-V")
    assert version.stdout.startswith(b"Python 3.")
    assert python_rootfs().stat().st_mtime_ns == made
