"""SSH connections to a fleet: one per host, opened once and reused for the whole deployment.

Every call is run on the pool's ``LoopThread`` (``ssh/loop.py``) and waited for with a
timeout, so hundreds of hosts cost one thread and one TCP connection each, not a process per
command as ``ssh`` would.

Bounds: at most ``max_parallel`` hosts are worked on at once by ``map`` (and
at most that many handshakes run together); every command has a timeout. A
host that stops answering is marked unreachable: its connection is closed and
every later call for it fails at once with ``HostFailed``, instead of waiting
out another timeout — the engine's host-failure policy decides what follows.

Commands are strings here; building them from validated values, each quoted
with ``shlex``, is the caller's duty (``slipway.ssh.commands``). They may be
logged; secrets never go in them (those travel on stdin).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncssh

from slipway.errors import HostFailed, HostKeyError, UsageError
from slipway.ssh.connect import connect, describe
from slipway.ssh.fence import HostFence
from slipway.ssh.flow import Room, send_file
from slipway.ssh.hostkeys import host_key_error
from slipway.ssh.loop import LoopThread

T = TypeVar("T")
STDERR_TAIL = 400
FOLLOW_POLL_S = 0.2  # how soon a followed stream notices it was asked to stop


@dataclass(frozen=True)
class SshHost:
    """Where one host is and who we log in as; ``key_file`` None means the ssh agent."""

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key_file: Path | None = None


@dataclass(frozen=True)
class CommandResult:
    host: str
    command: str
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class SshPool:
    """Connections to ``hosts``, opened on first use and kept until ``close``."""

    def __init__(
        self,
        hosts: Sequence[SshHost],
        *,
        known_hosts: Path,
        connect_timeout_s: float = 10.0,
        command_timeout_s: float = 60.0,
        max_parallel: int = 20,
    ) -> None:
        self.hosts = {h.name: h for h in hosts}
        self.known_hosts = known_hosts
        self.connect_timeout_s = connect_timeout_s
        self.command_timeout_s = command_timeout_s
        self.max_parallel = max(1, max_parallel)
        self.connections_opened = 0
        self._conns: dict[str, asyncssh.SSHClientConnection] = {}
        self._rooms: dict[str, Room] = {}  # each connection's transport: room for an upload
        self._locks: dict[str, asyncio.Lock] = {}
        self._down: dict[str, str] = {}
        # made by ``_fresh_gates`` as each loop starts, before anything runs on it
        self._sem: asyncio.Semaphore  # hosts worked on at once (``map``)
        self._handshakes: asyncio.Semaphore  # connections opening at once
        self._loop = LoopThread("slipway-ssh", on_start=self._fresh_gates)
        self._trusted: asyncssh.SSHKnownHosts | None = None  # known_hosts, parsed once
        self.fence: HostFence | None = None  # the lease's token, checked on every host

    # the loop thread

    def _fresh_gates(self) -> None:
        """New semaphores for a new loop: one used on a stopped loop stays bound to it."""
        self._sem = asyncio.Semaphore(self.max_parallel)
        self._handshakes = asyncio.Semaphore(self.max_parallel)

    def call(self, coro: Awaitable[T], *, timeout_s: float | None = None) -> T:
        """Run ``coro`` on the pool's loop and wait for its result (from any thread)."""
        return self._loop.call(coro, timeout_s=timeout_s)

    @property
    def running(self) -> bool:
        """Whether the loop thread runs (something was asked of the pool, and not closed)."""
        return self._loop.running

    def close(self) -> None:
        """Close every connection and stop the loop thread (nothing to do if it never ran)."""

        async def _close_all() -> None:
            conns = list(self._conns.values())
            self._conns.clear()
            for conn in conns:
                conn.close()
            for conn in conns:
                await conn.wait_closed()

        self._loop.stop(_close_all())

    # connections

    def host(self, name: str) -> SshHost:
        try:
            return self.hosts[name]
        except KeyError:
            raise UsageError(f"no host {name!r} in this fleet") from None

    def is_down(self, name: str) -> bool:
        return name in self._down

    def live(self, names: Iterable[str]) -> list[str]:
        """``names`` but the hosts left out of this run (unreachable, or failed under
        ``on_host_failure: continue``), in their order."""
        return [n for n in names if n not in self._down]

    def mark_down(self, name: str, reason: str) -> None:
        self._down.setdefault(name, reason)
        conn = self._conns.pop(name, None)
        room = self._rooms.pop(name, None)
        if conn is not None:
            self._loop.soon(conn.abort)
            if room is not None:
                self._loop.soon(room.release)

    async def connection(self, name: str) -> asyncssh.SSHClientConnection:
        """The host's connection (opened on first use), once the host's lease token allows
        this runner to act there (``ssh/fence.py``)."""
        conn = await self._connection(name)
        if self.fence is not None:
            await self.fence.check(name, conn, timeout_s=self.command_timeout_s)
        return conn

    async def _connection(self, name: str) -> asyncssh.SSHClientConnection:
        if name in self._down:
            raise HostFailed(name, f"left out of this run: {self._down[name]}", unreachable=True)
        conn = self._conns.get(name)
        if conn is not None:
            return conn
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            conn = self._conns.get(name)
            if conn is None:
                async with self._handshakes:
                    conn = await self._connect(self.host(name))
                self._conns[name] = conn
                self._rooms[name] = Room(conn)
                self.connections_opened += 1
        return conn

    async def _connect(self, host: SshHost) -> asyncssh.SSHClientConnection:
        if not self.known_hosts.is_file():
            # asyncssh would say "No such file"; say which host key is at stake and the fix
            raise self._unless_down(
                await host_key_error(host.name, host.address, host.port, self.known_hosts)
            )
        if self._trusted is None:
            # read once for the whole fleet: asyncssh would parse the file again for every
            # host, and a hundred hosts' file a hundred times is a second of CPU
            try:
                self._trusted = asyncssh.read_known_hosts(str(self.known_hosts))
            except (OSError, ValueError) as exc:
                raise HostFailed(
                    host.name, f"cannot read known_hosts {self.known_hosts}: {exc}"
                ) from None
        try:
            return await connect(
                host,
                trusted=self._trusted,
                timeout_s=self.connect_timeout_s,
                keepalive_s=max(1.0, self.command_timeout_s / 3),
            )
        except asyncssh.HostKeyNotVerifiable:
            raise self._unless_down(
                await host_key_error(host.name, host.address, host.port, self.known_hosts)
            ) from None
        except HostFailed as exc:
            if exc.unreachable:
                self._down.setdefault(host.name, exc.detail)
            raise

    def _unless_down(self, error: HostKeyError | HostFailed) -> HostKeyError | HostFailed:
        """A host that presented no key at all does not answer: it is down for this run."""
        if isinstance(error, HostFailed):
            self._down.setdefault(error.host, error.detail)
        return error

    # commands

    async def arun(
        self,
        name: str,
        command: str,
        *,
        stdin: Path | bytes | None = None,
        timeout_s: float | None = None,
        check: bool = True,
    ) -> CommandResult:
        conn = await self.connection(name)
        timeout = timeout_s or self.command_timeout_s
        running: Awaitable[asyncssh.SSHCompletedProcess]
        if isinstance(stdin, Path):  # an upload: as fast as the host takes it, no faster
            running = send_file(conn, self._rooms.get(name) or Room(conn), command, stdin)
        else:
            running = conn.run(command, check=False, encoding=None, input=stdin)
        try:
            done = await asyncio.wait_for(running, timeout)
        except TimeoutError:
            reason = f"no answer within {timeout:g}s to `{_short(command)}`"
            self.mark_down(name, reason)
            raise HostFailed(name, reason, unreachable=True) from None
        except (OSError, asyncssh.Error) as exc:
            reason = f"connection lost during `{_short(command)}`: {describe(exc)}"
            self.mark_down(name, reason)
            raise HostFailed(name, reason, unreachable=True) from None
        result = CommandResult(
            host=name,
            command=command,
            exit_status=done.exit_status if done.exit_status is not None else -1,
            stdout=_text(done.stdout),
            stderr=_text(done.stderr),
        )
        if check and not result.ok:
            tail = (result.stderr or result.stdout).strip()[-STDERR_TAIL:]
            raise HostFailed(
                name,
                f"`{_short(command)}` exited with {result.exit_status}: {tail or '(no output)'}",
            )
        return result

    def run(
        self,
        name: str,
        command: str,
        *,
        stdin: Path | bytes | None = None,
        timeout_s: float | None = None,
        check: bool = True,
    ) -> CommandResult:
        return self.call(self.arun(name, command, stdin=stdin, timeout_s=timeout_s, check=check))

    async def aunix(
        self,
        name: str,
        path: str,
        request: bytes,
        *,
        until: Callable[[bytes], bool] | None = None,
        timeout_s: float | None = None,
    ) -> bytes:
        """Send ``request`` to a unix socket on the host, through the SSH connection; read the
        answer until the server closes (HAProxy's runtime API) or ``until(answer)`` is true
        (supervisord's HTTP, by its Content-Length). Nothing listens on the network for this.
        """
        conn = await self.connection(name)
        timeout = timeout_s or self.command_timeout_s

        async def exchange() -> bytes:
            reader, writer = await conn.open_unix_connection(path)
            try:
                writer.write(request)
                data = b""
                while chunk := await reader.read(65536):
                    data += chunk
                    if until is not None and until(data):
                        break
                return data
            finally:
                writer.close()

        try:
            return await asyncio.wait_for(exchange(), timeout)
        except TimeoutError:
            reason = f"no answer within {timeout:g}s from {path}"
            self.mark_down(name, reason)
            raise HostFailed(name, reason, unreachable=True) from None
        except asyncssh.ChannelOpenError as exc:
            raise HostFailed(name, f"cannot open {path}: {exc.reason}") from None
        except (OSError, asyncssh.Error) as exc:
            reason = f"connection lost talking to {path}: {describe(exc)}"
            self.mark_down(name, reason)
            raise HostFailed(name, reason, unreachable=True) from None

    async def afollow_unix(
        self,
        name: str,
        path: str,
        request: bytes,
        on_data: Callable[[bytes], None],
        stopped: Callable[[], bool],
    ) -> None:
        """Send ``request`` to a unix socket on the host and hand everything it answers to
        ``on_data`` until it closes or ``stopped()`` (asked every ``FOLLOW_POLL_S``): a
        stream that is read as it comes, such as HAProxy's ``show events -w``."""
        conn = await self.connection(name)
        try:
            reader, writer = await asyncio.wait_for(
                conn.open_unix_connection(path), self.command_timeout_s
            )
        except TimeoutError:
            reason = f"no answer within {self.command_timeout_s:g}s from {path}"
            raise HostFailed(name, reason) from None
        except asyncssh.ChannelOpenError as exc:
            raise HostFailed(name, f"cannot open {path}: {exc.reason}") from None
        except (OSError, asyncssh.Error) as exc:
            raise HostFailed(name, f"cannot open {path}: {describe(exc)}") from None
        try:
            writer.write(request)
            while not stopped():
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), FOLLOW_POLL_S)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                on_data(chunk)
        except (OSError, asyncssh.Error) as exc:
            raise HostFailed(name, f"lost {path}: {describe(exc)}") from None
        finally:
            writer.close()

    def unix(
        self, name: str, path: str, request: bytes, *, timeout_s: float | None = None
    ) -> bytes:
        return self.call(self.aunix(name, path, request, timeout_s=timeout_s))

    def map(
        self, names: Iterable[str], work: Callable[[str], Awaitable[T]]
    ) -> dict[str, T | BaseException]:
        """``work(host)`` for every host, at most ``max_parallel`` at once; results or errors.

        A ``HostKeyError`` is raised at once rather than returned: it stops everything.
        """

        async def each(name: str) -> T:
            async with self._sem:
                return await work(name)

        async def all_of(names: list[str]) -> list[T | BaseException]:
            return await asyncio.gather(*(each(n) for n in names), return_exceptions=True)

        order = list(names)
        results = self.call(all_of(order))
        for result in results:
            if isinstance(result, HostKeyError):
                raise result
        return dict(zip(order, results, strict=True))


def _short(command: str, limit: int = 120) -> str:
    return command if len(command) <= limit else command[: limit - 1] + "…"


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
