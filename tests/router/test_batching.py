"""Runtime-API commands from many threads on one line: against a real HAProxy, and the
splitting of its answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.errors import BackendError
from slipway.router.batching import CommandBatcher, split_answers
from slipway.router.haproxy import HAProxyRouter
from slipway.router.haproxy_config import HAProxyConfig
from slipway.supervisord.local import Supervisor
from tests.conftest import free_port_range

SLOTS = 40


@pytest.fixture
def hap(tmp_path: Path) -> Iterator[HAProxyRouter]:
    base = free_port_range(SLOTS + 1)
    supervisor = Supervisor(tmp_path / "run")
    config = HAProxyConfig(
        run_dir=tmp_path / "run",
        listen_host="127.0.0.1",
        listen_port=base + SLOTS,
        backend="shop",
        slots=[(f"s{i}", base + i) for i in range(SLOTS)],
        health_path=None,
    )
    router = HAProxyRouter(config, supervisor)
    try:
        router.ensure_up()
        yield router
    finally:
        supervisor.shutdown()


@pytest.mark.parametrize(
    ("answer", "count", "expected"),
    [
        ("\n", 1, [""]),
        ("\n\n\n", 3, ["", "", ""]),
        ("\nNo such server.\n\n\n", 3, ["", "No such server.", ""]),
        ("No such server.\n\nBad state.\n\n", 2, ["No such server.", "Bad state."]),
    ],
)
def test_each_command_gets_its_own_answer(answer: str, count: int, expected: list[str]) -> None:
    assert split_answers(answer, count) == expected


def test_an_answer_cut_short_is_an_error() -> None:
    with pytest.raises(BackendError, match="answered 1 of 3"):
        split_answers("\n", 3)


def test_threads_moving_slots_at_once_share_connections_and_hear_their_own_answers(
    hap: HAProxyRouter,
) -> None:
    sent: list[str] = []

    def send(line: str) -> str:
        sent.append(line)
        return hap.command(line)

    batcher = CommandBatcher(send)
    answers: dict[int, str] = {}
    start = threading.Barrier(SLOTS + 1)

    def move(i: int) -> None:
        start.wait()
        server = f"s{i}" if i != 7 else "nope"  # one command HAProxy refuses
        answers[i] = batcher.run(f"set server shop/{server} weight {i + 1}")

    threads = [threading.Thread(target=move, args=(i,)) for i in range(SLOTS)]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join(timeout=30)
    assert answers.pop(7) == "No such server."
    assert set(answers.values()) == {""}
    assert user_weights(hap) == {f"s{i}": 1 if i == 7 else i + 1 for i in range(SLOTS)}
    assert batcher.batches == len(sent) < SLOTS


def user_weights(hap: HAProxyRouter) -> dict[str, int]:
    """The weight each server was given (``srv_uweight``), whatever its state."""
    lines = hap.command("show servers state shop").splitlines()
    columns = lines[1].lstrip("# ").split()
    rows = [dict(zip(columns, line.split(), strict=False)) for line in lines[2:] if line]
    return {row["srv_name"]: int(row["srv_uweight"]) for row in rows}


def test_a_command_that_would_split_the_line_is_refused() -> None:
    batcher = CommandBatcher(lambda line: "\n")
    with pytest.raises(BackendError, match="not one runtime-API command"):
        batcher.run("set server shop/a state ready; shutdown sessions server shop/b")
