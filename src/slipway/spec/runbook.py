"""The runbook sections of ``slipway.yaml``: pre-flight checks, window, database, notifications,
contacts, and what the rendered runbook promises.

Each section may appear at the top level (the base every environment inherits)
and again under an environment, which overrides it: ``window``, ``database``,
``notifications``, ``contacts`` and ``runbook`` wholesale, ``checks`` by name
(an environment's check replaces the base's check of the same name, or adds
one; ``enabled: false`` removes it). So ``production`` can be the base plus a
stricter window and a backup check, and ``staging`` the base alone.

Secrets never appear in the file: a database URL, a webhook URL or a password
is named by the environment variable that holds it (``url_env``,
``password_env``), so the spec can be committed and printed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Seconds = Annotated[float, Field(gt=0, le=7 * 86_400)]
EnvName = Annotated[str, Field(pattern=ENV_NAME)]
Argv = Annotated[list[str], Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# pre-flight checks


class _Preflight(_Model):
    name: str | None = Field(None, max_length=80, description="Shown in the Go/No-Go table.")
    owner: str | None = Field(
        None, max_length=80, description="Who answers for this item (a role or a person)."
    )
    blocking: bool = Field(True, description="A failure means No-Go (else only a warning).")
    enabled: bool = Field(True, description="false removes an inherited check of this name.")

    def default_name(self) -> str:
        """The name made from what it checks, when the spec gives none."""
        raise NotImplementedError


class CommandPreflight(_Preflight):
    """A program that must exit 0: tests, a security scan, anything (run without a shell)."""

    type: Literal["command"]
    command: Argv
    timeout_s: Seconds = 300.0

    def default_name(self) -> str:
        return f"command {self.command[0]}"


class HttpPreflight(_Preflight):
    """A URL that must answer a status (and contain a text)."""

    type: Literal["http"]
    url: str = Field(..., pattern=r"^https?://[^\s]+$")
    expect_status: int = Field(200, ge=100, le=599)
    expect_body: str | None = None
    timeout_s: Seconds = 5.0

    def default_name(self) -> str:
        return f"http {self.url}"


class DiskPreflight(_Preflight):
    """Free space on a path of every target, as a percentage of the file system."""

    type: Literal["disk"]
    path: str = Field("/", pattern=r"^/")
    min_free_percent: float = Field(20.0, ge=0, le=100)

    def default_name(self) -> str:
        return f"disk {self.path} >= {self.min_free_percent:g}% free"


class TlsPreflight(_Preflight):
    """A certificate valid for at least ``min_days``: served on host:port, or in a PEM file."""

    type: Literal["tls"]
    host: str | None = None
    port: int = Field(443, ge=1, le=65535)
    file: str | None = Field(None, description="A PEM certificate file, relative to the spec.")
    server_name: str | None = Field(None, description="SNI name; the host by default.")
    ca_file: str | None = Field(None, description="Verify the chain against these CAs too.")
    min_days: float = Field(30, ge=0, le=3650)
    timeout_s: Seconds = 5.0

    @model_validator(mode="after")
    def _one_source(self) -> TlsPreflight:
        if (self.host is None) == (self.file is None):
            raise ValueError("give exactly one of `host` or `file`")
        return self

    def default_name(self) -> str:
        return f"tls {self.file or f'{self.host}:{self.port}'} > {self.min_days:g} days"


class EnvPreflight(_Preflight):
    """Environment variables set and secret files present; values are never shown."""

    type: Literal["env"]
    variables: list[EnvName] = Field(default_factory=list)
    secret: bool = Field(
        False,
        description="The variables hold secrets: their values are masked (***) in everything "
        "Slipway records, prints or sends.",
    )
    secret_files: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> EnvPreflight:
        if not self.variables and not self.secret_files:
            raise ValueError("list `variables` or `secret_files` to check")
        return self

    def default_name(self) -> str:
        return "environment and secrets"


class DatabasePreflight(_Preflight):
    """The ``database:`` section's database answers ``SELECT 1``."""

    type: Literal["database"]
    timeout_s: Seconds = 5.0

    def default_name(self) -> str:
        return "database reachable"


