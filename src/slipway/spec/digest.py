"""The digest of an environment's effective spec: "this deployment ran with this runbook".

``slipway runbook --check`` asks for a successful deployment *with the current
spec*; comparing digests recorded on deployments with today's answers it. The
digest covers everything that shapes a deployment (release source, process,
health, strategy, router, instances, checks, window, database, notifications,
contacts) but not where the file lies (``root``, ``state_dir``), so a checkout
elsewhere keeps its history.
"""

from __future__ import annotations

import hashlib

from slipway.spec.environment import Environment


def spec_digest(env: Environment) -> str:
    """``sha256:`` and 16 hex digits of the environment's effective spec, stable across runs."""
    text = env.model_dump_json(exclude={"root", "state_dir"})
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
