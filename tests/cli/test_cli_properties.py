"""Property: every CLI argument that takes a string, given any string, gives success or exit 2
with the argument's name (or a file:line:column) and a hint — never a traceback, never exit 1.

Most examples run in-process through Typer's ``CliRunner`` (fast); a few run the real
``slipway`` command in a subprocess, with what only a real argv can carry (bytes that are not
UTF-8). The spec is a local environment with no checks and no release on disk, so no value
can start a deployment: a well-formed version stops at "release … does not exist".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from slipway.cli import app
from tests.budget import bounded

SPEC = """\
app: shop
state_dir: state
release: {path: "releases/{version}"}
process: {command: [python3, server.py]}
environments:
  test:
    router: {type: haproxy, listen: "127.0.0.1:18999"}
    instances: {count: 1, base_port: 18990}
"""
LOCATED = re.compile(r"\S+:\d+:\d+: ")
runner = CliRunner()
# what people type, what shells pass through, and what breaks parsers and Rich
words = st.sampled_from(
    [
        "", " ", "-", "--", "-x", "--help", ".", "..", "/", "~", "*", "%", "%s", "{}", "{version}",
        "[/red]", "[bold]", "\\", "'", '"', "`id`", "$(id)", "a;b", "a\nb", "\t", "\x1b[31m",
        "é", "🚀", "v1", "1.4.2", "20261122-160301-a1b2c3", "2026", "test", "all", "web:&prod",
        "~(", "a" * 300,
    ]
)  # fmt: skip
strings = words | st.text(st.characters(exclude_characters="\x00"), max_size=40)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory with the spec, as the current directory (a relative -f stays inside)."""
    directory = tmp_path_factory.mktemp("cli")
    (directory / "releases").mkdir()
    (directory / "slipway.yaml").write_text(SPEC)
    before = Path.cwd()
    os.chdir(directory)
    try:
        yield directory
    finally:
        os.chdir(before)


def invoke(args: Sequence[str], *names: str) -> None:
    """Run ``slipway ARGS`` in-process; assert success or a usage error naming one of ``names``."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the property is broken
    text = result.output
    assert result.exit_code in (0, 2), (args, result.exit_code, text)
    assert "Traceback" not in text
    if result.exit_code == 2:
        assert_usage_error(text, names, args)


def assert_usage_error(text: str, names: Sequence[str], args: Sequence[str]) -> None:
    if "Usage:" in text:  # Click's own parsing error, with "Try 'slipway … --help'"
        assert "--help" in text, text
        return
    assert "error:" in text and "hint:" in text, (args, text)
    assert LOCATED.search(text) or any(n and n in text for n in names), (args, names, text)


@bounded(40)
@given(version=strings)
@example(version="[/x]")
def test_versions(workdir: Path, version: str) -> None:
    for command in ("plan", "deploy", "drill", "check"):
        invoke([command, "--version", version], "version", "release")
    invoke(["rollback", "--to", version], "version", "release", "rollback")


@bounded(40)
@given(deployment=strings, comment=strings)
@example(deployment="[/red]", comment="%")
@example(deployment="%", comment="")
def test_deployment_ids_and_comments(workdir: Path, deployment: str, comment: str) -> None:
    invoke(["logs", deployment], "deployment")
    for command in ("approve", "reject", "promote", "abort"):
        invoke([command, deployment, "--comment", comment], "deployment")
    invoke(["approve", "--comment", comment], "deployment")


@bounded(40)
@given(reason=strings)
def test_window_override_reasons(workdir: Path, reason: str) -> None:
    invoke(["check", "--override-window", reason], "reason", "window")
    invoke(["deploy", "--version", "v1", "--override-window", reason], "reason", "release")


@bounded(40)
@given(name=strings)
@example(name="[bold]x[/bold]")
def test_environment_names(workdir: Path, name: str) -> None:
    for command in ("status", "history", "check", "runbook"):
        invoke([command, "--env", name, "--output", "json"], "environment")
    invoke(["plan", "--version", "v1", "--env", name], "environment")


@bounded(40)
@given(path=strings)
@example(path=".")
@example(path="releases")
@example(path="/dev/null")
def test_file_paths(workdir: Path, path: str) -> None:
    for command in ("validate", "status", "history"):
        invoke([command, "--file", path], "-f PATH", path.strip(), "slipway init")


@bounded(40)
@given(name=strings.filter(lambda p: "/" not in p), app_name=strings)
@example(name=".", app_name="shop")
@example(name="releases", app_name="shop")
def test_files_written(workdir: Path, name: str, app_name: str) -> None:
    """`init` and `runbook --out` write where they are told (names inside this directory)."""
    invoke(["init", "--file", name, "--app", app_name, "--force"], "app name", "--file")
    if os.path.isfile(workdir / name) and name != "slipway.yaml":  # False on any OSError
        (workdir / name).unlink()
    invoke(["runbook", "--out", name], "--out", name.strip())
    if os.path.isfile(workdir / name) and name != "slipway.yaml":  # False on any OSError
        (workdir / name).unlink()
    (workdir / "slipway.yaml").write_text(SPEC)


@bounded(40)
@given(pattern=strings)
def test_limit_patterns_on_a_local_environment(workdir: Path, pattern: str) -> None:
    for command in ("status", "plan --version v1", "deploy --version v1"):
        invoke([*command.split(), "--limit", pattern], "--limit")


@bounded(6)
@given(
    args=st.sampled_from(
        [["logs"], ["plan", "--version"], ["status", "--env"], ["validate", "-f"]]
    ),
    value=strings,
)
@example(args=["logs"], value="\udcff[x")  # a byte that is not UTF-8 in argv
@example(args=["validate", "-f"], value="\udcffspec.yaml")
def test_the_real_command(workdir: Path, args: list[str], value: str) -> None:
    argv = [sys.executable, "-m", "slipway", *args, value]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [os.fsencode(a) for a in argv], capture_output=True, timeout=60, cwd=workdir, env=env
    )
    stdout, stderr = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert "Traceback" not in stderr, stderr
    assert result.returncode in (0, 2), (args, value, stdout, stderr)
    if result.returncode == 2:
        names = ["deployment", "version", "environment", "-f PATH", "argument", "slipway init"]
        assert_usage_error(stderr, names, [*args, value])
