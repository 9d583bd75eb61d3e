"""The files a supervisord reads, the same locally and on fleet hosts: its own config and one
program stanza per instance. Each is checked by reading it back as supervisord would, and
written atomically: a file it refuses, left in ``programs/``, makes every later
``reloadConfig`` fail, and with it every deploy and rollback of the environment.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from supervisor.options import UnhosedConfigParser

from slipway.errors import PermanentError
from slipway.supervisord.launch import BASE_ENV

SOCKET = "sv.sock"

PIDFILE = "supervisord.pid"

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


def minimal_environment() -> dict[str, str]:
    """``BASE_ENV`` of this process's environment: what a supervisord Slipway starts gets."""
    return {name: os.environ[name] for name in BASE_ENV if name in os.environ}


def write_atomically(path: Path, text: str, *, mode: int) -> None:
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
