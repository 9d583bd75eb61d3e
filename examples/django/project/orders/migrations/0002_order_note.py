"""Additive: a nullable column, reversible (migrating back drops it).

A release with ``slow_migration_s`` holds the table's lock that long after adding the column
(the migration is one transaction): a blocking migration, for the maintenance page."""

import time

from django.db import migrations, models


def hold(apps, schema_editor):  # type: ignore[no-untyped-def]
    from shop.release import RELEASE

    time.sleep(float(RELEASE.get("slow_migration_s", 0)))


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [
        migrations.AddField("order", "note", models.TextField(blank=True, null=True)),
        migrations.RunPython(hold, migrations.RunPython.noop),
    ]
