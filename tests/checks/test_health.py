"""wait_healthy: its schedule table-driven on a manual clock, then once against the real app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slipway.checks.base import CheckResult, Status
from slipway.checks.health import wait_healthy
from slipway.checks.http import HttpCheck
from slipway.clock import ManualClock, SystemClock
from slipway.errors import CheckFailed, UsageError
from tests.examples.conftest import StartApp, build, free_port

CODES: dict[str, Status] = {"p": "pass", "f": "fail", "i": "inconclusive"}


class Scripted:
    """Answers from a script of p/f/i, each probe taking ``probe_s`` of the manual clock."""

    name = "scripted"

    def __init__(self, answers: str, clock: ManualClock, *, probe_s: float = 0.0) -> None:
        self._answers = [CODES[c] for c in answers]
        self._clock = clock
        self._probe_s = probe_s
        self.times: list[float] = []

    def probe(self) -> CheckResult:
        self.times.append(self._clock.monotonic())
        self._clock.sleep(self._probe_s)
        status = (
            self._answers[len(self.times) - 1] if len(self.times) <= len(self._answers) else "i"
        )
        return CheckResult(status, f"probe {len(self.times)}")


def run(
    answers: str, *, probe_s: float = 0.0, **overrides: float
) -> tuple[Scripted, ManualClock, CheckResult | CheckFailed]:
    clock = ManualClock()
    check = Scripted(answers, clock, probe_s=probe_s)
    params = {
        "interval_s": 0.5,
        "timeout_s": 10.0,
        "healthy_threshold": 2,
        "unhealthy_threshold": 3,
    }
    params.update(overrides)
    try:
        outcome: CheckResult | CheckFailed = wait_healthy(
            check,
            interval_s=params["interval_s"],
            timeout_s=params["timeout_s"],
            healthy_threshold=int(params["healthy_threshold"]),
            unhealthy_threshold=int(params["unhealthy_threshold"]),
            clock=clock,
        )
    except CheckFailed as exc:
        outcome = exc
    return check, clock, outcome


# interval 0.5 s, timeout 10 s, healthy after 2 passes in a row, unhealthy after 3 failures
@pytest.mark.parametrize(
    ("answers", "verdict", "probes", "elapsed"),
    [
        ("pp", "healthy", 2, 0.5),
        ("iiipp", "healthy", 5, 2.0),  # refused while starting: the grace, counts for neither
        ("pfpp", "healthy", 4, 1.5),  # one failure is forgiven once passes follow
        ("pipp", "healthy", 4, 1.5),  # ... and so is one refusal, but it breaks the streak
        ("fff", "failed 3 health checks in a row", 3, 1.0),
        ("pffpfff", "failed 3 health checks in a row", 7, 3.0),
        ("piii", "failed 3 health checks in a row", 4, 1.5),  # answered, then refused: died
        ("iifii", "failed 3 health checks in a row", 5, 2.0),  # the grace ends at the first answer
        ("i" * 30, "never answered within 10s", 21, 10.0),
        ("pf" * 15, "not healthy within 10s", 21, 10.0),
    ],
)
def test_schedule(answers: str, verdict: str, probes: int, elapsed: float) -> None:
    check, clock, outcome = run(answers)
    if verdict == "healthy":
        assert isinstance(outcome, CheckResult) and outcome.passed
        assert outcome.evidence == f"probe {probes} (healthy after {probes} probes, {elapsed:.1f}s)"
        assert outcome.duration_s == pytest.approx(elapsed)
    else:
        assert isinstance(outcome, CheckFailed)
        assert str(outcome) == f"scripted: {verdict}"
    assert len(check.times) == probes
    assert clock.monotonic() == pytest.approx(elapsed)


def test_probes_keep_their_cadence_when_a_probe_takes_time() -> None:
    check, clock, _ = run("ffpp", probe_s=0.3)
    assert check.times == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert clock.monotonic() == pytest.approx(1.8)


def test_evidence_is_the_last_probes_with_their_times() -> None:
    _, _, outcome = run("pppfiiiiii", healthy_threshold=5, unhealthy_threshold=4)
    assert isinstance(outcome, CheckFailed)
    assert outcome.evidence.splitlines() == [
        "+1.0s pass: probe 3",
        "+1.5s fail: probe 4",
        "+2.0s inconclusive: probe 5",
        "+2.5s inconclusive: probe 6",
        "+3.0s inconclusive: probe 7",
    ]


def test_a_threshold_of_one_and_a_zero_timeout() -> None:
    check, _, outcome = run("p", healthy_threshold=1)
    assert isinstance(outcome, CheckResult) and len(check.times) == 1
    check, _, outcome = run("i", timeout_s=0)
    assert isinstance(outcome, CheckFailed) and len(check.times) == 1


@pytest.mark.parametrize(
    "bad",
    [{"interval_s": 0}, {"timeout_s": -1}, {"healthy_threshold": 0}, {"unhealthy_threshold": 0}],
)
def test_nonsense_parameters_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        run("p", **bad)


def probed(check: HttpCheck, *, timeout_s: float = 10) -> CheckResult:
    """``wait_healthy`` on the real clock, as the real-app tests below run it."""
    return wait_healthy(
        check,
        interval_s=0.05,
        timeout_s=timeout_s,
        healthy_threshold=2,
        unhealthy_threshold=3,
        clock=SystemClock(),
    )


def test_a_real_app_still_starting_becomes_healthy(tmp_path: Path) -> None:
    """Probing starts before the process listens: the refusals are its startup grace."""
    port = free_port()
    release = build("v1", tmp_path / "v1")
    process = subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=release,
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
    )
    try:
        result = probed(HttpCheck(f"http://127.0.0.1:{port}/health", timeout_s=1))
        assert result.passed and "status 200 from v1" in result.evidence
    finally:
        process.kill()
        process.wait()


def test_a_real_unhealthy_release_fails_with_its_answers_as_evidence(start_app: StartApp) -> None:
    app = start_app("v3")
    with pytest.raises(CheckFailed, match="failed 3 health checks in a row") as info:
        probed(HttpCheck(f"{app.url}/health", name="web-1_a"))
    assert info.value.evidence.count("status 503 from v3") == 3


PREFORKING = """
import socket, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)  # bound and listening
time.sleep(float(sys.argv[2]))  # like gunicorn's master before its workers have loaded the app
server.serve_forever()
"""


def test_a_real_server_silent_while_its_workers_load_becomes_healthy(tmp_path: Path) -> None:
    """The port accepts (the kernel's backlog) before anyone reads: the probes' timeouts
    before the first answer are the startup grace, not three failures."""
    port = free_port()
    script = tmp_path / "preforking.py"
    script.write_text(PREFORKING)
    process = subprocess.Popen([sys.executable, str(script), str(port), "1.5"])
    try:
        result = probed(HttpCheck(f"http://127.0.0.1:{port}/", timeout_s=0.2))
        assert result.passed, result.evidence
    finally:
        process.kill()
        process.wait()


def test_a_real_release_too_slow_from_the_start_fails_at_the_deadline(start_app: StartApp) -> None:
    app = start_app("latency_300ms")
    with pytest.raises(CheckFailed, match=r"never answered within 1\.5s") as info:
        probed(HttpCheck(f"{app.url}/", name="web-1_a", timeout_s=0.05), timeout_s=1.5)
    assert "ReadTimeout: no answer within 0.05s" in info.value.evidence
