"""The sample app on a docker target: a spec whose releases are images built from
``examples/app/Dockerfile`` (on the test kit's python base) or pulled from a registry, and
whose instances are containers of a given engine (``tests/support/dockerd.py``)."""

from __future__ import annotations

from pathlib import Path

from tests.support.dockerd import PYTHON
from tests.support.sample import ROLLING, ROOT, free_port_range

APP_DIR = ROOT / "examples" / "app"

BUILT = """\
  image:
    build:
      context: {context}
      args: {{VERSION: "{{version}}", BASE: {base}}}"""

DOCKER_SPEC = """\
version: 1
app: {app}
state_dir: state
release:
{image}
  keep: {keep}
process:
  command: [python3, server.py]
  env: {{APP_GREETING: hello}}
  stop_timeout_s: 5
health:
  check: {{type: http, path: /health, timeout_s: 1}}
  interval_s: 0.1
  timeout_s: 15
  healthy_threshold: 2
  unhealthy_threshold: 3
strategy: {strategy}
on_interrupt: {on_interrupt}
environments:
  test:
    router: {{type: haproxy, listen: "127.0.0.1:{listen}", drain_timeout_s: 10{router_extra}}}
    instances: {{count: {count}, base_port: {base_port}}}
    targets: [{{type: docker, docker_host: "{docker_host}"{target_extra}}}]
"""


def write_docker_spec(
    directory: Path,
    *,
    docker_host: str,
    app: str = "shop",
    count: int = 3,
    image: str | None = None,
    keep: int = 3,
    strategy: str = ROLLING,
    on_interrupt: str = "resume",
    metrics_port: int | None = None,
    target_extra: str = "",
    extra: str = "",
) -> Path:
    """A ``slipway.yaml`` of the sample app as containers, on free loopback ports.

    ``image`` is the YAML of ``release.image`` (indented by 2); by default the sample app
    built from its Dockerfile with ``VERSION`` set to the release's version.
    """
    base_port = free_port_range(2 * count + 1)
    path = directory / "slipway.yaml"
    path.write_text(
        DOCKER_SPEC.format(
            app=app,
            image=image or BUILT.format(context=APP_DIR, base=PYTHON),
            keep=keep,
            strategy=strategy,
            on_interrupt=on_interrupt,
            listen=base_port + 2 * count,
            router_extra=f", metrics_port: {metrics_port}" if metrics_port else "",
            count=count,
            base_port=base_port,
            docker_host=docker_host,
            target_extra=target_extra,
        )
        + extra
    )
    return path
