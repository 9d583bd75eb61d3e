"""Build a release of the sample app: ``build.py VERSION OUTPUT_DIR``.

Copies ``server.py`` and ``worker.py`` into OUTPUT_DIR and writes its ``release.json`` from the
catalogue, ``releases.json``: each entry names the fields that differ from a
good release (``DEFAULTS``), plus a description. A version not in the catalogue
but shaped like ``v<number>`` builds a good release, so demos and benchmarks can
make as many good releases as they like; any other name exits 2, because a typo
must not quietly build a good release.

Standard library only: Slipway runs this as a user's build command would run.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULTS: dict[str, Any] = {
    "fail_health": False,
    "fail_health_slots": [],
    "error_rate": 0.0,
    "latency_ms": 0,
    "crash_after_s": None,
    "worker_fails": False,
    "task_s": 0.5,
    "flag": None,  # a feature flag the release asks its OFREP server for (OFREP_URL)
    "flag_error_rate": 0.0,  # with the flag on: its code path's error rate and latency
    "flag_latency_ms": 0,
    # once the file named by $FAULT_FILE exists: a regression seen only after promotion
    "late_error_rate": 0.0,
    "flag_late_error_rate": 0.0,
}


def release_fields(version: str, catalogue: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The ``release.json`` of ``version``, or None when it is not a release we know."""
    if version in catalogue:
        entry = {k: v for k, v in catalogue[version].items() if k != "description"}
    elif re.fullmatch(r"v\d+", version):
        entry = {}
    else:
        return None
    unknown = set(entry) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"releases.json: {version}: unknown fields {sorted(unknown)}")
    return {"version": version, **DEFAULTS, **entry}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: build.py VERSION OUTPUT_DIR", file=sys.stderr)
        return 2
    version, output = argv[0], Path(argv[1])
    catalogue = json.loads((HERE / "releases.json").read_text())
    try:
        release = release_fields(version, catalogue)
    except ValueError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 2
    if release is None:
        known = ", ".join(catalogue)
        print(
            f"build.py: unknown release {version!r}: known are {known}, or any v<number>",
            file=sys.stderr,
        )
        return 2
    output.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "server.py", output / "server.py")
    shutil.copy2(HERE / "worker.py", output / "worker.py")
    (output / "release.json").write_text(json.dumps(release, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
