"""How long the CLI takes to answer, measured with hyperfine: ``--help``, ``validate`` and
``status`` of a sample environment (deployed once, then stopped: status reads the store, the
spec and asks supervisord, which is not running). Prints JSON::

    {"help_s": {"mean", "min"}, "validate_s": {…}, "status_s": {…}, "runs": N}

Usage: ``python bench/startup.py [--quick]`` (targets: help < 0.15 s, status < 0.3 s).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the sample app's spec

from tests.support.sample import write_sample_spec  # noqa: E402

SLIPWAY = str(Path(sys.executable).parent / "slipway")


def hyperfine(command: list[str], *, runs: int, cwd: Path) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            ["hyperfine", "--warmup", "3", "--runs", str(runs), "-N", "--export-json",
             out.name, " ".join(command)],
            cwd=cwd, check=True, capture_output=True,
        )  # fmt: skip
        result = json.loads(Path(out.name).read_text())["results"][0]
    return {"mean": round(result["mean"], 4), "min": round(result["min"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 runs instead of 30")
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        sys.exit("hyperfine is needed: make system installs it (Debian package hyperfine)")
    runs = 10 if args.quick else 30
    with tempfile.TemporaryDirectory(prefix="slipway-bench-startup-") as tmp:
        work = Path(tmp)
        write_sample_spec(work, count=1)
        subprocess.run([SLIPWAY, "status"], cwd=work, capture_output=True, check=False)
        result = {
            "help_s": hyperfine([SLIPWAY, "--help"], runs=runs, cwd=work),
            "validate_s": hyperfine([SLIPWAY, "validate"], runs=runs, cwd=work),
            "status_s": hyperfine([SLIPWAY, "status"], runs=runs, cwd=work),
            "runs": runs,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
