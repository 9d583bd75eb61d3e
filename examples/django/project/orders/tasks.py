"""Celery tasks. ``recount`` is what a worker's check sends; a release with ``task_crashes``
raises in it — its workers start and answer pings, but fail at their work."""

from __future__ import annotations

from celery import shared_task
from shop.release import RELEASE


@shared_task
def tick() -> str:
    return "tick"


@shared_task
def recount() -> int:
    if RELEASE.get("task_crashes"):
        raise RuntimeError("this release's recount task crashes")
    from orders.models import Order

    return Order.objects.count()
