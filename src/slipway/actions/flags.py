"""What the flag strategy's steps do: set a flag's share of users (and, after each change,
verify what the flag server serves).

Setting a weight is one write to the flag backend — the store, and the flagd file after it —
and idempotent: writing the weight a flag already has changes nothing users see. No instance
is touched: that is what makes taking a flag back to 0 % a rollback without restarts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slipway.actions.context import StepContext
from slipway.errors import PermanentError
from slipway.steps import SetFlag, VerifyFlag
from slipway.who import current_user

if TYPE_CHECKING:
    from slipway.flags.backend import FlagBackend

Result = dict[str, Any]


class FlagActions:
    def __init__(self, context: StepContext) -> None:
        self._env = context.env
        self._store = context.store
        self._dep = context.deployment_id
        self._backend: FlagBackend | None = None

    @property
    def _flags(self) -> FlagBackend:
        """The flag backend, made (and the flag modules imported) on a flag step's first use:
        a deployment without flags pays neither the memory nor the start-up for them."""
        if self._backend is None:
            from slipway.flags.backend import flag_backend

            self._backend = flag_backend(self._env, self._store)
        return self._backend

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

    def verify_flag(self, params: VerifyFlag) -> Result:
        if self._env.flags is None:  # the spec's validation asks for it: a guard
            raise PermanentError("the flag strategy needs `flags:` in the environment")
        flag = self._flags.get(params.flag)
        if flag is None or flag.weight != params.weight:
            raise PermanentError(f"{params.flag} is not at {params.weight}% in the store")
        revision = self._store.flags_revision(self._env.app, self._env.name)
        from slipway.flags.server import token_for
        from slipway.flags.verify import OfrepClient, verify_split

        listen = self._env.flags.listen
        host = f"[{listen.host}]" if ":" in listen.host else listen.host
        client = OfrepClient(f"http://{host}:{listen.port}", token=token_for(self._env))
        try:
            verified = verify_split(
                client,
                params.flag,
                weight=params.weight,
                previous=params.previous,
                keys=params.keys,
                revision=revision,
                wait_s=max(5.0, 20 * self._env.flags.refresh_s),
            )
        finally:
            client.close()
        self._store.event(
            self._dep,
            f"flag {params.flag} served as set: {verified.on} of {verified.keys} synthetic keys "
            f"on ({verified.share:.1%} for {params.weight}%), none lost since {params.previous}%",
        )
        return verified.as_dict()
