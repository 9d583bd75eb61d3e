"""Build a release of the sample app: ``build.py VERSION OUTPUT_DIR``.

Copies ``server.py`` into OUTPUT_DIR and writes its ``release.json`` from the
catalogue (``releases.json``). A version not in the catalogue but shaped like
``v<number>`` builds a good release, so demos and benchmarks can make as many
good releases as they like.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: build.py VERSION OUTPUT_DIR", file=sys.stderr)
        return 2
    version, output = argv[0], Path(argv[1])
    catalogue = json.loads((HERE / "releases.json").read_text())
    if version in catalogue:
        entry = dict(catalogue[version])
    elif re.fullmatch(r"v\d+", version):
        entry = {"description": "good"}
    else:
        known = ", ".join(sorted(catalogue))
        print(f"build.py: unknown release {version!r} (known: {known}, or v<N>)", file=sys.stderr)
        return 2
    output.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "server.py", output / "server.py")
    release = {
        "version": version,
        "fail_health": bool(entry.get("fail_health", False)),
        "fail_health_slots": list(entry.get("fail_health_slots", [])),
        "error_rate": float(entry.get("error_rate", 0.0)),
        "latency_ms": int(entry.get("latency_ms", 0)),
        "crash_after_s": entry.get("crash_after_s"),
    }
    (output / "release.json").write_text(json.dumps(release, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
