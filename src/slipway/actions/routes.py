"""What a canary's header routes do: requests carrying a header (or a cookie) sent to the
canary's slots, whatever the weights, through a router that can (``HeaderRouter``: HAProxy
here, its maps changed at runtime — ``router/header_routes.py``).

A router that cannot route by header refuses the step with a hint; clearing routes there has
nothing to clear, so a rollback never fails on it.
"""

from __future__ import annotations

from typing import Any

from slipway.actions.context import StepContext
from slipway.errors import BackendError
from slipway.router.base import HeaderRouter
from slipway.steps import HeaderRoute, Nothing

Result = dict[str, Any]


class RouteActions:
    def __init__(self, context: StepContext) -> None:
        self._env = context.env
        self._router = context.backends.router
        self._store = context.store
        self._dep = context.deployment_id

    def set_header_route(self, params: HeaderRoute) -> Result:
        if not isinstance(self._router, HeaderRouter):
            raise BackendError(
                f"the router of {self._env.app}/{self._env.name} cannot route by header",
                hint="header routes need the environment's own HAProxy (not a fleet's LB yet)",
            )
        self._router.route(
            match=params.match, name=params.name, value=params.value, slots=params.slots
        )
        said = f"{params.match} {params.name}"
        if params.value is None:
            self._store.event(self._dep, f"{said}: route removed")
        else:
            self._store.event(
                self._dep, f"{said}: {params.value} → {params.version} ({', '.join(params.slots)})"
            )
        return {"slots": list(params.slots) if params.value is not None else []}

    def clear_header_routes(self, params: Nothing) -> Result:
        if not isinstance(self._router, HeaderRouter):
            return {"cleared": False}  # it could not have set any
        self._router.clear_routes()
        return {"cleared": True}
