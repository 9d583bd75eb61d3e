"""``slipway init --preset django``: the seeds' Django runbook as a spec.

It finds ``manage.py`` beside the spec, reads the settings module
it names (``DJANGO_SETTINGS_MODULE``, e.g. ``shop.settings``: the project package is
``shop``), and writes a spec that does what the seeds' French and English runbooks do by
hand: a release build (a virtualenv per release, ``collectstatic``); pre-flight checks
(``manage.py check --deploy``, the settings rules, bandit, a dependency audit from a local
advisory file, coverage, Redis, the database, disk, a recent verified backup of the database
and of the media); backup, rehearsal, ``migrate`` (``migrate --plan`` in ``slipway plan``,
``showmigrations`` checked after, reversible rollbacks, destructive operations refused);
gunicorn behind the router, then the Celery workers and beat.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from slipway.errors import UsageError

TEMPLATE = """\
# slipway.yaml of a Django project (`slipway init --preset django`): the seeds' runbook.
# `slipway validate` checks it, `slipway plan --version V` shows the steps and the migrations.
version: 1
app: {app}
state_dir: .slipway

release:
  # the source of {{version}} (this checkout; add --git to take `git archive {{version}}`),
  # a virtualenv of its own from requirements.txt, then `collectstatic --noinput` into it
  build: {python} -m slipway.presets.django_build --project {project} --cache .slipway/venvs {{version}} {{output}}
  keep: 5

process:                      # web: gunicorn behind the router
  command: [.venv/bin/python, -m, gunicorn, {package}.wsgi, --bind, "127.0.0.1:{{port}}",
            --workers, "3", --graceful-timeout, "20", --access-logfile, "-"]
  env:
    DJANGO_SETTINGS_MODULE: {package}.settings
    DJANGO_MEDIA_ROOT: {media}
  pass_env: [DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL]   # never in this file
  stop_timeout_s: 30

health:
  check: {{type: http, path: /health/, timeout_s: 3}}   # the database and Redis answer
  interval_s: 1
  timeout_s: 60
  healthy_threshold: 2
  unhealthy_threshold: 3

roles:                        # after web is healthy; rolled back with it
  worker:
    command: [.venv/bin/python, -m, celery, -A, {package}, worker, -n, "{{name}}@slipway",
              -Q, "celery,{{name}}", --concurrency, "2", --without-mingle, --without-gossip]
    count: 2
    stop_timeout_s: 120       # warm shutdown: running tasks finish
    env: {{DJANGO_SETTINGS_MODULE: {package}.settings, DJANGO_MEDIA_ROOT: {media}}}
    pass_env: [DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL]
    check: {{command: [.venv/bin/python, -m, celery, -A, {package}, inspect, ping, -d, "{{name}}@slipway", -t, "5"], within_s: 90}}
  beat:
    command: [.venv/bin/python, -m, celery, -A, {package}, beat, -s, celerybeat-schedule]
    singleton: true           # never two schedulers
    stop_timeout_s: 30
    env: {{DJANGO_SETTINGS_MODULE: {package}.settings}}
    pass_env: [DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL]

strategy: {{type: rolling, batch_size: 1, max_surge: 1, max_unavailable: 0}}
on_failure: rollback

checks:                       # pre-flight, run in this checkout with its .venv
  - {{type: command, name: manage.py check --deploy, command: [.venv/bin/python, manage.py, check, --deploy, --fail-level, ERROR], owner: DevOps}}
  - {{type: django_settings, min_secret_key_length: 50}}    # SECRET_KEY, DEBUG false, ALLOWED_HOSTS; values never shown
  - {{type: env, variables: [DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL], secret: true}}
  - {{type: bandit, program: [.venv/bin/bandit], severity: high, confidence: medium}}
  - {{type: dependency_audit, advisories: security/advisories.json, severity: high}}   # local file: nothing is queried
  - {{type: coverage, report: coverage.json, min_percent: 80}}
  - {{type: redis, url_env: REDIS_URL}}
  - {{type: database}}
  - {{type: disk, path: /, min_free_percent: 20}}
  # the nightly backups (each deployment also takes its own): blocking once they run
  - {{type: backup, name: backup DB < 24h, max_age_s: 86400, blocking: false}}
  - {{type: backup, of: media, name: backup media < 24h, max_age_s: 86400, blocking: false}}

database:
  url_env: DATABASE_URL
  migrate:
    command: [.venv/bin/python, manage.py, migrate, --noinput]
    maintenance: false        # true: the maintenance page while a migration that blocks runs
    django:
      contract: []            # releases that are the contract step of an expand-contract pair
  restore_on_rollback: ask    # migrate back (reversible) or restore (behind a gate)

media:                        # uploads: tar + sha256 manifest, read back, before any change
  path: {media}

environments:
  production:
    router:
      type: haproxy
      listen: "127.0.0.1:8080"
      drain_timeout_s: 20
      # `slipway maintenance on|off`; testers pass with X-Slipway-Bypass: $SLIPWAY_BYPASS_TOKEN
      maintenance: {{retry_after_s: 120, bypass_token_env: SLIPWAY_BYPASS_TOKEN}}
    instances: {{count: 3, base_port: 8000}}
"""


def find_manage(directory: Path) -> Path:
    """``manage.py`` beside the spec (the checks run there); a usage error when there is none."""
    manage = directory / "manage.py"
    if manage.is_file():
        return manage
    below = sorted(directory.glob("*/manage.py"))
    raise UsageError(
        f"no manage.py in {directory}: not the root of a Django project",
        hint=f"run it in {below[0].parent}" if below else "run it where manage.py is",
    )


def settings_package(manage: Path) -> str:
    found = re.search(
        r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([A-Za-z_][\w]*)\.settings", manage.read_text()
    )
    if found is None:
        raise UsageError(
            f"{manage} names no DJANGO_SETTINGS_MODULE '<package>.settings'",
            hint="the preset reads it to find the WSGI module and the Celery app",
        )
    return found.group(1)


def render(app: str, spec_dir: Path) -> str:
    manage = find_manage(spec_dir)
    project = manage.parent.resolve()
    return TEMPLATE.format(
        app=app,
        python=sys.executable,
        project=project,
        package=settings_package(manage),
        media=spec_dir.resolve() / ".slipway" / "shared" / "media",
    )
