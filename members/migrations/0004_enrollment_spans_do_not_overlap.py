"""Spans of one member with one plan never overlap (btree_gist exclusion constraint)."""

from django.db import migrations

FORWARD = """
ALTER TABLE members_enrollment
    ADD CONSTRAINT enrollment_spans_do_not_overlap
    EXCLUDE USING gist (
        member_id WITH =,
        plan_id WITH =,
        daterange(start_date, end_date, '[]') WITH &&
    );
"""
BACKWARD = (
    "ALTER TABLE members_enrollment DROP CONSTRAINT enrollment_spans_do_not_overlap;"
)


class Migration(migrations.Migration):
    dependencies = [("members", "0003_seed_populations_and_cin_history")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
