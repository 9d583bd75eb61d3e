"""The example shop's source for one release: ``build.py VERSION OUTPUT_DIR``.

A team's releases are tags of its repository; here they are entries of a catalogue,
``releases.json``, so that tests and the demo have releases that misbehave on purpose. This
writes what a checkout of the tag would hold — ``project/`` with the migrations the version
has — plus ``release.json`` (the entry's fields) and ``orders/static/orders/version.txt``.
Slipway's Django release build (``python -m slipway.presets.django_build --source-command
"python build.py"``) then adds the virtualenv and the collected static files.

Standard library only. An unknown version exits 2: a typo must not build a good release.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "project"
MIGRATIONS = [
    "0001_initial",
    "0002_order_note",
    "0003_order_customer_email",
    "0004_remove_order_customer",
]
FIELDS = {
    "schema",
    "extra_migrations",
    "task_crashes",
    "fail_health",
    "debug_on",
    "slow_migration_s",
}
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "staticfiles", "media")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: build.py VERSION OUTPUT_DIR", file=sys.stderr)
        return 2
    version, output = argv[0], Path(argv[1])
    catalogue = json.loads((HERE / "releases.json").read_text())
    if version not in catalogue:
        print(f"build.py: unknown release {version!r}: known are {', '.join(catalogue)}",
              file=sys.stderr)  # fmt: skip
        return 2
    entry = {k: v for k, v in catalogue[version].items() if k != "description"}
    unknown = set(entry) - FIELDS
    if unknown:
        print(f"build.py: {version}: unknown fields {sorted(unknown)}", file=sys.stderr)
        return 2
    output.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT, output, symlinks=True, dirs_exist_ok=True, ignore=SKIP)
    keep = set(MIGRATIONS[: int(entry.get("schema", 1))]) | set(entry.get("extra_migrations", []))
    for path in (output / "orders" / "migrations").glob("0*.py"):
        if path.stem not in keep:
            path.unlink()
    (output / "release.json").write_text(json.dumps({"version": version, **entry}, indent=2))
    (output / "orders" / "static" / "orders" / "version.txt").write_text(version + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
