"""The dashboard: server-rendered pages (Jinja2, every value escaped) over the same reads and
actions as the JSON API.

Signing in trades a token for a session cookie (HttpOnly, SameSite=Strict, Secure under
TLS); every form carries the session's CSRF token, and the sign-in form a one-time value of
its own (a double-submitted cookie), so another site can neither act as the person nor sign
them in as someone else. The one script (``static/live.js``) follows a deployment's events
and re-renders the live part of its page from ``/deployments/{id}/live``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from slipway.access import same
from slipway.errors import NotSignedIn
from slipway.server import summaries
from slipway.server.actions import act
from slipway.server.api import (
    address,
    caller_of,
    deployment_page,
    deployment_record,
    runbook_text,
    site_of,
)
from slipway.server.plots import analysis_plots, duration_plot
from slipway.server.site import SESSION_COOKIE, Caller
from slipway.store import Status

HERE = Path(__file__).parent
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
SIGN_IN_COOKIE = "slipway_sign_in"


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(app=site_of(request).app, **values)
    return HTMLResponse(html, status_code=status)


async def form_of(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, max_num_fields=20).items()}


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def sign_in_page(request: Request, message: str | None = None, status: int = 200) -> Response:
    value = secrets.token_urlsafe(16)
    next_path = request.query_params.get("next", "/")
    page = render(
        request,
        "sign_in.html",
        status,
        csrf=value,
        next=next_path if next_path.startswith("/") and not next_path.startswith("//") else "/",
        message=message,
        caller=None,
    )
    page.set_cookie(
        SIGN_IN_COOKIE, value, httponly=True, samesite="strict", secure=_secure(request)
    )
    return page


async def sign_in(request: Request) -> Response:
    form = await form_of(request)
    if not same(form.get("csrf", ""), request.cookies.get(SIGN_IN_COOKIE, "")):
        return sign_in_page(request, "the sign-in form expired: try again", 403)
    site = site_of(request)
    try:
        cookie, _ = await run_in_threadpool(
            site.sign_in, form.get("token", ""), address=address(request)
        )
    except NotSignedIn as exc:
        return sign_in_page(request, str(exc.message), 401)
    where = form.get("next") or "/"
    if not where.startswith("/") or where.startswith("//"):
        where = "/"
    response = RedirectResponse(where, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(site.server.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE)
    return response


async def sign_out(request: Request) -> Response:
    form = await form_of(request)
    caller = await run_in_threadpool(lambda: caller_of(request, form_csrf=form.get("csrf")))
    if caller.session is not None:
        await run_in_threadpool(site_of(request).store.end_session, caller.session)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def overview(request: Request) -> Response:
    site, caller = site_of(request), caller_of(request)
    found = [
        summaries.summary(site.environments[name], store=site.store)
        for name in site.readable(caller)
    ]
    return render(request, "overview.html", environments=found, caller=caller)


def _deployment_values(request: Request) -> dict[str, Any]:
    site, caller = site_of(request), caller_of(request)
    found = deployment_record(site, caller, request.path_params["id"])
    return {"found": found, "caller": caller, "plots": analysis_plots(found["analysis"])}


def deployment(request: Request) -> Response:
    return render(request, "deployment.html", **_deployment_values(request))


def live(request: Request) -> Response:
    return render(request, "live.html", **_deployment_values(request))


async def action(request: Request) -> Response:
    form = await form_of(request)
    caller: Caller = await run_in_threadpool(lambda: caller_of(request, form_csrf=form.get("csrf")))
    dep_id = request.path_params["id"]
    answer = await run_in_threadpool(
        lambda: act(
            site_of(request),
            caller,
            deployment=dep_id,
            kind=request.path_params["action"],
            comment=form.get("comment") or None,
            address=address(request),
        )
    )
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(answer.body, status_code=answer.status)
    return RedirectResponse(f"/deployments/{dep_id}", status_code=303)


def history(request: Request) -> Response:
    site, caller = site_of(request), caller_of(request)
    # the filters' "every environment" and "any outcome" are empty values: not filters
    query = {
        k: v for k, v in request.query_params.items() if k in ("env", "status", "cursor") and v
    }
    page = deployment_page(site, caller, query)
    names = [query["env"]] if query.get("env") else site.readable(caller)
    metrics = {name: site.metrics.get(name).as_dict() for name in names}
    next_query = urlencode({**query, "cursor": page["next_cursor"] or ""})
    return render(
        request,
        "history.html",
        caller=caller,
        page=page,
        metrics=metrics,
        query=query,
        environments=site.readable(caller),
        statuses=[s.value for s in Status],
        next_query=next_query,
        durations=duration_plot(page["deployments"]),
    )


# the document's tables rendered; raw HTML in the text stays text
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def runbook(request: Request) -> Response:
    site, caller = site_of(request), caller_of(request)
    env = request.path_params["env"]
    text = runbook_text(site, caller, env, request.query_params.get("lang", "en"))
    document = Markup(MARKDOWN.render(text))  # escaped by markdown-it, html off
    return render(request, "runbook.html", caller=caller, environment=env, document=document)


ROUTES = [
    Route("/", overview, methods=["GET"]),
    Route("/sign-in", sign_in_page, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/history", history, methods=["GET"]),
    Route("/environments/{env}/runbook", runbook, methods=["GET"]),
    Route("/deployments/{id}", deployment, methods=["GET"]),
    Route("/deployments/{id}/live", live, methods=["GET"]),
    Route("/deployments/{id}/{action}", action, methods=["POST"]),
]
