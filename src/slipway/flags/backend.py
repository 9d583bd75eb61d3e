"""Where a flag's state is changed: one small interface, and Slipway's own store behind it.

``FlagBackend`` is what the flag strategy's steps and ``slipway flags`` use: read a flag, set
its share of users, kill it. ``StoreFlags`` keeps the state in the store (the OFREP server
reads it from there) and rewrites the flagd flag file after every change. ``FLAG_BACKENDS``
is the registry, one entry per ``flags.type`` of the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from slipway.flags.evaluation import Flag
from slipway.flags.flagd import flagd_document, write_flagd_file
from slipway.spec.environment import Environment
from slipway.store import FlagRecord, Store


class FlagBackend(Protocol):
    def get(self, key: str) -> Flag | None: ...

    def set_weight(
        self, key: str, weight: int, *, by: str, deployment_id: str | None = None
    ) -> Flag:
        """``weight`` percent of users get the flag on (created if new); idempotent."""

    def kill(self, key: str, *, by: str) -> Flag:
        """Off for everyone, served as disabled, whatever its weight."""


def as_flag(record: FlagRecord) -> Flag:
    return Flag(record.key, record.weight, record.enabled, frozenset(record.on_for))


def flagd_path(env: Environment) -> Path | None:
    if env.flags is None or env.flags.file is None:
        return None
    path = Path(env.flags.file)
    return path if path.is_absolute() else env.state_dir / path


class StoreFlags:
    def __init__(self, env: Environment, store: Store) -> None:
        self._env = env
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    def get(self, key: str) -> Flag | None:
        record = self.store.flag(self._env.app, self._env.name, key)
        return as_flag(record) if record is not None else None

    def all(self) -> list[FlagRecord]:
        return self.store.flags(self._env.app, self._env.name)

    def set_weight(
        self, key: str, weight: int, *, by: str, deployment_id: str | None = None
    ) -> Flag:
        return self._write(key, by=by, weight=weight, enabled=True, deployment_id=deployment_id)

    def kill(self, key: str, *, by: str) -> Flag:
        return self._write(key, by=by, enabled=False)

    def target(self, key: str, keys: Sequence[str], *, by: str) -> Flag:
        """These targeting keys always get the flag on (testers), whatever its weight."""
        return self._write(key, by=by, on_for=keys)

    def _write(
        self,
        key: str,
        *,
        by: str,
        weight: int | None = None,
        enabled: bool | None = None,
        on_for: Sequence[str] | None = None,
        deployment_id: str | None = None,
    ) -> Flag:
        record = self.store.set_flag(
            self._env.app,
            self._env.name,
            key,
            by=by,
            weight=weight,
            enabled=enabled,
            on_for=on_for,
            deployment_id=deployment_id,
        )
        self.write_file()
        return as_flag(record)

    def write_file(self) -> None:
        """The flagd flag file, from the store's state now."""
        path = flagd_path(self._env)
        if path is None:
            return
        records = self.all()
        document = flagd_document(
            [as_flag(r) for r in records],
            flag_set=f"{self._env.app}/{self._env.name}",
            revision=max((r.revision for r in records), default=0),
        )
        write_flagd_file(path, document)


FLAG_BACKENDS: dict[str, Callable[[Environment, Store], StoreFlags]] = {"slipway": StoreFlags}


def flag_backend(env: Environment, store: Store) -> StoreFlags:
    kind = env.flags.type if env.flags is not None else "slipway"
    return FLAG_BACKENDS[kind](env, store)
