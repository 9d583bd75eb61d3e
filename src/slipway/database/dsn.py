"""Database addresses that keep their password to themselves.

A PostgreSQL URL carries a password; Slipway must pass it to psycopg and to
``pg_dump`` and never let it reach a log, the store or the terminal. A ``Dsn``
holds the password apart from the rest: ``str()`` and ``repr()`` show
``postgresql://user@host:port/db``, ``libpq_env()`` hands everything to a
child process through ``PG*`` variables (never argv, which ``ps`` shows), and
``conninfo()`` — the only form with the password — goes straight to psycopg.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

from slipway.errors import UsageError
from slipway.redact import SECRETS

# libpq parameters and the variables that carry them to pg_dump, pg_restore, psql
_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "user": "PGUSER",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
}
DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")
URL_SCHEME = re.compile(r"^postgres(ql)?://", re.IGNORECASE)
ENCODE_HINT = (
    "percent-encode these characters in the user and password: '@' → %40, '/' → %2F, "
    "':' → %3A, e.g. python3 -c \"import urllib.parse; print(urllib.parse.quote(input(), "
    "safe=''))\""
)


@dataclass(frozen=True)
class Dsn:
    params: Mapping[str, str]
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str, *, source: str = "the database URL") -> Dsn:
        """Parse a URL or a libpq ``key=value`` string; no message ever quotes the password.

        libpq reads ``postgresql://app:Pa/ss@host/db`` as host ``app``, port ``Pa`` and
        database ``ss@host/db``: an unescaped ``/`` or ``@`` in the password, or a port that
        is not a number, is refused before anything connects anywhere.
        """
        _check_url_shape(url, source)
        try:
            params = {k: str(v) for k, v in _conninfo_to_dict(url).items() if v is not None}
        except ValueError:
            # psycopg's message quotes the URL, password included: do not pass it on
            raise UsageError(
                f"{source} is not a valid PostgreSQL URL",
                hint="it should look like postgresql://user:password@127.0.0.1:5432/dbname",
            ) from None
        password = params.pop("password", None)
        SECRETS.add(password)
        for port in params.get("port", "").split(","):
            if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
                raise UsageError(
                    f"the port of {source} is not a number from 1 to 65535",
                    hint=f"write host:5432; if a ':' belongs to the password, {ENCODE_HINT}",
                )
        unknown = set(params) - set(_ENV)
        if unknown:
            raise UsageError(
                f"{source} has parameters Slipway does not pass on: {', '.join(sorted(unknown))}",
                hint=f"supported: {', '.join(sorted(_ENV))}",
            )
        if "dbname" not in params:
            raise UsageError(f"{source} names no database", hint="end the URL with /dbname")
        return cls(params=params, password=password)

    @classmethod
    def from_env(cls, variable: str, environ: Mapping[str, str] | None = None) -> Dsn:
        environ = os.environ if environ is None else environ
        url = environ.get(variable, "").strip()
        if not url:
            raise UsageError(
                f"${variable} is not set: Slipway reads the database URL from it",
                hint=f"export {variable}=postgresql://user:password@host:5432/dbname",
            )
        return cls.parse(url, source=f"${variable}")

    @property
    def dbname(self) -> str:
        return self.params["dbname"]

    def with_database(self, name: str) -> Dsn:
        if not DB_NAME.fullmatch(name):
            raise UsageError(f"{name!r} is not a database name Slipway will use")
        return replace(self, params={**self.params, "dbname": name})

    def conninfo(self) -> str:
        """For psycopg only: it includes the password."""
        extra = {"password": self.password} if self.password is not None else {}
        from psycopg.conninfo import make_conninfo  # psycopg costs a CLI 40 ms: on use only

        return make_conninfo("", **self.params, **extra)

    def url(self) -> str:
        """The full URL, password included: only for a child process's environment (the
        variable the app's migration tool reads), never for argv, a log or the store."""
        user = quote(self.params.get("user", ""), safe="")
        secret = f":{quote(self.password, safe='')}" if self.password is not None else ""
        who = f"{user}{secret}@" if user or secret else ""
        host = self.params.get("host") or self.params.get("hostaddr") or "localhost"
        host = f"[{host}]" if ":" in host and not host.startswith("/") else quote(host, safe="")
        port = f":{self.params['port']}" if "port" in self.params else ""
        rest = {k: v for k, v in self.params.items() if k not in ("user", "host", "port", "dbname")}
        query = f"?{urlencode(rest)}" if rest else ""
        return f"postgresql://{who}{host}{port}/{quote(self.dbname, safe='')}{query}"

    def libpq_env(self) -> dict[str, str]:
        """``PG*`` variables for a child process (added to a copy of this environment)."""
        env = {_ENV[k]: v for k, v in self.params.items()}
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def __str__(self) -> str:
        host = self.params.get("host") or self.params.get("hostaddr") or "localhost"
        port = self.params.get("port", "5432")
        user = self.params.get("user")
        who = f"{user}@" if user else ""
        return f"postgresql://{who}{host}:{port}/{self.dbname}"

    def __repr__(self) -> str:
        return f"Dsn({self})"


def _check_url_shape(url: str, source: str) -> None:
    """Refuse a URL whose user or password holds an unescaped ``/`` or ``@`` (libpq would
    silently read another host, port and database out of it)."""
    scheme = URL_SCHEME.match(url)
    if scheme is None:
        return
    rest = url[scheme.end() :]
    head, slash, tail = rest.partition("/")
    path = tail.partition("?")[0]
    if head.count("@") > 1 or (slash and "@" in path):
        raise UsageError(
            f"{source} has an unescaped '@' or '/' in its user or password", hint=ENCODE_HINT
        )


def scrub(text: str, dsn: Dsn | None) -> str:
    """``text`` with the password (if any) replaced: for output of programs given ``dsn``.

    The password is one of the process's secrets (``slipway.redact``), so every other
    known secret is masked too.
    """
    if dsn is not None:
        SECRETS.add(dsn.password)
    return SECRETS.text(text)


def _conninfo_to_dict(url: str) -> dict[str, object]:
    """libpq's reading of a URL (psycopg, imported only when a URL is read)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        return dict(conninfo_to_dict(url))
    except psycopg.Error as exc:
        raise ValueError("libpq cannot read this URL") from exc
