"""Releases: immutable, versioned artifacts unpacked under ``<state>/releases/<version>/``.

A release comes from a directory, a tarball or a build command (the spec's
``release``). It is assembled in a temporary directory beside its final place
and renamed into place only when complete, so a runner killed halfway leaves
no half-release that a later deploy would trust. Its content digest (SHA-256
over every file's relative path, mode and bytes) is written into
``.slipway-release.json`` and recorded by the deployment.

``current`` is a symlink switched atomically (a new link renamed over the
old). The last ``keep`` releases stay on disk, plus any release in use.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from slipway.clock import utc_iso
from slipway.errors import PermanentError, UsageError
from slipway.spec.base import is_valid_version
from slipway.spec.release import ReleaseSpec

MANIFEST = ".slipway-release.json"
BUILD_TIMEOUT_S = 600


@dataclass(frozen=True)
class Release:
    version: str
    digest: str
    path: Path  # its files; an image's: the spec's directory (where a migration command runs)
    image: str | None = None  # a container release: the image ID its containers run


class ReleaseStore(Protocol):
    """What the steps ask of an environment's releases: files here (``Releases``), on a
    fleet's hosts too, or container images (``backends.images.ImageReleases``). Each method is
    idempotent: a release already prepared is not made again."""

    def check_source(self, version: str) -> None:
        """Refuse, before anything starts, a version that cannot be made (a usage error)."""

    def prepare(self, version: str) -> Release:
        """Build, unpack or pull ``version`` unless it is already here."""

    def get(self, version: str) -> Release | None:
        """``version`` as already prepared here, or None (nothing is built or pulled)."""

    def link_current(self, version: str) -> Sequence[str]:
        """Record ``version`` as the environment's current release; the fleet hosts whose
        ``current`` now names it (none when the releases are here only)."""

    def prune(self, *, keep: int, protect: Collection[str]) -> list[str]:
        """Remove the oldest releases beyond ``keep``, never one in ``protect``."""


def check_version(version: str) -> str:
    if not is_valid_version(version):
        raise UsageError(
            f"invalid version {version!r}",
            hint="use letters, digits and . _ + - (at most 64, starting with a letter or digit)",
        )
    return version


class Releases:
    """The releases directory of one environment."""

    def __init__(self, root: Path, *, spec: ReleaseSpec, spec_root: Path) -> None:
        self.root = root
        self._spec = spec
        self._spec_root = spec_root

    def path(self, version: str) -> Path:
        return self.root / check_version(version)

    def get(self, version: str) -> Release | None:
        manifest = self.path(version) / MANIFEST
        if not manifest.is_file():
            return None
        data = json.loads(manifest.read_text())
        return Release(version, data["digest"], self.path(version))

    def check_source(self, version: str) -> None:
        """Refuse, before anything starts, a version whose release directory or tarball is
        missing (a typo in ``--version`` is a usage error, not a failed deployment)."""
        check_version(version)
        if self._spec.path is None or self.get(version) is not None:
            return
        source = self._spec_root / self._spec.path.replace("{version}", version)
        if not source.exists():
            raise UsageError(
                f"release {version}: {source} does not exist",
                hint="check --version and release.path in the spec (`{version}` is replaced)",
            )

    def prepare(self, version: str) -> Release:
        """Build or unpack ``version`` unless it is already here; idempotent."""
        existing = self.get(version)
        if existing is not None:
            return existing
        self.root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=self.root))
        try:
            content = work / "content"
            self._assemble(version, content)
            digest = tree_digest(content)
            manifest = {"version": version, "digest": digest, "prepared_ns": time.time_ns()}
            (content / MANIFEST).write_text(json.dumps(manifest))
            final = self.path(version)
            if final.exists():  # a leftover without manifest from a killed runner
                shutil.rmtree(final)
            os.rename(content, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return Release(version, digest, self.path(version))

    def _assemble(self, version: str, out: Path) -> None:
        if self._spec.build is not None:
            self._build(version, out)
            return
        assert self._spec.path is not None  # the spec guarantees one source
        source = self._spec_root / self._spec.path.replace("{version}", version)
        if source.is_dir():
            shutil.copytree(source, out, symlinks=True)
        elif source.is_file() and tarfile.is_tarfile(source):
            out.mkdir()
            with tarfile.open(source) as tar:
                tar.extractall(out, filter="data")
        else:
            raise PermanentError(
                f"release {version}: {source} is neither a directory nor a tarball "
                "(check release.path in the spec and the version)"
            )

    def _build(self, version: str, out: Path) -> None:
        assert self._spec.build is not None
        out.mkdir()
        # Split first, substitute after: a version can never add arguments or shell syntax.
        argv = [
            a.replace("{version}", version).replace("{output}", str(out))
            for a in shlex.split(self._spec.build)
        ]
        try:
            result = subprocess.run(
                argv,
                cwd=self._spec_root,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PermanentError(f"release {version}: build command failed: {exc}") from exc
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip()[-500:]
            raise PermanentError(
                f"release {version}: build exited with {result.returncode}: {tail}"
            )

    def link_current(self, version: str) -> Sequence[str]:
        link = self.root / "current"
        tmp = self.root / f".current-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(version)
        os.replace(tmp, link)
        return ()

    def current(self) -> str | None:
        link = self.root / "current"
        return os.readlink(link) if link.is_symlink() else None

    def versions(self) -> list[str]:
        """Unpacked releases, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.iterdir():
            if path.is_symlink():  # `current`
                continue
            try:
                manifest = json.loads((path / MANIFEST).read_text())
            except (OSError, ValueError):
                continue
            found.append((int(manifest.get("prepared_ns", 0)), path.name))
        return [name for _, name in sorted(found)]

    def prune(self, *, keep: int, protect: Collection[str]) -> list[str]:
        """Remove the oldest releases beyond ``keep``, never one in ``protect``."""
        removed = []
        for version in prunable(self.versions(), keep=keep, protect={*protect, self.current()}):
            shutil.rmtree(self.path(version), ignore_errors=True)
            removed.append(version)
        return removed


def tree_digest(root: Path) -> str:
    """SHA-256 over relative paths, modes and contents, in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == MANIFEST or "__pycache__" in path.parts:
            continue
        digest.update(rel.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"L" + os.readlink(path).encode())
        elif path.is_file():
            digest.update(b"F" + oct(path.stat().st_mode & 0o777).encode())
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 16), b""):
                    digest.update(chunk)
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


_COMMIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


def commit_time(root: Path, commit: str) -> str | None:
    """When ``commit`` was made (ISO-8601 UTC), per git in ``root``; None when git, the
    repository or the commit is not there. A commit that could be an option is not asked."""
    if not _COMMIT.fullmatch(commit):
        return None
    try:
        found = subprocess.run(
            ["git", "-C", str(root), "show", "-s", "--format=%cI", f"{commit}^{{commit}}", "--"],
            capture_output=True, text=True, timeout=10, check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"},
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if found.returncode != 0 or not found.stdout.strip():
        return None
    try:
        return utc_iso(datetime.fromisoformat(found.stdout.strip()))
    except ValueError:
        return None


def prunable(versions: list[str], *, keep: int, protect: Collection[str | None]) -> list[str]:
    """The oldest of ``versions`` (oldest first) beyond the newest ``keep``, but ``protect``."""
    return [v for v in versions[: max(0, len(versions) - keep)] if v not in protect]
