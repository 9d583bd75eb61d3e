"""The runbook sections: a base inherited by every environment, overridden per environment,
located errors, the generated spec's defaults, and the spec digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.spec import load_spec
from slipway.spec.checks import BackupPreflight, DiskPreflight, ManualPreflight, TlsPreflight
from slipway.spec.digest import spec_digest
from slipway.spec.template import render

SPEC = """\
version: 1
app: shop
release: {path: "releases/{version}"}
process: {command: [python3, server.py]}
checks:
  - {type: command, name: tests, command: [make, test], owner: DevOps}
  - {type: disk, name: disk, path: /, min_free_percent: 20}
  - {type: manual, name: code review, owner: Tech Lead}
window:
  timezone: UTC
contacts:
  - level: 1
    contacts: [{role: DevOps lead, name: Antoine, phone: "+33 6 00", hours: 9h-19h}]
environments:
  staging:
    router: {type: haproxy, listen: "127.0.0.1:8081"}
    instances: {count: 1, base_port: 9201}
    checks:
      - {type: command, name: tests, enabled: false, command: [x]}
  production:
    router: {type: haproxy, listen: "127.0.0.1:8080"}
    instances: {count: 2, base_port: 9101}
    window:
      timezone: Europe/Paris
      allow: [{days: [mon, tue, wed, thu], hours: "09:00-18:00"}]
    checks:
      - {type: disk, name: disk, path: /, min_free_percent: 30}
      - {type: backup, max_age_s: 3600}
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    (tmp_path / "releases").mkdir()
    return tmp_path


def write(spec_dir: Path, text: str) -> Path:
    path = spec_dir / "slipway.yaml"
    path.write_text(text)
    return path


def test_environments_inherit_the_base_and_override_it(spec_dir: Path) -> None:
    loaded = load_spec(write(spec_dir, SPEC))
    staging, production = loaded.environment("staging"), loaded.environment("production")
    # staging: the base without its "tests" check, the base's window and contacts
    assert [c.name for c in staging.checks] == ["disk", "code review"]
    assert staging.window is not None and staging.window.timezone == "UTC"
    assert staging.contacts[0].contacts[0].name == "Antoine"
    # production: the disk check replaced in place, a backup check added, its own window
    assert [c.type for c in production.checks] == ["command", "disk", "manual", "backup"]
    disk = production.checks[1]
    assert isinstance(disk, DiskPreflight) and disk.min_free_percent == 30
    assert isinstance(production.checks[2], ManualPreflight)
    assert isinstance(production.checks[3], BackupPreflight)
    assert production.window is not None and production.window.timezone == "Europe/Paris"
    assert production.contacts == staging.contacts
    assert production.runbook.rollback_max_s == 300


def test_spec_digest_follows_what_shapes_a_deployment(spec_dir: Path) -> None:
    first = spec_digest(load_spec(write(spec_dir, SPEC)).environment("production"))
    again = spec_digest(load_spec(write(spec_dir, SPEC)).environment("production"))
    assert first == again and first.startswith("sha256:")
    stricter = SPEC.replace("min_free_percent: 30", "min_free_percent: 35")
    assert spec_digest(load_spec(write(spec_dir, stricter)).environment("production")) != first
    # staging is untouched by a production-only change
    staging = spec_digest(load_spec(write(spec_dir, SPEC)).environment("staging"))
    assert spec_digest(load_spec(write(spec_dir, stricter)).environment("staging")) == staging


def test_digest_ignores_where_the_checkout_is(tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        directory = tmp_path / name
        (directory / "releases").mkdir(parents=True)
        digests.append(spec_digest(load_spec(write(directory, SPEC)).environment("staging")))
    assert digests[0] == digests[1]


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        (
            "min_free_percent: 30",
            "min_free_percent: 130",
            27,
            "environments.production.checks.0.min_free_percent",
            "less than or equal to 100",
        ),
        ("timezone: Europe/Paris", "timezone: Europe/Pariss", 24, None, "unknown time zone"),
        ('hours: "09:00-18:00"', 'hours: "18:00-09:00"', 25, None, "end after they start"),
        ("{type: backup, max_age_s: 3600}", "{type: backups}", 28, None, "allowed:"),
        ("role: DevOps lead, ", "", 13, "contacts.0.contacts.0.role", "add `role:`"),
        ("command: [make, test]", "command: [true]", 6, "checks.0.command.0", "valid string"),
    ],
)
def test_mistakes_in_the_sections_are_located(
    spec_dir: Path, old: str, new: str, line: int, field: str | None, words: str
) -> None:
    assert old in SPEC
    with pytest.raises(SpecError) as caught:
        load_spec(write(spec_dir, SPEC.replace(old, new)))
    error = caught.value
    assert error.location is not None and error.location.line == line, str(error)
    if field:
        assert error.field == field
    assert words in str(error)


def test_a_tls_check_needs_a_host_or_a_file(spec_dir: Path) -> None:
    text = SPEC.replace("{type: backup, max_age_s: 3600}", "{type: tls, min_days: 30}")
    with pytest.raises(SpecError, match="exactly one of `host` or `file`"):
        load_spec(write(spec_dir, text))


def test_generated_spec_carries_the_seeds_defaults(spec_dir: Path) -> None:
    loaded = load_spec(write(spec_dir, render("shop", year=2026)))
    assert list(loaded.spec.environments) == ["staging", "production"]
    production = loaded.environment("production")
    by_type = {c.type: c for c in production.checks}
    disk, tls, backup = by_type["disk"], by_type["tls"], by_type["backup"]
    assert isinstance(disk, DiskPreflight) and disk.min_free_percent == 20
    assert isinstance(tls, TlsPreflight) and tls.min_days == 30
    assert isinstance(backup, BackupPreflight)
    assert backup.max_age_s == 3600 and backup.require_verified
    assert production.runbook.rollback_max_s == 300
    window = production.window
    assert window is not None
    days = {d for rule in window.allow for d in rule.days}
    assert "sat" not in days and "sun" not in days
    friday = [r for r in window.allow if "fri" in r.days]
    assert [r.hours for r in friday] == ["09:00-14:00"]  # no Friday afternoon
    assert [f.name for f in window.freezes] == ["Black Friday", "Christmas"]
    assert production.database is not None and production.database.rehearse
    assert "staged" in by_type  # "Staging OK" of the seeds' Go/No-Go table
    staging = loaded.environment("staging")
    assert staging.window is None
    assert "backup" not in {c.type for c in staging.checks}
