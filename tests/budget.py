"""The budget of the property-based (hypothesis) tests.

Bounded so that all of them add well under a minute to ``make test``: each test names
its number of examples. No deadline: the suite runs on several workers of a small machine,
where one example taking 3 s instead of 80 ms says nothing about the code under test. To search
deeper on demand, ``SLIPWAY_PROPERTY_SCALE=50 pytest tests/…`` runs fifty times more.
No example database is kept: a failure prints the example to paste into ``@example``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("SLIPWAY_PROPERTY_SCALE", "1"))


def bounded(max_examples: int) -> settings:
    return settings(
        max_examples=max(1, int(max_examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
