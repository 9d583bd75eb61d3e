"""What a person does through the API or a page: approve, reject, promote, abort, roll back.

Each is a signal to the deployment's runner, written by ``engine.control.send`` — the very
call ``slipway approve`` makes — with the token's name as who acted and the client's address
as where from. The runner decides (a gate still checks its approvers, its quorum, that the
deployer does not approve it) and says what it did; this waits a little to report that.

With an ``Idempotency-Key`` the answer is kept in the store under the token and the key: a
retried request (a timeout, a double click) is answered the same and sends nothing again; the
same key with another request is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slipway.access import Action
from slipway.engine import control
from slipway.errors import Conflict, SlipwayError, UsageError
from slipway.server.site import Caller, Site
from slipway.server.starting import roll_back
from slipway.store import Deployment

KINDS: tuple[Action, ...] = ("approve", "reject", "promote", "abort", "rollback")
HEARD_WITHIN_S = 5.0
KEY_MAX = 255


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def act(
    site: Site,
    caller: Caller,
    *,
    deployment: str,
    kind: str,
    comment: str | None,
    address: str,
    key: str | None = None,
) -> Answer:
    """Send ``kind`` to ``deployment`` as ``caller``; with ``key``, at most once."""
    if kind not in KINDS:
        raise Conflict(f"no action {kind!r}", hint=f"one of {', '.join(KINDS)}")
    action: Action = kind  # one of KINDS, checked above
    dep = site.deployment(deployment, caller, action)
    if (
        kind == "rollback" and not dep.active
    ):  # finished: `slipway rollback` puts back the one before
        return remembered(
            site, caller, key, f"{dep.id}\0rollback", lambda: _rolled_back(site, caller, dep)
        )
    return remembered(
        site,
        caller,
        key,
        f"{dep.id}\0{kind}\0{comment or ''}",
        lambda: _send(site, caller, dep.id, action, comment, address),
    )


def remembered(
    site: Site, caller: Caller, key: str | None, request: str, do: Callable[[], Answer]
) -> Answer:
    """``do()``'s answer; with an Idempotency-Key, the answer already given to it (``do``
    not called again), or a refusal if the key was given to another ``request``."""
    if key is None:
        return do()
    if not key or len(key) > KEY_MAX:
        raise UsageError("Idempotency-Key must be 1 to 255 characters")
    digest = hashlib.sha256(request.encode()).hexdigest()
    name = caller.identity.name
    known = site.store.remember_request(name, key, digest)
    if known is not None:
        if known.request != digest:
            raise Conflict("this Idempotency-Key was used for another request")
        if known.status is None or known.response is None:
            raise Conflict("a request with this Idempotency-Key is still being answered")
        return Answer(known.status, known.response, replayed=True)
    try:
        answer = do()
    except SlipwayError:
        site.store.forget_request(name, key)  # nothing was done: a retry may act
        raise
    site.store.answer_request(name, key, status=answer.status, response=answer.body)
    return answer


def _rolled_back(site: Site, caller: Caller, dep: Deployment) -> Answer:
    started = roll_back(site, caller, dep)
    body = {"deployment": dep.id, "signal": "rollback", "by": caller.identity.name,
            "heard": True, "outcome": f"rollback {started.deployment.id} started"}  # fmt: skip
    return Answer(202, {**body, "rollback": started.deployment.id, "log": str(started.log)})


def _send(
    site: Site, caller: Caller, dep_id: str, kind: Action, comment: str | None, address: str
) -> Answer:
    dep = site.store.deployment(dep_id)
    env = site.environment(dep.environment)
    try:
        _, sent = control.send(
            env,
            site.store,
            kind,
            who=caller.identity.name,
            comment=comment,
            deployment=dep.id,
            token=caller.identity.name,
            address=address,
        )
    except UsageError as exc:
        raise Conflict(exc.message, hint=exc.hint) from None
    heard = control.wait_handled(site.store, sent, clock=site.clock, timeout_s=HEARD_WITHIN_S)
    body = {
        "deployment": dep.id,
        "signal": kind,
        "by": sent.actor,
        "heard": heard.handled_at is not None,
        "outcome": heard.outcome,
    }
    return Answer(200 if heard.handled_at is not None else 202, body)
