"""A supervisord that Slipway starts and owns, one per environment's run directory.

Instances must outlive the CLI that started them, and be restarted if they
crash: that is supervisord's job. Slipway writes one ``programs/<name>.conf``
per program and applies it the way ``supervisorctl update`` does
(``reloadConfig``, then remove/add the changed process groups), all over
XML-RPC on a unix socket in the run directory (mode 0700: only this user).

supervisord daemonizes itself (its own session), so Ctrl-C of the CLI that
started it does not reach it or its programs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import xmlrpc.client
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport

from slipway.clock import Clock, SystemClock
from slipway.errors import BackendError
from slipway.sockets import socket_dir
from slipway.supervisord.config import (
    PIDFILE,
    SOCKET,
    digest,
    minimal_environment,
    program_config,
    supervisord_config,
    write_atomically,
)

START_TIMEOUT_S = 15.0


class Supervisor:
    """Client of the supervisord owning ``run_dir``; starts it on demand."""

    def __init__(self, run_dir: Path, *, clock: Clock | None = None) -> None:
        self.run_dir = run_dir.resolve()
        self._clock = clock or SystemClock()
        self.socket = socket_dir(self.run_dir) / SOCKET
        # One config change at a time: the engine starts a group's instances in threads, and
        # two reloadConfig calls at once each see the other's program as new (ALREADY_ADDED),
        # or take back a good file when the other's was refused.
        self._config_lock = threading.Lock()

    # the daemon

    def _proxy(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def call(self, method: str, *args: Any) -> Any:
        """One XML-RPC call (``supervisor.getAllProcessInfo`` …), errors translated."""
        proxy = self._proxy()
        try:
            target = proxy
            for part in method.split("."):
                target = getattr(target, part)
            return target(*args)
        except xmlrpc.client.Fault as exc:
            raise BackendError(f"supervisord refused {method}: {exc.faultString}") from exc
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            raise BackendError(
                f"supervisord at {self.socket} does not answer ({exc}); "
                "`slipway status` shows what runs, `slipway deploy` starts it again"
            ) from exc
        finally:
            proxy("close")()

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            state = self.call("supervisor.getState")
        except BackendError:
            return False
        return cast(int, state["statecode"]) == 1

    def pid(self) -> int | None:
        pidfile = self.run_dir / PIDFILE
        try:
            return int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def ensure_running(self) -> None:
        """Start supervisord if it does not answer, with a minimal environment.

        It gets ``BASE_ENV`` of the runner's environment and nothing else: every program it
        starts inherits its environment, and the runner's holds its own secrets
        (``DATABASE_URL``, webhook URLs) that are no business of an instance or of HAProxy.
        """
        if self.is_running():
            return
        # refused before anything is written
        text = supervisord_config(str(self.run_dir), str(self.socket))
        for sub in ("programs", "logs"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        config = self.run_dir / "supervisord.conf"
        write_atomically(config, text, mode=0o600)
        self.socket.unlink(missing_ok=True)  # a stale socket of a killed supervisord
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            start_new_session=True,
            env=minimal_environment(),
            cwd=self.run_dir,
        )
        if result.returncode != 0:
            raise BackendError(f"supervisord did not start: {result.stderr.strip()[-500:]}")
        deadline = self._clock.monotonic() + START_TIMEOUT_S
        while not self.is_running():
            if self._clock.monotonic() > deadline:
                raise BackendError(
                    f"supervisord did not answer within {START_TIMEOUT_S:g}s; "
                    f"see {self.run_dir / 'supervisord.log'}"
                )
            self._clock.sleep(0.05)

    def shutdown(self, *, timeout_s: float = 30.0) -> None:
        """Stop every program gracefully, then supervisord itself; wait for its PID to end."""
        pid = self.pid()
        if self.is_running():
            try:
                self.call("supervisor.stopAllProcesses", True)
                self.call("supervisor.shutdown")
            except BackendError:
                pass
        if pid is None:
            return
        deadline = self._clock.monotonic() + timeout_s
        while _alive(pid):
            if self._clock.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            self._clock.sleep(0.05)

    # programs

    def put_program(
        self,
        name: str,
        *,
        command: Sequence[str],
        directory: Path,
        env: Mapping[str, str],
        stop_timeout_s: float,
        autostart: bool = False,
        start_secs: float = 1,
    ) -> None:
        """Define (or redefine) a program; it is not started here.

        ``command`` and ``env`` go to a JSON file (mode 0600) that ``slipway.supervisord.launch``
        reads before it execs the command with exactly that environment (and ``BASE_ENV``):
        supervisord's config can carry neither every value of ``environment=`` nor a newline
        in an argument. The program's config is checked before it is written, written
        atomically, and taken back if supervisord refuses it anyway: a bad file left in
        ``programs/`` would make every later ``reloadConfig`` fail, and with it every deploy
        and rollback of the environment.
        """
        programs = self.run_dir / "programs"
        launch_file = programs / f"{name}.launch.json"
        launch = json.dumps({"argv": list(command), "env": dict(env)}, sort_keys=True)
        argv = [
            sys.executable,
            "-m",
            "slipway.supervisord.launch",
            str(launch_file),
            digest(launch),
        ]
        text = program_config(
            name,
            command=argv,
            directory=str(directory),
            log=str(self.run_dir / "logs" / f"{name}.log"),
            stop_timeout_s=stop_timeout_s,
            start_secs=start_secs,
            autostart=autostart,
        )
        programs.mkdir(parents=True, exist_ok=True)
        write_atomically(launch_file, launch, mode=0o600)
        conf = programs / f"{name}.conf"
        old = conf.read_text() if conf.exists() else None
        if old == text and self.info(name) is not None:
            return
        if self.info(name) is not None:
            self.stop(name)
        with self._config_lock:
            write_atomically(conf, text, mode=0o644)
            try:
                self._update()
            except BackendError:
                if old is None:
                    conf.unlink(missing_ok=True)
                else:
                    write_atomically(conf, old, mode=0o644)
                with contextlib.suppress(BackendError):
                    self._update()
                raise

    def remove_program(self, name: str) -> None:
        if self.info(name) is not None:
            self.stop(name)
        programs = self.run_dir / "programs"
        (programs / f"{name}.conf").unlink(missing_ok=True)
        (programs / f"{name}.launch.json").unlink(missing_ok=True)
        (programs / f"{name}.env.json").unlink(missing_ok=True)  # of an older Slipway
        with self._config_lock:
            self._update()

    def _update(self) -> None:
        """Apply programs/*.conf like ``supervisorctl update``."""
        [[added, changed, removed]] = self.call("supervisor.reloadConfig")
        for name in [*removed, *changed]:
            with contextlib.suppress(BackendError):  # already stopped
                self.call("supervisor.stopProcessGroup", name, True)
            self.call("supervisor.removeProcessGroup", name)
        for name in [*changed, *added]:
            self.call("supervisor.addProcessGroup", name)

    def start(self, name: str) -> None:
        """Start and wait until it counts as running (``startsecs``); raise if it dies."""
        info = self.info(name)
        if info is not None and info["statename"] == "RUNNING":
            return
        try:
            self.call("supervisor.startProcess", name, True)
        except BackendError as exc:
            if "ALREADY_STARTED" not in str(exc):
                raise
            # Started by a runner that died while supervisord waited out `startsecs`: wait for
            # the outcome here too, or the caller would see a process still STARTING.
            deadline = self._clock.monotonic() + START_TIMEOUT_S
            while (info := self.info(name)) is not None and info["statename"] == "STARTING":
                if self._clock.monotonic() > deadline:
                    raise BackendError(
                        f"{name} is still STARTING after {START_TIMEOUT_S:g}s"
                    ) from exc
                self._clock.sleep(0.05)

    def stop(self, name: str) -> None:
        info = self.info(name)
        if info is None or info["statename"] in ("STOPPED", "EXITED", "FATAL"):
            return
        try:
            self.call("supervisor.stopProcess", name, True)
        except BackendError as exc:
            if "NOT_RUNNING" not in str(exc):
                raise

    def signal(self, name: str, sig: str) -> None:
        self.call("supervisor.signalProcess", name, sig)

    def info(self, name: str) -> dict[str, Any] | None:
        for item in self.all_info():
            if item["name"] == name:
                return item
        return None

    def all_info(self) -> list[dict[str, Any]]:
        if not self.socket.exists():
            return []
        try:
            return cast(list[dict[str, Any]], self.call("supervisor.getAllProcessInfo"))
        except BackendError:
            if not self.is_running():
                return []
            raise

    def log_tail(self, name: str, *, size: int = 1500) -> str:
        log = self.run_dir / "logs" / f"{name}.log"
        try:
            with log.open("rb") as fh:
                fh.seek(max(0, log.stat().st_size - size))
                return fh.read().decode(errors="replace")
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True
