"""ansible-core as an oracle: what ``ansible-inventory --list`` and ``ansible --list-hosts`` say.

ansible-core lives in its own virtualenv (``bench/.venv-peers``, made by
``make peers`` from pyenv's Python 3.13: ansible-core needs >= 3.12, and is
never a dependency of Slipway). Only commands that read the inventory run —
``ansible-inventory --list``/``--graph`` and ``ansible --list-hosts`` — which
never connect anywhere. Each runs in an empty directory with an empty
``ansible.cfg``, a private HOME and only the ``yaml`` and ``ini`` inventory
plugins enabled, in Ansible's default order (plus ``script``/``constructed`` where a test asks for
them), so nothing on this machine changes the answer and no corpus file is
ever executed.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PEERS_BIN = ROOT / "bench" / ".venv-peers" / "bin"


def ansible_bin(name: str) -> Path:
    program = PEERS_BIN / name
    if not program.exists():
        raise AssertionError(
            f"{program} is missing: `make peers` makes bench/.venv-peers (ansible-core), "
            "which `make test` does first"
        )
    return program


@cache
def _sandbox() -> Path:
    home = Path(tempfile.mkdtemp(prefix="slipway-ansible-"))
    (home / "ansible.cfg").write_text("[defaults]\n")
    (home / "cwd").mkdir()
    return home


def run(
    program: str, *args: str, plugins: str = "yaml,ini", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """One ansible command, isolated from the machine's configuration."""
    home = _sandbox()
    env = {
        "PATH": f"{PEERS_BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "ANSIBLE_CONFIG": str(home / "ansible.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_INVENTORY_ENABLED": plugins,
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
        "ANSIBLE_COLLECTIONS_PATH": str(home / "collections"),
        "PYTHONHASHSEED": "0",
    }
    return subprocess.run(
        [str(ansible_bin(program)), *args],
        cwd=cwd or home / "cwd",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@cache
def inventory_list(source: Path, *, plugins: str = "yaml,ini") -> dict[str, Any]:
    """``ansible-inventory -i SOURCE --list`` as data (asked once per source: treat as read-only)."""
    done = run("ansible-inventory", "-i", str(source), "--list", plugins=plugins)
    if done.returncode != 0:
        raise AssertionError(f"ansible-inventory failed on {source}:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def list_hosts(
    source: Path, pattern: str, *, limit: str | None = None
) -> tuple[list[str] | None, str]:
    """The hosts ``ansible -i SOURCE PATTERN --list-hosts [--limit L]`` prints, and its stderr.

    None when Ansible refuses the pattern (a subscript past the end of a group).
    """
    extra = ["--limit", limit] if limit is not None else []
    done = run("ansible", "-i", str(source), pattern, "--list-hosts", *extra)
    if done.returncode != 0:
        if "No hosts matched the subscripted pattern" in done.stderr:
            return None, done.stderr
        raise AssertionError(f"ansible --list-hosts {pattern!r} failed:\n{done.stderr}")
    lines = done.stdout.splitlines()
    hosts = [line.strip() for line in lines if line.startswith("    ")]
    return hosts, done.stderr


@cache
def connection_variables() -> dict[str, list[str]]:
    """ansible-core's own table of the variables that say how to reach a host."""
    code = (
        "import json; from ansible import constants as C; m = C.MAGIC_VARIABLE_MAPPING; "
        "print(json.dumps({k: list(m[k]) for k in "
        "('remote_addr', 'port', 'remote_user', 'private_key_file')}))"
    )
    done = subprocess.run(
        [str(ansible_bin("python")), "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"HOME": str(_sandbox()), "ANSIBLE_CONFIG": str(_sandbox() / "ansible.cfg")},
    )
    table: dict[str, list[str]] = json.loads(done.stdout)
    return table


def groups_of(listing: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Each group Ansible printed: its own hosts and its children, in Ansible's order."""
    return {
        name: {"hosts": body.get("hosts", []), "children": body.get("children", [])}
        for name, body in listing.items()
        if name != "_meta"
    }
