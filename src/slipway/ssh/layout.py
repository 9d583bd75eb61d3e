"""The release layout on a fleet host, the one Capistrano users know::

    <deploy_to>/releases/<version>/   one directory per release, never changed once there
    <deploy_to>/shared/               config and data every release links to
    <deploy_to>/current -> releases/<version>   switched atomically (a rename)

A release arrives as a tar stream on the SSH channel's stdin, unpacked into a
temporary directory beside its final place and renamed there only once
complete: a host cut off halfway keeps no half-release that a later deploy
would trust. Its manifest (``.slipway-release.json``, with the content
digest) comes inside; a host that already has the same digest is skipped.

Every command is built here from validated values (the spec's patterns), each
quoted with ``shlex.quote``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import tarfile
import threading
from collections.abc import Sequence
from pathlib import Path

from slipway.errors import PermanentError
from slipway.ssh.pool import SshPool

MANIFEST = ".slipway-release.json"
Listing = tuple[list[str], str | None]  # releases oldest first, and the one `current` names
q = shlex.quote


class RemoteLayout:
    """``deploy_to`` on every host of a pool."""

    def __init__(
        self,
        pool: SshPool,
        deploy_to: str,
        *,
        linked_dirs: Sequence[str] = (),
        linked_files: Sequence[str] = (),
    ) -> None:
        self.pool = pool
        self.deploy_to = deploy_to.rstrip("/") or "/"
        self.releases = f"{self.deploy_to}/releases"
        self.shared = f"{self.deploy_to}/shared"
        self.linked_dirs = list(linked_dirs)
        self.linked_files = list(linked_files)

    def release_dir(self, version: str) -> str:
        return f"{self.releases}/{version}"

    async def digest(self, host: str, version: str) -> str | None:
        """The digest of ``version`` on ``host``, or None when it is not there (complete)."""
        manifest = q(f"{self.release_dir(version)}/{MANIFEST}")
        result = await self.pool.arun(host, f"cat {manifest} 2>/dev/null || true")
        try:
            data = json.loads(result.stdout)
        except ValueError:
            return None
        return str(data.get("digest")) if isinstance(data, dict) else None

    async def upload(self, host: str, version: str, tarball: Path, digest: str) -> bool:
        """Put ``version`` on ``host`` unless it already has this digest; True if uploaded."""
        if await self.digest(host, version) == digest:
            return False
        final = self.release_dir(version)
        links = []
        for path in self.linked_dirs:
            links.append(
                f'mkdir -p {q(f"{self.shared}/{path}")} && rm -rf "$tmp"/{q(path)} && '
                f'mkdir -p "$(dirname "$tmp"/{q(path)})" && '
                f'ln -s {q(f"{self.shared}/{path}")} "$tmp"/{q(path)}'
            )
        for path in self.linked_files:
            links.append(
                f'mkdir -p "$(dirname {q(f"{self.shared}/{path}")})" && '
                f'touch {q(f"{self.shared}/{path}")} && rm -rf "$tmp"/{q(path)} && '
                f'mkdir -p "$(dirname "$tmp"/{q(path)})" && '
                f'ln -s {q(f"{self.shared}/{path}")} "$tmp"/{q(path)}'
            )
        script = "; ".join(
            [
                "set -e",
                f"mkdir -p {q(self.releases)} {q(self.shared)}",
                f"tmp=$(mktemp -d {q(f'{self.releases}/.tmp-{version}-')}XXXXXX)",
                "trap 'rm -rf \"$tmp\"' EXIT",
                'tar -xf - -C "$tmp"',
                *links,
                f"rm -rf {q(final)}",
                f'mv "$tmp" {q(final)}',
                "trap - EXIT",
            ]
        )
        await self.pool.arun(host, script, stdin=tarball)
        return True

    async def switch_current(self, host: str, version: str) -> Listing:
        """``current`` → ``releases/<version>``, atomically (a new link renamed over the old);
        and, in the same round trip, the releases there (``listing``), for the prune that
        follows a switch."""
        tmp = f"{self.deploy_to}/.current-tmp"
        result = await self.pool.arun(
            host,
            f"ln -sfn {q(f'releases/{version}')} {q(tmp)} && "
            f"mv -T {q(tmp)} {q(f'{self.deploy_to}/current')} && {{ {self._listing_script()}; }}",
        )
        return _parse_listing(result.stdout)

    async def current(self, host: str) -> str | None:
        result = await self.pool.arun(host, f"readlink {q(f'{self.deploy_to}/current')} || true")
        target = result.stdout.strip()
        return target.rsplit("/", 1)[-1] if target else None

    async def listing(self, host: str) -> Listing:
        """Complete releases on ``host``, oldest first (by when they were put in place), and
        the one ``current`` points to — in one round trip."""
        result = await self.pool.arun(host, self._listing_script())
        return _parse_listing(result.stdout)

    def _listing_script(self) -> str:
        return (
            f"readlink {q(f'{self.deploy_to}/current')} | sed 's/^/current /'; "
            f"test -d {q(self.releases)} && find {q(self.releases)} -mindepth 1 -maxdepth 1 "
            f"-type d ! -name '.tmp-*' -printf '%C@ %f\\n' || true"
        )

    async def versions(self, host: str) -> list[str]:
        return (await self.listing(host))[0]

    async def prune(
        self, host: str, *, keep: int, protect: set[str], listing: Listing | None = None
    ) -> list[str]:
        """Remove the oldest releases beyond ``keep``, never one in ``protect`` or current;
        ``listing``: what ``switch_current`` just read there (not read again)."""
        versions, current = listing if listing is not None else await self.listing(host)
        doomed = [
            v for v in versions[: max(0, len(versions) - keep)] if v not in protect and v != current
        ]
        if doomed:
            paths = " ".join(q(self.release_dir(v)) for v in doomed)
            await self.pool.arun(host, f"rm -rf -- {paths}")
        return doomed


def _parse_listing(text: str) -> Listing:
    found, current = [], None
    for line in text.splitlines():
        stamp, _, name = line.partition(" ")
        if stamp == "current":
            current = name.rsplit("/", 1)[-1]
            continue
        try:
            found.append((float(stamp), name))
        except ValueError:
            continue
    return [name for _, name in sorted(found)], current


class ReleaseSync:
    """Gets a local release onto hosts: one tarball per digest, one upload per host at most.

    What each host already has is remembered for the whole deployment, so the many steps
    that need a release on a host (every start of an instance) cost nothing after the first.
    """

    def __init__(self, layout: RemoteLayout, cache_dir: Path) -> None:
        self.layout = layout
        self.cache_dir = cache_dir
        self.uploads = 0  # hosts a release was actually sent to (skips are not counted)
        self._present: set[tuple[str, str, str]] = set()
        self._tar_lock = threading.Lock()
        self._host_locks: dict[tuple[str, str], asyncio.Lock] = {}

    def tarball(self, source: Path, digest: str) -> Path:
        """An uncompressed tar of ``source`` (built once per digest; loopback and LANs are
        faster than gzip)."""
        name = digest.replace(":", "-") + ".tar"
        path = self.cache_dir / name
        with self._tar_lock:
            if not path.exists():
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                with tarfile.open(tmp, "w") as tar:
                    for item in sorted(source.iterdir()):
                        tar.add(item, arcname=item.name)
                os.replace(tmp, path)
        return path

    async def ensure(self, host: str, version: str, source: Path) -> bool:
        """``version`` (unpacked locally at ``source``) is on ``host``; True if uploaded now."""
        digest = local_digest(source)
        key = (host, version, digest)
        if key in self._present:
            return False
        lock = self._host_locks.setdefault((host, version), asyncio.Lock())
        async with lock:
            if key in self._present:
                return False
            tarball = await asyncio.to_thread(self.tarball, source, digest)
            sent = await self.layout.upload(host, version, tarball, digest)
            self._present.add(key)
            if sent:
                self.uploads += 1
            return sent


def local_digest(release_dir: Path) -> str:
    try:
        data = json.loads((release_dir / MANIFEST).read_text())
        return str(data["digest"])
    except (OSError, ValueError, KeyError):
        raise PermanentError(f"{release_dir} has no release manifest: prepare it first") from None
