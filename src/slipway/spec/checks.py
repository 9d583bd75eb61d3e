"""``checks:``: the pre-flight checklist — commands, URLs, disks, certificates, secrets,
the database, backups, staging first, and items a person ticks.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from slipway.spec.base import Argv, EnvName, Model
from slipway.spec.base import LongSeconds as Seconds

if TYPE_CHECKING:
    from slipway.spec.environment import Environment


class _Preflight(Model):
    name: str | None = Field(None, max_length=80, description="Shown in the Go/No-Go table.")
    owner: str | None = Field(
        None, max_length=80, description="Who answers for this item (a role or a person)."
    )
    blocking: bool = Field(True, description="A failure means No-Go (else only a warning).")
    enabled: bool = Field(True, description="false removes an inherited check of this name.")

    def default_name(self) -> str:
        """The name made from what it checks, when the spec gives none."""
        raise NotImplementedError

    def how(self, env: Environment) -> tuple[str, str]:
        """What it checks and what passes, as the runbook document's checklist says it."""
        raise NotImplementedError


class CommandPreflight(_Preflight):
    """A program that must exit 0: tests, a security scan, anything (run without a shell)."""

    type: Literal["command"]
    command: Argv
    timeout_s: Seconds = 300.0

    def default_name(self) -> str:
        return f"command {self.command[0]}"

    def how(self, env: Environment) -> tuple[str, str]:
        return f"`{shlex.join(self.command)}`", f"exit 0 ≤ {self.timeout_s:g}s"


class HttpPreflight(_Preflight):
    """A URL that must answer a status (and contain a text)."""

    type: Literal["http"]
    url: str = Field(..., pattern=r"^https?://[^\s]+$")
    expect_status: int = Field(200, ge=100, le=599)
    expect_body: str | None = None
    timeout_s: Seconds = 5.0

    def default_name(self) -> str:
        return f"http {self.url}"

    def how(self, env: Environment) -> tuple[str, str]:
        return f"GET {self.url}", f"HTTP {self.expect_status}"


class DiskPreflight(_Preflight):
    """Free space on a path of every target, as a percentage of the file system."""

    type: Literal["disk"]
    path: str = Field("/", pattern=r"^/")
    min_free_percent: float = Field(20.0, ge=0, le=100)

    def default_name(self) -> str:
        return f"disk {self.path} >= {self.min_free_percent:g}% free"

    def how(self, env: Environment) -> tuple[str, str]:
        targets = ", ".join(x.name for x in env.targets)
        return f"free space of {self.path} on {targets}", f"≥ {self.min_free_percent:g} %"


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

    def how(self, env: Environment) -> tuple[str, str]:
        where = self.file or f"{self.host}:{self.port}"
        return f"certificate of {where}", f"> {self.min_days:g} days"


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

    def how(self, env: Environment) -> tuple[str, str]:
        names = [f"${v}" for v in self.variables] + list(self.secret_files)
        return ", ".join(names), "set, not empty"


class DatabasePreflight(_Preflight):
    """The ``database:`` section's database answers ``SELECT 1``."""

    type: Literal["database"]
    timeout_s: Seconds = 5.0

    def default_name(self) -> str:
        return "database reachable"

    def how(self, env: Environment) -> tuple[str, str]:
        var = env.database.url_env if env.database else "?"
        return f"`SELECT` on ${var}", f"≤ {self.timeout_s:g}s"


class BackupPreflight(_Preflight):
    """The last backup recorded for this environment is younger than ``max_age_s`` and verified."""

    type: Literal["backup"]
    of: Literal["database", "media"] = Field("database", description="Which backup.")
    max_age_s: Seconds = 3600.0
    require_verified: bool = True

    def default_name(self) -> str:
        what = "media backup" if self.of == "media" else "backup"
        return f"{what} < {self.max_age_s / 3600:g}h" + (
            " and verified" if self.require_verified else ""
        )

    def how(self, env: Environment) -> tuple[str, str]:
        verified = ", verified" if self.require_verified else ""
        what = "media backup" if self.of == "media" else "backup"
        return f"last recorded {what}", f"< {self.max_age_s / 3600:g} h{verified}"


