"""Slipway's one exception tree.

Every error Slipway raises is a ``SlipwayError``. The tree separates the user's
mistakes (which get a message, a location and a hint, and exit code 2) from
runtime failures (which the engine either retries or answers with a rollback)::

    SlipwayError
    ├── UsageError            bad command-line input                     exit 2
    │   ├── SpecError         bad slipway.yaml: file, line, column, hint  exit 2
    │   ├── AccessDenied      the API: this token may not do that here    (HTTP 403)
    │   │   ├── NotSignedIn   no token, or one that is unknown, expired or revoked (401)
    │   │   └── TooManyRefusals  an address refused too often lately       (HTTP 429)
    │   ├── NotFound          the API: no such deployment or environment   (HTTP 404)
    │   └── Conflict          the API: not now (nothing running, a key reused) (HTTP 409)
    ├── NoGoError             not started: lock held, check failed        exit 4
    │   ├── LockedError       another runner holds the environment lock
    │   ├── Superseded        a newer request queued behind this one (--supersede)
    │   └── HostKeyError      an SSH host's key is unknown or changed
    ├── StepError             a step failed while running                 exit 1 / 3
    │   ├── TemporaryError    worth retrying after ``delay_s``
    │   └── PermanentError    retrying will not help: roll back
    │       ├── CheckFailed   a health check said "fail", with evidence
    │       ├── AnalysisFailed  the analysis judged the new release bad
    │       └── HostFailed    one host of a fleet failed (unreachable, command failed)
    ├── Interrupted           a person or a signal stopped the deployment: aborted, exit 3
    │   ├── Aborted           `slipway abort`
    │   └── GateRejected      No at a gate, or nobody said yes in time
    ├── RollbackRequested     `slipway rollback` while it ran: rolled back, exit 3
    ├── BackendError          a real part (supervisord, HAProxy, Prometheus) misbehaved;
    │                         retried after ``delay_s`` like a TemporaryError
    ├── LeaseLost             this runner's lease is gone (taken over, released by force,
    │                         unrenewable): it stops at once, writing nothing more   exit 1
    └── StoreError            the store could not be read or written

Retry policy lives in the types, not in each step: the engine retries a
``TemporaryError`` (and a ``BackendError``, which is usually a process still
starting) a bounded number of times, and rolls back on anything else. Errors of
the libraries underneath (OSError, xmlrpc faults, httpx, SQLAlchemy) are
translated into these at the module that calls them.
"""

from __future__ import annotations

from dataclasses import dataclass


class SlipwayError(Exception):
    """Root of everything Slipway raises on purpose; ``hint`` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return text if not self.hint else f"{text}\n  hint: {self.hint}"


class UsageError(SlipwayError):
    """The user asked for something invalid; the message says how to fix it."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.message = message


@dataclass(frozen=True)
class Location:
    """Where in a file a problem is; lines and columns count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SpecError(UsageError):
    """slipway.yaml is wrong at ``location``, in ``field``."""

    def __init__(
        self,
        message: str,
        *,
        location: Location | None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.location = location
        self.field = field

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        what = f"{self.field}: " if self.field else ""
        text = f"{where}{what}{self.message}"
        return text if not self.hint else f"{text}\n  hint: {self.hint}"


class AccessDenied(UsageError):
    """An API caller's token lacks the role, or the environment, for what it asked."""


class NotSignedIn(AccessDenied):
    """No token, or one the store does not know (wrong, expired, revoked): who asks is
    unknown."""


class TooManyRefusals(AccessDenied):
    """This address was refused too often lately: refused without looking."""


class NotFound(UsageError):
    """No such deployment or environment (here, for this app)."""


class Conflict(UsageError):
    """The request cannot be done now: nothing running to act on, an idempotency key reused."""


class NoGoError(SlipwayError):
    """The deployment was not started: a check, a gate, the window or a lock said no."""

    exit_code = 4


class LockedError(NoGoError):
    """Another runner holds the environment's lock."""


class Superseded(NoGoError):
    """While this deployment waited for the lock (``--lock-wait --supersede``), a newer one for
    the same environment queued behind it: this one steps aside, nothing touched."""


class HostKeyError(NoGoError):
    """An SSH host presented a key that ``known_hosts`` does not trust: nothing was started.

    The message names the host, the key's fingerprint and the fix; checking is never skipped.
    """

    def __init__(self, message: str, *, host: str, fingerprint: str | None) -> None:
        super().__init__(message)
        self.host = host
        self.fingerprint = fingerprint


class StepError(SlipwayError):
    """A step failed while it ran."""


class TemporaryError(StepError):
    """Retrying after ``delay_s`` may succeed (a process still starting, a busy socket)."""

    def __init__(self, message: str, *, delay_s: float = 0.5) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class PermanentError(StepError):
    """Retrying will not help; the engine rolls back."""


class CheckFailed(PermanentError):
    """A check answered "fail"; ``evidence`` says what it saw."""

    def __init__(self, message: str, *, evidence: str = "") -> None:
        super().__init__(message)
        self.evidence = evidence


class BackendError(SlipwayError):
    """A real part (supervisord, HAProxy, the file system) did not do what was asked.

    Usually a process still starting: the engine retries the step after ``delay_s``.
    """

    delay_s = 1.0


class StoreError(SlipwayError):
    """The store could not be opened, migrated, read or written."""


class LeaseLost(SlipwayError):
    """This runner no longer holds its environment's lease, or cannot be sure it does.

    Another runner took it over (after it expired: this one was paused, cut off, too slow to
    renew), a person released it by force, or the store stopped answering before the lease ran
    out. A runner that hears this stops where it is: it neither rolls back nor records anything
    more — the new holder, or `slipway resume`, finishes the deployment from the store's truth.
    """


class HostFailed(PermanentError):
    """One host of a fleet failed: unreachable, a command exited non-zero, its disk is full.

    ``host`` names it, so the engine's host-failure policy can decide whether the rollout
    goes on without it (within ``max_fail_percentage``) or everything is rolled back.
    """

    def __init__(
        self,
        host: str,
        message: str,
        *,
        unreachable: bool = False,
        others: dict[str, str] | None = None,
    ) -> None:
        more = f" (and {len(others)} more: {', '.join(sorted(others))})" if others else ""
        super().__init__(f"{host}: {message}{more}")
        self.host = host
        self.detail = message
        self.unreachable = unreachable
        self.hosts = {host: message, **(others or {})}  # every host that failed in one step


class AnalysisFailed(PermanentError):
    """The analysis judged the new release bad."""


class Interrupted(SlipwayError):
    """The deployment was stopped on request (a signal, `slipway abort`, a rejected gate)."""

    exit_code = 3


class Aborted(Interrupted):
    """`slipway abort`: stop now and roll back."""


class GateRejected(Interrupted):
    """A person said no at a gate, or nobody said yes in time."""


class RollbackRequested(SlipwayError):
    """``slipway rollback`` while this deployment runs: roll back; the outcome is rolled_back."""

    exit_code = 3
