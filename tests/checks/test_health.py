"""wait_healthy's schedule, table-driven with a manual clock; and the real checks on loopback."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import pytest

from slipway.checks.base import CheckResult, Status
from slipway.checks.command import CommandCheck
from slipway.checks.health import wait_healthy
from slipway.checks.http import HttpCheck
from slipway.checks.tcp import TcpCheck
from slipway.clock import ManualClock
from slipway.errors import CheckFailed


class Scripted:
    """A check that answers from a script (pure logic under test, not a real part)."""

    name = "scripted"

    def __init__(self, answers: str) -> None:
        codes: dict[str, Status] = {"p": "pass", "f": "fail", "i": "inconclusive"}
        self._answers: Iterator[Status] = iter([codes[c] for c in answers])
        self.calls = 0

    def probe(self) -> CheckResult:
        self.calls += 1
        return CheckResult(next(self._answers, "inconclusive"), f"probe {self.calls}")


@pytest.mark.parametrize(
    ("answers", "healthy", "probes", "elapsed"),
    [
        ("pp", True, 2, 0.5),
        ("iiipp", True, 5, 2.0),  # refused while starting does not count against it
        ("pfpp", True, 4, 1.5),  # a single failure is forgiven
        ("fff", False, 3, 1.0),
        ("pffpfff", False, 7, 3.0),
        ("i" * 100, False, 21, 10.0),  # the overall timeout ends it
    ],
)
def test_thresholds(answers: str, healthy: bool, probes: int, elapsed: float) -> None:
    clock = ManualClock()
    check = Scripted(answers)
    kwargs = {
        "interval_s": 0.5,
        "timeout_s": 10,
        "healthy_threshold": 2,
        "unhealthy_threshold": 3,
        "clock": clock,
    }
    if healthy:
        assert wait_healthy(check, **kwargs).passed  # type: ignore[arg-type]
    else:
        with pytest.raises(CheckFailed) as info:
            wait_healthy(check, **kwargs)  # type: ignore[arg-type]
        assert "probe" in info.value.evidence
    assert check.calls == probes
    assert clock.monotonic() == pytest.approx(elapsed)


def test_http_check_against_a_real_server(sample_app: int) -> None:
    ok = HttpCheck(f"http://127.0.0.1:{sample_app}/health", expect_body="ok").probe()
    assert ok.status == "pass", ok.evidence
    wrong = HttpCheck(f"http://127.0.0.1:{sample_app}/nope").probe()
    assert wrong.status == "fail" and "404" in wrong.evidence


def test_http_and_tcp_checks_on_a_closed_port_are_inconclusive() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert HttpCheck(f"http://127.0.0.1:{port}/").probe().status == "inconclusive"
    assert TcpCheck("127.0.0.1", port, timeout_s=1).probe().status == "inconclusive"


def test_tcp_check_passes_on_a_listening_port(sample_app: int) -> None:
    assert TcpCheck("127.0.0.1", sample_app).probe().passed


def test_command_check_never_uses_a_shell(tmp_path: object) -> None:
    assert CommandCheck([sys.executable, "-c", "raise SystemExit(0)"]).probe().passed
    failed = CommandCheck([sys.executable, "-c", "print('boom'); raise SystemExit(3)"]).probe()
    assert failed.status == "fail" and "exit 3" in failed.evidence and "boom" in failed.evidence
    # a shell would run the second command; argv makes it one harmless argument
    echo = CommandCheck(["echo", "x; touch /tmp/slipway-should-not-exist"]).probe()
    assert echo.passed and "touch" in echo.evidence
    timeout = CommandCheck([sys.executable, "-c", "import time; time.sleep(5)"], timeout_s=0.3)
    assert "timed out" in timeout.probe().evidence
