"""Square brackets in what the CLI prints are text, never Rich markup: user arguments, a
check's output, an app's /health body recorded in the store — the CLI run as a user runs it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.cli.test_check import append, slipway
from tests.support.sample import SAMPLE_BUILD

OOPS_APP = """\
import http.server, os

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()
        self.wfile.write(b"not ready [/oops] [bold]still[/bold] test_paths[/srv]")

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Health).serve_forever()
"""
BUILD_OOPS = f"""\
import pathlib, sys
out = pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
(out / "server.py").write_text({OOPS_APP!r})
"""


def no_crash(result: object) -> None:
    text = getattr(result, "stdout", "") + getattr(result, "stderr", "")
    assert "Traceback" not in text and "MarkupError" not in text, text


def test_brackets_in_arguments_are_printed_as_typed(spec_file: Path) -> None:
    logs = slipway("logs", "-f", spec_file, "[/red]")
    no_crash(logs)
    assert logs.returncode == 2 and "matches '[/red]'" in logs.stderr
    plan = slipway("plan", "-f", spec_file, "--version", "[/x]")
    no_crash(plan)
    assert plan.returncode == 2 and "'[/x]'" in plan.stderr
    env = slipway("status", "-f", spec_file, "--env", "[bold]x[/bold]")
    no_crash(env)
    assert env.returncode == 2 and "'[bold]x[/bold]'" in env.stderr


def test_a_check_printing_brackets_shows_them_and_lets_the_deploy_start(spec_file: Path) -> None:
    prints = "print('ok: test_paths[/srv] [red]')"
    append(
        spec_file,
        f'\nchecks:\n  - {{type: command, name: "unit [/tests]", command: [{sys.executable}, -c, "{prints}"]}}\n',
    )
    check = slipway("check", "-f", spec_file)
    no_crash(check)
    assert check.returncode == 0
    assert "test_paths[/srv] [red]" in check.stdout and "unit [/tests]" in check.stdout
    deployed = slipway("deploy", "-f", spec_file, "--version", "v1")
    no_crash(deployed)
    assert deployed.returncode == 0
    assert "test_paths[/srv]" in deployed.stdout


def test_a_health_body_with_brackets_is_recorded_and_shown(spec_file: Path) -> None:
    build = spec_file.parent / "build_oops.py"
    build.write_text(BUILD_OOPS)
    spec_file.write_text(spec_file.read_text().replace(str(SAMPLE_BUILD), str(build)))
    deployed = slipway("deploy", "-f", spec_file, "--version", "v1")
    no_crash(deployed)
    assert deployed.returncode in (1, 3), deployed.stdout + deployed.stderr
    history = json.loads(slipway("history", "-f", spec_file, "-o", "json").stdout)
    dep = history["deployments"][-1]["id"]
    logs = slipway("logs", "-f", spec_file, dep)
    no_crash(logs)
    assert logs.returncode == 0
    assert "[/oops]" in logs.stdout and "[bold]still[/bold]" in logs.stdout
    as_json = json.loads(slipway("logs", "-f", spec_file, dep, "-o", "json").stdout)
    assert "[/oops]" in json.dumps(as_json)
