"""Benchmark: the seeds' Compose way against Slipway's rolling deployment, same image, same
private Docker engine, under steady load through HAProxy.

Compose (docker-compose 1.29, Debian's): ``TAG=v2 docker-compose up -d --no-deps --build web``
recreates the one container of ``examples/app/docker-compose.yml`` (host network) behind an
HAProxy with one server — what the seeds' runbooks do; then ``TAG=v1 … up -d`` is its
rollback. Slipway: a rolling v1 → v2 of 3 containers (``deploy_s``: the deployment's own
duration), then ``slipway rollback`` to v1 (``rollback_s``: the rollback's wall time, from
asking to v1 serving in every slot). Traffic (4 keep-alive clients) runs through HAProxy all
along and until at least ``min_requests`` were sent; failed requests are counted.

Prints ``{"compose": {"requests", "failed_requests", "duration_s", "rollback_s"},
"slipway": {"requests", "failed_requests", "deploy_s", "rollback_s"}}``.

Run: ``.venv/bin/python bench/containers.py [--quick]`` (root: it starts its own dockerd).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.dockerd: the same private engine the tests start

from tests.conftest import stop_environment  # noqa: E402
from tests.support.dockerd import PYTHON, Dockerd, import_python, running_dockerd  # noqa: E402
from tests.support.sample import free_port_range  # noqa: E402
from tests.support.sample_docker import APP_DIR, write_docker_spec  # noqa: E402

from slipway.backends import Backends  # noqa: E402
from slipway.clock import SystemClock  # noqa: E402
from slipway.demo.traffic import TrafficGenerator  # noqa: E402
from slipway.engine import Engine  # noqa: E402
from slipway.reports import seconds_between  # noqa: E402
from slipway.spec import load_spec  # noqa: E402
from slipway.store import Store  # noqa: E402

HAPROXY_CFG = """\
global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend web
  bind 127.0.0.1:{listen}
  default_backend app
backend app
  option httpchk GET /health
  server web 127.0.0.1:{port} check inter 500ms
"""


def compose_run(engine: Dockerd, work: Path, *, min_requests: int) -> dict[str, Any]:
    port, listen = free_port_range(1), free_port_range(1)
    project = work / "compose"
    shutil.copytree(APP_DIR, project, ignore=shutil.ignore_patterns("__pycache__"))
    environ = {
        **os.environ, "DOCKER_HOST": engine.host, "BASE": PYTHON, "PORT": str(port),
        "COMPOSE_PROJECT_NAME": "benchcompose",
    }  # fmt: skip

    def compose(tag: str, *args: str) -> None:
        subprocess.run(
            ["docker-compose", *args], cwd=project, env={**environ, "TAG": tag},
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip

    compose("v1", "build")
    compose("v2", "build")  # both images ready: the deploy below rebuilds from the cache
    compose("v1", "up", "-d")
    cfg = work / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.format(listen=listen, port=port))
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL)
    try:
        _wait_up(f"http://127.0.0.1:{listen}/health")
        with TrafficGenerator(
            f"http://127.0.0.1:{listen}/work", concurrency=4, max_requests=10 * min_requests,
            max_duration_s=150,
        ) as traffic:  # fmt: skip
            time.sleep(0.5)
            began = time.monotonic()
            compose("v2", "up", "-d", "--no-deps", "--build", "web")
            duration = time.monotonic() - began
            _wait_up(f"http://127.0.0.1:{listen}/health")
            began = time.monotonic()
            compose("v1", "up", "-d", "--no-deps", "web")
            rollback = time.monotonic() - began
            _until(traffic, min_requests)
        report = traffic.report
        return {
            "requests": report.requests,
            "failed_requests": report.failed,
            "duration_s": round(duration, 2),
            "rollback_s": round(rollback, 2),
            "errors": report.errors[:3],
        }
    finally:
        haproxy.kill()
        haproxy.wait()
        subprocess.run(["docker-compose", "down"], cwd=project, env=environ, capture_output=True)


def slipway_run(engine: Dockerd, work: Path, *, min_requests: int) -> dict[str, Any]:
    spec = write_docker_spec(work / "slipway", docker_host=engine.host, app="bench")
    env = load_spec(spec).environment("test")
    clock = SystemClock()
    backends = Backends.for_environment(env, clock=clock)
    store = Store.for_state_dir(env.state_dir.parent)
    runner = Engine(env, store=store, backends=backends, clock=clock)
    try:
        assert runner.deploy("v1").deployment.status == "succeeded"
        backends.releases.prepare("v2")  # built before, as for Compose: the rollout is timed
        with TrafficGenerator(
            f"http://127.0.0.1:{env.router.listen.port}/work", concurrency=4,
            max_requests=10 * min_requests, max_duration_s=150,
        ) as traffic:  # fmt: skip
            time.sleep(0.5)
            rolled = runner.deploy("v2").deployment
            time.sleep(0.5)
            began = time.monotonic()
            back = runner.rollback("v1").deployment
            rollback = time.monotonic() - began
            _until(traffic, min_requests)
        report = traffic.report
        return {
            "requests": report.requests,
            "failed_requests": report.failed,
            "deploy_s": seconds_between(rolled.started_at, rolled.ended_at),
            "deploy_outcome": rolled.status,
            "rollback_s": round(rollback, 2),
            "rollback_outcome": back.status,
            "errors": report.errors[:3],
        }
    finally:
        store.close()
        backends.close()
        stop_environment(env)


def _until(traffic: TrafficGenerator, min_requests: int) -> None:
    deadline = time.monotonic() + 60
    while traffic.requests_so_far() < min_requests and time.monotonic() < deadline:
        time.sleep(0.1)


def _wait_up(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (about 2 minutes)")
    args = parser.parse_args()
    min_requests = 2_000 if args.quick else 5_000
    with tempfile.TemporaryDirectory(prefix="slipway-bench-") as tmp, running_dockerd() as engine:
        import_python(engine)
        os.makedirs(Path(tmp) / "slipway")
        result = {
            "compose": compose_run(engine, Path(tmp), min_requests=min_requests),
            "slipway": slipway_run(engine, Path(tmp), min_requests=min_requests),
            "quick": args.quick,
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
