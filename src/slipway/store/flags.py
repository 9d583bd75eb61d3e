"""Feature flags: each environment's flags as the flag source serves them.

One row per flag: its share of users (``weight``, percent), whether it is enabled at all
(a killed flag is served as disabled), the targeting keys that always get it, and the
environment's *revision* at its last write. Every write takes the environment's revision one
higher, so a flag server that read revision ``r`` knows it is fresh while the highest is
still ``r`` — and the revision is the bulk evaluation's ETag.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update

from slipway.store.base import StoreBase
from slipway.store.tables import flags


@dataclass(frozen=True)
class FlagRecord:
    app: str
    environment: str
    key: str
    weight: int
    enabled: bool
    on_for: tuple[str, ...]
    revision: int
    updated_at: str
    updated_by: str
    deployment_id: str | None


def _record(row: object) -> FlagRecord:
    data = dict(row._mapping)  # type: ignore[attr-defined]
    data["enabled"] = bool(data["enabled"])
    data["on_for"] = tuple(json.loads(data["on_for"]))
    return FlagRecord(**data)


class FlagsMixin(StoreBase):
    def flags(self, app: str, environment: str) -> list[FlagRecord]:
        query = select(flags).where(flags.c.app == app, flags.c.environment == environment)
        with self._read() as conn:
            return [_record(r) for r in conn.execute(query.order_by(flags.c.key))]

    def flag(self, app: str, environment: str, key: str) -> FlagRecord | None:
        query = select(flags).where(
            flags.c.app == app, flags.c.environment == environment, flags.c.key == key
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return _record(row) if row is not None else None

    def flags_revision(self, app: str, environment: str) -> int:
        """The environment's flag revision: 0 before any flag was written."""
        query = select(func.max(flags.c.revision)).where(
            flags.c.app == app, flags.c.environment == environment
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def set_flag(
        self,
        app: str,
        environment: str,
        key: str,
        *,
        by: str,
        weight: int | None = None,
        enabled: bool | None = None,
        on_for: Sequence[str] | None = None,
        deployment_id: str | None = None,
    ) -> FlagRecord:
        """Write a flag in one transaction (created off for everyone, enabled, if new);
        fields left None keep their value. The environment's revision goes one up."""
        if weight is not None and not 0 <= weight <= 100:
            raise ValueError(f"a flag's weight is a percentage, not {weight}")
        where = (flags.c.app == app, flags.c.environment == environment)
        with self._write() as conn:
            revision = (
                int(conn.execute(select(func.max(flags.c.revision)).where(*where)).scalar() or 0)
                + 1
            )
            row = conn.execute(select(flags).where(*where, flags.c.key == key)).first()
            values = {
                "revision": revision,
                "updated_at": self.now(),
                "updated_by": by,
                "deployment_id": deployment_id,
            }
            if weight is not None:
                values["weight"] = weight
            if enabled is not None:
                values["enabled"] = int(enabled)
            if on_for is not None:
                values["on_for"] = json.dumps(sorted(set(on_for)))
            if row is None:
                defaults = {"weight": 0, "enabled": 1, "on_for": "[]"}
                conn.execute(
                    insert(flags).values(
                        app=app, environment=environment, key=key, **{**defaults, **values}
                    )
                )
            else:
                conn.execute(update(flags).where(*where, flags.c.key == key).values(**values))
        found = self.flag(app, environment, key)
        assert found is not None
        return found
