"""A migration that fails: the column already exists (the catalogue's ``bad-migration``)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "ALTER TABLE orders_order ADD COLUMN total numeric",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
