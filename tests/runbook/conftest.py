"""A spec with every runbook section, and its store, for rendering and criteria tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from slipway.spec import load_spec
from slipway.spec.environment import Environment
from slipway.store import Store

SPEC = """\
version: 1
app: shop
release: {path: "releases/{version}"}
process: {command: [python3, server.py, --port, "{port}"]}
health: {check: {type: http, path: /health, expect_status: 200, timeout_s: 2}}
checks:
  - {type: command, name: tests pass, command: [make, test], owner: DevOps}
  - {type: disk, path: /, min_free_percent: 20}
  - {type: manual, name: code review approved by 2 developers, owner: Tech Lead, when: D-1}
  - {type: http, name: status page, url: "https://status.example.com/health"}
database:
  url_env: DATABASE_URL
  migrate: {command: [python3, manage.py, migrate, --noinput]}
notifications:
  - {type: slack, name: deployments channel, url_env: SLACK_WEBHOOK_URL, events: [started, succeeded, rolled_back, failed]}
contacts:
  - level: 1
    title: Équipe technique
    contacts:
      - {role: DevOps Lead, name: Antoine Moreau, phone: "+33 6 12 34 56 78", hours: 9h-19h}
      - {role: Lead Dev, name: Thomas Bernard, handle: "@thomas", hours: 9h-19h}
  - level: 2
    title: Management
    contacts:
      - {role: CTO, name: Jean-Pierre Martin, phone: "+33 6 98 76 54 32", hours: urgences uniquement}
runbook:
  owner: Platform team
  dependencies: [{name: Stripe, impact: payments fail, contact: support@stripe.com}]
  monitoring: ["https://grafana.example.com/d/prod"]
environments:
  staging:
    router: {type: haproxy, listen: "127.0.0.1:8081"}
    instances: {count: 2, base_port: 9201}
  production:
    router: {type: haproxy, listen: "127.0.0.1:8080"}
    instances: {count: 3, base_port: 9101}
    window:
      timezone: Europe/Paris
      allow:
        - {days: [tue, wed, thu], hours: "10:00-16:00", risk: low}
        - {days: [fri], hours: "09:00-14:00", risk: high}
      freezes: [{name: Black Friday, start: 2026-11-26, end: 2026-11-30}]
    checks:
      - {type: backup, max_age_s: 3600}
      - {type: staged, environment: staging, owner: QA}
"""


@dataclass
class Setup:
    path: Path
    env: Environment
    store: Store


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    (tmp_path / "releases").mkdir()
    path = tmp_path / "slipway.yaml"
    path.write_text(SPEC)
    env = load_spec(path).environment("production")
    return Setup(path, env, Store.for_state_dir(env.state_dir.parent))
