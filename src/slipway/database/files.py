"""File sets backed up like a database: the media users uploaded.

``backup_files`` writes the directory to ``<name>.tar`` (written beside its final name and
renamed only when whole) and ``<name>.manifest.json``: every regular file's relative path,
size and sha256, computed while it was read into the tar. ``verify_files`` re-reads the
archive — every member, every byte — against the manifest: a missing, extra or changed file,
or a truncated tar, fails it. Symbolic links are kept as links; nothing outside the
directory is followed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from slipway.database.postgres import Verification, sha256_of
from slipway.errors import BackendError

CHUNK = 1 << 20


@dataclass(frozen=True)
class FileSetBackup:
    path: Path
    manifest: Path
    files: int
    size_bytes: int
    sha256: str
    duration_s: float


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def backup_files(source: Path, directory: Path, name: str) -> FileSetBackup:
    """Tar ``source`` with a manifest; ``BackendError`` if it cannot be read."""
    started = time.monotonic()
    if not source.is_dir():
        raise BackendError(f"the media directory {source} does not exist")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final, partial = directory / f"{name}.tar", directory / f".{name}.tar.partial"
    files: dict[str, dict[str, object]] = {}
    try:
        with tarfile.open(partial, "w") as tar:
            for path in sorted(source.rglob("*")):
                rel = path.relative_to(source).as_posix()
                tar.add(path, arcname=rel, recursive=False)
                if path.is_file() and not path.is_symlink():
                    files[rel] = {"size": path.stat().st_size, "sha256": _digest(path)}
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackendError(f"reading {source} for its backup failed: {exc}") from exc
    os.chmod(partial, 0o600)  # uploads are the users': as private as the database
    manifest = directory / f"{name}.manifest.json"
    manifest.write_text(json.dumps({"source": str(source), "files": files}, indent=1))
    os.chmod(manifest, 0o600)
    partial.rename(final)
    return FileSetBackup(
        final, manifest, len(files), final.stat().st_size, sha256_of(final),
        time.monotonic() - started,
    )  # fmt: skip


def verify_files(archive: Path, manifest: Path) -> Verification:
    """Read every member of ``archive`` back and compare it with ``manifest``."""
    try:
        expected = json.loads(manifest.read_text())["files"]
        seen: dict[str, str] = {}
        with tarfile.open(archive, "r") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                h = hashlib.sha256()
                while chunk := handle.read(CHUNK):
                    h.update(chunk)
                seen[member.name] = h.hexdigest()
    except (OSError, ValueError, KeyError, tarfile.TarError) as exc:
        return Verification(False, 0, f"the archive could not be read back: {exc}")
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    changed = sorted(n for n in set(seen) & set(expected) if seen[n] != expected[n]["sha256"])
    problems = [
        f"{label}: {', '.join(names[:5])}"
        for label, names in (
            ("missing", missing),
            ("not in the manifest", extra),
            ("changed", changed),
        )
        if names
    ]
    if problems:
        return Verification(False, len(seen), "; ".join(problems))
    return Verification(True, len(seen), f"re-read: {len(seen)} files match their sha256")
