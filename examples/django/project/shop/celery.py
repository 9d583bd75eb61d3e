"""The Celery app. Every process of a role logs when it starts and stops (to ``SHOP_ROLE_LOG``,
when set), so a test can tell how many schedulers ran at each instant."""

from __future__ import annotations

import atexit
import os
import time

from celery import Celery
from celery.signals import beat_init, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "tick": {"task": "orders.tasks.tick", "schedule": 1.0},
}


def role_log(event: str) -> None:
    path = os.environ.get("SHOP_ROLE_LOG")
    if not path:
        return
    from shop.release import VERSION

    name = os.environ.get("SLIPWAY_PROCESS", "?")
    with open(path, "a") as fh:
        fh.write(f"{time.monotonic_ns()} {event} {name} {VERSION} {os.getpid()}\n")


@beat_init.connect
def _beat_started(**_: object) -> None:
    role_log("start")
    atexit.register(role_log, "stop")


@worker_ready.connect
def _worker_ready(**_: object) -> None:
    role_log("start")


@worker_shutdown.connect
def _worker_stopped(**_: object) -> None:
    role_log("stop")
