"""What the database steps do: back up, rehearse, migrate, restore — each recorded.

Before production is touched (backup, rehearsal) a failure is a ``NoGoError``:
the deployment ends as No-Go, nothing to roll back. The migration is the
first change to production; its failure is a ``PermanentError`` and the
rollback follows, with an event saying which backup can be restored and what
a restore would lose. Every step is idempotent for ``slipway resume``: a
backup already taken and verified for this deployment is reused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from slipway.actions.context import StepContext
from slipway.database.django import (
    DjangoError,
    Manage,
    applied,
    destructive,
    reversal,
    unapplied,
)
from slipway.database.dsn import Dsn
from slipway.database.postgres import dump, sha256_of, verify
from slipway.database.rehearsal import rehearse, restore, run_migration
from slipway.errors import BackendError, NoGoError, PermanentError, UsageError
from slipway.spec.database import DatabaseSpec
from slipway.steps import MigrateBack, OfVersion, Restore
from slipway.store.records import MEDIA, Backup, Records

Result = dict[str, Any]
TAIL_CHARS = 600
T = TypeVar("T")


def refuse_destructive(manage: Manage, *, contract: bool) -> str | None:
    """Why the migrations about to run on this copy are refused (destructive, and the release
    is not a contract step), or None."""
    try:
        found = destructive(manage, unapplied(manage))
    except DjangoError as exc:
        return f"could not read what the migrations do: {exc}"
    if not found or contract:
        return None
    return (
        f"destructive migration: {'; '.join(found)} — it breaks the release still serving "
        "during the rollout. Ship it as the contract step of an expand-contract pair and mark "
        "the release in `database.migrate.django.contract`"
    )


class DatabaseActions:
    def __init__(self, context: StepContext) -> None:
        self._env = context.env
        self._b = context.backends
        self._store = context.store
        self._records = Records(context.store)
        self._clock = context.clock
        self._dep = context.deployment_id

    def _spec(self) -> DatabaseSpec:
        if self._env.database is None:
            raise PermanentError("this plan has database steps but the spec has no `database:`")
        return self._env.database

    def _dsn(self) -> Dsn:
        try:
            return Dsn.from_env(self._spec().url_env)
        except UsageError as exc:
            raise NoGoError(f"cannot reach the database: {exc.message}") from None

    def backup_database(self, params: OfVersion) -> Result:
        spec, dsn = self._spec(), self._dsn()
        mine = self._backup_of_this_deployment()
        if mine is not None and mine.verified and Path(mine.location).is_file():
            return {"backup": mine.id, "reused": True}
        backup_id = self._records.new_backup_id()
        directory = self._env.state_dir / spec.backup_dir
        try:
            dumped = dump(dsn, directory, f"{backup_id}.dump", timeout_s=spec.timeout_s)
        except BackendError as exc:
            raise NoGoError(f"backup failed, nothing was touched: {exc}") from None
        checked = verify(dumped.path, timeout_s=spec.timeout_s)
        backup = Backup(
            id=backup_id,
            app=self._env.app,
            environment=self._env.name,
            deployment_id=self._dep,
            database=str(dsn),
            location=str(dumped.path),
            size_bytes=dumped.size_bytes,
            sha256=dumped.sha256,
            created_at=self._store.now(),
            duration_s=round(dumped.duration_s, 3),
            verified=checked.ok,
            verify_evidence=checked.evidence,
        )
        self._records.add_backup(backup)
        if not checked.ok:
            raise NoGoError(f"backup {backup_id} could not be verified: {checked.evidence}")
        self._store.event(
            self._dep,
            f"backup {backup_id} of {dsn}: {dumped.size_bytes} bytes, sha256 "
            f"{dumped.sha256[:12]}…, {checked.evidence}",
            backup=backup_id,
        )
        self._prune(directory, keep=spec.keep_backups, protect=dumped.path)
        return {"backup": backup_id, "size_bytes": dumped.size_bytes, "sha256": dumped.sha256}

    def rehearse_migration(self, params: OfVersion) -> Result:
        spec, dsn = self._spec(), self._dsn()
        if spec.migrate is None:
            return {}
        backup = self._backup_of_this_deployment()
        if backup is None or not backup.verified:
            raise NoGoError("no verified backup of this deployment to rehearse the migration on")
        release = self._b.releases.prepare(params.version)
        django = spec.migrate.django
        inspect = None
        if django is not None:
            contract = params.version in django.contract

            def inspect(scratch: Dsn) -> str | None:
                return refuse_destructive(
                    Manage(django, release.path, scratch, spec.url_env), contract=contract
                )

        try:
            result = rehearse(
                dsn,
                Path(backup.location),
                spec.migrate.command,
                cwd=release.path,
                url_env=spec.url_env,
                timeout_s=spec.migrate.timeout_s,
                restore_timeout_s=spec.timeout_s,
                inspect=inspect,
            )
        except BackendError as exc:
            raise NoGoError(f"the migration rehearsal could not run: {exc}") from None
        outcome = "passed" if result.ok else "failed"
        self._records.add_rehearsal(
            app=self._env.app,
            environment=self._env.name,
            deployment_id=self._dep,
            backup_id=backup.id,
            version=params.version,
            duration_s=round(result.duration_s, 3),
            outcome=outcome,
            output=result.output,
        )
        if not result.ok:
            raise NoGoError(
                f"the migration failed on a copy of {dsn} (scratch {result.scratch}, dropped); "
                f"production was not touched: {result.output[-TAIL_CHARS:]}"
            )
        self._store.event(
            self._dep,
            f"migration rehearsed on {result.scratch}: passed in {result.duration_s:.2f}s "
            f"(restore {result.restore_s:.2f}s)",
        )
        return {"scratch": result.scratch, "duration_s": round(result.duration_s, 3)}

    def migrate_database(self, params: OfVersion) -> Result:
        spec, dsn = self._spec(), self._dsn()
        if spec.migrate is None:
            return {}
        release = self._b.releases.prepare(params.version)
        manage = None
        if spec.migrate.django is not None:
            manage = Manage(spec.migrate.django, release.path, dsn, spec.url_env)
            before = self._django(lambda: applied(manage))
            self._store.event(
                self._dep,
                "before the migration: "
                + ", ".join(
                    f"{app} at {names[-1] if names else 'zero'}" for app, names in before.items()
                ),
                migrations=before,
            )
        result = run_migration(
            dsn,
            spec.migrate.command,
            cwd=release.path,
            url_env=spec.url_env,
            timeout_s=spec.migrate.timeout_s,
        )
        if not result.ok:
            backup = self._backup_of_this_deployment()
            if backup is not None:
                self._store.event(
                    self._dep,
                    f"the database may be partly migrated; backup {backup.id} "
                    f"(taken {backup.created_at}) can be restored — it loses what was written "
                    "since then",
                    level="warning",
                    backup=backup.id,
                )
            raise PermanentError(
                f"the migration failed (exit {result.code}): {result.output[-TAIL_CHARS:]}"
            )
        self._store.event(
            self._dep, f"database migrated for {params.version} in {result.duration_s:.2f}s"
        )
        done: Result = {"duration_s": round(result.duration_s, 3)}
        if manage is not None:
            done |= self._checked_after(manage, before)
        return done

    def _django(self, read: Callable[[], T]) -> T:
        try:
            return read()
        except DjangoError as exc:
            raise PermanentError(f"manage.py: {exc}") from None

    def _checked_after(self, manage: Manage, before: dict[str, list[str]]) -> Result:
        """``showmigrations`` after: nothing left unapplied; and how to undo what was done."""
        left = self._django(lambda: unapplied(manage))
        if left:
            names = ", ".join(f"{a}.{n}" for a, n in left)
            raise PermanentError(f"showmigrations after the migration: not applied: {names}")
        after = self._django(lambda: applied(manage))
        undo = reversal(manage, before, after)
        if undo.targets:
            how = "reversible: " + ", ".join(f"migrate {a} {t}" for a, t in undo.targets.items())
            if undo.irreversible:
                how = f"not reversible ({', '.join(undo.irreversible)})"
            self._store.event(self._dep, f"migrations applied; {how}")
        return {
            "before": {a: (n[-1] if n else "zero") for a, n in before.items()},
            "targets": undo.targets,
            "reversible": undo.possible,
            "irreversible": undo.irreversible,
        }

    def restore_database(self, params: Restore) -> Result:
        gate = params.confirmed_by
        if gate is not None:
            decision = self._decision(gate)
            if decision != "approved":
                return {"skipped": f"not confirmed ({decision or 'no answer'})"}
        spec, dsn = self._spec(), self._dsn()
        backup = self._records.backup(params.backup)
        if backup is None or backup.environment != self._env.name:
            raise PermanentError(f"no backup {params.backup!r} of {self._env.name}")
        path = Path(backup.location)
        if not path.is_file() or sha256_of(path) != backup.sha256:
            raise PermanentError(
                f"backup {backup.id} at {path} is missing or changed since it was made"
            )
        result = restore(dsn, path, timeout_s=spec.timeout_s)
        if not result.ok:
            raise PermanentError(
                f"restoring {backup.id} failed (exit {result.code}): {result.output[-TAIL_CHARS:]}"
            )
        self._store.event(
            self._dep,
            f"database restored from {backup.id}: "
            f"what was written after {backup.created_at} is lost",
            level="warning",
            backup=backup.id,
        )
        return {"backup": backup.id, "duration_s": round(result.duration_s, 3)}

    def migrate_back(self, params: MigrateBack) -> Result:
        """``migrate <app> <previous>`` with the code that applied the migrations: what they
        added goes, the rows written meanwhile stay."""
        if params.confirmed_by is not None:
            decision = self._decision(params.confirmed_by)
            if decision != "approved":
                return {"skipped": f"not confirmed ({decision or 'no answer'})"}
        spec, dsn = self._spec(), self._dsn()
        if spec.migrate is None or spec.migrate.django is None:
            raise PermanentError("migrating back needs `database.migrate.django`")
        release = self._b.releases.prepare(params.version)
        manage = Manage(spec.migrate.django, release.path, dsn, spec.url_env)
        for app, target in params.targets.items():
            result = manage("migrate", app, target, "--noinput", timeout_s=spec.migrate.timeout_s)
            if not result.ok:
                raise PermanentError(
                    f"migrate {app} {target} failed (exit {result.code}): "
                    f"{result.output[-TAIL_CHARS:]}"
                )
        moved = ", ".join(f"{a} to {t}" for a, t in params.targets.items())
        self._store.event(self._dep, f"database migrated back: {moved}", level="warning")
        return {"targets": params.targets}

    def _decision(self, gate: str) -> str | None:
        return next(
            (
                (s.result or {}).get("decision")
                for s in reversed(self._store.steps(self._dep))
                if s.kind == "gate" and s.params.get("gate") == gate
            ),
            None,
        )

    def _backup_of_this_deployment(self) -> Backup | None:
        for backup in self._records.backups(self._env.app, self._env.name, limit=50):
            if backup.deployment_id == self._dep and not backup.database.startswith(MEDIA):
                return backup
        return None

    def _prune(self, directory: Path, *, keep: int, protect: Path) -> None:
        """Keep the newest ``keep`` dumps in ``directory`` (the records stay, as history)."""
        dumps = sorted(directory.glob("bk-*.dump"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in dumps[keep:]:
            if old != protect:
                old.unlink(missing_ok=True)
