"""Following HAProxy's request-log ring through the runtime API, here or on a fleet's LB host.

HAProxy logs each request into a ring (``log ring@requests``), and a runner analysing a release
reads it with ``show events requests -w -n``: new lines only, waiting for more. A ring, not a
log socket: HAProxy sends log datagrams without waiting, and a unix datagram socket holds only
``net.unix.max_dgram_qlen`` of them (10 here) — a runner busy for a moment lost a sixth of the
lines under load. The ring holds megabytes for a slow reader.

A reload starts a new worker with a new ring, and the old worker, stopping, would keep the
stream (and itself) alive with nothing more to say: it logs ``Proxy … stopped`` as it goes, and
that line ends the stream here, to open it again on the new worker.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from slipway.errors import SlipwayError
from slipway.router.haproxy_config import LOG_RING

FOLLOW_RETRY_S = 0.2  # HAProxy reloaded (a new worker, a new ring) or its host blinked
REQUEST = f"show events {LOG_RING} -w -n\n".encode()

Feed = Callable[[bytes], None]
Ended = Callable[[], bool]
#: opens the runtime API, sends the request, feeds what comes back until it closes or ended()
Stream = Callable[[bytes, Feed, Ended], None]


def follow(stream: Stream, on_line: Callable[[str], None], stop: threading.Event) -> None:
    """Hand each request HAProxy logs from now on to ``on_line``, until ``stop`` is set."""
    while not stop.is_set():
        if not _follow_once(stream, on_line, stop):
            stop.wait(FOLLOW_RETRY_S)


def _follow_once(stream: Stream, on_line: Callable[[str], None], stop: threading.Event) -> bool:
    """One stream of the ring, until it ends; whether it ended for a reload."""
    reloaded = threading.Event()

    def line(text: str) -> None:
        if text.startswith("Proxy ") and " stopped" in text:
            reloaded.set()
        else:
            on_line(text)

    def ended() -> bool:
        return stop.is_set() or reloaded.is_set()

    # a failure means no lines meanwhile: the analysis sees too few requests and says so
    with contextlib.suppress(SlipwayError, OSError):
        stream(REQUEST, line_feeder(line), ended)  # a line cut by a closed stream is not kept
    return reloaded.is_set()


def unix_stream(path: Path) -> Stream:
    """The runtime API on a unix socket of this machine."""

    def stream(request: bytes, feed: Feed, ended: Ended) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(str(path))
            _exchange(conn, request, feed, ended)

    return stream


def tcp_stream(address: tuple[str, int]) -> Stream:
    """The runtime API on a TCP address (a fleet's LB host that exposes it)."""

    def stream(request: bytes, feed: Feed, ended: Ended) -> None:
        with socket.create_connection(address, timeout=5) as conn:
            _exchange(conn, request, feed, ended)

    return stream


def _exchange(conn: socket.socket, request: bytes, feed: Feed, ended: Ended) -> None:
    conn.sendall(request)
    conn.settimeout(FOLLOW_RETRY_S)
    while not ended():
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return
        feed(chunk)


def line_feeder(on_line: Callable[[str], None]) -> Feed:
    """Chunks of a stream in, whole lines out."""
    pending = bytearray()

    def feed(data: bytes) -> None:
        pending.extend(data)
        *lines, rest = pending.split(b"\n")
        pending[:] = rest
        for line in lines:
            if line:
                on_line(line.decode(errors="replace"))

    return feed
