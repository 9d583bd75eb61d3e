"""The flag server: OFREP over HTTP, a small bare ASGI app on uvicorn.

``ofrep_routes`` are the two OFREP endpoints, ready to be mounted in a larger ASGI app (the
HTTP API's ``slipway serve``), whose lifespan then starts and stops the ``FlagSource``;
``ofrep_app`` is the app ``slipway flags serve`` runs on its own; ``FlagServer`` runs it on
uvicorn — in the foreground for the CLI, in a thread for tests and benchmarks. The protocol
itself is in ``ofrep`` (no I/O); this module only moves bytes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Sequence
from urllib.parse import unquote

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from slipway.errors import BackendError, UsageError
from slipway.flags.ofrep import Answer, authorized, evaluate_flag, evaluate_flags, unauthorized
from slipway.flags.source import FlagSource
from slipway.spec.environment import Environment
from slipway.store import Store

START_TIMEOUT_S = 10.0


def _response(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))


def ofrep_routes(source: FlagSource, *, token: str | None = None) -> list[Route]:
    """``POST /ofrep/v1/evaluate/flags/{key}`` and ``POST /ofrep/v1/evaluate/flags``."""

    async def one(request: Request) -> Response:
        if not authorized(token, request.headers):
            return _response(unauthorized())
        body = await request.body()
        return _response(evaluate_flag(source.snapshot, request.path_params["key"], body))

    async def bulk(request: Request) -> Response:
        if not authorized(token, request.headers):
            return _response(unauthorized())
        body = await request.body()
        match = request.headers.get("if-none-match")
        return _response(evaluate_flags(source.snapshot, body, if_none_match=match))

    return [
        Route("/ofrep/v1/evaluate/flags/{key}", one, methods=["POST"]),
        Route("/ofrep/v1/evaluate/flags", bulk, methods=["POST"]),
    ]


BULK = "/ofrep/v1/evaluate/flags"
ONE = BULK + "/"


def ofrep_app(source: FlagSource, *, token: str | None = None) -> ASGIApp:
    """The OFREP endpoints alone, as a bare ASGI app; the source refreshes while it runs.

    Not Starlette's routing, requests and responses: at thousands of evaluations a second
    they cost as much as the evaluation (``bench/flags.py``); here a request is its path, its
    few headers and its body, and the answer two messages. ``ofrep_routes`` is the same
    protocol for mounting in a Starlette app.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(source, receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path != BULK and not (path.startswith(ONE) and "/" not in path[len(ONE) :]):
            await _send(send, Answer(404, b"Not Found", {"content-type": "text/plain"}))
            return
        if scope["method"] != "POST":
            await _send(send, Answer(405, b"Method Not Allowed", {"allow": "POST"}))
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _body(receive)
        if not authorized(token, headers):
            answer = unauthorized()
        elif path == BULK:
            answer = evaluate_flags(
                source.snapshot, body, if_none_match=headers.get("if-none-match")
            )
        else:
            answer = evaluate_flag(source.snapshot, unquote(path[len(ONE) :]), body)
        await _send(send, answer)

    return app


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, answer: Answer) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _lifespan(source: FlagSource, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            source.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            source.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


def source_for(env: Environment, store: Store) -> FlagSource:
    refresh = env.flags.refresh_s if env.flags is not None else 0.05
    return FlagSource(store, app=env.app, environment=env.name, refresh_s=refresh)


def token_for(env: Environment, environ: dict[str, str] | None = None) -> str | None:
    """The token clients must send, read from ``flags.token_env`` (None: no token)."""
    if env.flags is None or env.flags.token_env is None:
        return None
    value = (environ if environ is not None else os.environ).get(env.flags.token_env)
    if not value:
        raise UsageError(
            f"${env.flags.token_env} is empty: the flag server needs its token",
            hint=f"export {env.flags.token_env}=… (the token OFREP clients send)",
        )
    return value


class _Stopped(Exception):
    pass


def _stopped(_signum: int, _frame: object) -> None:
    raise _Stopped


class FlagServer:
    """uvicorn serving ``app`` on ``host:port`` (``slipway serve`` runs its app on it too,
    as ``name``, with ``tls``: a certificate file and its key)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        name: str = "flag server",
        tls: tuple[str, str] | None = None,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: on a server
        # listening on loopback, every local client could then name any address
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="auto",  # uvloop and httptools when installed
            http="auto",
            lifespan="on",
            log_level="warning",
            access_log=False,
            server_header=False,
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies) or None,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.host, self.port, self.name, self.tls = host, port, name, tls is not None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def run(self) -> None:
        """In the foreground, until SIGINT or SIGTERM: either is a clean stop (exit 0)."""
        # uvicorn raises the signal that stopped it again once it has shut down, under the
        # handler that was there before it: make that handler end the run quietly
        previous = signal.signal(signal.SIGTERM, _stopped)
        try:
            self._server.run()
        except (KeyboardInterrupt, _Stopped):
            return
        finally:
            signal.signal(signal.SIGTERM, previous)
        if not self._server.started:
            raise BackendError(f"the {self.name} could not listen on {self.url}")

    def start(self) -> FlagServer:
        """In a thread; returns once it listens."""
        self._thread = threading.Thread(target=self._in_thread, name="slipway-ofrep", daemon=True)
        self._thread.start()
        done = threading.Event()
        for _ in range(int(START_TIMEOUT_S / 0.02)):
            if self._server.started or not self._thread.is_alive():
                break
            done.wait(0.02)
        if not self._server.started:
            self.stop()
            raise BackendError(f"the {self.name} did not start on {self.url}")
        return self

    def _in_thread(self) -> None:
        asyncio.run(self._server.serve())

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FlagServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
