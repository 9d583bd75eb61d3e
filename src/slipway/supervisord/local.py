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
import shlex
import signal
import subprocess
import sys
import xmlrpc.client
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport

from slipway.clock import Clock, SystemClock
from slipway.errors import BackendError
from slipway.sockets import socket_dir

SOCKET = "sv.sock"
PIDFILE = "supervisord.pid"
START_TIMEOUT_S = 15.0

CONFIG = """\
; written by Slipway: supervisord of one environment
[unix_http_server]
file = {socket}
chmod = 0700

[supervisord]
pidfile = {run}/{pidfile}
logfile = {run}/supervisord.log
logfile_maxbytes = 5MB
logfile_backups = 2
directory = {run}
childlogdir = {run}/logs

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://{socket}

[include]
files = {run}/programs/*.conf
"""


def _expand_safe(text: str) -> str:
    """supervisord expands ``%(name)s`` in its config: escape every ``%``."""
    return text.replace("%", "%%")


class Supervisor:
    """Client of the supervisord owning ``run_dir``; starts it on demand."""

    def __init__(self, run_dir: Path, *, clock: Clock | None = None) -> None:
        self.run_dir = run_dir.resolve()
        self._clock = clock or SystemClock()
        self.socket = socket_dir(self.run_dir) / SOCKET

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
        if self.is_running():
            return
        for sub in ("programs", "logs"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        config = self.run_dir / "supervisord.conf"
        config.write_text(
            CONFIG.format(
                run=_expand_safe(str(self.run_dir)),
                socket=_expand_safe(str(self.socket)),
                pidfile=PIDFILE,
            )
        )
        self.socket.unlink(missing_ok=True)  # a stale socket of a killed supervisord
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            start_new_session=True,
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

        ``env`` goes to a JSON file (mode 0600) that ``slipway.supervisord.launch`` applies
        before it execs ``command``: supervisord's ``environment=`` cannot quote every value.
        """
        log = self.run_dir / "logs" / f"{name}.log"
        env_file = self.run_dir / "programs" / f"{name}.env.json"
        env_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(env_file.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(dict(env), fh, sort_keys=True)
        os.replace(env_file.with_suffix(".tmp"), env_file)
        argv = [sys.executable, "-m", "slipway.supervisord.launch", str(env_file), "--", *command]
        text = "\n".join(
            [
                f"[program:{name}]",
                f"command = {_expand_safe(shlex.join(argv))}",
                f"directory = {_expand_safe(str(directory))}",
                f"autostart = {str(autostart).lower()}",
                "autorestart = true",
                f"startsecs = {start_secs:g}",
                "startretries = 2",
                "stopsignal = TERM",
                f"stopwaitsecs = {max(1, round(stop_timeout_s))}",
                "stopasgroup = true",
                "killasgroup = true",
                "redirect_stderr = true",
                f"stdout_logfile = {_expand_safe(str(log))}",
                "stdout_logfile_maxbytes = 5MB",
                "stdout_logfile_backups = 1",
                "",
            ]
        )
        conf = self.run_dir / "programs" / f"{name}.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        if conf.exists() and conf.read_text() == text and self.info(name) is not None:
            return
        if self.info(name) is not None:
            self.stop(name)
        tmp = conf.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, conf)
        self._update()

    def remove_program(self, name: str) -> None:
        if self.info(name) is not None:
            self.stop(name)
        (self.run_dir / "programs" / f"{name}.conf").unlink(missing_ok=True)
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
