"""HttpCheck against the real sample app: what passes, what fails, what is inconclusive."""

from __future__ import annotations

from slipway.checks.http import HttpCheck
from tests.examples.conftest import SampleApp, StartApp, free_port


def test_passes_on_the_expected_status_and_body(sample_app: SampleApp) -> None:
    result = HttpCheck(f"{sample_app.url}/health", expect_body="ok").probe()
    assert result.status == "pass", result.evidence
    assert "status 200 from v1" in result.evidence and result.duration_s > 0


def test_an_unhealthy_answer_fails_with_the_answer_as_evidence(start_app: StartApp) -> None:
    app = start_app("v3")
    result = HttpCheck(f"{app.url}/health", name="web-1").probe()
    assert result.status == "fail"
    assert "status 503 from v3, expected 200: 'unhealthy'" in result.evidence


def test_expected_status_and_body_are_configurable(sample_app: SampleApp) -> None:
    assert HttpCheck(f"{sample_app.url}/nope", expect_status=404).probe().passed
    wrong_body = HttpCheck(f"{sample_app.url}/health", expect_body="ready").probe()
    assert wrong_body.status == "fail" and "does not contain 'ready'" in wrong_body.evidence


def test_no_answer_in_time_is_inconclusive(start_app: StartApp) -> None:
    """Silent is not yet an answer (a booting gunicorn is silent): wait_healthy counts it as
    a failure only once the instance has answered (tests/checks/test_health.py)."""
    app = start_app("latency_300ms")
    result = HttpCheck(f"{app.url}/", timeout_s=0.05).probe()
    assert result.status == "inconclusive" and "ReadTimeout" in result.evidence


def test_nothing_listening_is_inconclusive() -> None:
    result = HttpCheck(f"http://127.0.0.1:{free_port()}/health").probe()
    assert result.status == "inconclusive" and "cannot connect" in result.evidence


def test_default_name_says_what_is_checked() -> None:
    assert HttpCheck("http://127.0.0.1:1/health").name == "http http://127.0.0.1:1/health"
    assert HttpCheck("http://127.0.0.1:1/health", name="web-1_a").name == "web-1_a"
