"""Signals: what a person asks of a running deployment from another terminal.

``slipway promote``, ``approve``, ``reject``, ``abort`` and ``rollback`` do not
talk to the runner directly (it may be on another machine, or dead): they
append a signal to the store, and the runner, which polls its own signals
between steps and while it waits, acts on it and marks it handled with what it
did. The store is the only channel, so every request and its outcome is
recorded with who asked, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update

from slipway.store.base import StoreBase
from slipway.store.tables import signals

SIGNAL_KINDS = ("promote", "approve", "reject", "abort", "rollback")


@dataclass(frozen=True)
class Signal:
    id: int
    deployment_id: str
    kind: str
    actor: str
    comment: str | None
    created_at: str
    handled_at: str | None
    outcome: str | None
    #: the OS user who sent it, when ``actor`` is a name claimed through $SLIPWAY_USER
    os_user: str | None = None
    #: the machine it was sent from (through the API: the client's address)
    host: str | None = None
    #: the API token it was sent with: then ``actor`` is that token's name, authenticated
    token: str | None = None

    @property
    def sender(self) -> str:
        """``actor``, the OS user beside a claimed name and the machine: ``cto (OS user ci,
        on build-7)``; through the API: ``tech-lead (API token, from 10.0.0.7)``."""
        beside = ["API token"] if self.token else []
        beside += [f"OS user {self.os_user}"] if self.os_user else []
        beside += [f"{'from' if self.token else 'on'} {self.host}"] if self.host else []
        return f"{self.actor} ({', '.join(beside)})" if beside else self.actor


class SignalsMixin(StoreBase):
    def send_signal(
        self,
        deployment_id: str,
        kind: str,
        *,
        actor: str,
        comment: str | None = None,
        os_user: str | None = None,
        host: str | None = None,
        token: str | None = None,
    ) -> Signal:
        if kind not in SIGNAL_KINDS:
            raise ValueError(f"unknown signal {kind!r}")
        with self._write() as conn:
            signal_id = conn.execute(
                insert(signals).values(
                    deployment_id=deployment_id,
                    kind=kind,
                    actor=actor,
                    os_user=os_user,
                    host=host,
                    token=token,
                    comment=comment,
                    created_at=self.now(),
                )
            ).inserted_primary_key
        assert signal_id is not None
        return self.signal(int(signal_id[0]))

    def signal(self, signal_id: int) -> Signal:
        with self._read() as conn:
            row = conn.execute(select(signals).where(signals.c.id == signal_id)).one()
        return Signal(**row._asdict())

    def pending_signals(self, deployment_id: str) -> list[Signal]:
        """Signals not handled yet, oldest first."""
        query = (
            select(signals)
            .where((signals.c.deployment_id == deployment_id) & signals.c.handled_at.is_(None))
            .order_by(signals.c.id)
        )
        with self._read() as conn:
            return [Signal(**r._asdict()) for r in conn.execute(query)]

    def signals(self, deployment_id: str) -> list[Signal]:
        query = select(signals).where(signals.c.deployment_id == deployment_id)
        with self._read() as conn:
            return [Signal(**r._asdict()) for r in conn.execute(query.order_by(signals.c.id))]

    def handle_signal(self, signal_id: int, *, outcome: str) -> None:
        with self._write() as conn:
            conn.execute(
                update(signals)
                .where(signals.c.id == signal_id)
                .values(handled_at=self.now(), outcome=outcome)
            )
