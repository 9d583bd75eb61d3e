"""The JSON API of ``slipway serve`` (``/api/v1``, described by ``openapi.json``).

Every handler asks the library — ``reports``, ``metrics``, ``server.actions`` over
``engine.control`` — and returns what it says; none decides anything about a deployment.
Handlers are plain functions: Starlette runs them in its thread pool, beside the store's
synchronous calls.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from slipway import reports
from slipway.errors import AccessDenied, StoreError, UsageError
from slipway.server import summaries
from slipway.server.actions import Answer, act, remembered
from slipway.server.feed import Feed, FeedEvent
from slipway.server.site import Caller, Site
from slipway.server.starting import start
from slipway.store import Status

OPENAPI = Path(__file__).parent / "openapi.json"
PAGE_MAX = 200


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def caller_of(request: Request, *, form_csrf: str | None = None) -> Caller:
    return site_of(request).caller(
        request.headers,
        request.cookies,
        method=request.method,
        address=address(request),
        form_csrf=form_csrf,
    )


def query_of(request: Request, *known: str) -> dict[str, str]:
    """The query's parameters; one this endpoint does not know is refused rather than
    ignored (``?environment=`` silently listing every environment would mislead)."""
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        raise UsageError(
            f"unknown query parameter {unknown[0]!r}",
            hint=f"this endpoint takes {', '.join(known) or 'none'}",
        )
    return dict(request.query_params)


def healthz(request: Request) -> Response:
    query_of(request)
    feed: Feed = request.app.state.feed
    return JSONResponse(
        {"ok": True, "store": site_of(request).store.backend, "streams": feed.streams}
    )


def openapi(_request: Request) -> Response:
    return Response(OPENAPI.read_bytes(), media_type="application/json")


def environments(request: Request) -> Response:
    site, caller = site_of(request), caller_of(request)
    query_of(request)
    found = [
        summaries.summary(site.environments[name], store=site.store)
        for name in site.readable(caller)
    ]
    return JSONResponse({"environments": found})


def _cursor(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    try:
        at, last = json.loads(base64.urlsafe_b64decode(text.encode()))
        return str(at), str(last)
    except (ValueError, binascii.Error, TypeError):
        raise UsageError("cursor is not one this server gave", hint="use next_cursor") from None


def deployment_page(site: Site, caller: Caller, query: dict[str, str]) -> dict[str, Any]:
    """A page of deployments as the API and the history page give it."""
    env, status = query.get("env"), query.get("status")
    if env is not None:
        site.environment(env)
        caller.identity.check("read", env)
    if status is not None and status not in set(Status):
        raise UsageError(f"no status {status!r}", hint=", ".join(s.value for s in Status))
    try:
        limit = int(query.get("limit", 50))
    except ValueError:
        raise UsageError("limit must be a number", hint=f"1 to {PAGE_MAX}") from None
    if not 1 <= limit <= PAGE_MAX:
        raise UsageError(f"limit {limit} is out of range", hint=f"1 to {PAGE_MAX}")
    found = site.store.deployments_page(
        site.app,
        environments=[env] if env else site.readable(caller),
        status=status,
        before=_cursor(query.get("cursor")),
        limit=limit,
    )
    last = found[-1] if len(found) == limit else None
    cursor = (
        base64.urlsafe_b64encode(json.dumps([last.started_at, last.id]).encode()).decode()
        if last
        else None
    )
    return {
        "deployments": [
            {"environment": d.environment, **reports.deployment_dict(d)} for d in found
        ],
        "next_cursor": cursor,
    }


def deployments(request: Request) -> Response:
    site, caller = site_of(request), caller_of(request)
    query = query_of(request, "env", "status", "limit", "cursor")
    return JSONResponse(deployment_page(site, caller, query))


def deployment_record(site: Site, caller: Caller, deployment_id: str) -> dict[str, Any]:
    dep = site.deployment(deployment_id, caller)
    env = site.environment(dep.environment)
    found = summaries.record(env, store=site.store, deployment=dep.id)
    found["environment"] = env.name
    found["allowed"] = caller.identity.allowed(env.name)
    current = site.store.current(env.app, env.name)
    found["is_current"] = current is not None and current.deployment_id == dep.id
    return found


def deployment(request: Request) -> Response:
    site, caller = site_of(request), caller_of(request)
    query_of(request)
    return JSONResponse(deployment_record(site, caller, request.path_params["id"]))


def metrics(request: Request) -> Response:
    site, caller = site_of(request), caller_of(request)
    env = query_of(request, "env").get("env") or None
    if env is not None:
        site.environment(env)
        caller.identity.check("read", env)
        return JSONResponse(site.metrics.get(env).as_dict())
    return JSONResponse({name: site.metrics.get(name).as_dict() for name in site.readable(caller)})


async def action(request: Request) -> Response:
    body = await request.body()
    comment = None
    if body:
        try:
            sent = json.loads(body)
        except ValueError:
            raise UsageError('the body must be JSON: {"comment": "…"}') from None
        comment = sent.get("comment") if isinstance(sent, dict) else None
        if comment is not None and not isinstance(comment, str):
            raise UsageError("comment must be a string")
    answer = await run_in_threadpool(
        lambda: act(
            site_of(request),
            caller_of(request),
            deployment=request.path_params["id"],
            kind=request.path_params["action"],
            comment=comment,
            address=address(request),
            key=request.headers.get("idempotency-key"),
        )
    )
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


async def start_deployment(request: Request) -> Response:
    """Start a deployment of ``{"version": …}``: 201 with it once the store has it."""
    body = await request.body()
    try:
        sent = json.loads(body) if body else {}
    except ValueError:
        sent = None
    if not isinstance(sent, dict) or not isinstance(sent.get("version"), str):
        raise UsageError('the body must be JSON: {"version": "v2"}')
    site, env = site_of(request), request.path_params["env"]
    caller = await run_in_threadpool(caller_of, request)
    key = request.headers.get("idempotency-key")
    answer = await run_in_threadpool(
        lambda: remembered(
            site, caller, key, f"deploy\0{env}\0{sent['version']}",
            lambda: _started(site, caller, env, sent["version"]),
        )
    )  # fmt: skip
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def _started(site: Site, caller: Caller, env: str, version: str) -> Answer:
    started = start(site, caller, environment=env, version=version)
    body = {"environment": env, **reports.deployment_dict(started.deployment)}
    return Answer(201, {**body, "log": str(started.log)})


def _last_id(request: Request) -> int | None:
    text = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if not text:
        return None
    if not text.isdigit():
        raise UsageError("Last-Event-ID must be an event id (a number)")
    return int(text)


SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


async def _stream(request: Request, wanted: Callable[[FeedEvent], bool]) -> Response:
    feed: Feed = request.app.state.feed

    def allowed() -> bool:  # the caller still signed in: a revoked token's stream ends
        try:
            caller_of(request)
        except AccessDenied:
            return False
        except StoreError:  # the store away a moment is no reason to drop a reader
            return True
        return True

    stream = feed.stream(wanted, last_id=_last_id(request), allowed=allowed)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)


async def events(request: Request) -> Response:
    """Every event of the environments the caller may read."""
    site = site_of(request)
    caller = await run_in_threadpool(caller_of, request)
    readable = set(site.readable(caller))
    return await _stream(request, lambda r: r.app == site.app and r.environment in readable)


async def deployment_events(request: Request) -> Response:
    site = site_of(request)
    caller = await run_in_threadpool(caller_of, request)
    dep = await run_in_threadpool(site.deployment, request.path_params["id"], caller)
    return await _stream(request, lambda r: r.event.deployment_id == dep.id)


def runbook_text(site: Site, caller: Caller, environment: str, lang: str) -> str:
    """The environment's runbook document (Markdown), as ``slipway runbook`` writes it."""
    from slipway.runbook.facts import gather
    from slipway.runbook.render import render

    env = site.environment(environment)
    caller.identity.check("read", env.name)
    if lang not in ("en", "fr"):
        raise UsageError(f"no language {lang!r}", hint="en or fr")
    return render(gather(env, site.store), "fr" if lang == "fr" else "en")


def runbook(request: Request) -> Response:
    site, caller = site_of(request), caller_of(request)
    lang = query_of(request, "lang").get("lang", "en")
    text = runbook_text(site, caller, request.path_params["env"], lang)
    return Response(text, media_type="text/markdown; charset=utf-8")


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/api/v1/openapi.json", openapi, methods=["GET"]),
    Route("/api/v1/environments", environments, methods=["GET"]),
    Route("/api/v1/environments/{env}/runbook", runbook, methods=["GET"]),
    Route("/api/v1/environments/{env}/deployments", start_deployment, methods=["POST"]),
    Route("/api/v1/deployments", deployments, methods=["GET"]),
    Route("/api/v1/deployments/{id}", deployment, methods=["GET"]),
    Route("/api/v1/deployments/{id}/events", deployment_events, methods=["GET"]),
    Route("/api/v1/deployments/{id}/{action}", action, methods=["POST"]),
    Route("/api/v1/events", events, methods=["GET"]),
    Route("/api/v1/metrics", metrics, methods=["GET"]),
]
