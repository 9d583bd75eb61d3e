"""pyinfra: writes an inventory and a deploy, then becomes `pyinfra --parallel N`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from common import load

DEPLOY = """\
import json

from pyinfra import host
from pyinfra.operations import files, server

from common import health, restart, switch, unpack, upload_path

c = json.load(open({config!r}))
files.put(name="upload", src=c["tarball"], dest=upload_path(c))
server.shell(name="unpack", commands=[unpack(c)])
server.shell(name="switch current", commands=[switch(c)])
server.shell(name="restart", commands=[restart(c)])
server.shell(name="health", commands=[health(c, host.name)])
"""


def main() -> None:
    c = load()
    work = Path(c["work"]) / f"pyinfra-{c['version']}"
    work.mkdir(exist_ok=True)
    data = {
        "ssh_user": "root",
        "ssh_key": c["key_file"],
        "ssh_known_hosts_file": c["known_hosts"],
        "ssh_strict_host_key_checking": "yes",
        "ssh_connect_timeout": 60,  # as Slipway's in the benchmark (pyinfra's default: 10 s)
    }
    (work / "inventory.py").write_text(
        f"hosts = [(a, {json.dumps(data)}) for a in {json.dumps(c['hosts'])}]\n"
    )
    config = Path(os.path.abspath(__import__("sys").argv[1]))
    (work / "deploy.py").write_text(DEPLOY.format(config=str(config)))
    os.chdir(work)
    os.environ["PYTHONPATH"] = str(Path(__file__).parent)
    binary = shutil.which("pyinfra") or "pyinfra"
    os.execv(
        binary,
        [binary, "inventory.py", "deploy.py", "--parallel", str(len(c["hosts"])), "-y"],
    )


if __name__ == "__main__":
    main()
