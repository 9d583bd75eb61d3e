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

import configparser
import contextlib
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import xmlrpc.client
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from supervisor.options import UnhosedConfigParser
from supervisor.xmlrpc import SupervisorTransport

from slipway.clock import Clock, SystemClock
from slipway.errors import BackendError, PermanentError
from slipway.sockets import socket_dir
from slipway.supervisord.launch import BASE_ENV

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

# What supervisord's config parser (a RawConfigParser with `;` and `#` inline comments)
# cannot read back as written: control characters (a newline starts a new line, or a
# continuation), a comment sign after a blank, blanks at either end (stripped).
_UNREADABLE = re.compile(r"[\x00-\x1f\x7f]|\s[;#]|^\s|\s$")
_PROGRAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def expand_safe(text: str, *, what: str) -> str:
    """``text`` as one value of supervisord's config: refused if its parser would not read it
    back as it is, and every ``%`` doubled (supervisord expands ``%(name)s``)."""
    if _UNREADABLE.search(text):
        raise PermanentError(
            f"{what} {text!r} cannot be written into supervisord's config: it has a control "
            "character, blanks at an end, or a ';' or '#' after a blank"
        )
    return text.replace("%", "%%")


def supervisord_config(run: str, socket: str | None = None) -> str:
    """``supervisord.conf`` of the supervisord owning ``run``, checked as supervisord reads it;
    its XML-RPC socket is ``socket`` (``run/sv.sock`` by default).

    ``[include] files`` is a list split at blanks: a run directory with one is refused too.
    """
    socket = socket or f"{run}/{SOCKET}"
    if re.search(r"\s", run):
        raise PermanentError(
            f"the run directory {run!r} has a blank or a control character, which "
            "supervisord's config cannot hold: use a state_dir (and a checkout) without one"
        )
    text = CONFIG.format(
        run=expand_safe(run, what="the run directory"),
        socket=expand_safe(socket, what="the socket path"),
        pidfile=PIDFILE,
    )
    _read_back(text, "unix_http_server", {"file": socket})
    _read_back(text, "include", {"files": f"{run}/programs/*.conf"})
    return text


def program_config(
    name: str,
    *,
    command: Sequence[str],
    directory: str,
    log: str,
    stop_timeout_s: float,
    start_secs: float,
    autostart: bool = False,
) -> str:
    """One ``programs/<name>.conf``: the stanza the local and the fleet supervisords share.

    ``command`` should hold only paths and words Slipway chose: an instance's own argv (which
    may hold a newline, as in ``[sh, -c, "a\\nb"]``) goes into a launch file instead, since
    supervisord's config has no way to write a newline. Whatever the parser would not give
    back as it is written is refused here, before any file is touched, and the text is read
    back with supervisord's own parser to make sure.
    """
    if not _PROGRAM_NAME.fullmatch(name):
        raise PermanentError(f"{name!r} cannot be a supervisord program name")
    words = shlex.join(command)
    text = "\n".join(
        [
            f"[program:{name}]",
            f"command = {expand_safe(words, what='the command')}",
            f"directory = {expand_safe(directory, what='the directory')}",
            f"autostart = {str(autostart).lower()}",
            "autorestart = true",
            f"startsecs = {start_secs:g}",
            "startretries = 2",
            "stopsignal = TERM",
            f"stopwaitsecs = {max(1, round(stop_timeout_s))}",
            "stopasgroup = true",
            "killasgroup = true",
            "redirect_stderr = true",
            f"stdout_logfile = {expand_safe(log, what='the log file')}",
            "stdout_logfile_maxbytes = 5MB",
            "stdout_logfile_backups = 1",
            "",
        ]
    )
    _read_back(
        text,
        f"program:{name}",
        {"command": words, "directory": directory, "stdout_logfile": log},
    )
    return text


def digest(launch: str) -> str:
    """A launch file's digest, as the last word of the program's ``command``: the argv and the
    environment are not in the config, so without it supervisord would see no change in a
    program whose only change is there, and keep the old process running."""
    return hashlib.sha256(launch.encode()).hexdigest()[:16]


def _read_back(text: str, section: str, expected: Mapping[str, str]) -> None:
    """Parse ``text`` as supervisord does and check that ``section`` holds ``expected``."""
    parser = UnhosedConfigParser()
    try:
        parser.read_string(text)
        found = {key: parser.saneget(section, key, expansions={}) for key in expected}
    except (configparser.Error, ValueError) as exc:
        raise PermanentError(f"supervisord could not read the config Slipway wrote: {exc}") from exc
    for key, value in expected.items():
        if found[key] != value:
            raise PermanentError(
                f"supervisord would read {section}.{key} as {found[key]!r}, not {value!r}"
            )


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
        _write_atomically(config, text, mode=0o600)
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
        _write_atomically(launch_file, launch, mode=0o600)
        conf = programs / f"{name}.conf"
        old = conf.read_text() if conf.exists() else None
        if old == text and self.info(name) is not None:
            return
        if self.info(name) is not None:
            self.stop(name)
        _write_atomically(conf, text, mode=0o644)
        try:
            self._update()
        except BackendError:
            if old is None:
                conf.unlink(missing_ok=True)
            else:
                _write_atomically(conf, old, mode=0o644)
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


def minimal_environment() -> dict[str, str]:
    """``BASE_ENV`` of this process's environment: what a supervisord Slipway starts gets."""
    return {name: os.environ[name] for name in BASE_ENV if name in os.environ}


def _write_atomically(path: Path, text: str, *, mode: int) -> None:
    """Write beside ``path``, then rename: a reader sees the old file or the new one, whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
