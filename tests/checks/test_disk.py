"""Disk check: the local file system as statvfs and df see it, and df output a remote target
would send."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from slipway.checks.disk import CommandDisk, DiskCheck, DiskUsage, LocalDisk, df_command, parse_df
from slipway.errors import BackendError


class Fixed:
    """A reader giving a set answer, for the threshold arithmetic only."""

    def __init__(self, usage: DiskUsage) -> None:
        self.usage = usage

    def disk_usage(self, path: str) -> DiskUsage:
        return self.usage


def test_local_disk_agrees_with_df(tmp_path: Path) -> None:
    local = LocalDisk().disk_usage(str(tmp_path))
    output = subprocess.run(
        df_command(str(tmp_path)), capture_output=True, text=True, check=True
    ).stdout
    remote_style = parse_df(output)
    assert local.total_bytes == pytest.approx(remote_style.total_bytes, rel=0.01)
    assert local.free_percent == pytest.approx(remote_style.free_percent, abs=1.0)
    assert 0 < local.free_percent <= 100


def test_free_percent_is_what_df_calls_available(tmp_path: Path) -> None:
    """Like df's Capacity column: used / (used + available), blocks reserved for root aside."""
    output = subprocess.run(
        df_command(str(tmp_path)), capture_output=True, text=True, check=True
    ).stdout
    capacity = int(output.splitlines()[-1].split()[-2].rstrip("%"))
    assert LocalDisk().disk_usage(str(tmp_path)).free_percent == pytest.approx(
        100 - capacity, abs=1.0
    )


def test_local_disk_check_against_the_real_free_space(tmp_path: Path) -> None:
    free = LocalDisk().disk_usage(str(tmp_path)).free_percent
    assert DiskCheck(str(tmp_path), min_free_percent=0, reader=LocalDisk()).probe().status == "pass"
    over = DiskCheck(str(tmp_path), min_free_percent=min(100, free + 5), reader=LocalDisk()).probe()
    assert over.status == "fail"
    assert "% free" in over.evidence


@pytest.mark.parametrize(
    ("free", "status"), [(21, "pass"), (20, "pass"), (19, "fail"), (0, "fail")]
)
def test_threshold(free: int, status: str) -> None:
    reader = Fixed(DiskUsage(total_bytes=100 * 2**30, free_bytes=free * 2**30))
    result = DiskCheck("/srv", min_free_percent=20, reader=reader, where="web-1").probe()
    assert result.status == status
    assert result.evidence.startswith(f"web-1:/srv {free:.1f}% free")


def test_unreadable_path_is_inconclusive(tmp_path: Path) -> None:
    result = DiskCheck(str(tmp_path / "nope"), min_free_percent=20, reader=LocalDisk()).probe()
    assert result.status == "inconclusive"
    assert "nope" in result.evidence


def test_parse_df_rejects_garbage() -> None:
    with pytest.raises(BackendError):
        parse_df("df: /nope: No such file or directory\n")
    with pytest.raises(BackendError):
        parse_df("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x a b c d /\n")


def test_a_host_reached_by_commands_reports_through_df(tmp_path: Path) -> None:
    """What an SSH host does: run df, hand back its output; here the command runs locally."""
    ran: list[list[str]] = []

    def run(argv: object) -> str:
        ran.append(list(argv))  # type: ignore[call-overload]
        return subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout  # type: ignore[call-overload]

    reader = CommandDisk(run)
    usage = reader.disk_usage(str(tmp_path))
    assert ran == [["df", "-P", "-k", "--", str(tmp_path)]]
    assert usage.free_percent == pytest.approx(
        LocalDisk().disk_usage(str(tmp_path)).free_percent, abs=1.0
    )
    result = DiskCheck(
        str(tmp_path), min_free_percent=1, reader=reader, where="web-1.example"
    ).probe()
    assert result.status == "pass" and result.evidence.startswith("web-1.example:")
