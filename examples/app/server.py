"""The sample app: a small HTTP service whose releases misbehave on purpose.

Standard library only, so a release is just this file and its ``release.json``
(written by ``build.py``): ``{"version", "fail_health", "fail_health_slots",
"error_rate", "latency_ms", "crash_after_s"}``. It listens on the port in
``PORT``, on 127.0.0.1 or the address in ``SLIPWAY_ADDRESS`` (a fleet host's own
address, which its load balancer reaches); ``SLIPWAY_SLOT`` names its slot.

- ``/health``: 200 ``ok``, or 503 when ``fail_health`` (or when this slot is in
  ``fail_health_slots``: a release that is bad on one instance only).
- ``/``: JSON with version, slot and pid.
- ``/work``: an ordinary request. ``/`` and ``/work`` wait ``latency_ms`` and
  answer 500 for a share ``error_rate`` of requests (random, seeded per process).
- ``/metrics``: Prometheus text: requests by code, a latency histogram and the
  requests in flight, all labelled with the version.

A release with a ``flag`` asks for it on every ``/`` and ``/work`` request: one
OFREP call (``POST $OFREP_URL/ofrep/v1/evaluate/flags/<flag>``, the targeting key
from the request's ``X-User`` header) over a keep-alive connection per thread,
with the flag off when the flag server does not answer in time (an OpenFeature
SDK's default value). With the flag on, the request takes the new code path:
``flag_error_rate`` and ``flag_latency_ms`` apply instead of ``error_rate`` and
``latency_ms``. The answer says ``X-Flag-Variant: <flag>=<on|off>`` (HAProxy logs
it, so analysis compares users with the flag on against users with it off) and
the request counts with ``feature_flag_key`` and ``feature_flag_variant`` labels.

``late_error_rate`` (``flag_late_error_rate`` with the flag on) is a regression that shows
only later: 5xx on that share of requests once the file named by ``FAULT_FILE`` exists.

Every response carries ``X-Release: <version>``, and each request is logged as
one line on stdout. With ``crash_after_s`` the process exits with status 3 that
many seconds after it started.

SIGTERM (or SIGINT) drains it the way a load-balanced service should stop: the
listening socket is closed (new connections are refused), idle keep-alive
connections are closed, requests in flight finish (for at most ``DRAIN_S``)
and answer with ``Connection: close``, then it exits 0.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

DRAIN_S = 10.0
FLAG_TIMEOUT_S = 0.5
IDLE_TIMEOUT_S = 5.0
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

RELEASE: dict[str, Any] = json.loads((Path(__file__).parent / "release.json").read_text())
VERSION = str(RELEASE.get("version", "unknown"))
SLOT = os.environ.get("SLIPWAY_SLOT", "")
random_source = random.Random(os.getpid())
FLAG = str(RELEASE.get("flag") or "")
OFREP_URL = os.environ.get("OFREP_URL", "")
FAULT_FILE = os.environ.get("FAULT_FILE", "")


class FlagClient:
    """The release's flag for one user, from the OFREP server at ``OFREP_URL``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=FLAG_TIMEOUT_S)
            self.local.conn = conn
        return conn

    def variant(self, flag: str, user: str | None) -> str:
        """``on`` or ``off``; ``off`` when the server cannot say (no user at a split, down)."""
        context = {"targetingKey": user} if user else {}
        body = json.dumps({"context": context})
        for _ in range(2):  # once more on a fresh connection if the kept one was closed
            conn = self._connection()
            try:
                conn.request(
                    "POST",
                    f"/ofrep/v1/evaluate/flags/{quote(flag)}",
                    body,
                    {"Content-Type": "application/json"},
                )
                answer = conn.getresponse()
                data = json.loads(answer.read() or b"{}")
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                self.local.conn = None
                continue
            return "on" if answer.status == 200 and data.get("value") is True else "off"
        return "off"


FLAGS = FlagClient(OFREP_URL) if FLAG and OFREP_URL else None


