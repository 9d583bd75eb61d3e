"""The commented ``slipway.yaml`` that ``slipway init`` writes: a spec to start from."""

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

environments:
  production:
    router:
      type: haproxy
      listen: 127.0.0.1:8080  # where users connect
      drain_timeout_s: 30     # longest wait for in-flight requests before stopping an instance
    instances:
      count: 3
      base_port: 9101         # ports 9101-9106: two slots per instance (old and new release)
"""


def render(app: str) -> str:
    return TEMPLATE.format(app=app)
