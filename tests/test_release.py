"""Releases from a directory, a tarball and a build command: digests, atomicity, pruning."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest

from slipway.errors import PermanentError, UsageError
from slipway.release import MANIFEST, Releases, tree_digest
from slipway.spec.release import ReleaseSpec


def make_source(root: Path, version: str, body: str = "print('hi')\n") -> Path:
    src = root / "src" / version
    src.mkdir(parents=True)
    (src / "app.py").write_text(body)
    return src


def test_directory_release_is_copied_with_its_digest(tmp_path: Path) -> None:
    make_source(tmp_path, "1.0")
    releases = Releases(
        tmp_path / "releases", spec=ReleaseSpec(path="src/{version}"), spec_root=tmp_path
    )
    release = releases.prepare("1.0")
    assert (release.path / "app.py").read_text() == "print('hi')\n"
    assert release.digest == tree_digest(tmp_path / "src" / "1.0")
    assert releases.prepare("1.0") == release  # idempotent
    assert (release.path / MANIFEST).exists()


def test_same_content_same_digest_and_a_change_shows(tmp_path: Path) -> None:
    a = make_source(tmp_path, "a")
    b = make_source(tmp_path, "b")
    assert tree_digest(a) == tree_digest(b)
    (b / "app.py").write_text("print('changed')\n")
    assert tree_digest(a) != tree_digest(b)


def test_tarball_release_is_unpacked_safely(tmp_path: Path) -> None:
    src = make_source(tmp_path, "2.0")
    with tarfile.open(tmp_path / "app-2.0.tar.gz", "w:gz") as tar:
        tar.add(src / "app.py", arcname="app.py")
    releases = Releases(
        tmp_path / "releases", spec=ReleaseSpec(path="app-{version}.tar.gz"), spec_root=tmp_path
    )
    assert (releases.prepare("2.0").path / "app.py").exists()


def test_tarball_escaping_its_directory_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    with tarfile.open(tmp_path / "app-3.0.tar.gz", "w:gz") as tar:
        tar.add(evil, arcname="../../escaped.txt")
    releases = Releases(
        tmp_path / "releases", spec=ReleaseSpec(path="app-{version}.tar.gz"), spec_root=tmp_path
    )
    with pytest.raises(Exception, match=r"outside|escaped|path"):
        releases.prepare("3.0")
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "releases" / "3.0").exists()  # nothing half-made is left


def test_build_command_gets_version_and_output_as_single_arguments(tmp_path: Path) -> None:
    script = tmp_path / "build.py"
    script.write_text(
        "import sys, pathlib; pathlib.Path(sys.argv[2], 'v.txt').write_text(sys.argv[1])\n"
    )
    spec = ReleaseSpec(build=f"{sys.executable} build.py {{version}} {{output}}")
    releases = Releases(tmp_path / "releases", spec=spec, spec_root=tmp_path)
    assert (releases.prepare("1.2.3+build.4").path / "v.txt").read_text() == "1.2.3+build.4"


def test_failing_build_is_reported_and_leaves_nothing(tmp_path: Path) -> None:
    spec = ReleaseSpec(build=f"{sys.executable} -c \"import sys; sys.exit('no compiler')\"")
    releases = Releases(tmp_path / "releases", spec=spec, spec_root=tmp_path)
    with pytest.raises(PermanentError, match="no compiler"):
        releases.prepare("1.0")
    assert releases.versions() == []


@pytest.mark.parametrize("version", ["../x", "a;b", "$(id)", "", "a/b", "-rf"])
def test_unsafe_versions_are_refused(tmp_path: Path, version: str) -> None:
    releases = Releases(tmp_path / "r", spec=ReleaseSpec(path="src/{version}"), spec_root=tmp_path)
    with pytest.raises(UsageError):
        releases.prepare(version)


def test_current_link_and_pruning_keep_what_is_in_use(tmp_path: Path) -> None:
    releases = Releases(
        tmp_path / "releases", spec=ReleaseSpec(path="src/{version}"), spec_root=tmp_path
    )
    for version in ("1", "2", "3", "4"):
        make_source(tmp_path, version)
        releases.prepare(version)
    releases.link_current("4")
    assert releases.current() == "4"
    removed = releases.prune(keep=2, protect={"1"})
    assert removed == ["2"]
    assert sorted(releases.versions()) == ["1", "3", "4"]


def test_missing_release_source_is_a_usage_error(tmp_path: Path) -> None:
    releases = Releases(tmp_path / "r", spec=ReleaseSpec(path="src/{version}"), spec_root=tmp_path)
    with pytest.raises(UsageError, match=r"release 9\.9: .*src/9\.9 does not exist"):
        releases.check_source("9.9")
    make_source(tmp_path, "1.0")
    releases.check_source("1.0")
