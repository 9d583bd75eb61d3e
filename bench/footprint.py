"""Benchmark: where a fleet deployment's memory goes before the first host is reached.

Runs ``bench/fanout.py``'s Slipway deployment (v1, then v2 measured) on ``--hosts N`` test
hosts, with this file in front of ``slipway``: the deploying process records, as it exits,
every module it imported, in import order. Then, in a fresh interpreter, those modules are
imported again in that order and the growth of its resident memory is charged to the package
that caused it (Slipway's own modules by sub-package). Prints JSON::

    {"hosts": N, "deploy": {"wall_s", "peak_rss_mb", ...}, "modules": M,
     "interpreter_mb": x, "imports_mb": x, "by_package_mb": {"sqlalchemy": x, ...}}

``imports_mb`` is the floor under any fleet's peak: what the deploying process holds before
its first connection (shared libraries count as they do in RSS, for the peers too).

Run: ``.venv/bin/python bench/footprint.py [--hosts 3]``.
"""

from __future__ import annotations

import atexit
import importlib
import runpy
import sys
from pathlib import Path
from typing import Any

# the deploying process imports nothing else of this file's: argparse, json, subprocess and
# tempfile are imported where measured runs need them, so they are not charged to it
HERE = Path(__file__).resolve().parent

AS_SLIPWAY = "--as-slipway"
SHOWN = 25  # packages listed by name; the rest are summed as "other"


def as_slipway(record: Path, argv: list[str]) -> None:
    """Be ``python -m slipway argv``, and write the modules it imported when it exits."""

    sys.path.remove(str(HERE))  # as `python -m slipway` would have it

    def write() -> None:
        record.write_text("\n".join(name for name in sys.modules if name != "__main__"))

    atexit.register(write)
    sys.argv = ["slipway", *argv]
    runpy.run_module("slipway", run_name="__main__", alter_sys=True)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "slipway" and len(parts) > 1 else parts[0]


def charge(modules: list[str]) -> dict[str, Any]:
    """(In a fresh interpreter) import ``modules`` in order; each one's growth to its package."""
    start = before = rss_mb()
    costs: dict[str, float] = {}
    for module in modules:
        if module in sys.modules:
            continue
        try:
            importlib.import_module(module)
        except Exception:  # a module that imports only in its own context (a plugin's)
            continue
        now = rss_mb()
        costs[package(module)] = costs.get(package(module), 0.0) + now - before
        before = now
    ranked = sorted(costs.items(), key=lambda kv: -kv[1])
    shown = {name: round(mb, 1) for name, mb in ranked[:SHOWN]}
    shown["other"] = round(sum(mb for _, mb in ranked[SHOWN:]), 1)
    return {
        "interpreter_mb": round(start, 1),
        "imports_mb": round(before, 1),
        "by_package_mb": shown,
    }


def measure(hosts: int) -> dict[str, Any]:
    import json
    import subprocess
    import tempfile

    sys.path[:0] = [str(HERE.parent), str(HERE)]  # the test kit; bench/fanout.py
    from tests.support.hosts import test_hosts

    import fanout

    with tempfile.TemporaryDirectory(prefix="footprint-") as tmp:
        work = Path(tmp)
        record = work / "modules.txt"
        for version in ("v1", "v2"):
            fanout.make_release(work, version)
        launcher = (sys.executable, str(Path(__file__).resolve()), AS_SLIPWAY, str(record))
        with test_hosts(hosts + 1, work / "hosts") as fleet:
            deploy = fanout.run_slipway(fleet, work, launcher=launcher)
        modules = [m for m in record.read_text().split("\n") if m]
        charged = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--charge", str(record)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return {"hosts": hosts, "deploy": deploy, "modules": len(modules), **json.loads(charged.stdout)}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == AS_SLIPWAY:
        as_slipway(Path(sys.argv[2]), sys.argv[3:])
        return
    import argparse
    import json

    if len(sys.argv) == 3 and sys.argv[1] == "--charge":
        modules = [m for m in Path(sys.argv[2]).read_text().split("\n") if m]
        print(json.dumps(charge(modules)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=3, help="test hosts (default 3)")
    args = parser.parse_args()
    print(json.dumps(measure(args.hosts), indent=2))


if __name__ == "__main__":
    main()
