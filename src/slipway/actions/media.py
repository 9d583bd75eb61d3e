"""What ``backup_media`` does: the media directory to a tar and a manifest, read back, recorded.

Like the database's backup it comes before anything is touched, so a failure is a No-Go; a
backup already taken and verified for this deployment is reused (``slipway resume``). A
missing directory is a No-Go — unless nothing was ever deployed (then it is made, empty). The
record is a ``Backup`` whose ``database`` is ``media:<directory>``, which is how the
``backup`` pre-flight check with ``of: media`` finds the last one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slipway.actions.context import StepContext
from slipway.database.files import backup_files, verify_files
from slipway.errors import BackendError, NoGoError, PermanentError
from slipway.spec.media import MediaSpec
from slipway.steps import OfVersion
from slipway.store.records import MEDIA, Backup, Records

Result = dict[str, Any]


class MediaActions:
    def __init__(self, context: StepContext) -> None:
        self._env = context.env
        self._store = context.store
        self._records = Records(context.store)
        self._dep = context.deployment_id

    def _spec(self) -> MediaSpec:
        if self._env.media is None:
            raise PermanentError("this plan backs up media but the spec has no `media:`")
        return self._env.media

    def backup_media(self, params: OfVersion) -> Result:
        spec = self._spec()
        source = (self._env.root / spec.path).resolve()
        for made in self._records.backups(self._env.app, self._env.name, limit=50):
            mine = made.deployment_id == self._dep and made.database.startswith(MEDIA)
            if mine and made.verified and Path(made.location).is_file():
                return {"backup": made.id, "reused": True}
        if not source.exists() and self._store.current(self._env.app, self._env.name) is None:
            source.mkdir(parents=True)  # a first release: nobody uploaded anything yet
        backup_id = self._records.new_backup_id()
        directory = self._env.state_dir / spec.backup_dir
        try:
            done = backup_files(source, directory, backup_id)
        except BackendError as exc:
            raise NoGoError(f"media backup failed, nothing was touched: {exc}") from None
        checked = verify_files(done.path, done.manifest)
        self._records.add_backup(
            Backup(
                id=backup_id, app=self._env.app, environment=self._env.name,
                deployment_id=self._dep, database=f"{MEDIA}{source}", location=str(done.path),
                size_bytes=done.size_bytes, sha256=done.sha256, created_at=self._store.now(),
                duration_s=round(done.duration_s, 3), verified=checked.ok,
                verify_evidence=checked.evidence,
            )
        )  # fmt: skip
        if not checked.ok:
            raise NoGoError(f"media backup {backup_id} could not be verified: {checked.evidence}")
        self._store.event(
            self._dep,
            f"media backup {backup_id} of {source}: {done.files} files, {done.size_bytes} "
            f"bytes, sha256 {done.sha256[:12]}…, {checked.evidence}",
            backup=backup_id,
        )
        self._prune(directory, keep=spec.keep_backups, protect=done.path)
        return {"backup": backup_id, "files": done.files, "sha256": done.sha256}

    def _prune(self, directory: Path, *, keep: int, protect: Path) -> None:
        tars = sorted(directory.glob("bk-*.tar"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in tars[keep:]:
            if old != protect:
                old.unlink(missing_ok=True)
                old.with_name(old.name.removesuffix(".tar") + ".manifest.json").unlink(
                    missing_ok=True
                )
