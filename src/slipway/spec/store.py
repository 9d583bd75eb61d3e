"""``store:``: where the deployment history and the environment's lock live.

Without this section the store is a SQLite file in the state directory: nothing to install,
but one truth per machine. A team points every runner — laptops, CI jobs — at one PostgreSQL,
named by the variable that holds its URL (``url_env``; the URL, and its password, are never in
the file). ``lease_ttl_s`` is how long a runner's lease on an environment lasts without a
renewal: a runner that stops renewing (killed, paused, cut off) loses the environment to
another runner after that long, and stops changing targets itself within that time.
"""

from __future__ import annotations

from pydantic import Field

from slipway.spec.base import EnvName, Model


class StoreSpec(Model):
    url_env: EnvName | None = Field(
        None,
        description="Variable holding the PostgreSQL URL of the team's store "
        "(postgresql://user:password@host:5432/slipway); unset: SQLite in the state directory.",
    )
    lease_ttl_s: float = Field(
        15.0,
        ge=1.0,
        le=600.0,
        description="A runner's lease on an environment without renewal (renewed every third).",
    )
