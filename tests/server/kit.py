"""The test kit of ``slipway serve``: a spec of the sample app with two environments, its
store, a token per role, and the real server (uvicorn) on a loopback port in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from slipway.flags.server import FlagServer
from slipway.server import Site, make_app
from slipway.spec import load_spec
from slipway.spec.environment import Environment
from slipway.store import Store
from tests.support.sample import free_port_range, write_sample_spec

ROLES = ("viewer", "deployer", "approver", "admin")


def staging(base: int) -> str:
    """A second environment (``staging``) for the sample spec, on ports from ``base``."""
    return (
        "  staging:\n"
        f'    router: {{type: haproxy, listen: "127.0.0.1:{base}", drain_timeout_s: 10}}\n'
        f"    instances: {{count: 1, base_port: {base + 1}}}\n"
    )


def low_port() -> int:
    """A free loopback port below 32768 (the rules' range for tests)."""
    for _ in range(50):
        port = free_port_range(1)
        if port < 32768:
            return port
    raise RuntimeError("no free port below 32768")


@dataclass
class Served:
    """A running ``slipway serve`` and what a test needs around it."""

    url: str
    site: Site
    spec: Path
    tokens: dict[str, str] = field(default_factory=dict)  # "<role>" or "<role>@<env>" → secret

    @property
    def store(self) -> Store:
        return self.site.store

    def env(self, name: str = "production") -> Environment:
        return self.site.environments[name]

    def client(self, role: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def token(self, name: str, role: str, *environments: str) -> str:
        _, secret = self.store.create_token(
            name,
            role=role,
            environments=environments,
            expires_at=None,
            created_by="test",  # type: ignore[arg-type]
        )
        return secret


def write_spec(
    directory: Path, *, extra: str = "", count: int = 1, strategy: str | None = None
) -> Path:
    """The sample app with ``production`` (where gates are) and ``staging``."""
    return write_sample_spec(
        directory,
        count=count,
        environment="production",
        extra=staging(free_port_range(3)) + extra,
        **({"strategy": strategy} if strategy else {}),
    )


@contextmanager
def serve(
    spec: Path,
    *,
    heartbeat_s: float = 15.0,
    sign_in_limit: int | None = None,
    tls: tuple[str, str] | None = None,
) -> Iterator[Served]:
    """The server of ``spec`` with one token per role over every environment (``<role>``)
    and one per role over production only (``<role>@production``)."""
    loaded = load_spec(spec)
    environments = {n: loaded.environment(n) for n in loaded.spec.environments}
    first = next(iter(environments.values()))
    store = Store.for_state_dir(first.state_dir.parent)
    server = loaded.spec.server
    if sign_in_limit is not None:
        server = server.model_copy(update={"sign_in_limit": sign_in_limit})
    site = Site(
        app=first.app, environments=environments, store=store, server=server,
        heartbeat_s=heartbeat_s, spec_file=spec,
    )  # fmt: skip
    runner = FlagServer(
        make_app(site), host="127.0.0.1", port=low_port(), name="dashboard", tls=tls
    )
    served = Served(url="", site=site, spec=spec)
    for role in ROLES:
        served.tokens[role] = served.token(role, role, "*")
        served.tokens[f"{role}@production"] = served.token(f"{role}-prod", role, "production")
    try:
        runner.start()
        served.url = runner.url
        yield served
    finally:
        runner.stop()
        store.close()


def record_deployment(
    store: Store,
    *,
    app: str = "shop",
    environment: str = "production",
    version: str = "v1",
    status: str = "succeeded",
) -> str:
    """A finished deployment written straight to the store, with a step and an event."""
    dep_id = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep_id, app=app, environment=environment, kind="deploy",
        version=version, previous_version=None, strategy="rolling",
    )  # fmt: skip
    store.add_steps(
        dep_id,
        [{"seq": 1, "phase": "deploy", "group_no": 0, "kind": "start_instance",
          "params": {}, "description": f"start {version}"}],
    )  # fmt: skip
    store.event(dep_id, f"deploy of {version} started")
    store.update_deployment(dep_id, status=status, ended_at=store.now())
    return dep_id
