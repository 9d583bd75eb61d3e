"""A supervisord on a fleet host, driven over the host's SSH connection.

The same daemon the local target uses (``slipway.supervisord.local``), one per
deploy directory, started over SSH where it is missing. Its XML-RPC API is
reached through the SSH connection itself (a stream to its unix socket,
OpenSSH's ``direct-streamlocal``), so no ``supervisorctl`` process is spawned
on the host per call and nothing listens on the network.

Programs get their environment from a file of ``export NAME='value'`` lines
(mode 0600, values quoted with ``shlex``) that ``sh`` sources before it
``exec``s the command: supervisord's own ``environment=`` cannot quote every
value, and Slipway itself need not be installed on the hosts.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shlex
import tarfile
import xmlrpc.client
from collections.abc import Mapping, Sequence
from typing import Any, cast

from slipway.errors import BackendError, HostFailed
from slipway.ssh.pool import SshPool
from slipway.supervisord.local import CONFIG, PIDFILE, SOCKET

LAUNCH = 'set -a && . "$1" && set +a && shift && exec "$@"'
START_TIMEOUT_S = 15.0
STATE_TIMEOUT_S = 120.0  # startsecs (at most 60) or stopwaitsecs, with room to spare
POLL_S = 0.1
STOP_MARGIN_S = 15.0  # past stopwaitsecs, supervisord's SIGKILL and reaping
FAILED_STATES = ("BACKOFF", "FATAL", "EXITED", "STOPPED")


def _expand_safe(text: str) -> str:
    return text.replace("%", "%%")


def tar_of(files: Mapping[str, tuple[bytes, int]]) -> bytes:
    """An in-memory tar of ``{name: (content, mode)}``: several files in one round trip."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class RemoteSupervisor:
    """Client of the supervisord owning ``run_dir`` on ``host``; starts it on demand."""

    def __init__(self, pool: SshPool, host: str, run_dir: str, *, python: str) -> None:
        self.pool = pool
        self.host = host
        self.run_dir = run_dir.rstrip("/")
        self.python = python
        self.socket = f"{self.run_dir}/{SOCKET}"
        self._known_running = False

    @property
    def known_running(self) -> bool:
        """Seen answering during this run (``aensure_running``)."""
        return self._known_running

    # XML-RPC through the SSH connection

    async def acall(self, method: str, *args: Any, timeout_s: float | None = None) -> Any:
        body = xmlrpc.client.dumps(args, method, allow_none=True).encode()
        request = (
            b"POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        raw = await self.pool.aunix(
            self.host, self.socket, request, until=_http_complete, timeout_s=timeout_s
        )
        head, _, payload = raw.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 200 " not in status + " ":
            raise BackendError(f"{self.host}: supervisord answered {status!r} to {method}")
        try:
            return xmlrpc.client.loads(payload.decode())[0][0]
        except xmlrpc.client.Fault as exc:
            raise BackendError(
                f"{self.host}: supervisord refused {method}: {exc.faultString}"
            ) from None

    async def amulticall(
        self, *calls: tuple[str, tuple[Any, ...]], timeout_s: float | None = None
    ) -> list[Any]:
        """Several calls in one round trip (``system.multicall``), run in order by supervisord
        (a call that waits, such as ``stopProcess(name, True)``, is waited for before the next).
        Each result as it is, or a ``BackendError`` (returned, not raised) for a refused call.
        """
        requests = [{"methodName": method, "params": list(args)} for method, args in calls]
        answers = await self.acall("system.multicall", requests, timeout_s=timeout_s)
        results: list[Any] = []
        for (method, _), answer in zip(calls, answers, strict=True):
            if isinstance(answer, dict) and "faultCode" in answer:
                answer = BackendError(
                    f"{self.host}: supervisord refused {method}: {answer.get('faultString')}"
                )
            results.append(answer)
        return results

    async def aprograms(self) -> list[dict[str, Any]] | None:
        """Every program's state, in one round trip; None when supervisord is not running."""
        try:
            state, infos = await self.amulticall(
                ("supervisor.getState", ()), ("supervisor.getAllProcessInfo", ())
            )
        except (BackendError, HostFailed) as exc:
            if isinstance(exc, HostFailed) and exc.unreachable:
                raise
            return None
        if isinstance(state, BackendError) or cast(int, state["statecode"]) != 1:
            return None
        if isinstance(infos, BackendError):
            raise infos
        self._known_running = True
        return cast(list[dict[str, Any]], infos)

    async def ais_running(self) -> bool:
        """Whether supervisord answers (no socket there: it does not)."""
        try:
            state = await self.acall("supervisor.getState")
        except (BackendError, HostFailed) as exc:
            if isinstance(exc, HostFailed) and exc.unreachable:
                raise
            return False
        return cast(int, state["statecode"]) == 1

    async def aensure_running(self) -> None:
        if self._known_running:
            return
        if await self.ais_running():
            self._known_running = True
            return
        run = self.run_dir
        config = CONFIG.format(
            run=_expand_safe(run), socket=_expand_safe(self.socket), pidfile=PIDFILE
        )
        q = shlex.quote
        files = tar_of({"supervisord.conf": (config.encode(), 0o600)})
        script = (
            f"set -e; mkdir -p {q(run)}/programs {q(run)}/logs; chmod 700 {q(run)}; "
            f"tar -xf - -C {q(run)}; rm -f {q(self.socket)}; "
            f"{q(self.python)} -m supervisor.supervisord -c {q(run + '/supervisord.conf')}"
        )
        await self.pool.arun(self.host, script, stdin=files)
        for _ in range(int(START_TIMEOUT_S / 0.05)):
            if await self.ais_running():
                self._known_running = True
                return
            await asyncio.sleep(0.05)
        raise HostFailed(self.host, f"supervisord did not answer on {self.socket}")

    # programs

    def program_files(
        self,
        name: str,
        *,
        command: Sequence[str],
        directory: str,
        env: Mapping[str, str],
        stop_timeout_s: float,
        start_secs: float,
        autostart: bool = False,
    ) -> dict[str, tuple[bytes, int]]:
        """``programs/<name>.conf`` and ``programs/<name>.env``, ready for ``tar_of``."""
        env_path = f"{self.run_dir}/programs/{name}.env"
        exports = "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(env.items()))
        argv = ["/bin/sh", "-c", LAUNCH, "slipway-launch", env_path, *command]
        log = f"{self.run_dir}/logs/{name}.log"
        text = "\n".join(
            [
                f"[program:{name}]",
                f"command = {_expand_safe(shlex.join(argv))}",
                f"directory = {_expand_safe(directory)}",
                f"autostart = {str(autostart).lower()}",
                "autorestart = true",
                f"startsecs = {start_secs:g}",
                "startretries = 2",
                "stopsignal = TERM",
                f"stopwaitsecs = {max(1, round(stop_timeout_s))}",
                "stopasgroup = true",
                "killasgroup = true",
                "redirect_stderr = true",
                f"stdout_logfile = {_expand_safe(log)}",
                "stdout_logfile_maxbytes = 5MB",
                "stdout_logfile_backups = 1",
                "",
            ]
        )
        return {
            f"programs/{name}.conf": (text.encode(), 0o644),
            f"programs/{name}.env": (exports.encode(), 0o600),
        }

    async def awrite(self, files: Mapping[str, tuple[bytes, int]]) -> None:
        """Write files under the run directory in one round trip."""
        q = shlex.quote
        await self.pool.arun(
            self.host, f"umask 077 && tar -xf - -C {q(self.run_dir)}", stdin=tar_of(files)
        )

    async def aupdate(self) -> None:
        """Apply programs/*.conf like ``supervisorctl update``."""
        [[added, changed, removed]] = await self.acall("supervisor.reloadConfig")
        for name in [*removed, *changed]:
            with contextlib.suppress(BackendError):  # already stopped
                await self.acall("supervisor.stopProcessGroup", name, True)
            await self.acall("supervisor.removeProcessGroup", name)
        for name in [*changed, *added]:
            await self.acall("supervisor.addProcessGroup", name)

    async def aall_info(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], await self.acall("supervisor.getAllProcessInfo"))

    async def ainfo(self, name: str) -> dict[str, Any] | None:
        for item in await self.aall_info():
            if item["name"] == name:
                return item
        return None

    async def astart(self, name: str, *, start_secs: float = 1.0) -> None:
        """Start ``name`` and return once supervisord counts it RUNNING (``startsecs``).

        Not ``startProcess(wait=True)``: supervisord notices the end of ``startsecs`` only on
        its next loop turn, up to a second later; asking for the state (from ``startsecs``
        on, every ``POLL_S``) wakes it, so a start costs ``startsecs``, not up to a second
        more — and a hundred hosts are not asked ten times a second for nothing.
        """
        try:
            await self.acall("supervisor.startProcess", name, False)
        except BackendError as exc:
            if "ALREADY_STARTED" not in str(exc):
                raise
        await asyncio.sleep(start_secs)
        await self._await_state(name, done=("RUNNING",), failed=FAILED_STATES)

    async def aadd_and_start(self, name: str, *, start_secs: float) -> None:
        """Apply the files just written (as ``aupdate``) and start ``name``: two round trips,
        then the wait for RUNNING. One already running with an unchanged config is left as it
        is (a step run again)."""
        [[added, changed, removed]] = await self.acall("supervisor.reloadConfig")
        for group in [*removed, *changed]:
            with contextlib.suppress(BackendError):  # already stopped
                await self.acall("supervisor.stopProcessGroup", group, True)
            await self.acall("supervisor.removeProcessGroup", group)
        calls = [("supervisor.addProcessGroup", (group,)) for group in [*changed, *added]]
        *adds, start = await self.amulticall(*calls, ("supervisor.startProcess", (name, False)))
        for result in adds:  # added meanwhile by a step starting another program: fine
            if isinstance(result, BackendError) and "ALREADY_ADDED" not in str(result):
                raise result
        if isinstance(start, BackendError):
            if "ALREADY_STARTED" not in str(start):
                raise start
        else:
            await asyncio.sleep(start_secs)
        await self._await_state(name, done=("RUNNING",), failed=FAILED_STATES)

    async def astop(self, name: str) -> None:
        info = await self.ainfo(name)
        if info is None or info["statename"] in ("STOPPED", "EXITED", "FATAL"):
            return
        try:
            await self.acall("supervisor.stopProcess", name, False)
        except BackendError as exc:
            if "NOT_RUNNING" not in str(exc):
                raise
        # supervisord reaps a stopped child on its next loop turn: asking wakes it
        await self._await_state(name, done=("STOPPED", "EXITED", "FATAL"), failed=())

    async def _await_state(
        self, name: str, *, done: tuple[str, ...], failed: tuple[str, ...]
    ) -> None:
        for _ in range(int(STATE_TIMEOUT_S / POLL_S)):
            info = await self.acall("supervisor.getProcessInfo", name)
            state = str(info["statename"])
            if state in done:
                return
            if state in failed:
                raise BackendError(f"{self.host}: {name} is {state}")
            await asyncio.sleep(POLL_S)
        raise BackendError(f"{self.host}: {name} not {'/'.join(done)} after {STATE_TIMEOUT_S:g}s")

    async def aremove(
        self, name: str, *, also: tuple[str, ...] = (), stop_timeout_s: float = 10.0
    ) -> None:
        """Stop and forget ``name`` in one round trip, then delete its files (and ``also``,
        under programs/) in another. Gone already: nothing to do, and no error.

        ``stopProcess(name, True)`` answers once the process is reaped: its exit closes its
        output pipes, which wakes supervisord's loop at once (unlike the end of ``startsecs``).
        Files go last, so a run cut in between leaves files a later step deletes, never a
        program whose config is gone.
        """
        stopped, removed = await self.amulticall(
            ("supervisor.stopProcess", (name, True)),
            ("supervisor.removeProcessGroup", (name,)),
            timeout_s=max(self.pool.command_timeout_s, stop_timeout_s + STOP_MARGIN_S),
        )
        for result in (stopped, removed):
            if isinstance(result, BackendError) and not any(
                fault in str(result) for fault in ("NOT_RUNNING", "BAD_NAME")
            ):
                raise result
        q = shlex.quote
        base = f"{self.run_dir}/programs"
        files = [f"{name}.conf", f"{name}.env", *also]
        await self.pool.arun(self.host, "rm -f " + " ".join(q(f"{base}/{f}") for f in files))

    async def alog_tail(self, name: str, *, size: int = 1500) -> str:
        log = shlex.quote(f"{self.run_dir}/logs/{name}.log")
        result = await self.pool.arun(self.host, f"tail -c {size} {log}", check=False)
        return result.stdout

    async def ashutdown(self) -> None:
        if await self.ais_running():
            try:
                await self.acall("supervisor.stopAllProcesses", True)
                await self.acall("supervisor.shutdown")
            except BackendError:
                pass
        self._known_running = False


def _http_complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or 0)
    return False
