"""A unix socket of a host, reachable here: a local socket whose connections are carried over
the host's pooled SSH connection (``ssh -L local.sock:/var/run/docker.sock``, without a
second process or a second connection).

It is how a fleet host's Docker engine is driven with the same client as this machine's: the
docker SDK talks HTTP to ``unix://<local socket>``, and each connection it opens becomes one
SSH channel to the host's ``/var/run/docker.sock``. Nothing listens on the network: the local
socket lives in a directory only this user can enter (``sockets.py``'s rule), removed at
``close``.

Each forwarded connection asks the pool for the host's connection afresh, so a reconnect,
the lease token's check and a host marked down all apply as for any command. Why a
connection could not be carried is kept (``failure``): the client only sees it closed, and
the caller turns that into the host's failure instead of "the engine does not answer".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh

from slipway.errors import HostFailed
from slipway.ssh.connect import describe

if TYPE_CHECKING:
    from slipway.ssh.pool import SshPool

CHUNK = 256 * 1024


class UnixForwards:
    """Local sockets carried to unix sockets of the pool's hosts, one per (host, path)."""

    def __init__(self, pool: SshPool) -> None:
        self.pool = pool
        self._dir: Path | None = None
        self._servers: dict[tuple[str, str], tuple[asyncio.Server, Path]] = {}
        self._failures: dict[str, str] = {}
        self._carrying: set[asyncio.Task[None]] = set()  # connections being carried now

    def local_path(self, host: str, remote: str) -> Path:
        """The local socket reaching ``remote`` on ``host`` (listening from now on)."""
        return self.pool.call(self._open(host, remote))

    def failure(self, host: str) -> str | None:
        """Why the last connection to ``host`` could not be carried; None if none failed."""
        return self._failures.get(host)

    async def _open(self, host: str, remote: str) -> Path:
        key = (host, remote)
        if key in self._servers:
            return self._servers[key][1]
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="slipway-fw-"))  # 0700, ours
        path = self._dir / f"{len(self._servers)}.sock"

        async def carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._carry(host, remote, reader, writer)

        server = await asyncio.start_unix_server(carry, path=str(path))
        os.chmod(path, 0o600)
        self._servers[key] = (server, path)
        return path

    async def _carry(
        self, host: str, remote: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._carrying.add(task)
        try:
            await self._carry_one(host, remote, reader, writer)
        except asyncio.CancelledError:
            # `close` ended it; a connection handler that ends cancelled is logged by asyncio
            # as an error with a traceback, and this is no error
            return
        finally:
            self._carrying.discard(task)
            writer.close()

    async def _carry_one(
        self, host: str, remote: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            conn = await self.pool.connection(host)
            far_reader, far_writer = await asyncio.wait_for(
                conn.open_unix_connection(remote), self.pool.connect_timeout_s
            )
        except HostFailed as exc:
            self._failures[host] = exc.detail
            return
        except asyncssh.ChannelOpenError as exc:
            self._failures[host] = f"cannot open {remote}: {exc.reason}"
            return
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            self._failures[host] = f"cannot reach {remote}: {describe(exc)}"
            self.pool.mark_down(host, self._failures[host])  # the connection is no good
            return
        self._failures.pop(host, None)
        try:
            await asyncio.gather(
                _pipe(reader, far_writer), _pipe(far_reader, writer), return_exceptions=True
            )
        finally:
            far_writer.close()

    def close(self) -> None:
        """Stop listening and remove the sockets (the pool's loop must still run)."""
        if self._servers and self.pool.running:
            self.pool.call(self._close())
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._servers.clear()

    async def _close(self) -> None:
        for server, _ in self._servers.values():
            server.close()
        for task in list(self._carrying):  # the clients are gone: end what they left open
            task.cancel()
        if self._carrying:
            await asyncio.wait(list(self._carrying), timeout=5)
        for server, _ in self._servers.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)


async def _pipe(
    reader: asyncio.StreamReader | asyncssh.SSHReader[bytes],
    writer: asyncio.StreamWriter | asyncssh.SSHWriter[bytes],
) -> None:
    """Copy until the end of ``reader``, then end ``writer``'s side too (a half close)."""
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
        with contextlib.suppress(OSError, asyncssh.Error):
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
    except (OSError, asyncssh.Error):
        writer.close()
