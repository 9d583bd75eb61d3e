"""TcpCheck against real loopback sockets."""

from __future__ import annotations

import socket

from slipway.checks.tcp import TcpCheck
from tests.examples.conftest import SampleApp, free_port


def test_passes_when_something_listens(sample_app: SampleApp) -> None:
    result = TcpCheck("127.0.0.1", sample_app.port, timeout_s=1).probe()
    assert result.passed and "connected" in result.evidence


def test_refused_is_inconclusive() -> None:
    result = TcpCheck("127.0.0.1", free_port(), timeout_s=1).probe()
    assert result.status == "inconclusive" and "refused" in result.evidence


def test_no_answer_in_time_is_a_failure() -> None:
    # a listener that never accepts, with a full backlog: Linux drops further SYNs
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):
                filler = socket.socket()
                fillers.append(filler)
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            result = TcpCheck("127.0.0.1", port, timeout_s=0.2).probe()
        finally:
            for filler in fillers:
                filler.close()
    assert result.status == "fail" and "timed out" in result.evidence
    assert 0.2 <= result.duration_s < 1.0
