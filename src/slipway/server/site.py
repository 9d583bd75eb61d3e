"""What every request of ``slipway serve`` shares: the spec's environments, the store, and
who is asking.

A caller is known by an API token (``Authorization: Bearer``) or by a browser session whose
cookie was given for one (``slipway_session``: its own secret, so the token never sits in a
browser). Both resolve to an ``Identity`` through the store, so several servers — and the
CLI revoking a token — agree at once. Refusals are written to the sign-in log and counted per
address: past ``server.sign_in_limit`` in ten minutes a token or sign-in from that address is
refused without looking (HTTP 429; a request with no credential at all is simply 401).
Guessing a 256-bit secret is hopeless, but a flood of guesses is a signal worth stopping and
recording. Behind a proxy every client shares its address: the limit is then the proxy's.

A session's CSRF token is derived from its cookie (``access.derived``): a form or a script
must send it back, which a page of another site cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from slipway.access import Action, Identity, bearer, derived, same
from slipway.clock import Clock, SystemClock
from slipway.errors import AccessDenied, NotFound, NotSignedIn, TooManyRefusals
from slipway.metrics import DoraCache
from slipway.spec.environment import Environment
from slipway.spec.server import ServerSpec
from slipway.store import Deployment, Store

SESSION_COOKIE = "slipway_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
RATE_WINDOW = timedelta(minutes=10)
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Caller:
    """Who asks, and how: ``session`` is the cookie's secret when it came from a browser."""

    identity: Identity
    session: str | None = None

    @property
    def csrf(self) -> str | None:
        return derived(self.session, "csrf") if self.session else None


@dataclass
class Site:
    """One served spec: its environments (by name), its store, its ``server:`` section."""

    app: str
    environments: dict[str, Environment]
    store: Store
    server: ServerSpec
    clock: Clock = field(default_factory=SystemClock)
    heartbeat_s: float = 15.0
    spec_file: Path | None = None  # what `slipway deploy` is started with (None: it is not)
    metrics: DoraCache = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = DoraCache(self.store, self.app, clock=self.clock)

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            raise NotFound(f"no environment {name!r}")
        return self.environments[name]

    def deployment(self, deployment_id: str, caller: Caller, action: Action = "read") -> Deployment:
        """The deployment, if ``caller`` may ``action`` in its environment."""
        dep = self.store.find_deployment(deployment_id)  # a store that fails says so: 503
        if dep is None or dep.id != deployment_id:
            raise NotFound(f"no deployment {deployment_id!r}")
        if dep.app != self.app or dep.environment not in self.environments:
            raise NotFound(f"no deployment {deployment_id!r}")
        caller.identity.check(action, dep.environment)
        return dep

    def readable(self, caller: Caller) -> list[str]:
        return [name for name in self.environments if caller.identity.covers(name)]

    # who asks

    def caller(
        self,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        *,
        method: str,
        address: str,
        form_csrf: str | None = None,
    ) -> Caller:
        """The authenticated caller of a request, or ``NotSignedIn`` / ``AccessDenied``."""
        if headers.get("authorization"):  # a credential: maybe a guess, so counted
            self._not_flooding(address)
            secret = bearer(headers.get("authorization"))
            token = self.store.token_for(secret)
            if token is None:
                self._refused(address, "unknown, expired or revoked token")
            assert token is not None
            self.store.touch_token(token)
            return Caller(token.identity)
        cookie = cookies.get(SESSION_COOKIE)
        if not cookie:
            raise NotSignedIn("no token: send `Authorization: Bearer <token>` or sign in")
        token = self.store.session_token(cookie)
        if token is None:
            raise NotSignedIn("the session ended: sign in again")
        caller = Caller(token.identity, session=cookie)
        if method in UNSAFE:
            sent = headers.get(CSRF_HEADER) or form_csrf or ""
            assert caller.csrf is not None
            if not same(sent, caller.csrf):
                raise AccessDenied("the form's CSRF token is missing or wrong: reload the page")
        return caller

    def sign_in(self, secret: str, *, address: str) -> tuple[str, str]:
        """A session cookie's secret and its end, for a valid token."""
        self._not_flooding(address)
        token = self.store.token_for(secret.strip())
        if token is None:
            self._refused(address, "sign-in with an unknown, expired or revoked token")
        assert token is not None
        cookie, ends = self.store.open_session(token, ttl_s=self.server.session_ttl_s)
        self.store.log_access("signed_in", token_name=token.name, address=address, detail=None)
        return cookie, ends

    def _refused(self, address: str, why: str) -> None:
        self.store.log_access("refused", token_name=None, address=address, detail=why)
        raise NotSignedIn(why)

    def _not_flooding(self, address: str) -> None:
        since = self.clock.now() - RATE_WINDOW
        if self.store.refusals_since(address, since) >= self.server.sign_in_limit:
            raise TooManyRefusals(
                f"{address} was refused {self.server.sign_in_limit} times in 10 minutes: "
                "wait before trying again"
            )
