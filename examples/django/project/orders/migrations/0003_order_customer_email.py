"""Expand: a nullable ``customer_email``, backfilled from ``customer``; the old column stays
until the contract step (0004), so the previous release keeps working meanwhile."""

from django.db import migrations, models


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Order = apps.get_model("orders", "Order")
    for order in Order.objects.filter(customer_email__isnull=True).iterator():
        order.customer_email = f"{order.customer}@example.com"
        order.save(update_fields=["customer_email"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_order_note")]
    operations = [
        migrations.AddField("order", "customer_email", models.EmailField(blank=True, null=True)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
