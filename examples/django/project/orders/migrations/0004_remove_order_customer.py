"""Contract: the old column goes (DROP COLUMN). Destructive: a release carrying it must be
marked as the contract step of its expand-contract pair."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_order_customer_email")]
    operations = [migrations.RemoveField("order", "customer")]
