"""Releases as images on a fleet: made here once, then put on every host that runs them.

``FleetImages`` is this machine's ``ImageReleases`` (built from the Dockerfile, or resolved
and pulled by digest) plus the hosts: ``prepare`` also puts the image on every host of the
run, skipping a host whose engine already has that image ID —

- a **built** image needs no registry: ``docker save`` of it is written here once (only if
  some host lacks it) and streamed into each host's ``docker load`` over its SSH connection
  (``containers/hosts.py``), then checked there by ID;
- a **pulled** image is pulled by each host itself, as ``repository@digest`` with the
  registry's credentials in the API call (never on a command line, never written there).

A pulled release is resolved by the first live host (this machine needs neither an engine
nor a way to the registry). ``link_current`` names the hosts that have the release (their
current release, recorded per host); ``prune`` removes the references of pruned releases on
each host too — Docker keeps an image a container still uses, and so does the prune.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from slipway.backends.images import ImageReleases, repository_of
from slipway.containers.engine import Engine
from slipway.containers.hosts import HostEngines
from slipway.errors import PermanentError
from slipway.release import Release
from slipway.spec.release import ImageSpec
from slipway.targets.ssh import raise_failures

CHUNK = 1024 * 1024


class FleetImages(ImageReleases):
    def __init__(
        self,
        root: Path,
        *,
        engine: Engine,
        spec: ImageSpec,
        spec_root: Path,
        app: str,
        engines: HostEngines,
        hosts: Sequence[str],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            root, engine=engine, spec=spec, spec_root=spec_root, app=app, environ=environ
        )
        self.engines = engines
        self.hosts = list(hosts)  # every host the run works on (web and roles)
        self._lock = threading.Lock()
        self._placed: set[str] = set()  # digests put on every live host by this runner
        self.loaded: list[tuple[str, str]] = []  # (host, version) put there by this runner
        self._loaded_lock = threading.Lock()

    def _live(self) -> list[str]:
        return self.engines.pool.live(self.hosts)

    def prepare(self, version: str) -> Release:
        release = super().prepare(version)
        with self._lock:
            if release.digest not in self._placed:
                self._place(release)
                self._placed.add(release.digest)
        return release

    def _place(self, release: Release) -> None:
        assert release.image is not None
        image = release.image
        missing = self.engines.each(
            self._live(), lambda h: self.engines.on(h, lambda e: e.image_id(image) != image)
        )
        raise_failures(missing)
        lacking = [host for host, needs in missing.items() if needs is True]
        if not lacking:
            return
        if self._spec.build is None:
            raise_failures(self.engines.each(lacking, lambda h: self._pull_on(h, release)))
            return
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(".save-*.tar"):  # a runner killed while it sent one
            stale.unlink(missing_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".save-", suffix=".tar") as saved:
            for chunk in self.engine.save(self._tag(release.version)):
                saved.write(chunk)
            saved.flush()
            archive = Path(saved.name)
            raise_failures(self.engines.each(lacking, lambda h: self._load_on(h, release, archive)))

    def _tag(self, version: str) -> str:
        return f"{self._app}:{version}"

    def _load_on(self, host: str, release: Release, archive: Path) -> None:
        what = f"{self._tag(release.version)} on {host}"
        self.engines.on(host, lambda e: e.load(_read(archive), what=what))
        self._check(host, release)

    def _pull_on(self, host: str, release: Release) -> None:
        repository = repository_of(self._reference(release.version))
        credentials = self._credentials()
        self.engines.on(host, lambda e: e.pull(repository, release.digest, credentials))
        self._check(host, release)

    def _reference(self, version: str) -> str:
        assert self._spec.name is not None
        return self._spec.name.replace("{version}", version)

    def _check(self, host: str, release: Release) -> None:
        found = self.engines.on(host, lambda e: e.image_id(release.image or ""))
        if found != release.image:
            raise PermanentError(
                f"release {release.version} on {host}: the image there is {found or 'missing'}, "
                f"not {release.image}"
            )
        with self._loaded_lock:  # hosts are loaded in threads; `_lock` is held by `prepare`
            self.loaded.append((host, release.version))

    def _present(self, release: Release) -> bool:
        """A built image is kept here; a pulled one only on the hosts (checked at ``prepare``)."""
        return super()._present(release) if self._spec.build is not None else True

    def _pull(self, version: str) -> tuple[str, str, list[str]]:
        """Resolved and pulled by the first live host: this machine needs no Docker engine
        (nor a way to the registry) to deploy images from a registry to a fleet."""
        live = self._live()
        if not live:
            raise PermanentError(f"release {version}: no host of the run answers to pull it")
        reference, credentials = self._reference(version), self._credentials()
        repository = repository_of(reference)
        digest = self.engines.on(live[0], lambda e: e.registry_digest(reference, credentials))
        image = self.engines.on(live[0], lambda e: e.pull(repository, digest, credentials))
        return image, digest, [f"{repository}@{digest}"]

    def link_current(self, version: str) -> Sequence[str]:
        super().link_current(version)
        return self._live()

    def _remove_refs(self, refs: list[str]) -> bool:
        """On each host (a container there may keep an image: that host keeps it), and here
        for a built image."""

        def untag(engine: Engine) -> None:
            for ref in refs:
                engine.remove_image(ref)

        raise_failures(self.engines.each(self._live(), lambda h: self.engines.on(h, untag)))
        return super()._remove_refs(refs) if self._spec.build is not None else True


def _read(archive: Path) -> Iterator[bytes]:
    with archive.open("rb") as data:
        while chunk := data.read(CHUNK):
            yield chunk
