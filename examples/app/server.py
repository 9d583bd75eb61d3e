"""The sample app: a small HTTP service whose releases misbehave on purpose.

Standard library only, so a release is just this file and its ``release.json``:
``{"version", "fail_health", "fail_health_slots", "error_rate", "latency_ms",
"crash_after_s"}``.
It listens on 127.0.0.1 and the port in ``PORT``.

- ``/health``: 200 ``ok``, or 503 when ``fail_health`` (or this slot is in
  ``fail_health_slots``: a release bad on one instance only).
- ``/``: JSON with version, slot and pid.
- ``/work``: an ordinary request: ``latency_ms`` added, 500 for ``error_rate`` of them.
- ``/metrics``: Prometheus text: requests by code and a latency histogram.

Every response carries ``X-Release: <version>``. On SIGTERM it stops accepting
connections, lets in-flight requests finish (at most ``DRAIN_S``), answers
with ``Connection: close`` from then on, and exits 0.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DRAIN_S = 10.0
IDLE_TIMEOUT_S = 5.0
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

RELEASE = json.loads((Path(__file__).parent / "release.json").read_text())
VERSION = str(RELEASE.get("version", "unknown"))
SLOT = os.environ.get("SLIPWAY_SLOT", "")
random_source = random.Random(os.getpid())


class State:
    """Counters shared by the handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.draining = False
        self.by_code: dict[int, int] = {}
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0

    def record(self, code: int, seconds: float) -> None:
        with self.lock:
            self.by_code[code] = self.by_code.get(code, 0) + 1
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
    timeout = IDLE_TIMEOUT_S  # idle keep-alive connections are closed after this
    server_version = "sample-app"

    def do_GET(self) -> None:
        with STATE.lock:
            STATE.in_flight += 1
        started = time.monotonic()
        code = 500
        try:
            code = self._route()
        finally:
            STATE.record(code, time.monotonic() - started)
            with STATE.lock:
                STATE.in_flight -= 1

    def _route(self) -> int:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            if RELEASE.get("fail_health") or SLOT in RELEASE.get("fail_health_slots", []):
                return self._send(503, "unhealthy\n")
            return self._send(200, "ok\n")
        if path == "/metrics":
            return self._send(200, metrics(), content_type="text/plain; version=0.0.4")
        if path in ("/", "/work"):
            latency = float(RELEASE.get("latency_ms") or 0) / 1000
            if latency:
                time.sleep(latency)
            if random_source.random() < float(RELEASE.get("error_rate") or 0):
                return self._send(500, "injected error\n")
            body = json.dumps({"version": VERSION, "slot": SLOT, "pid": os.getpid()}) + "\n"
            return self._send(200, body, content_type="application/json")
        return self._send(404, "not found\n")

    def _send(self, code: int, body: str, *, content_type: str = "text/plain") -> int:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Release", VERSION)
        if STATE.draining:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
        return code

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")


def metrics() -> str:
    lines = [
        "# HELP app_requests_total Requests answered, by status code.",
        "# TYPE app_requests_total counter",
    ]
    with STATE.lock:
        by_code = dict(STATE.by_code)
        buckets = list(STATE.buckets)
        total_s = STATE.latency_sum
    for code, count in sorted(by_code.items()):
        lines.append(f'app_requests_total{{version="{VERSION}",code="{code}"}} {count}')
    lines += [
        "# HELP app_request_seconds Time to answer a request.",
        "# TYPE app_request_seconds histogram",
    ]
    cumulative = 0
    for bound, count in zip((*BUCKETS, float("inf")), buckets, strict=True):
        cumulative += count
        le = "+Inf" if bound == float("inf") else repr(bound)
        lines.append(f'app_request_seconds_bucket{{version="{VERSION}",le="{le}"}} {cumulative}')
    lines.append(f'app_request_seconds_sum{{version="{VERSION}"}} {total_s:.6f}')
    lines.append(f'app_request_seconds_count{{version="{VERSION}"}} {cumulative}')
    return "\n".join(lines) + "\n"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = Server(("127.0.0.1", port), Handler)
    stopped = threading.Event()

    def drain(_signum: int, _frame: object) -> None:
        STATE.draining = True
        threading.Thread(target=server.shutdown, daemon=True).start()
        stopped.set()

    signal.signal(signal.SIGTERM, drain)
    crash_after = RELEASE.get("crash_after_s")
    if crash_after:
        threading.Timer(float(crash_after), lambda: os._exit(3)).start()
    print(f"sample app {VERSION} listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()  # no new connections from here on
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        with STATE.lock:
            if STATE.in_flight == 0:
                break
        time.sleep(0.02)
    print(f"sample app {VERSION} stopped", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
