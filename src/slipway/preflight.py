"""Pre-flight for one environment: the spec's checks, made concrete, run and recorded.

This is where a check in ``slipway.yaml`` meets the real parts: paths are
relative to the spec, a disk check is repeated on every target (each target
supplies its own ``DiskReader``: the local machine reads ``statvfs``, an SSH
target runs ``df``), the database check reads its URL from the environment,
the backup check reads the store. Every run is recorded (``check_runs``) with
its verdict, who ran it and any window override, whether it came from
``slipway check``, ``slipway deploy`` or ``slipway drill``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slipway.checks.backup import BackupCheck
from slipway.checks.base import Check, CheckResult
from slipway.checks.command import CommandCheck
from slipway.checks.coverage import CoverageCheck
from slipway.checks.database import DatabaseCheck
from slipway.checks.disk import CommandDisk, DiskCheck, DiskReader, DiskUsage, LocalDisk
from slipway.checks.django import DjangoSettingsCheck
from slipway.checks.env import EnvCheck
from slipway.checks.http import HttpCheck
from slipway.checks.preflight import GoNoGo, PreflightItem, run_preflight
from slipway.checks.redis import RedisCheck
from slipway.checks.scans import AuditCheck, BanditCheck
from slipway.checks.staged import StagedCheck
from slipway.checks.tls import TlsCheck
from slipway.checks.window import WindowCheck, WindowOverride
from slipway.clock import Clock
from slipway.database.dsn import Dsn
from slipway.errors import BackendError, SlipwayError, UsageError
from slipway.redact import remember_environ
from slipway.spec.checks import (
    AuditPreflight,
    BackupPreflight,
    BanditPreflight,
    CommandPreflight,
    CoveragePreflight,
    DatabasePreflight,
    DiskPreflight,
    DjangoSettingsPreflight,
    EnvPreflight,
    HttpPreflight,
    ManualPreflight,
    PreflightSpec,
    RedisPreflight,
    StagedPreflight,
    TlsPreflight,
    preflight_name,
)
from slipway.spec.environment import Environment
from slipway.store import Store
from slipway.store.records import Records
from slipway.who import current_user

# (target name, target type) -> (where, reader) for each machine of the target: one for the
# local machine; one per host for a fleet (an SSH host gives a CommandDisk running `df`)
ReaderFor = Callable[[str, str], Sequence[tuple[str, DiskReader]]]


class Fixed:
    """A check whose answer is known before it runs (a misconfiguration, a missing URL)."""

    def __init__(self, name: str, result: CheckResult) -> None:
        self.name = name
        self.result = result

    def probe(self) -> CheckResult:
        return self.result


class NoDiskReading:
    """For a kind of target that cannot tell its disk usage (yet): inconclusive, not a pass."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def disk_usage(self, path: str) -> DiskUsage:
        raise BackendError(f"targets of type {self.kind!r} cannot report disk usage")


def default_reader(name: str, kind: str) -> list[tuple[str, DiskReader]]:
    return [(name, LocalDisk() if kind == "local" else NoDiskReading(kind))]


@dataclass(frozen=True)
class _Context:
    """What building a check may need besides its spec."""

    env: Environment
    store: Store
    clock: Clock
    environ: Mapping[str, str]
    reader_for: ReaderFor
    version: str | None

    def item(
        self, spec: PreflightSpec, check: Check | None, *, name: str | None = None
    ) -> PreflightItem:
        return PreflightItem(
            name or preflight_name(spec),
            spec.type,
            check,
            blocking=spec.blocking if check is not None else False,
            owner=spec.owner,
        )


Builder = Callable[[_Context, Any], list[PreflightItem]]
#: one builder per `type:` of a pre-flight check in the spec (tests/test_registries.py)
BUILDERS: dict[str, Builder] = {}


