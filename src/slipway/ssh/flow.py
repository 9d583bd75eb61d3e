"""Back-pressure for what a fleet's uploads hold in this process.

asyncssh sends a channel's data as far as the peer's window allows (2 MiB from OpenSSH) and
ignores its transport's flow control (its connection's ``pause_writing`` does nothing). When a
host reads more slowly than this process encrypts — always, for a hundred hosts on two cores —
each upload's encrypted bytes pile up in the transport's buffer: 2 to 3 MB per host, the most of
Slipway's memory on a large fleet. ``Room`` listens to the transport instead, and
``send_file`` writes a file's next chunk only while less than ``HIGH_WATER`` waits there (the
kernel's socket buffer holds the rest, as it does for a blocking client such as Fabric's).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh

HIGH_WATER = 16 * 1024  # bytes an upload may leave in the transport's buffer
CHUNK = 16 * 1024  # read from the file and written to the channel at a time


class Room:
    """Whether a connection's transport has room for more (its buffer under ``HIGH_WATER``).

    The transport tells its protocol — the asyncssh connection — when to pause and resume;
    those two calls are pointed at an event here (asyncssh's own do nothing)."""

    def __init__(self, conn: asyncssh.SSHClientConnection) -> None:
        self._open = asyncio.Event()
        self._open.set()
        transport = conn._transport  # asyncssh keeps it private; it is an asyncio transport
        if not isinstance(transport, asyncio.WriteTransport):
            return  # no transport to listen to: never wait
        conn.pause_writing = self._open.clear  # type: ignore[method-assign]
        conn.resume_writing = self._open.set  # type: ignore[method-assign]
        transport.set_write_buffer_limits(high=HIGH_WATER, low=HIGH_WATER // 4)

    async def wait(self) -> None:
        await self._open.wait()

    def release(self) -> None:
        """Let every waiter go (the connection is closing: nothing will resume it)."""
        self._open.set()


async def send_file(
    conn: asyncssh.SSHClientConnection, room: Room, command: str, path: Path
) -> asyncssh.SSHCompletedProcess:
    """Run ``command`` with the file at ``path`` on its stdin, ``CHUNK`` by ``CHUNK`` as the
    transport makes room; its exit status and output, as ``conn.run`` would give them."""
    async with conn.create_process(command, encoding=None) as process:
        try:
            with path.open("rb") as source:
                while chunk := source.read(CHUNK):
                    process.stdin.write(chunk)
                    await process.stdin.drain()
                    await room.wait()
            process.stdin.write_eof()
        except (BrokenPipeError, ConnectionResetError, asyncssh.ChannelOpenError):
            pass  # the command stopped reading: its exit status says why
        return await process.wait(check=False)
