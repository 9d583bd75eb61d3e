"""The store's API on both backends: SQLite in a state directory and a real PostgreSQL (directly
and behind a PgBouncer in transaction mode); its URL's password never in what it says."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.errors import StoreError
from slipway.store import Store
from tests.support.pgbouncer import PgBouncer, pgbouncer  # noqa: F401  (fixture)
from tests.support.postgres import PostgresCluster


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        store = Store.for_state_dir(tmp_path / "state")
    else:
        store = Store.open(request.getfixturevalue("store_url"))
    assert store.backend == request.param
    yield store
    store.close()


def make(store: Store, version: str = "v1", environment: str = "prod") -> str:
    dep_id = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep_id,
        app="shop",
        environment=environment,
        kind="deploy",
        version=version,
        previous_version=None,
        strategy="rolling",
    )
    return dep_id


def one_step(store: Store, dep: str, seq: int = 0) -> None:
    store.add_steps(
        dep,
        [{"seq": seq, "phase": "deploy", "group_no": seq, "kind": "x", "params": {"a": 1},
          "description": "d"}],
    )  # fmt: skip


def test_records_round_trip(any_store: Store) -> None:
    dep = make(any_store)
    one_step(any_store, dep)
    [step] = any_store.steps(dep)
    any_store.set_step(step.id, state="succeeded", attempts=1, result='{"ok": true}')
    any_store.event(dep, "hello", level="warning", slot="web-1_a")
    any_store.set_current("shop", "prod", version="v1", digest="sha256:x", deployment_id=dep)
    sent = any_store.send_signal(dep, "approve", actor="alice", comment="go")
    assert any_store.steps(dep)[0].result == {"ok": True}
    assert any_store.events(dep)[0].data == {"slot": "web-1_a"}
    assert any_store.current("shop", "prod").version == "v1"  # type: ignore[union-attr]
    assert [s.id for s in any_store.pending_signals(dep)] == [sent.id]
    assert any_store.find_deployment(dep[:-2]).id == dep  # type: ignore[union-attr]


def test_writers_in_threads_lose_nothing(any_store: Store) -> None:
    dep = make(any_store)

    def write(n: int) -> None:
        for i in range(20):
            any_store.event(dep, f"writer {n} event {i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(any_store.events(dep)) == 80


def test_a_store_behind_pgbouncer_in_transaction_mode(
    pgbouncer: PgBouncer,  # noqa: F811
    postgres: PostgresCluster,
) -> None:
    """Two runners' worth of writes through PgBouncer: the same statements many times over
    (psycopg would prepare them from the sixth time on, and PgBouncer 1.18 in transaction mode
    would hand the next transaction a server connection that never saw them)."""
    name = "bounced"
    postgres.create_database(name)
    first, second = Store.open(pgbouncer.url(name)), Store.open(pgbouncer.url(name))
    try:
        deps = [make(first), make(second, environment="staging")]

        def work(store: Store, dep: str) -> None:
            for seq in range(15):
                one_step(store, dep, seq)
                store.event(dep, f"step {seq}")
                store.steps(dep)

        threads = [
            threading.Thread(target=work, args=p) for p in zip((first, second), deps, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for dep in deps:
            assert len(first.steps(dep)) == 15 and len(second.events(dep)) == 15
    finally:
        first.close()
        second.close()


def test_the_password_never_reaches_a_message(postgres: PostgresCluster) -> None:
    wrong = "pw-Wr0ngSecret-91f3"
    with pytest.raises(StoreError) as caught:
        Store.open(postgres.url("postgres", password=wrong))
    assert wrong not in str(caught.value)
    assert "***" in str(caught.value) and str(postgres.port) in str(caught.value)
    store = Store.open(postgres.url("postgres"))
    try:
        assert postgres.password not in store.location and "***" in store.location
    finally:
        store.close()
