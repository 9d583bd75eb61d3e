"""Benchmark: what the runbook's promises cost and measure, on this machine.

Prints JSON:

- ``preflight_s``: one `slipway check` checklist (window, a command, disk, environment,
  backup record), median of 5 runs;
- ``database``: on a real PostgreSQL cluster (started here, on loopback), a table of
  ``rows`` rows: ``pg_dump -Fc`` (``dump_s``, ``dump_bytes``), ``pg_restore --list``
  (``verify_s``), the rehearsal (``rehearsal_restore_s`` into a scratch database,
  ``rehearsal_migrate_s`` for an ``ALTER TABLE … ADD COLUMN``, ``rehearsal_s`` in all,
  scratch dropped);
- ``drill``: `slipway drill` on the sample app (3 instances behind HAProxy): v1 deployed,
  v2 deployed then rolled back; ``rollback_s`` is what the runbook's criterion reads
  (target < 300 s).

Run: ``.venv/bin/python bench/runbook.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.postgres: the same PostgreSQL cluster the tests start

from tests.support.postgres import PostgresCluster  # noqa: E402
from tests.support.sample import write_sample_spec  # noqa: E402

from slipway.backends import Backends  # noqa: E402
from slipway.clock import SystemClock  # noqa: E402
from slipway.database.dsn import Dsn  # noqa: E402
from slipway.database.postgres import dump, verify  # noqa: E402
from slipway.database.rehearsal import rehearse  # noqa: E402
from slipway.engine import Engine  # noqa: E402
from slipway.preflight import run_checks  # noqa: E402
from slipway.runbook.drill import run_drill  # noqa: E402
from slipway.spec import load_spec  # noqa: E402
from slipway.store import Store  # noqa: E402

CHECKS = """
window: {timezone: Europe/Paris}
checks:
  - {type: command, name: tests, command: ["true"]}
  - {type: disk, path: /, min_free_percent: 1}
  - {type: env, variables: [PATH, HOME]}
  - {type: backup, max_age_s: 3600, blocking: false}
"""


def preflight(workdir: Path) -> float:
    spec = write_sample_spec(workdir, count=1)
    spec.write_text(spec.read_text() + CHECKS)
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    times = []
    for _ in range(5):
        started = time.monotonic()
        run_checks(env, store=store, clock=SystemClock(), purpose="check")
        times.append(time.monotonic() - started)
    store.close()
    return round(statistics.median(times), 3)


def database(workdir: Path, rows: int) -> dict[str, Any]:
    cluster = PostgresCluster()
    try:
        cluster.start()
        cluster.create_database("shop")
        cluster.execute(
            "shop", "CREATE TABLE orders (id serial PRIMARY KEY, total numeric, note text)"
        )
        cluster.execute(
            "shop",
            f"INSERT INTO orders (total, note) SELECT g * 1.5, md5(g::text) "
            f"FROM generate_series(1, {rows}) g",
        )
        dsn = Dsn.parse(cluster.url("shop"))
        dumped = dump(dsn, workdir / "backups", "bk.dump", timeout_s=600)
        started = time.monotonic()
        checked = verify(dumped.path, timeout_s=600)
        verify_s = time.monotonic() - started
        started = time.monotonic()
        result = rehearse(
            dsn,
            dumped.path,
            ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-c",
             "ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR'"],
            cwd=workdir,
            url_env="DATABASE_URL",
            timeout_s=600,
            restore_timeout_s=600,
        )  # fmt: skip
        rehearsal_s = time.monotonic() - started
        assert checked.ok and result.ok, (checked, result)
        return {
            "rows": rows,
            "dump_bytes": dumped.size_bytes,
            "dump_s": round(dumped.duration_s, 3),
            "verify_s": round(verify_s, 3),
            "verify_entries": checked.entries,
            "rehearsal_restore_s": round(result.restore_s, 3),
            "rehearsal_migrate_s": round(result.duration_s, 3),
            "rehearsal_s": round(rehearsal_s, 3),
        }
    finally:
        cluster.stop()


def drill(workdir: Path) -> dict[str, Any]:
    spec = write_sample_spec(workdir, count=3)
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    clock = SystemClock()
    backends = Backends.for_environment(env, clock=clock)
    engine = Engine(env, store=store, backends=backends, clock=clock)
    try:
        assert engine.deploy("v1").exit_code == 0
        result = run_drill(engine, "v2")
        return {"instances": 3, **result.as_dict()}
    finally:
        backends.router.down()
        backends.target.down()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slipway-bench-") as tmp:
        work = Path(tmp)
        (work / "p").mkdir()
        (work / "d").mkdir()
        (work / "r").mkdir()
        report = {
            "preflight_s": preflight(work / "p"),
            "database": database(work / "d", args.rows),
            "drill": drill(work / "r"),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
