"""The project checks of the Django preset, each against the real thing: Django's own settings
in a release's virtualenv, bandit run for real, a dependency audit from local advisories or a
recorded report (nothing queried), coverage reports, a real Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slipway.checks.coverage import CoverageCheck
from slipway.checks.django import DjangoSettingsCheck
from slipway.checks.redis import RedisCheck
from slipway.checks.scans import AuditCheck, BanditCheck
from tests.support.django import bandit, build, venv_cache
from tests.support.redis import RedisServer, redis_server
from tests.support.sample import free_port_range

__all__ = ["bandit", "redis_server", "venv_cache"]
KEY = "k" * 64


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, venv_cache: Path) -> Path:
    return build("v2", tmp_path_factory.mktemp("release") / "v2", venv_cache)


def settings(release: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> DjangoSettingsCheck:
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return DjangoSettingsCheck(
        python=release / ".venv/bin/python", manage=release / "manage.py",
        min_key_length=50, timeout_s=60, name="settings",
    )  # fmt: skip


def test_django_settings_rules_without_showing_values(
    release: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = settings(
        release, monkeypatch, DJANGO_SECRET_KEY=KEY, DJANGO_ALLOWED_HOSTS="a.example,b.example"
    ).probe()
    assert good.status == "pass", good.evidence
    assert good.evidence == "SECRET_KEY set (>= 50 characters), DEBUG false, ALLOWED_HOSTS: 2 hosts"
    short = settings(
        release, monkeypatch, DJANGO_SECRET_KEY="s3cr3t-value", DJANGO_ALLOWED_HOSTS="a.example"
    ).probe()
    assert short.status == "fail" and "shorter than 50" in short.evidence
    assert "s3cr3t-value" not in short.evidence and "12" not in short.evidence
    debug = settings(release, monkeypatch, DJANGO_SECRET_KEY=KEY, DJANGO_DEBUG="true").probe()
    assert debug.status == "fail"
    assert debug.evidence == "DEBUG is true; ALLOWED_HOSTS is empty"
    unset = settings(release, monkeypatch, DJANGO_ALLOWED_HOSTS="*").probe()
    assert unset.evidence == "SECRET_KEY is not set; ALLOWED_HOSTS allows every host ('*')"


def test_bandit_for_real_with_a_severity_threshold(
    release: Path, bandit: list[str], tmp_path: Path
) -> None:
    check = BanditCheck(
        bandit, paths=["."], exclude=[".venv", "staticfiles"], severity="high",
        confidence="medium", cwd=release, timeout_s=300, name="bandit",
    )  # fmt: skip
    clean = check.probe()
    assert clean.status == "pass", clean.evidence
    assert clean.evidence.startswith("bandit: no HIGH+ issue in ")
    risky = release / "orders" / "shell.py"
    risky.write_text(
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.Popen(cmd, shell=True)\n"
    )
    try:
        found = check.probe()
    finally:
        risky.unlink()
    assert found.status == "fail"
    assert (
        "HIGH B602 subprocess_popen_with_shell_equals_true at orders/shell.py:5" in found.evidence
    )


def advisories(tmp_path: Path, *entries: dict[str, str]) -> Path:
    path = tmp_path / "advisories.json"
    path.write_text(json.dumps({"advisories": list(entries)}))
    return path


def audit(
    release: Path, tmp_path: Path, *, file: Path, report: bool = False, **kw: object
) -> AuditCheck:
    return AuditCheck(
        python=release / ".venv/bin/python", advisories=None if report else file,
        report=file if report else None, severity=str(kw.get("severity", "high")),
        ignore=list(kw.get("ignore", [])), cwd=tmp_path, timeout_s=60, name="audit",  # type: ignore[call-overload]
    )  # fmt: skip


def test_dependency_audit_from_local_advisories_and_a_recorded_report(
    release: Path, tmp_path: Path
) -> None:
    hit = {"id": "TEST-1", "package": "Django", "affected": "<99", "severity": "critical"}
    found = audit(release, tmp_path, file=advisories(tmp_path, hit)).probe()
    assert found.status == "fail" and found.evidence.startswith(
        "1 known vulnerabilit(ies): TEST-1 django 5."
    )
    old = {"id": "TEST-2", "package": "django", "affected": "<4.0", "severity": "critical"}
    low = {"id": "TEST-3", "package": "celery", "affected": ">=1", "severity": "low"}
    clean = audit(release, tmp_path, file=advisories(tmp_path, old, low)).probe()
    assert clean.status == "pass" and "packages audited: no HIGH+ advisory" in clean.evidence
    accepted = audit(release, tmp_path, file=advisories(tmp_path, hit), ignore=["TEST-1"]).probe()
    assert accepted.status == "pass"
    report = tmp_path / "pip-audit.json"
    report.write_text(json.dumps({"dependencies": [
        {"name": "redis", "version": "5.0.0", "vulns": [{"id": "PYSEC-X", "fix_versions": ["5.0.1"]}]},
        {"name": "gunicorn", "version": "23.0.0", "vulns": []},
    ]}))  # fmt: skip
    recorded = audit(release, tmp_path, file=report, report=True).probe()
    assert recorded.status == "fail" and "PYSEC-X redis 5.0.0" in recorded.evidence


def test_coverage_reports(tmp_path: Path) -> None:
    report = tmp_path / "coverage.json"
    report.write_text(json.dumps({"totals": {"percent_covered": 83.4}}))
    check = CoverageCheck(report, min_percent=80, max_age_s=None, name="coverage")
    assert (check.probe().status, check.probe().evidence) == ("pass", "coverage 83.4% >= 80%")
    xml = tmp_path / "coverage.xml"
    xml.write_text('<?xml version="1.0" ?><coverage line-rate="0.71" branch-rate="0"></coverage>')
    low = CoverageCheck(xml, min_percent=80, max_age_s=None, name="coverage").probe()
    assert (low.status, low.evidence) == ("fail", "coverage 71.0% < 80%")
    missing = CoverageCheck(
        tmp_path / "nope.json", min_percent=80, max_age_s=None, name="c"
    ).probe()
    assert missing.status == "fail" and missing.evidence.startswith("cannot read nope.json")


def test_redis_ping(redis_server: RedisServer) -> None:
    ok = RedisCheck(redis_server.url, timeout_s=2).probe()
    assert ok.status == "pass" and ok.evidence.startswith(
        f"redis://127.0.0.1:{redis_server.port}/0: PONG"
    )
    closed = RedisCheck(f"redis://:hunter22@127.0.0.1:{free_port_range(1)}/0", timeout_s=1).probe()
    assert closed.status == "fail" and "hunter22" not in closed.evidence
