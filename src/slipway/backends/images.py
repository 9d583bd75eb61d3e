"""Releases as container images: built here from a Dockerfile, or pulled by digest.

A release's digest is its image's: the image ID of a build (the digest of its config), the
registry's manifest digest of a pull — resolved from ``name`` once, at ``prepare``, and then
pulled as ``repository@digest``, so every container of the release runs exactly the image
that was resolved, whatever the tag points at later. Registry credentials come from the
environment variables the spec names (the password is masked wherever Slipway writes).

What was prepared is recorded in ``<state>/releases/<version>.json`` (written whole, then
renamed into place); a record whose image is no longer in Docker (a wiped data root) is made
again. ``current`` names the current release's record, switched atomically. ``prune`` removes
the references (tags, digests) of the oldest releases beyond ``keep`` — Docker deletes an
image when its last reference goes, and refuses while a container uses it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from slipway.containers.engine import Credentials, Engine
from slipway.errors import PermanentError, UsageError
from slipway.release import Release, check_version, prunable
from slipway.spec.release import ImageSpec

SUFFIX = ".json"


class ImageReleases:
    def __init__(
        self,
        root: Path,
        *,
        engine: Engine,
        spec: ImageSpec,
        spec_root: Path,
        app: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.engine = engine
        self._spec = spec
        self._spec_root = spec_root
        self._app = app
        self._environ = os.environ if environ is None else environ

    def _record(self, version: str) -> Path:
        return self.root / f"{check_version(version)}{SUFFIX}"

    def get(self, version: str) -> Release | None:
        release = self._recorded(version)
        if release is None or not self._present(release):
            return None  # recorded, but Docker no longer has it: made again
        return release

    def _recorded(self, version: str) -> Release | None:
        try:
            data = json.loads(self._record(version).read_text())
        except (OSError, ValueError):
            return None
        image = str(data.get("image", ""))
        if not image:
            return None
        return Release(version, str(data["digest"]), self._spec_root, image=image)

    def _present(self, release: Release) -> bool:
        """Whether the engine still has the release's image."""
        return self.engine.image_id(release.image or "") == release.image

    def check_source(self, version: str) -> None:
        check_version(version)
        if self._spec.build is not None:
            context = self._spec_root / self._spec.build.context
            dockerfile = context / self._spec.build.dockerfile
            if not dockerfile.is_file():
                raise UsageError(
                    f"release {version}: {dockerfile} does not exist",
                    hint="check release.image.build (context and dockerfile, relative to the spec)",
                )
        self._credentials()

    def _credentials(self) -> Credentials | None:
        user_env, password_env = self._spec.username_env, self._spec.password_env
        if user_env is None or password_env is None:
            return None
        missing = [n for n in (user_env, password_env) if not self._environ.get(n)]
        if missing:
            raise UsageError(
                f"the registry's credentials are not set: {', '.join(missing)}",
                hint="export them (release.image names them) before deploying",
            )
        return Credentials(self._environ[user_env], self._environ[password_env])

    def prepare(self, version: str) -> Release:
        existing = self.get(version)
        if existing is not None:
            return existing
        if self._spec.build is not None:
            image, digest, refs = self._build(version)
        else:
            image, digest, refs = self._pull(version)
        record = {
            "version": version,
            "digest": digest,
            "image": image,
            "refs": refs,
            "prepared_ns": time.time_ns(),
        }
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{version}{SUFFIX}.{os.getpid()}"
        partial.write_text(json.dumps(record))
        partial.replace(self._record(version))
        return Release(version, digest, self._spec_root, image=image)

    def _build(self, version: str) -> tuple[str, str, list[str]]:
        build = self._spec.build
        assert build is not None
        tag = f"{self._app}:{version}"
        image = self.engine.build(
            self._spec_root / build.context,
            dockerfile=build.dockerfile,
            tag=tag,
            args={k: v.replace("{version}", version) for k, v in build.args.items()},
            labels={"slipway.app": self._app, "slipway.version": version},
        )
        return image, image, [tag]

    def _pull(self, version: str) -> tuple[str, str, list[str]]:
        assert self._spec.name is not None
        reference = self._spec.name.replace("{version}", version)
        credentials = self._credentials()
        digest = self.engine.registry_digest(reference, credentials)
        repository = repository_of(reference)
        image = self.engine.pull(repository, digest, credentials)
        return image, digest, [f"{repository}@{digest}"]

    def link_current(self, version: str) -> Sequence[str]:
        if not self._record(version).is_file():
            raise PermanentError(f"release {version} was never prepared here")
        link = self.root / "current"
        partial = self.root / f".current-{os.getpid()}"
        partial.unlink(missing_ok=True)
        partial.symlink_to(f"{version}{SUFFIX}")
        os.replace(partial, link)
        return ()

    def current(self) -> str | None:
        link = self.root / "current"
        return os.readlink(link).removesuffix(SUFFIX) if link.is_symlink() else None

    def versions(self) -> list[str]:
        """Prepared releases, oldest first."""
        found = []
        for path in self.root.glob(f"*{SUFFIX}"):
            if path.is_symlink() or path.name.startswith("."):
                continue
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            found.append((int(data.get("prepared_ns", 0)), path.name.removesuffix(SUFFIX)))
        return [version for _, version in sorted(found)]

    def prune(self, *, keep: int, protect: Collection[str]) -> list[str]:
        removed = []
        for version in prunable(self.versions(), keep=keep, protect={*protect, self.current()}):
            record = self._record(version)
            refs = [str(ref) for ref in json.loads(record.read_text()).get("refs", [])]
            if self._remove_refs(refs):
                record.unlink(missing_ok=True)
                removed.append(version)
        return removed

    def _remove_refs(self, refs: list[str]) -> bool:
        """Remove ``refs`` from the engine; False if one stays (a container uses it)."""
        return all([self.engine.remove_image(ref) for ref in refs])


def repository_of(reference: str) -> str:
    """``127.0.0.1:5000/shop:v1`` → ``127.0.0.1:5000/shop`` (a registry's port is no tag)."""
    if "@" in reference:
        return reference.split("@", 1)[0]
    head, _, last = reference.rpartition("/")
    name = last.split(":", 1)[0]
    return f"{head}/{name}" if head else name
