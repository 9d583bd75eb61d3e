"""CommandCheck runs real programs: never through a shell, always within its timeout."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from slipway.checks.command import CommandCheck
from slipway.errors import UsageError


def python(code: str, **kwargs: object) -> CommandCheck:
    return CommandCheck([sys.executable, "-c", code], **kwargs)  # type: ignore[arg-type]


def alive(pid: int) -> bool:
    """Running, and not a zombie left for an init that may be slow to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_exit_0_passes() -> None:
    result = python("print('ready')").probe()
    assert result.passed and result.evidence == "exit 0: ready"


def test_a_failure_says_its_exit_code_and_the_tail_of_its_output() -> None:
    code = "import sys\nfor i in range(100): print(f'line {i}')\nsys.stderr.write('boom\\n')\nsys.exit(3)"
    result = python(code).probe()
    assert result.status == "fail" and result.evidence.startswith("exit 3: ")
    assert result.evidence.endswith("line 99\nboom")  # stdout and stderr, in order
    assert "line 80" not in result.evidence  # a tail, not the whole output


def test_argv_is_never_parsed_by_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "should-not-exist"
    result = CommandCheck(["echo", f"x; touch {marker}", "$HOME"]).probe()
    assert result.passed and result.evidence == f"exit 0: x; touch {marker} $HOME"
    assert not marker.exists()


def test_a_timeout_kills_the_program_and_what_it_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    code = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen(['sleep', '30'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "child.wait()"
    )
    started = time.monotonic()
    result = python(code, timeout_s=0.5).probe()
    assert time.monotonic() - started < 3
    assert result.status == "fail" and result.evidence == "timed out after 0.5s: started"
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 2
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(child), "the grandchild survived the timeout"


def test_a_missing_program_fails_with_evidence() -> None:
    result = CommandCheck(["/nonexistent/pg_isready"]).probe()
    assert result.status == "fail" and "cannot run '/nonexistent/pg_isready'" in result.evidence


def test_env_is_added_to_the_environment_and_cwd_is_honoured(tmp_path: Path) -> None:
    code = "import os; print(os.environ['SLIPWAY_TEST'], bool(os.environ.get('PATH')), os.getcwd())"
    result = python(code, env={"SLIPWAY_TEST": "yes"}, cwd=tmp_path).probe()
    assert result.evidence == f"exit 0: yes True {os.path.realpath(tmp_path)}"


def test_killed_by_a_signal_is_reported() -> None:
    result = python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)").probe()
    assert result.status == "fail" and result.evidence == "killed by signal 9"


@pytest.mark.parametrize("argv", [[], "pg_isready -h 127.0.0.1"])
def test_argv_must_be_a_non_empty_list(argv: list[str]) -> None:
    with pytest.raises(UsageError, match="non-empty argv list"):
        CommandCheck(argv)
