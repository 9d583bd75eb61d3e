"""What the flag strategy's steps do: set a flag's share of users (and, after each change,
verify what the flag server serves).

Setting a weight is one write to the flag backend — the store, and the flagd file after it —
and idempotent: writing the weight a flag already has changes nothing users see. No instance
is touched: that is what makes taking a flag back to 0 % a rollback without restarts.
"""

from __future__ import annotations

from typing import Any

from slipway.actions.context import StepContext
from slipway.flags.backend import flag_backend
from slipway.steps import SetFlag
from slipway.who import current_user

Result = dict[str, Any]


class FlagActions:
    def __init__(self, context: StepContext) -> None:
        self._env = context.env
        self._store = context.store
        self._dep = context.deployment_id
        self._flags = flag_backend(context.env, context.store)

    def set_flag(self, params: SetFlag) -> Result:
        before = self._flags.get(params.flag)
        flag = self._flags.set_weight(
            params.flag, params.weight, by=f"deployment {self._dep}", deployment_id=self._dep
        )
        was = f"{before.weight}%" if before is not None else "new"
        self._store.event(
            self._dep,
            f"flag {flag.key}: on for {flag.weight}% of users (was {was}), set by {current_user()}",
        )
        return {"weight": flag.weight, "was": before.weight if before is not None else None}
