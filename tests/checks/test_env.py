"""Environment check: names what is missing, never a value."""

from __future__ import annotations

from pathlib import Path

from slipway.checks.env import EnvCheck

SECRET = "s3cr3t-value-that-must-not-leak"


def test_all_present_passes(tmp_path: Path) -> None:
    secret = tmp_path / "db_password"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    check = EnvCheck(
        variables=["SECRET_KEY", "ALLOWED_HOSTS"],
        secret_files=[secret],
        environ={"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "shop.example"},
    )
    result = check.probe()
    assert result.status == "pass"
    assert result.evidence == "2/2 variables set, 1/1 secret files"


def test_missing_empty_and_exposed_are_named_without_values(tmp_path: Path) -> None:
    exposed = tmp_path / "exposed"
    exposed.write_text(SECRET)
    exposed.chmod(0o644)
    empty_file = tmp_path / "empty"
    empty_file.write_text("")
    empty_file.chmod(0o600)
    check = EnvCheck(
        variables=["SECRET_KEY", "DEBUG", "DATABASE_URL"],
        secret_files=[exposed, empty_file, tmp_path / "absent"],
        environ={"SECRET_KEY": SECRET, "DEBUG": "  "},
    )
    result = check.probe()
    assert result.status == "fail"
    assert "not set: DATABASE_URL" in result.evidence
    assert "empty: DEBUG" in result.evidence
    assert "readable by every user (mode 644)" in result.evidence
    assert f"secret file {empty_file} is empty" in result.evidence
    assert f"missing secret file {tmp_path / 'absent'}" in result.evidence
    assert SECRET not in result.evidence
    assert "1/3 variables set, 0/3 secret files" in result.evidence
