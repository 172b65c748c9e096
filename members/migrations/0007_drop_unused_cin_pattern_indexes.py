"""Drop the `varchar_pattern_ops` indexes Django adds beside each unique CIN.

They serve only LIKE 'prefix%' on the CIN, which nothing does: CINs are looked
up whole (`cin = ...`, `cin IN (...)`), which the unique indexes serve. Each
cost the 834 import an index entry per member it adds (members and CIN history).
Django does not track these indexes in its model state; were a later migration
to alter the field, it drops them with IF EXISTS and may create them again.
"""

from django.db import migrations

INDEXES = {
    "members_member_cin_a2c1ee87_like": "members_member",
    "members_membercin_cin_a34e863f_like": "members_membercin",
}


class Migration(migrations.Migration):
    dependencies = [("members", "0006_consents")]
    operations = [
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {name};",
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} (cin varchar_pattern_ops);",
        )
        for name, table in INDEXES.items()
    ]
