"""The current release: the environment's (``current_releases``) and, on a fleet, each
host's (``host_releases``).

A fleet's deployment records, for every host whose ``current`` it switched, the version it left
there. ``--limit`` switches some hosts only, and a host left out under ``on_host_failure:
continue`` keeps its release: the environment may run several releases at once, and
``status``, ``history``, the runbook and the next deployment's ``previous`` read them per host.
Rows are only added (a host's newest is its current), so they are also each host's history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, insert, select, update

from slipway.store.base import StoreBase
from slipway.store.tables import current_releases, deployments, host_releases

#: the host of a row recorded before per-host records: every host of the environment
ALL_HOSTS = "*"


@dataclass(frozen=True)
class HostRelease:
    host: str
    version: str
    release_digest: str | None
    deployment_id: str
    at: str


@dataclass(frozen=True)
class CurrentRelease:
    """The environment's current release (the one its last deployment made current) and, on a
    fleet, each host's own."""

    version: str
    release_digest: str | None
    deployment_id: str
    updated_at: str
    hosts: Mapping[str, HostRelease] = field(default_factory=dict)

    def on(self, host: str) -> HostRelease | None:
        """What ``host`` runs: its own record, else what the environment ran before per-host
        records (``*``), else nothing recorded."""
        return self.hosts.get(host) or self.hosts.get(ALL_HOSTS)

    def versions(self, hosts: Sequence[str]) -> dict[str, str | None]:
        return {h: (r.version if (r := self.on(h)) else None) for h in hosts}

    def common(self, hosts: Sequence[str]) -> str | None:
        """The version most of ``hosts`` run (ties: the newest recorded); the environment's
        when none of them has a record."""
        found = [r for h in hosts if (r := self.on(h)) is not None]
        if not found:
            return self.version
        counts = Counter(r.version for r in found)
        return max(counts, key=lambda v: (counts[v], max(r.at for r in found if r.version == v)))


class HostReleasesMixin(StoreBase):
    def set_current(
        self,
        app: str,
        environment: str,
        *,
        version: str,
        digest: str | None,
        deployment_id: str,
        hosts: Collection[str] = (),
    ) -> None:
        """``version`` is the environment's current release, and (on a fleet) the current
        release of each of ``hosts``: those whose ``current`` the deployment switched."""
        dep = deployment_id
        values = {
            "version": version,
            "release_digest": digest,
            "deployment_id": dep,
            "updated_at": self.now(),
        }
        where = (current_releases.c.app == app) & (current_releases.c.environment == environment)
        with self._write() as conn:
            if conn.execute(update(current_releases).where(where).values(values)).rowcount == 0:
                conn.execute(
                    insert(current_releases).values(app=app, environment=environment, **values)
                )
            self._record_hosts(
                conn, app, environment, hosts, version=version, digest=digest, deployment_id=dep
            )

    def current(self, app: str, environment: str) -> CurrentRelease | None:
        where = (current_releases.c.app == app) & (current_releases.c.environment == environment)
        with self._read() as conn:
            row = conn.execute(select(current_releases).where(where)).one_or_none()
        if row is None:
            return None
        return CurrentRelease(
            version=row.version,
            release_digest=row.release_digest,
            deployment_id=row.deployment_id,
            updated_at=row.updated_at,
            hosts=self.host_releases(app, environment),
        )

    def _record_hosts(
        self,
        conn: Connection,
        app: str,
        environment: str,
        hosts: Collection[str],
        *,
        version: str,
        digest: str | None,
        deployment_id: str,
    ) -> None:
        if not hosts:
            return
        at = self.now()
        conn.execute(
            insert(host_releases),
            [
                {
                    "app": app,
                    "environment": environment,
                    "host": host,
                    "version": version,
                    "release_digest": digest,
                    "deployment_id": deployment_id,
                    "at": at,
                }
                for host in hosts
            ],
        )

    def host_releases(self, app: str, environment: str) -> dict[str, HostRelease]:
        """Each host's newest record (``*``: the environment's, from before per-host records)."""
        mine = (host_releases.c.app == app) & (host_releases.c.environment == environment)
        newest = select(func.max(host_releases.c.id)).where(mine).group_by(host_releases.c.host)
        query = select(host_releases).where(host_releases.c.id.in_(newest))
        with self._read() as conn:
            return {
                r.host: HostRelease(
                    host=r.host,
                    version=r.version,
                    release_digest=r.release_digest,
                    deployment_id=r.deployment_id,
                    at=r.at,
                )
                for r in conn.execute(query)
            }

    def previous_on(
        self, app: str, environment: str, hosts: Collection[str], *, current: str
    ) -> str | None:
        """The newest release other than ``current`` that a succeeded deployment made current
        on one of ``hosts``; None when there is none."""
        query = (
            select(host_releases.c.version)
            .join(deployments, deployments.c.id == host_releases.c.deployment_id)
            .where(
                (host_releases.c.app == app)
                & (host_releases.c.environment == environment)
                & host_releases.c.host.in_([*hosts, ALL_HOSTS])
                & (host_releases.c.version != current)
                & (deployments.c.status == "succeeded")
            )
            .order_by(host_releases.c.id.desc())
            .limit(1)
        )
        with self._read() as conn:
            return conn.execute(query).scalar_one_or_none()

    def hosts_of(self, deployment_ids: Sequence[str]) -> dict[str, list[str]]:
        """The hosts each deployment made its release current on (sorted; none when local)."""
        if not deployment_ids:
            return {}
        query = (
            select(host_releases.c.deployment_id, host_releases.c.host)
            .where(host_releases.c.deployment_id.in_(list(deployment_ids)))
            .where(host_releases.c.host != ALL_HOSTS)
            .order_by(host_releases.c.host)
        )
        found: dict[str, list[str]] = {}
        with self._read() as conn:
            for dep_id, host in conn.execute(query):
                hosts = found.setdefault(dep_id, [])
                if host not in hosts:
                    hosts.append(host)
        return found
