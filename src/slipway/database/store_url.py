"""Which store a runner uses: the team's PostgreSQL when one is named, else SQLite beside the spec.

The URL is never in a file. It is in a variable, named (first that applies) by
``--store-url-env VAR``, by the spec's ``store: {url_env: VAR}``, or it is ``$SLIPWAY_STORE_URL``
itself when that is set; otherwise the store is ``<state_dir>/slipway.db``. The URL is checked
as every database URL is (``Dsn.parse``: an unescaped ``@`` or ``/`` in the password is refused
before anything connects) and its password — and the URL as a whole — join the process's
secrets, so no message, record or output shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import URL

from slipway.clock import Clock
from slipway.database.dsn import Dsn
from slipway.redact import SECRETS
from slipway.spec.environment import Environment
from slipway.store import Store

STORE_URL_VARIABLE = "SLIPWAY_STORE_URL"


@dataclass(frozen=True)
class StoreChoice:
    """The store to open: ``dsn`` (PostgreSQL, from ``variable``) or SQLite when it is None."""

    variable: str | None = None
    dsn: Dsn | None = field(default=None, repr=False)

    def sqlalchemy_url(self) -> URL:
        assert self.dsn is not None
        params = dict(self.dsn.params)
        host = params.pop("host", None) or params.pop("hostaddr", None)
        port = params.pop("port", None)
        return URL.create(
            "postgresql+psycopg",
            username=params.pop("user", None),
            password=self.dsn.password,
            host=host,
            port=int(port) if port else None,
            database=params.pop("dbname"),
            query=params,
        )


def choose_store(
    env: Environment, *, url_env: str | None = None, environ: Mapping[str, str] | None = None
) -> StoreChoice:
    """The store ``env``'s runner uses (see the module's docstring for the order)."""
    environ = os.environ if environ is None else environ
    variable = url_env or env.store.url_env
    if variable is None and environ.get(STORE_URL_VARIABLE, "").strip():
        variable = STORE_URL_VARIABLE
    if variable is None:
        return StoreChoice()
    SECRETS.add_value(environ.get(variable), "dsn")
    return StoreChoice(variable, Dsn.from_env(variable, environ))


def postgres_store(
    variable: str, *, environ: Mapping[str, str] | None = None, clock: Clock | None = None
) -> Store:
    """The PostgreSQL store whose URL ``variable`` holds, opened and migrated."""
    environ = os.environ if environ is None else environ
    SECRETS.add_value(environ.get(variable), "dsn")
    choice = StoreChoice(variable, Dsn.from_env(variable, environ))
    return Store.open(choice.sqlalchemy_url(), clock=clock)


def open_store(
    env: Environment,
    *,
    url_env: str | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> Store:
    """The store of ``env``, opened (and migrated to the latest schema)."""
    choice = choose_store(env, url_env=url_env, environ=environ)
    if choice.dsn is None:
        return Store.for_state_dir(env.state_dir.parent, clock=clock)
    return Store.open(choice.sqlalchemy_url(), clock=clock)
