"""Where this machine's unix sockets of an environment live: short paths, private to the user.

A unix socket's path is at most 107 bytes, and HAProxy allows 97 for a log socket (and binds
``<path>.<pid>.tmp`` first). A state directory deep in a checkout or a CI workspace easily
passes that, and HAProxy then refuses its config. So the sockets (supervisord's, HAProxy's
admin socket, the request log) live in the run directory when its path is short, and else in
``/tmp/slipway-<uid>/<digest of the run directory>``: the same for every process that opens
the environment, created 0700 and checked to be a directory of ours (not a link planted by
another user).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from slipway.errors import BackendError

#: longest run directory whose sockets stay in it ("/requests.sock.NNNNNNN.tmp" fits in 97)
MAX_RUN_DIR = 64


def socket_dir(run_dir: Path) -> Path:
    """The directory for the unix sockets of ``run_dir`` (created if need be)."""
    run = run_dir.resolve()
    if len(str(run)) <= MAX_RUN_DIR:
        return run
    base = Path(tempfile.gettempdir()) / f"slipway-{os.getuid()}"
    digest = hashlib.sha256(str(run).encode()).hexdigest()[:16]
    for directory in (base, base / digest):
        _private_directory(directory)
    return base / digest


def _private_directory(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise BackendError(f"cannot make the socket directory {path}: {exc}") from exc
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise BackendError(
            f"{path} is not a directory of this user: refusing to put sockets there",
            hint="remove it, or use a shorter state_dir",
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
