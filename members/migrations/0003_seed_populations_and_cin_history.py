"""Seed the ECM populations of focus (DOMAIN.md §1a) and every member's current CIN."""

from datetime import date

from django.db import migrations

# code, name, age group, statewide go-live (the earliest; counties vary)
POPULATIONS = [
    (
        "adult_homeless_individual",
        "Adult – Individuals Experiencing Homelessness",
        "adult",
        date(2022, 1, 1),
    ),
    (
        "adult_homeless_family",
        "Adult – Families Experiencing Homelessness",
        "adult",
        date(2022, 1, 1),
    ),
    (
        "adult_avoidable_utilization",
        "Adult – Avoidable Hospital or ED Utilization",
        "adult",
        date(2022, 1, 1),
    ),
    (
        "adult_smh_sud",
        "Adult – Serious Mental Health and/or SUD Needs",
        "adult",
        date(2022, 1, 1),
    ),
    (
        "adult_incarceration",
        "Adult – Transitioning from Incarceration",
        "adult",
        date(2024, 1, 1),
    ),
    (
        "adult_ltc_risk",
        "Adult – At Risk for LTC Institutionalization",
        "adult",
        date(2023, 1, 1),
    ),
    (
        "adult_nf_transition",
        "Adult – Nursing Facility Residents Transitioning to the Community",
        "adult",
        date(2023, 1, 1),
    ),
    ("adult_birth_equity", "Adult – Birth Equity", "adult", date(2024, 1, 1)),
    (
        "child_homeless_individual",
        "Child – Individuals Experiencing Homelessness",
        "child",
        date(2023, 7, 1),
    ),
    (
        "child_homeless_family",
        "Child – Families Experiencing Homelessness",
        "child",
        date(2023, 7, 1),
    ),
    (
        "child_avoidable_utilization",
        "Child – Avoidable Hospital or ED Utilization",
        "child",
        date(2023, 7, 1),
    ),
    (
        "child_smh_sud",
        "Child – Serious Mental Health and/or SUD Needs",
        "child",
        date(2023, 7, 1),
    ),
    (
        "child_incarceration",
        "Child – Transitioning from Incarceration",
        "child",
        date(2024, 1, 1),
    ),
    ("child_birth_equity", "Child – Birth Equity", "child", date(2024, 1, 1)),
    (
        "child_ccs_wcm",
        "Child – Enrolled in CCS / CCS WCM with Additional Needs",
        "child",
        date(2023, 7, 1),
    ),
    ("child_welfare", "Child – Involved in Child Welfare", "child", date(2023, 7, 1)),
]


def seed(apps, schema_editor):
    PopulationOfFocus = apps.get_model("members", "PopulationOfFocus")
    for order, (code, name, age_group, go_live) in enumerate(POPULATIONS):
        PopulationOfFocus.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "age_group": age_group,
                "go_live_date": go_live,
                "sort_order": order,
            },
        )
    Member = apps.get_model("members", "Member")
    MemberCin = apps.get_model("members", "MemberCin")
    known = set(MemberCin.objects.values_list("cin", flat=True))
    MemberCin.objects.bulk_create(
        MemberCin(cin=cin, member_id=pk, is_current=True, source="migration")
        for pk, cin in Member.objects.values_list("pk", "cin")
        if cin not in known
    )


class Migration(migrations.Migration):
    dependencies = [("members", "0002_member_record_cin_history_spans_populations_834")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
