"""Media backups: a tar and a manifest of sha256s, verified by reading every byte back; the
`backup` pre-flight check with `of: media` holds them to the database's rules."""

from __future__ import annotations

import os
import tarfile
from datetime import timedelta
from pathlib import Path

from slipway.checks.backup import BackupCheck
from slipway.clock import ManualClock
from slipway.database.files import backup_files, verify_files
from slipway.store import Store
from slipway.store.records import MEDIA, Backup, Records


def media(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    (root / "documents" / "2026").mkdir(parents=True)
    (root / "documents" / "2026" / "invoice.pdf").write_bytes(b"%PDF-1.4 " + os.urandom(50_000))
    (root / "avatar.png").write_bytes(b"\x89PNG" + os.urandom(1000))
    (root / "latest").symlink_to("avatar.png")
    return root


def test_backup_and_verification_read_every_byte(tmp_path: Path) -> None:
    source = media(tmp_path)
    made = backup_files(source, tmp_path / "backups", "bk-1")
    assert made.files == 2 and made.path.name == "bk-1.tar"
    assert oct(made.path.stat().st_mode & 0o777) == "0o600"
    assert not list((tmp_path / "backups").glob(".*partial"))
    ok = verify_files(made.path, made.manifest)
    assert ok.ok and ok.evidence == "re-read: 2 files match their sha256"
    with tarfile.open(made.path) as tar:
        assert tar.getmember("latest").issym()

    # one byte changed inside the archive: found by re-reading, named
    data = bytearray(made.path.read_bytes())
    offset = data.index(b"%PDF-1.4 ") + 20
    data[offset] ^= 0xFF
    made.path.write_bytes(bytes(data))
    bad = verify_files(made.path, made.manifest)
    assert not bad.ok and bad.evidence == "changed: documents/2026/invoice.pdf"
    made.path.write_bytes(bytes(data[:5000]))  # truncated
    assert not verify_files(made.path, made.manifest).ok


def test_the_backup_check_of_media_is_the_database_one(tmp_path: Path) -> None:
    store = Store.for_state_dir(tmp_path / "state")
    records = Records(store)
    clock = ManualClock()
    made = backup_files(media(tmp_path), tmp_path / "backups", "bk-media")
    records.add_backup(
        Backup(
            id="bk-media", app="shop", environment="prod", deployment_id="d1",
            database=f"{MEDIA}{tmp_path / 'media'}", location=str(made.path),
            size_bytes=made.size_bytes, sha256=made.sha256,
            created_at=clock.now().isoformat(), duration_s=0.1, verified=True,
            verify_evidence="re-read",
        )
    )  # fmt: skip
    assert records.last_backup("shop", "prod") is None  # no database backup
    check = BackupCheck(
        lambda: records.last_backup("shop", "prod", media=True), max_age_s=86400, clock=clock
    )
    assert check.probe().status == "pass"
    clock.sleep(timedelta(hours=25).total_seconds())
    old = check.probe()
    assert old.status == "fail" and "older than 24.0 h" in old.evidence
    store.close()
