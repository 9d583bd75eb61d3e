"""The lease on both stores: tokens that only grow, writes fenced by them, takeovers, forced
releases and the queue of waiters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.clock import ManualClock
from slipway.errors import LeaseLost, LockedError
from slipway.store import Store
from tests.store.test_backends import make


@pytest.fixture(params=["sqlite", "postgresql"])
def clocked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, ManualClock]]:
    clock = ManualClock()
    if request.param == "sqlite":
        store = Store.for_state_dir(tmp_path / "state", clock=clock)
    else:
        store = Store.open(request.getfixturevalue("store_url"), clock=clock)
    yield store, clock
    store.close()


def test_tokens_only_grow(clocked: tuple[Store, ManualClock]) -> None:
    store, clock = clocked
    first = store.acquire_lock("shop", "prod", deployment_id="a", ttl_s=10, holder="m1:1")
    assert store.release_lock("shop", "prod", token=first.token, holder="m1:1")
    second = store.acquire_lock("shop", "prod", deployment_id="b", ttl_s=10, holder="m2:1")
    clock.sleep(11)  # m2 stopped renewing: m3 takes over
    third = store.acquire_lock("shop", "prod", deployment_id="c", ttl_s=10, holder="m3:1")
    assert (first.token, second.token, third.token) == (1, 2, 3)
    assert [e.action for e in reversed(store.lock_log("shop", "prod"))] == [
        "acquired", "released", "acquired", "taken_over",
    ]  # fmt: skip
    other = store.acquire_lock("shop", "staging", deployment_id="d", ttl_s=10, holder="m1:1")
    assert other.token == 1  # one sequence per environment


def test_a_taken_over_runner_cannot_write_one_more_transition(
    clocked: tuple[Store, ManualClock],
) -> None:
    store, clock = clocked
    dep = make(store)
    old = store.fenced(
        store.acquire_lock("shop", "prod", deployment_id=dep, ttl_s=10, holder="m1:7")
    )
    old.event(dep, "step 1 done")
    clock.sleep(11)  # m1 was paused past its lease
    new = store.fenced(
        store.acquire_lock("shop", "prod", deployment_id=dep, ttl_s=10, holder="m2:9")
    )
    with pytest.raises(LeaseLost, match=r"lease token 2 of m2:9 is newer than its 1"):
        old.event(dep, "step 2 done")
    with pytest.raises(LeaseLost):
        old.update_deployment(dep, status="succeeded")
    with pytest.raises(LeaseLost):
        old.set_current("shop", "prod", version="v1", digest=None, deployment_id=dep)
    assert not old.renew_lock("shop", "prod", ttl_s=10, token=1, holder="m1:7")
    new.event(dep, "resumed")
    assert [e.message for e in store.events(dep)] == ["step 1 done", "resumed"]
    assert store.deployment(dep).status == "pending" and store.current("shop", "prod") is None


def test_a_forced_release_fences_the_holder_and_says_who_and_why(
    clocked: tuple[Store, ManualClock],
) -> None:
    store, _ = clocked
    dep = make(store)
    runner = store.fenced(
        store.acquire_lock("shop", "prod", deployment_id=dep, ttl_s=10, holder="m1:7")
    )
    held = store.force_release("shop", "prod", who="carol", reason="runner wedged", os_user="carol")
    assert held is not None and held.holder == "m1:7"
    assert store.lock("shop", "prod") is None
    with pytest.raises(LeaseLost, match="released"):
        runner.event(dep, "still here")
    [forced, _] = store.lock_log("shop", "prod")
    assert (forced.action, forced.who, forced.note, forced.holder) == (
        "forced", "carol", "runner wedged", "m1:7",
    )  # fmt: skip


def test_one_of_many_runners_gets_the_lock(clocked: tuple[Store, ManualClock]) -> None:
    store, _ = clocked
    won: list[int] = []
    refused: list[str] = []
    start = threading.Barrier(6)

    def runner(n: int) -> None:
        start.wait()
        try:
            store.acquire_lock("shop", "prod", deployment_id=f"d{n}", ttl_s=10, holder=f"m{n}:1")
            won.append(n)
        except LockedError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 5
    assert store.lock("shop", "prod").holder == f"m{won[0]}:1"  # type: ignore[union-attr]


def test_waiters_are_served_in_order(clocked: tuple[Store, ManualClock]) -> None:
    store, clock = clocked
    held = store.acquire_lock("shop", "prod", deployment_id="a", ttl_s=10, holder="m0:1")
    first = store.enqueue("shop", "prod", ttl_s=10, holder="m1:1", version="v2")
    second = store.enqueue("shop", "prod", ttl_s=10, holder="m2:1", version="v3")
    assert [w.version for w in store.queue("shop", "prod")] == ["v2", "v3"]
    store.release_lock("shop", "prod", token=held.token, holder="m0:1")
    with pytest.raises(LockedError, match="queued before this one"):
        store.acquire_lock(
            "shop", "prod", deployment_id="c", ttl_s=10, holder="m2:1", waiter=second
        )
    with pytest.raises(LockedError, match="queued before"):  # not waiting: not before them
        store.acquire_lock("shop", "prod", deployment_id="x", ttl_s=10, holder="m9:1")
    store.acquire_lock("shop", "prod", deployment_id="b", ttl_s=10, holder="m1:1", waiter=first)
    assert [w.id for w in store.queue("shop", "prod")] == [second]
    # a waiter that stops renewing its place is forgotten: it blocks nobody
    clock.sleep(11)
    store.keep_waiting(second, ttl_s=10)
    ghost = store.enqueue("shop", "prod", ttl_s=10, holder="m3:1")
    clock.sleep(5)
    store.keep_waiting(second, ttl_s=10)
    clock.sleep(6)
    assert [w.id for w in store.queue("shop", "prod")] == [second]
    assert ghost not in [w.id for w in store.queue("shop", "prod")]