class State:
    """Metrics and connections, shared by the handler threads.

    Connections are tracked from the moment they are accepted, as *idle* (waiting
    for a request) or *busy* (a request is being answered), so that a drain can
    close the idle ones at once and wait only for the busy ones.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.draining = False
        self.idle: set[socket.socket] = set()
        self.busy: set[socket.socket] = set()
        self.by_code: dict[tuple[int, str], int] = {}  # (code, flag variant or "")
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0

    def accepted(self, conn: socket.socket) -> None:
        with self.lock:
            self.idle.add(conn)

    def begin(self, conn: socket.socket) -> None:
        with self.lock:
            self.idle.discard(conn)
            self.busy.add(conn)

    def end(self, conn: socket.socket) -> None:
        with self.lock:
            if conn in self.busy:
                self.busy.discard(conn)
                self.idle.add(conn)

    def closed(self, conn: socket.socket) -> None:
        with self.lock:
            self.idle.discard(conn)
            self.busy.discard(conn)

    def in_flight(self) -> int:
        with self.lock:
            return len(self.busy)

    def close_idle(self) -> None:
        """Wake the threads blocked reading an idle connection: they see EOF and end."""
        with self.lock:
            self.draining = True
            idle = list(self.idle)
        for conn in idle:
            with contextlib.suppress(OSError):  # the client may have closed it first
                conn.shutdown(socket.SHUT_RDWR)

    def record(self, code: int, seconds: float, variant: str = "") -> None:
        with self.lock:
            key = (code, variant)
            self.by_code[key] = self.by_code.get(key, 0) + 1
            self.latency_sum += seconds
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.buckets[i] += 1
                    break
            else:
                self.buckets[-1] += 1


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S  # an idle keep-alive connection is closed after this
    server_version = "sample-app"
    # headers and body are two writes: with Nagle's algorithm the body would wait for a
    # delayed ACK, adding ~40 ms to every keep-alive request
    disable_nagle_algorithm = True
    started = 0.0
    variant = ""  # of the release's flag for this request ("" when it has none)

    def parse_request(self) -> bool:
        # called as soon as a request line has arrived: from here on the connection is busy
        STATE.begin(self.connection)
        self.started = time.monotonic()
        self.variant = ""
        return super().parse_request()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            STATE.end(self.connection)
            if STATE.draining:
                self.close_connection = True  # no next request on this connection

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            if RELEASE.get("fail_health") or SLOT in RELEASE.get("fail_health_slots", []):
                self._send(503, "unhealthy\n")
            else:
                self._send(200, "ok\n")
        elif path == "/metrics":
            self._send(200, metrics(), content_type="text/plain; version=0.0.4")
        elif path in ("/", "/work"):
            prefix = ""
            if FLAG:
                self.variant = FLAGS.variant(FLAG, self.headers.get("X-User")) if FLAGS else "off"
                prefix = "flag_" if self.variant == "on" else ""
            latency_s = float(RELEASE.get(f"{prefix}latency_ms") or 0) / 1000
            if latency_s:
                time.sleep(latency_s)
            error_rate = float(RELEASE.get(f"{prefix}error_rate") or 0)
            if FAULT_FILE and os.path.exists(FAULT_FILE):
                error_rate += float(RELEASE.get(f"{prefix}late_error_rate") or 0)
            if random_source.random() < error_rate:
                self._send(500, "injected error\n")
            else:
                body = {"version": VERSION, "slot": SLOT, "pid": os.getpid()}
                self._send(200, json.dumps(body) + "\n", content_type="application/json")
        else:
            self._send(404, "not found\n")

    def _send(self, code: int, body: str, *, content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def end_headers(self) -> None:
        # here rather than in _send so that send_error's answers (400, 501) carry them too
        self.send_header("X-Release", VERSION)
        if self.variant:
            self.send_header("X-Flag-Variant", f"{FLAG}={self.variant}")
        if STATE.draining and not self.close_connection:
            self.send_header("Connection", "close")  # also sets close_connection
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line per request on stdout, and the request counted in the metrics."""
        seconds = time.monotonic() - self.started if self.started else 0.0
        status = int(code) if isinstance(code, int) else 0  # HTTPStatus is an int too
        STATE.record(status, seconds, self.variant)
        request = f'"{self.requestline}" {status} {seconds * 1000:.1f}ms'
        sys.stdout.write(f"{self.address_string()} {VERSION} {SLOT or '-'} {request}\n")
        sys.stdout.flush()

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def metrics() -> str:
    label = f'version="{VERSION}"'
    with STATE.lock:
        by_code = dict(STATE.by_code)
        buckets = list(STATE.buckets)
        total_s = STATE.latency_sum
        in_flight = len(STATE.busy)
    lines = [
        "# HELP app_requests_total Requests answered, by status code.",
        "# TYPE app_requests_total counter",
    ]
    for (code, variant), count in sorted(by_code.items()):
        flagged = f',feature_flag_key="{FLAG}",feature_flag_variant="{variant}"' if variant else ""
        lines.append(f'app_requests_total{{{label},code="{code}"{flagged}}} {count}')
    lines += [
        "# HELP app_request_seconds Time to answer a request.",
        "# TYPE app_request_seconds histogram",
    ]
    cumulative = 0
    for bound, count in zip((*BUCKETS, float("inf")), buckets, strict=True):
        cumulative += count
        le = "+Inf" if bound == float("inf") else repr(bound)
        lines.append(f'app_request_seconds_bucket{{{label},le="{le}"}} {cumulative}')
    lines += [
        f"app_request_seconds_sum{{{label}}} {total_s:.6f}",
        f"app_request_seconds_count{{{label}}} {cumulative}",
        "# HELP app_requests_in_flight Requests being answered, this one included.",
        "# TYPE app_requests_in_flight gauge",
        f"app_requests_in_flight{{{label}}} {in_flight}",
    ]
    return "\n".join(lines) + "\n"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def process_request(self, request: Any, client_address: Any) -> None:
        # registered here, before its thread starts, so a drain cannot miss a connection
        STATE.accepted(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        STATE.closed(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # a client that went away: not worth a traceback
            sys.stderr.write(f"{client_address[0]} connection lost: {error}\n")
        else:
            super().handle_error(request, client_address)


def crash(after_s: float) -> None:
    time.sleep(after_s)
    sys.stderr.write(f"sample app {VERSION} crashing on purpose after {after_s:g}s\n")
    sys.stderr.flush()
    os._exit(3)


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    address = os.environ.get("SLIPWAY_ADDRESS", "127.0.0.1")
    server = Server((address, port), Handler)

    def drain(_signum: int, _frame: object) -> None:
        with STATE.lock:
            STATE.draining = True
        # shutdown() waits for serve_forever, which runs in this (the main) thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)
    if RELEASE.get("crash_after_s") is not None:
        after_s = float(RELEASE["crash_after_s"])
        threading.Thread(target=crash, args=(after_s,), daemon=True).start()
    print(f"sample app {VERSION} listening on {address}:{port} (pid {os.getpid()})", flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()  # new connections are refused from here on
    STATE.close_idle()
    deadline = time.monotonic() + DRAIN_S
    while STATE.in_flight() and time.monotonic() < deadline:
        time.sleep(0.02)
    left = STATE.in_flight()
    print(f"sample app {VERSION} stopped ({left} requests cut short)", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
