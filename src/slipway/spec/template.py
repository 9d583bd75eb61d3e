"""The commented ``slipway.yaml`` that ``slipway init`` writes: a spec to start from.

Its runbook sections carry the seeds' defaults: disk at least 20 % free,
certificates valid for more than 30 days, a backup younger than one hour and
verified, no deploys on Friday afternoon nor at the weekend, freezes around
Black Friday and Christmas, a rollback measured under 5 minutes.
"""

from datetime import UTC, datetime

TEMPLATE = """\
# slipway.yaml: how this app goes to production. `slipway validate` checks it,
# `slipway plan --version V` shows what a deploy would do, `slipway deploy` does it.
version: 1
app: {app}                    # lowercase letters, digits and '-'
state_dir: .slipway           # store, releases and run files, beside this file

release:
  # Either a directory or a .tar.gz per version ({{version}} is replaced) ...
  path: releases/{{version}}
  # ... or a build command writing into {{output}} (run without a shell):
  # build: ./build.sh {{version}} {{output}}
  keep: 5                     # unpacked releases kept on disk

process:
  command: [python3, -m, http.server, "{{port}}"]   # argv, run in releases/<version>/
  env:                        # PORT, SLIPWAY_VERSION and SLIPWAY_SLOT are always set
    APP_ENV: production
  stop_timeout_s: 10          # SIGTERM first; SIGKILL after this many seconds

health:
  check: {{type: http, path: /, expect_status: 200, timeout_s: 2}}
  # check: {{type: tcp}}
  # check: {{type: command, command: [./healthcheck, "{{port}}"]}}
  interval_s: 1
  timeout_s: 30               # an instance not healthy by then fails the deployment
  healthy_threshold: 2        # consecutive passes to be healthy
  unhealthy_threshold: 3      # consecutive failures to fail

strategy:
  type: rolling
  batch_size: 1               # instances replaced per round (or "25%")
  max_surge: 1                # extra instances allowed during the update (Kubernetes' meaning)
  max_unavailable: 0          # instances allowed below `count` during the update

on_failure: rollback          # or: stop (leave it for a person)
on_interrupt: resume          # what `slipway resume` does after a runner died: resume | rollback

# ---- the runbook: `slipway check`, `slipway runbook`, `slipway drill` ------------------
# The sections below are the base of every environment; an environment may override
# each of them (checks are merged by name). Secrets are never written here: only the
# names of the environment variables that hold them.
checks:                       # pre-flight; `slipway deploy` runs them first (No-Go: exit 4)
  - {{type: command, name: tests pass, command: [make, test], timeout_s: 900, owner: DevOps}}
  - {{type: disk, path: /, min_free_percent: 20}}        # on every target
  - {{type: env, variables: [APP_SECRET_KEY], secret: true, owner: DevOps}}   # values masked (***)
  - {{type: manual, name: code review approved by 2 developers, owner: Tech Lead, when: D-1}}
  - {{type: manual, name: release notes ready, owner: Project manager, when: D-1}}
  # - {{type: http, url: "https://status.example.com/api/health", expect_status: 200}}

database:                     # PostgreSQL: pg_dump -Fc before migrations, verified
  url_env: DATABASE_URL       # the variable holding postgresql://user:password@host/db
  migrate:
    command: [python3, manage.py, migrate]   # run in the new release's directory
  rehearse: true              # try the migration on a restored copy first: failure = No-Go
  restore_on_rollback: ask    # restoring loses data written since the backup: a person decides

notifications: []             # e.g. Slack: the URL stays in the environment variable
  # - {{type: slack, url_env: SLACK_WEBHOOK_URL, events: [started, succeeded, rolled_back, failed]}}
  # - {{type: webhook, url_env: DEPLOY_WEBHOOK_URL}}

contacts:                     # escalation levels; `slipway runbook --check` wants each complete
  - level: 1
    title: Technical team
    contacts:
      - {{role: DevOps lead, name: CHANGE ME, phone: "+33 6 00 00 00 00", hours: "9h-19h"}}
      - {{role: Lead developer, name: CHANGE ME, handle: "@lead", hours: "9h-19h"}}
  - level: 2
    title: Management
    contacts:
      - {{role: CTO, name: CHANGE ME, phone: "+33 6 00 00 00 00", hours: emergencies only}}

runbook:
  owner: Platform team
  rollback_max_s: 300         # a rollback must be measured (history or `slipway drill`) under 5 min

environments:
  staging:                    # inherits everything above
    router:
      type: haproxy
      listen: 127.0.0.1:8081
    instances:
      count: 2
      base_port: 9201
  production:                 # the base, plus a deploy window and stricter checks
    router:
      type: haproxy
      listen: 127.0.0.1:8080  # where users connect
      drain_timeout_s: 30     # longest wait for in-flight requests before stopping an instance
    instances:
      count: 3
      base_port: 9101         # ports 9101-9106: two slots per instance (old and new release)
    strategy:                 # production goes out as a canary, judged from its metrics
      type: canary
      steps:
        # - set_header_route: {{name: x-canary, value: "true"}}   # testers first, by header
        - set_weight: 10      # percent of requests to the new release (HAProxy weights)
        - pause: {{duration_s: 300}}
        - set_weight: 50
        - pause: {{duration_s: 300}}
        # - pause: {{}}         # no duration: wait for `slipway promote` (or `slipway abort`)
      analysis:               # runs during every pause; an abort rolls back, traffic first
        interval_s: 30
        judge: threshold      # or statistical (Fisher + Mann-Whitney, `confidence: 0.99`)
        min_requests: 20      # fewer canary requests in a run: inconclusive, never a pass
        failure_limit: 0
        inconclusive_limit: 3 # then a person decides: `slipway promote` or `slipway abort`
        metrics:              # the seeds' rollback rules
          - {{name: error_rate, fail_if: "> 0.01"}}                    # critical: > 1 % errors
          - {{name: p95_latency_ms, fail_if: "> 2 * baseline", min_delta: 5}}  # > 2x the stable
          # - name: queue_errors       # anything Prometheus knows, per version
          #   provider: prometheus
          #   query: 'sum(rate(jobs_failed_total{{version="{{{{version}}}}"}}[5m]))'
          #   fail_if: "> 0"
        # prometheus: {{url: "http://127.0.0.1:9090"}}
      post_promotion:         # after all traffic is on the new release ("24 h after": on-call)
        duration_s: 1800      # the deployment ends when this watch does; a failure rolls back
        baseline_s: 60        # the previous release measured this long before anything moves
        analysis:             # compared with that pre-deploy baseline: the seeds' triggers
          interval_s: 60
          metrics:
            - {{name: error_rate, fail_if: "> 0.05", for_s: 300}}     # > 5 % for 5 minutes
            - {{name: p95_latency_ms, fail_if: "> 2 * baseline", baseline_floor: 10, for_s: 600}}
    # strategy:               # or blue-green: the whole new set beside the old, then one switch
    #   type: blue-green
    #   smoke: [{{path: /health}}]
    #   auto_promote: true    # false: wait for `slipway promote` before the switch
    #   scale_down_delay_s: 300   # `slipway rollback` meanwhile is a switch back (< 1 s)
    #   post_promotion: {{duration_s: 1800}}   # the old set runs while the watch lasts
    go_no_go:                 # a person decides before production changes (after backup and
      approvers: []           # rehearsal): `slipway approve` = Go, `slipway reject` = No-Go;
      timeout_s: 3600         # names here restrict who may; no answer within the hour: No-Go
    window:                   # no Friday afternoon, no weekend, freezes around the holidays
      timezone: Europe/Paris
      allow:
        - {{days: [tue, wed, thu], hours: "10:00-16:00", risk: low}}
        - {{days: [mon], hours: "14:00-16:00", risk: medium}}
        - {{days: [fri], hours: "09:00-14:00", risk: high}}
      freezes:
        - {{name: Black Friday, start: {year}-11-26, end: {year}-11-30}}
        - {{name: Christmas, start: {year}-12-20, end: {next_year}-01-03}}
    checks:                   # added to the base's checks
      - {{type: tls, host: 127.0.0.1, port: 443, server_name: www.example.com, min_days: 30}}
      - {{type: database, owner: DevOps}}
      - {{type: backup, max_age_s: 3600, require_verified: true}}   # younger than 1 hour
      - {{type: staged, environment: staging, owner: QA}}   # the same version passed staging
"""


def render(app: str, *, year: int | None = None) -> str:
    year = year or datetime.now(UTC).year
    return TEMPLATE.format(app=app, year=year, next_year=year + 1)