def builds(kind: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        BUILDERS[kind] = builder
        return builder

    return register


def preflight_items(
    env: Environment,
    *,
    store: Store,
    clock: Clock,
    override: WindowOverride | None = None,
    environ: Mapping[str, str] | None = None,
    reader_for: ReaderFor = default_reader,
    version: str | None = None,
) -> list[PreflightItem]:
    """The environment's checklist, window first, in the spec's order; ``version`` is the
    release about to be deployed (None for a plain `slipway check`)."""
    environ = os.environ if environ is None else environ
    remember_environ(env.secret_variables(), environ)  # their output is scrubbed of these
    context = _Context(env, store, clock, environ, reader_for, version)
    items: list[PreflightItem] = []
    if env.window is not None:
        check = WindowCheck(env.window, clock=clock, override=override)
        items.append(PreflightItem("deploy window", "window", check, owner=None))
    for spec in env.checks:
        items += BUILDERS[spec.type](context, spec)
    return items


def checklist(env: Environment) -> list[dict[str, Any]]:
    """What the pre-flight will check, as ``slipway plan`` shows it; nothing is run."""
    rows: list[dict[str, Any]] = []
    if env.window is not None:
        rows.append({"name": "deploy window", "type": "window", "blocking": True, "owner": None})
    for spec in env.checks:
        rows.append(
            {
                "name": preflight_name(spec),
                "type": spec.type,
                "blocking": spec.blocking and spec.type != "manual",
                "owner": spec.owner,
            }
        )
    return rows


@builds("manual")
def _manual(c: _Context, spec: ManualPreflight) -> list[PreflightItem]:
    return [c.item(spec, None)]


@builds("command")
def _command(c: _Context, spec: CommandPreflight) -> list[PreflightItem]:
    name = preflight_name(spec)
    return [
        c.item(
            spec, CommandCheck(spec.command, timeout_s=spec.timeout_s, cwd=c.env.root, name=name)
        )
    ]


@builds("http")
def _http(c: _Context, spec: HttpPreflight) -> list[PreflightItem]:
    check = HttpCheck(
        spec.url,
        expect_status=spec.expect_status,
        expect_body=spec.expect_body,
        timeout_s=spec.timeout_s,
        name=preflight_name(spec),
    )
    return [c.item(spec, check)]


@builds("disk")
def _disk(c: _Context, spec: DiskPreflight) -> list[PreflightItem]:
    """One row per machine: the local one, or every host of a fleet."""
    found = []
    for target in c.env.targets:
        for where, reader in c.reader_for(target.name, target.type):
            disk = DiskCheck(
                spec.path, min_free_percent=spec.min_free_percent, reader=reader, where=where
            )
            found.append(c.item(spec, disk, name=f"{preflight_name(spec)} on {where}"))
    return found


@builds("tls")
def _tls(c: _Context, spec: TlsPreflight) -> list[PreflightItem]:
    tls = TlsCheck(
        host=spec.host,
        port=spec.port,
        file=_path(c.env, spec.file),
        server_name=spec.server_name,
        ca_file=_path(c.env, spec.ca_file),
        min_days=spec.min_days,
        timeout_s=spec.timeout_s,
        clock=c.clock,
        name=preflight_name(spec),
    )
    return [c.item(spec, tls)]


@builds("env")
def _env(c: _Context, spec: EnvPreflight) -> list[PreflightItem]:
    files = [p for p in (_path(c.env, f) for f in spec.secret_files) if p is not None]
    return [c.item(spec, EnvCheck(variables=spec.variables, secret_files=files, environ=c.environ))]


@builds("database")
def _database(c: _Context, spec: DatabasePreflight) -> list[PreflightItem]:
    return [c.item(spec, _database_check(c.env, spec, c.environ, preflight_name(spec)))]


@builds("backup")
def _backup(c: _Context, spec: BackupPreflight) -> list[PreflightItem]:
    records = Records(c.store)
    env = c.env
    backup = BackupCheck(
        lambda: records.last_backup(env.app, env.name, media=spec.of == "media"),
        max_age_s=spec.max_age_s,
        require_verified=spec.require_verified,
        clock=c.clock,
        name=preflight_name(spec),
    )
    return [c.item(spec, backup)]


@builds("staged")
def _staged(c: _Context, spec: StagedPreflight) -> list[PreflightItem]:
    source, env, store = spec.environment, c.env, c.store
    staged = StagedCheck(
        lambda: store.deployments(env.app, source, limit=200),
        version=c.version,
        environment=source,
        clock=c.clock,
        max_age_s=spec.max_age_s,
        name=preflight_name(spec),
    )
    return [c.item(spec, staged)]


@builds("django_settings")
def _django_settings(c: _Context, spec: DjangoSettingsPreflight) -> list[PreflightItem]:
    check = DjangoSettingsCheck(
        python=c.env.root / spec.python, manage=c.env.root / spec.manage,
        min_key_length=spec.min_secret_key_length, timeout_s=spec.timeout_s,
        name=preflight_name(spec),
    )  # fmt: skip
    return [c.item(spec, check)]


@builds("bandit")
def _bandit(c: _Context, spec: BanditPreflight) -> list[PreflightItem]:
    check = BanditCheck(
        spec.program, paths=spec.paths, exclude=spec.exclude, severity=spec.severity,
        confidence=spec.confidence, cwd=c.env.root, timeout_s=spec.timeout_s,
        name=preflight_name(spec),
    )  # fmt: skip
    return [c.item(spec, check)]


@builds("dependency_audit")
def _audit(c: _Context, spec: AuditPreflight) -> list[PreflightItem]:
    check = AuditCheck(
        python=c.env.root / spec.python, advisories=_path(c.env, spec.advisories),
        report=_path(c.env, spec.report), severity=spec.severity, ignore=spec.ignore,
        cwd=c.env.root, timeout_s=spec.timeout_s, name=preflight_name(spec),
    )  # fmt: skip
    return [c.item(spec, check)]


@builds("coverage")
def _coverage(c: _Context, spec: CoveragePreflight) -> list[PreflightItem]:
    report, name = c.env.root / spec.report, preflight_name(spec)
    check = CoverageCheck(report, min_percent=spec.min_percent, max_age_s=spec.max_age_s, name=name)
    return [c.item(spec, check)]


@builds("redis")
def _redis(c: _Context, spec: RedisPreflight) -> list[PreflightItem]:
    name = preflight_name(spec)
    url = c.environ.get(spec.url_env, "")
    try:
        check: Check = RedisCheck(url, timeout_s=spec.timeout_s, name=name)
    except ValueError:
        why = f"{spec.url_env} is not set" if not url else f"{spec.url_env} is not a redis:// URL"
        check = Fixed(name, CheckResult("fail", why))
    return [c.item(spec, check)]


def _database_check(
    env: Environment, spec: DatabasePreflight, environ: Mapping[str, str], name: str
) -> Check:
    if env.database is None:
        return Fixed(name, CheckResult("fail", "the spec has no `database:` section"))
    try:
        dsn = Dsn.from_env(env.database.url_env, environ)
    except UsageError as exc:
        hint = f"; {exc.hint}" if exc.hint else ""
        return Fixed(name, CheckResult("fail", f"{exc.message}{hint}"))
    return DatabaseCheck(dsn, timeout_s=spec.timeout_s, name=name)


def _path(env: Environment, value: str | None) -> Path | None:
    return None if value is None else env.root / value


@contextmanager
def _fleet_readers(env: Environment, reader_for: ReaderFor) -> Iterator[ReaderFor]:
    """For a fleet, disk readings come from each app host, by ``df`` over SSH (one connection
    per host, closed after the checklist); other targets keep ``reader_for``."""
    if env.fleet is None or reader_for is not default_reader:
        yield reader_for
        return
    from slipway.backends.fleet import make_pool

    fleet = env.fleet
    pool = make_pool(fleet)

    def on_host(host: str) -> CommandDisk:
        def run(argv: Sequence[str]) -> str:
            try:
                return pool.run(host, shlex.join(argv)).stdout
            except SlipwayError as exc:  # unreachable, refused key: no reading, not a pass
                raise BackendError(f"{host}: {exc}") from exc

        return CommandDisk(run)

    def readers(name: str, kind: str) -> list[tuple[str, DiskReader]]:
        if kind != "ssh":
            return default_reader(name, kind)
        return [(host, on_host(host)) for host in fleet.app_hosts]

    try:
        yield readers
    finally:
        pool.close()


def run_checks(
    env: Environment,
    *,
    store: Store,
    clock: Clock,
    purpose: str,
    version: str | None = None,
    override: WindowOverride | None = None,
    environ: Mapping[str, str] | None = None,
    reader_for: ReaderFor = default_reader,
    who: str | None = None,
) -> tuple[GoNoGo, int]:
    """Run the checklist and record it (``who`` ran it); the verdict and its record's id."""
    with _fleet_readers(env, reader_for) as readers:
        items = preflight_items(
            env,
            store=store,
            clock=clock,
            override=override,
            environ=environ,
            reader_for=readers,
            version=version,
        )
        verdict = run_preflight(items)
    run_id = Records(store).add_check_run(
        app=env.app,
        environment=env.name,
        purpose=purpose,
        verdict=verdict.word,
        results=[r.as_dict() for r in verdict.rows],
        version=version,
        who=who or (override.who if override else current_user()),
        override=override.reason if override else None,
    )
    return verdict, run_id
