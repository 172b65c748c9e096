"""County codes checked by a CHECK constraint instead of a foreign key (see
members.models.COUNTY_CODES); the snapshot no longer names its file (nothing read
it: the spans and the field changes record their file)."""

import django.db.models.deletion
from django.db import migrations, models

# The 58 DHCS county codes, as members.models.COUNTY_CODES had them.
COUNTY_CODES = [f"{number:02d}" for number in range(1, 59)]


def county_code_check(name):
    return models.CheckConstraint(
        condition=models.Q(("county__isnull", True), ("county__in", COUNTY_CODES),
                           _connector="OR"),
        name=name,
    )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_seed_california_counties"),
        ("members", "0008_one_trigram_index_for_both_names"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="memberplansnapshot",
            name="source_file",
        ),
        migrations.AlterField(
            model_name="enrollment",
            name="county",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.county",
            ),
        ),
        migrations.AlterField(
            model_name="member",
            name="county",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.county",
            ),
        ),
        migrations.AddConstraint(
            model_name="enrollment",
            constraint=county_code_check("enrollment_county_is_a_dhcs_code"),
        ),
        migrations.AddConstraint(
            model_name="member",
            constraint=county_code_check("member_county_is_a_dhcs_code"),
        ),
    ]
