"""A supervisord on a fleet host, driven over the host's SSH connection.

The same daemon the local target uses (``slipway.supervisord.local``), one per
deploy directory, started over SSH where it is missing. Its XML-RPC API is
reached through the SSH connection itself (a stream to its unix socket,
OpenSSH's ``direct-streamlocal``), so no ``supervisorctl`` process is spawned
on the host per call and nothing listens on the network.

A program's argv and environment live in a launch file (mode 0600, every
word quoted with ``shlex``) that ``sh`` sources: it ``exec``s the command
through ``env -i`` with exactly the environment Slipway gave it and
``BASE_ENV`` of supervisord's — supervisord's own ``environment=`` cannot
quote every value, its ``command`` cannot hold a newline, and Slipway itself
need not be installed on the hosts. supervisord itself starts with only
``BASE_ENV`` of the SSH session's environment.

Files are written beside their final names and renamed into place, the
program's config last, and a config supervisord refuses is taken back, so a
bad file never stays in ``programs/`` where it would fail every later
``reloadConfig`` of the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import shlex
import tarfile
import xmlrpc.client
from collections.abc import Mapping, Sequence
from typing import Any, cast

from slipway.errors import BackendError, HostFailed, PermanentError
from slipway.ssh.pool import SshPool
from slipway.supervisord.config import SOCKET, digest, program_config, supervisord_config
from slipway.supervisord.launch import BASE_ENV

# `sh -c LAUNCH slipway-launch FILE [ARG…]` sources FILE (``launch_script``), which runs the
# program. Sourced by a shell started with an older Slipway's `set -a` line, it works as well.
LAUNCH = 'f=$1 && shift && . "$f"'
# `env -i` empties the environment; these words (expanded by `sh`) put BASE_ENV back.
_BASE_WORDS = " ".join(f'${{{name}+"{name}=${name}"}}' for name in BASE_ENV)
START_TIMEOUT_S = 15.0
STATE_TIMEOUT_S = 120.0  # startsecs (at most 60) or stopwaitsecs, with room to spare
POLL_S = 0.1
STOP_MARGIN_S = 15.0  # past stopwaitsecs, supervisord's SIGKILL and reaping
FAILED_STATES = ("BACKOFF", "FATAL", "EXITED", "STOPPED")


def launch_script(env: Mapping[str, str], command: Sequence[str] | None = None) -> str:
    """What ``LAUNCH`` sources: run ``command`` (or the arguments after the file) with exactly
    ``env`` and ``BASE_ENV``.

    Every word is quoted with ``shlex``, so a newline or a quote in an argument or a value
    reaches the program as it is. A NUL cannot be in an argument or a variable: refused.
    """
    for key, value in env.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or "\0" in value:
            raise PermanentError(f"the environment variable {key!r} cannot be passed on")
    if command is not None and any("\0" in word for word in command):
        raise PermanentError("a NUL character cannot be in a command's argument")
    lines = ["# written by Slipway: sourced by /bin/sh, which then execs the program"]
    if command is not None:
        lines.append(f"set -- {shlex.join(command)}")
    assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items()))
    # `env` would take a program named like `a=b` for one more variable: `sh` runs that one
    hop = "" if command is None or "=" not in command[0] else '/bin/sh -c \'exec "$0" "$@"\' '
    lines.append(f'exec env -i {_BASE_WORDS} {assignments} {hop}"$@"'.replace("  ", " "))
    return "\n".join(lines) + "\n"


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
        config = supervisord_config(run)
        q = shlex.quote
        files = tar_of({"supervisord.conf.new": (config.encode(), 0o600)})
        conf = f"{run}/supervisord.conf"
        script = (
            f"set -e; mkdir -p {q(run)}/programs {q(run)}/logs; chmod 700 {q(run)}; "
            f"tar -xf - -C {q(run)}; mv -f {q(conf + '.new')} {q(conf)}; rm -f {q(self.socket)}; "
            f"cd {q(run)}; env -i {_BASE_WORDS} {q(self.python)} -m supervisor.supervisord "
            f"-c {q(conf)}"
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
        """``programs/<name>.conf`` and ``programs/<name>.env`` (its launch file), ready for
        ``awrite``; a value the config cannot hold is refused here, before anything is sent."""
        env_path = f"{self.run_dir}/programs/{name}.env"
        script = launch_script(env, command)
        text = program_config(
            name,
            # the digest is a word `set --` in the script replaces: see `supervisor.digest`
            command=["/bin/sh", "-c", LAUNCH, "slipway-launch", env_path, digest(script)],
            directory=directory,
            log=f"{self.run_dir}/logs/{name}.log",
            stop_timeout_s=stop_timeout_s,
            start_secs=start_secs,
            autostart=autostart,
        )
        return {
            f"programs/{name}.env": (script.encode(), 0o600),
            f"programs/{name}.conf": (text.encode(), 0o644),
        }

    async def awrite(self, files: Mapping[str, tuple[bytes, int]]) -> None:
        """Write files under the run directory in one round trip, each renamed into place, the
        ``.conf`` files last (a config never names a launch file not yet there). The config
        each replaces is kept as ``<name>.conf.prev``, for ``_areload`` to put back."""
        q = shlex.quote
        moves = []
        for name in sorted(files, key=lambda n: n.endswith(".conf")):
            path = f"{self.run_dir}/{name}"
            if name.endswith(".conf"):
                prev = q(path + ".prev")
                moves.append(f"{{ [ -e {q(path)} ] && ln -f {q(path)} {prev} || rm -f {prev}; }}")
            moves.append(f"mv -f {q(path + '.new')} {q(path)}")
        staged = {f"{name}.new": content for name, content in files.items()}
        await self.pool.arun(
            self.host,
            f"umask 077 && tar -xf - -C {q(self.run_dir)} && " + " && ".join(moves),
            stdin=tar_of(staged),
        )

    async def _areload(self, program: str | None) -> list[list[str]]:
        """``reloadConfig``. Refused (a config this host's supervisord cannot read after all),
        ``program``'s config just written is put back as it was before the error is raised."""
        try:
            return cast(list[list[str]], (await self.acall("supervisor.reloadConfig"))[0])
        except BackendError:
            if program is not None:
                conf = shlex.quote(f"{self.run_dir}/programs/{program}.conf")
                await self.pool.arun(
                    self.host,
                    f"if [ -e {conf}.prev ]; then mv -f {conf}.prev {conf}; else rm -f {conf}; fi",
                    check=False,
                )
            raise

    async def aupdate(self, program: str | None = None) -> None:
        """Apply programs/*.conf like ``supervisorctl update`` (``program``'s just written)."""
        added, changed, removed = await self._areload(program)
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
        added, changed, removed = await self._areload(name)
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
        files = [f"{name}.conf", f"{name}.conf.prev", f"{name}.env", *also]
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