class StagedPreflight(_Preflight):
    """The version being deployed already succeeded in another environment (staging)."""

    type: Literal["staged"]
    environment: str = Field("staging", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    max_age_s: Seconds | None = Field(None, description="And not longer ago than this.")

    def default_name(self) -> str:
        return f"deployed to {self.environment} first"

    def how(self, env: Environment) -> tuple[str, str]:
        within = f" ≤ {self.max_age_s / 3600:g} h ago" if self.max_age_s else ""
        return f"the same version on {self.environment}", f"succeeded{within}"


class ManualPreflight(_Preflight):
    """An item a person ticks (code review, customer told): shown with its owner, never run."""

    type: Literal["manual"]
    name: str = Field(..., min_length=1, max_length=80)
    when: str | None = Field(None, max_length=40, description="e.g. 'D-1' or 'H-2'.")

    def default_name(self) -> str:
        return self.name

    def how(self, env: Environment) -> tuple[str, str]:
        return "", self.when or ""


class DjangoSettingsPreflight(_Preflight):
    """The seeds' settings rules, read from the project's own Django: SECRET_KEY set and at
    least ``min_secret_key_length`` long, DEBUG false, ALLOWED_HOSTS set. Values never shown."""

    type: Literal["django_settings"]
    python: str = Field(".venv/bin/python", description="The project's Python, beside the spec.")
    manage: str = Field("manage.py", description="Relative to the spec.")
    min_secret_key_length: int = Field(50, ge=1, le=1000)
    timeout_s: Seconds = 60.0

    def default_name(self) -> str:
        return "Django settings: SECRET_KEY, DEBUG, ALLOWED_HOSTS"

    def how(self, env: Environment) -> tuple[str, str]:
        return (
            f"`{self.python} {self.manage} shell` reads the settings (no value shown)",
            f"SECRET_KEY ≥ {self.min_secret_key_length} chars, DEBUG false, ALLOWED_HOSTS set",
        )


Severity = Literal["low", "medium", "high"]


class BanditPreflight(_Preflight):
    """bandit (run for real) finds no issue at or above ``severity`` (and ``confidence``)."""

    type: Literal["bandit"]
    program: Argv = Field(["bandit"], description="How to run bandit (e.g. [.venv/bin/bandit]).")
    paths: list[str] = Field(default_factory=lambda: ["."], min_length=1)
    exclude: list[str] = Field(
        default_factory=lambda: [".venv", ".slipway", "tests", "node_modules"]
    )
    severity: Severity = "high"
    confidence: Severity = "medium"
    timeout_s: Seconds = 300.0

    def default_name(self) -> str:
        return f"bandit: no {self.severity.upper()} issue"

    def how(self, env: Environment) -> tuple[str, str]:
        argv = [*self.program, "-r", *self.paths, "-f", "json"]
        return f"`{shlex.join(argv)}`", f"no {self.severity} issue ({self.confidence}+ sure)"


class AuditPreflight(_Preflight):
    """No known vulnerability at or above ``severity`` in the project's installed packages,
    from a local advisory file or a recorded pip-audit report: nothing is queried online."""

    type: Literal["dependency_audit"]
    python: str = Field(".venv/bin/python", description="Whose installed packages are audited.")
    advisories: str | None = Field(None, description="A local advisory file (JSON), see README.")
    report: str | None = Field(None, description="A recorded `pip-audit -f json` report.")
    severity: Literal["low", "medium", "high", "critical"] = "high"
    ignore: list[str] = Field(default_factory=list, description="Advisory ids accepted (why?).")
    timeout_s: Seconds = 60.0

    @model_validator(mode="after")
    def _one_source(self) -> AuditPreflight:
        if (self.advisories is None) == (self.report is None):
            raise ValueError("give exactly one of `advisories` or `report`")
        return self

    def default_name(self) -> str:
        return f"dependency audit: no {self.severity.upper()} or worse"

    def how(self, env: Environment) -> tuple[str, str]:
        source = self.advisories or self.report
        return f"installed packages of {self.python} against {source}", f"no {self.severity}+"


class CoveragePreflight(_Preflight):
    """The test coverage in a report (coverage.py JSON or Cobertura XML) is at least this."""

    type: Literal["coverage"]
    report: str = Field("coverage.json", description="Relative to the spec.")
    min_percent: float = Field(80.0, ge=0, le=100)
    max_age_s: Seconds | None = Field(None, description="And the report not older than this.")

    def default_name(self) -> str:
        return f"coverage >= {self.min_percent:g}%"

    def how(self, env: Environment) -> tuple[str, str]:
        return f"total of {self.report}", f"≥ {self.min_percent:g} %"


class RedisPreflight(_Preflight):
    """The Redis at the URL in ``url_env`` answers PING (AUTH first if the URL has a password)."""

    type: Literal["redis"]
    url_env: EnvName = "REDIS_URL"
    timeout_s: Seconds = 3.0

    def default_name(self) -> str:
        return "Redis answers PING"

    def how(self, env: Environment) -> tuple[str, str]:
        return f"PING to ${self.url_env}", f"PONG ≤ {self.timeout_s:g}s"


PreflightSpec = Annotated[
    CommandPreflight
    | HttpPreflight
    | DiskPreflight
    | TlsPreflight
    | EnvPreflight
    | DatabasePreflight
    | BackupPreflight
    | StagedPreflight
    | ManualPreflight
    | DjangoSettingsPreflight
    | BanditPreflight
    | AuditPreflight
    | CoveragePreflight
    | RedisPreflight,
    Field(discriminator="type"),
]


def preflight_name(check: PreflightSpec) -> str:
    """The name a check goes by: its own, or one made from what it checks."""
    return check.name or check.default_name()