class BackupPreflight(_Preflight):
    """The last backup recorded for this environment is younger than ``max_age_s`` and verified."""

    type: Literal["backup"]
    max_age_s: Seconds = 3600.0
    require_verified: bool = True

    def default_name(self) -> str:
        return f"backup < {self.max_age_s / 3600:g}h" + (
            " and verified" if self.require_verified else ""
        )


class StagedPreflight(_Preflight):
    """The version being deployed already succeeded in another environment (staging)."""

    type: Literal["staged"]
    environment: str = Field("staging", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    max_age_s: Seconds | None = Field(None, description="And not longer ago than this.")

    def default_name(self) -> str:
        return f"deployed to {self.environment} first"


class ManualPreflight(_Preflight):
    """An item a person ticks (code review, customer told): shown with its owner, never run."""

    type: Literal["manual"]
    name: str = Field(..., min_length=1, max_length=80)
    when: str | None = Field(None, max_length=40, description="e.g. 'D-1' or 'H-2'.")

    def default_name(self) -> str:
        return self.name


PreflightSpec = Annotated[
    CommandPreflight
    | HttpPreflight
    | DiskPreflight
    | TlsPreflight
    | EnvPreflight
    | DatabasePreflight
    | BackupPreflight
    | StagedPreflight
    | ManualPreflight,
    Field(discriminator="type"),
]


def preflight_name(check: PreflightSpec) -> str:
    """The name a check goes by: its own, or one made from what it checks."""
    return check.name or check.default_name()


# deploy window


class WindowRule(_Model):
    """Days and hours (local to the window's time zone) when deploying is allowed."""

    days: list[Weekday] = Field(..., min_length=1)
    hours: str = Field("00:00-24:00", description="HH:MM-HH:MM, end excluded.")
    risk: Literal["low", "medium", "high"] | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not HOURS.fullmatch(value):
            raise ValueError("hours must look like 09:00-18:00")
        start, end = hours_range(value)
        if end <= start:
            raise ValueError("hours must end after they start (one day; 24:00 is midnight)")
        return value


def hours_range(value: str) -> tuple[int, int]:
    """``"09:30-18:00"`` → minutes since midnight (570, 1080)."""
    match = HOURS.fullmatch(value)
    if match is None:
        raise ValueError(value)
    a, b, c, d = (int(g) for g in match.groups())
    return a * 60 + b, c * 60 + d


class Freeze(_Model):
    """A named period with no deployments (Black Friday, Christmas); dates are inclusive."""

    name: str = Field(..., min_length=1, max_length=80)
    start: date | datetime
    end: date | datetime
    reason: str | None = None

    @model_validator(mode="after")
    def _order(self) -> Freeze:
        if _as_datetime(self.end, end=True) < _as_datetime(self.start, end=False):
            raise ValueError("a freeze must end after it starts")
        return self


def _as_datetime(value: date | datetime, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, time.max if end else time.min)


class WindowSpec(_Model):
    """When deploys may start. Outside it (or in a freeze) ``check`` says No-Go unless a person
    overrides it with a reason, which is recorded."""

    timezone: str = Field("UTC", description="IANA name, e.g. Europe/Paris.")
    allow: list[WindowRule] = Field(
        default_factory=lambda: [WindowRule(days=list(WEEKDAYS))],
        description="Open periods; outside every one the window is closed.",
    )
    freezes: list[Freeze] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value


# database


class MigrationSpec(_Model):
    command: Argv = Field(..., description="argv run in the new release's directory.")
    timeout_s: Seconds = 600.0


class DatabaseSpec(_Model):
    """A PostgreSQL database: backed up before migrations, migrations rehearsed on a copy."""

    type: Literal["postgresql"] = "postgresql"
    url_env: EnvName = Field(
        "DATABASE_URL", description="Variable holding the URL (postgresql://user:pw@host/db)."
    )
    backup_dir: str = Field("backups", description="Where dumps go, relative to the state dir.")
    keep_backups: int = Field(10, ge=1, le=1000)
    migrate: MigrationSpec | None = None
    rehearse: bool = Field(True, description="Try the migration on a restored copy first.")
    restore_on_rollback: Literal["ask", "never"] = Field(
        "ask", description="Offer a restore behind a gate when a rollback follows a migration."
    )
    timeout_s: Seconds = Field(600.0, description="Longest pg_dump / pg_restore.")


# notifications and contacts

NotifyEvent = Literal["started", "succeeded", "rolled_back", "failed", "waiting_for_approval"]
EVENTS: tuple[NotifyEvent, ...] = (
    "started",
    "succeeded",
    "rolled_back",
    "failed",
    "waiting_for_approval",
)


class NotificationSpec(_Model):
    """An incoming webhook: Slack-compatible (``slack``) or a plain JSON POST (``webhook``)."""

    type: Literal["slack", "webhook"]
    name: str | None = Field(None, max_length=40)
    url_env: EnvName = Field(..., description="Variable holding the webhook URL (a secret).")
    events: list[NotifyEvent] = Field(default_factory=lambda: list(EVENTS))
    timeout_s: Seconds = 5.0
    retries: int = Field(3, ge=0, le=10)
    backoff_s: Seconds = Field(1.0, description="First pause between tries; doubles each time.")


class Contact(_Model):
    role: str = Field(..., min_length=1, max_length=80)
    name: str = Field(..., min_length=1, max_length=80)
    phone: str | None = Field(None, max_length=40)
    handle: str | None = Field(None, max_length=80, description="@slack, e-mail, pager…")
    hours: str | None = Field(None, max_length=60, description="e.g. '9h-19h', '24/7'.")


class ContactLevel(_Model):
    level: int = Field(..., ge=1, le=9)
    title: str | None = Field(None, max_length=80)
    contacts: list[Contact] = Field(..., min_length=1)


# what the rendered runbook promises


class Dependency(_Model):
    name: str = Field(..., min_length=1, max_length=80)
    impact: str | None = None
    contact: str | None = None


class RunbookSpec(_Model):
    owner: str | None = Field(None, max_length=80)
    rollback_max_s: Seconds = Field(300.0, description="A rollback must be measured under this.")
    dependencies: list[Dependency] = Field(default_factory=list)
    monitoring: list[str] = Field(default_factory=list, description="Dashboards to open.")


class GoNoGoSpec(_Model):
    """A person decides Go or No-Go before the first change to production (the seeds'
    human validation point: the tech lead at Go/No-Go)."""

    approvers: list[str] = Field(
        default_factory=list,
        description="Who may decide (`$SLIPWAY_USER` or the login name); empty: anyone.",
    )
    timeout_s: float | None = Field(
        3600.0, gt=0, le=7 * 86_400, description="No decision by then: No-Go."
    )


class RunbookSections(_Model):
    """The sections an environment may override (all optional there)."""

    go_no_go: GoNoGoSpec | None = Field(
        None, description="Wait for `slipway approve` (Go) or `slipway reject` (No-Go)."
    )

    checks: list[PreflightSpec] | None = None
    window: WindowSpec | None = None
    database: DatabaseSpec | None = None
    notifications: list[NotificationSpec] | None = None
    contacts: list[ContactLevel] | None = None
    runbook: RunbookSpec | None = None


def merge_checks(
    base: list[PreflightSpec] | None, override: list[PreflightSpec] | None
) -> list[PreflightSpec]:
    """The base's checks, each replaced by the environment's of the same name, plus new ones;
    a check with ``enabled: false`` is removed."""
    merged: dict[str, PreflightSpec] = {}
    for check in [*(base or []), *(override or [])]:
        merged[preflight_name(check)] = check
    return [c for c in merged.values() if c.enabled]


def resolve_sections(base: RunbookSections, env: RunbookSections) -> dict[str, Any]:
    """The runbook fields of an ``Environment``: the environment's sections over the base's."""
    return {
        "checks": merge_checks(base.checks, env.checks),
        "window": env.window or base.window,
        "database": env.database or base.database,
        "notifications": list(env.notifications or base.notifications or []),
        "contacts": list(env.contacts or base.contacts or []),
        "runbook": env.runbook or base.runbook or RunbookSpec(),
        "go_no_go": env.go_no_go or base.go_no_go,
    }
