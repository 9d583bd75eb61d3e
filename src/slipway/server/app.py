"""``slipway serve``'s ASGI app: the JSON API, the dashboard, their assets, the live feed.

Errors of the library become HTTP answers here and nowhere else: ``NotSignedIn`` 401,
``AccessDenied`` 403, ``NotFound`` 404, ``Conflict`` 409, ``TooManyRefusals`` 429, any
other ``UsageError`` 400, anything else of ``SlipwayError`` (the store away) 503. A page
asked for without a session goes to the sign-in form instead.

Every answer carries a Content-Security-Policy allowing only this server's own scripts and
styles (no inline script, no CDN), and refuses framing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slipway.errors import (
    AccessDenied,
    Conflict,
    NotFound,
    NotSignedIn,
    SlipwayError,
    TooManyRefusals,
    UsageError,
)
from slipway.server import api, pages
from slipway.server.feed import Feed
from slipway.server.site import Site

STATIC = Path(__file__).parent / "static"
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
STATUS: list[tuple[type[SlipwayError], int]] = [
    (TooManyRefusals, 429),
    (NotSignedIn, 401),
    (AccessDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (UsageError, 400),
]


def _status(exc: SlipwayError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 503)


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return (
        path.startswith("/api/")
        or path.endswith("/live")
        or "application/json" in request.headers.get("accept", "")
    )


async def on_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SlipwayError)
    status = _status(exc)
    message = getattr(exc, "message", str(exc))
    hint = getattr(exc, "hint", None)
    if _wants_json(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        return JSONResponse({"error": message, "hint": hint}, status, headers=headers)
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
    return pages.render(
        request, "error.html", status, code=status, message=message, hint=hint, caller=None
    )


def make_app(site: Site, *, poll_s: float = 0.05) -> Starlette:
    """The app for ``site``; its feed follows the store while the app runs."""
    feed = Feed(site.store, poll_s=poll_s, heartbeat_s=site.heartbeat_s, clock=site.clock)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(feed.run())
        try:
            yield
        finally:
            feed.stop()
            await task

    app = Starlette(
        routes=[
            *api.ROUTES,
            *pages.ROUTES,
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={SlipwayError: on_error},
        lifespan=lifespan,
    )
    app.state.site = site
    app.state.feed = feed
    app.add_middleware(_Secured)
    return app


class _Secured:
    """The security headers on every answer (a middleware class, as Starlette takes them)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self._app(scope, receive, sending)
