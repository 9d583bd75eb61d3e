"""What every peer runs on each host: the same steps, as shell commands (bench/fanout.py)."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any


def load() -> dict[str, Any]:
    with open(sys.argv[1]) as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def upload_path(c: dict[str, Any]) -> str:
    return f"{c['deploy_to']}/{c['version']}.tar"


def unpack(c: dict[str, Any]) -> str:
    d, v = c["deploy_to"], c["version"]
    return (
        f"mkdir -p {d}/releases/{v} && tar -xf {upload_path(c)} -C {d}/releases/{v} "
        f"&& rm -f {upload_path(c)}"
    )


def switch(c: dict[str, Any]) -> str:
    d, v = c["deploy_to"], c["version"]
    return f"ln -sfn releases/{v} {d}/.current-tmp && mv -T {d}/.current-tmp {d}/current"


def restart(c: dict[str, Any]) -> str:
    return f"{c['supervisorctl']} restart app"


def health(c: dict[str, Any], address: str) -> str:
    url = shlex.quote(f"http://{address}:{c['port']}/health")
    return (
        f"for i in $(seq 300); do curl -fsS -o /dev/null {url} && exit 0; sleep 0.1; done; exit 1"
    )
