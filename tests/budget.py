"""The budget of the property-based (hypothesis) tests.

Bounded so that all of them add well under a minute to ``make test``: each test names
its number of examples, and a deadline stops one slow example from hiding. To search
deeper on demand, ``SLIPWAY_PROPERTY_SCALE=50 pytest tests/…`` runs fifty times more.
No example database is kept: a failure prints the example to paste into ``@example``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("SLIPWAY_PROPERTY_SCALE", "1"))


def bounded(max_examples: int, *, deadline_ms: int = 2000) -> settings:
    return settings(
        max_examples=max(1, int(max_examples * SCALE)),
        deadline=deadline_ms,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
