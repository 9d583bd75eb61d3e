"""``manage.py task_smoke --queue NAME``: send ``recount`` to one worker's own queue and wait
for its answer — a worker's check that proves it does its work, not only that it runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run one recount task on the given queue; exit 1 if it fails or times out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", required=True)
        parser.add_argument("--timeout", type=float, default=20.0)

    def handle(self, *args: Any, **options: Any) -> None:
        from orders.tasks import recount

        result = recount.apply_async(queue=options["queue"])
        try:
            value = result.get(timeout=options["timeout"], propagate=True)
        except Exception as exc:
            raise CommandError(f"recount on {options['queue']} failed: {exc}") from exc
        self.stdout.write(f"recount on {options['queue']}: {value}")
