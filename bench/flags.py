"""Benchmark: OFREP bulk evaluations per second and their latency, from Slipway's flag server.

``slipway flags serve`` (uvicorn, uvloop and httptools) runs pinned to one core (``taskset -c
0``) with ``FLAGS`` flags of an environment in a fresh store; ``wrk`` on the other core
(``taskset -c 1``, ``CONNECTIONS`` keep-alive connections) sends ``POST
/ofrep/v1/evaluate/flags`` for a new random targeting key each time, so no answer can be a
304 and every flag is evaluated for every request. ``wrk --latency`` gives the percentiles.
Everything on loopback; the run is bounded by ``DURATION_S``.

Prints ``{"bulk_evaluations_per_s": x, "p99_ms": x, ...}``; ``--quick``: a shorter run.
Target: at least 5,000 bulk evaluations/s on one core, p99 under 5 ms.

Run: ``.venv/bin/python bench/flags.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.sample: the sample spec the tests use

from tests.support.sample import free_port_range, write_sample_spec  # noqa: E402

from slipway.flags import StoreFlags  # noqa: E402
from slipway.spec import load_spec  # noqa: E402
from slipway.store import Store  # noqa: E402

FLAGS = 5
CONNECTIONS = 16
DURATION_S = 20
QUICK_S = 5

SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return wrk.format(nil, nil, nil,
    '{"context":{"targetingKey":"user-' .. math.random(1, 100000000) .. '"}}')
end
"""


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "bulk_evaluations_per_s": round(rate),
        "p50_ms": percentiles.get("50"),
        "p99_ms": percentiles.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_S} s instead of {DURATION_S}")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    args = parser.parse_args()
    duration = QUICK_S if args.quick else DURATION_S
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("bench/flags.py needs wrk and taskset (scripts/system.sh installs wrk)")
    with tempfile.TemporaryDirectory(prefix="slipway-flags-bench-") as tmp:
        port = free_port_range(1)
        spec = write_sample_spec(Path(tmp), extra=f"    flags: {{listen: 127.0.0.1:{port}}}\n")
        env = load_spec(spec).environment("test")
        store = Store.for_state_dir(env.state_dir.parent)
        flags = StoreFlags(env, store)
        for i in range(FLAGS):
            flags.set_weight(f"flag-{i}", [0, 10, 50, 90, 100][i % 5], by="bench")
        store.close()
        server = subprocess.Popen(
            [
                "taskset",
                "-c",
                "0",
                sys.executable,
                "-m",
                "slipway",
                "flags",
                "serve",
                "-f",
                str(spec),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/ofrep/v1/evaluate/flags"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    answer = httpx.post(
                        url, json={"context": {"targetingKey": "u"}}, trust_env=False
                    )
                    if len(answer.json()["flags"]) == FLAGS:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    sys.exit("the flag server did not start")
                time.sleep(0.1)
            script = Path(tmp) / "post.lua"
            script.write_text(SCRIPT)
            run = subprocess.run(
                [
                    "taskset",
                    "-c",
                    "1",
                    "wrk",
                    "-t1",
                    f"-c{args.connections}",
                    f"-d{duration}s",
                    "--latency",
                    "-s",
                    str(script),
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=duration + 60,
                check=True,
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    result = parse_wrk(run.stdout)
    result.update(
        flags_per_evaluation=FLAGS,
        connections=args.connections,
        duration_s=duration,
        targets={
            "at_least_5000_per_s": result["bulk_evaluations_per_s"] >= 5000,
            "p99_under_5ms": result["p99_ms"] is not None and result["p99_ms"] < 5,
        },
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
