"""``media:``: the files users uploaded (Django's MEDIA_ROOT), backed up like the database.

Before a deployment changes anything, the directory is written to a tar with a manifest of
each file's sha256, then verified by reading the tar back against the manifest; the backup is
recorded beside the database's, and a ``backup`` pre-flight check with ``of: media`` holds it
to the same age and verification rules ("Backup media récent (<24h)").
"""

from __future__ import annotations

from pydantic import Field

from slipway.spec.base import Model


class MediaSpec(Model):
    path: str = Field(..., description="The media directory (absolute, or relative to the spec).")
    backup_dir: str = Field("backups/media", description="Relative to the state dir.")
    keep_backups: int = Field(10, ge=1, le=1000)
