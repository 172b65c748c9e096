"""Django admin: each plan's transition settings (the clinical rows are PHI and
are read through the pages, behind the access rules, not here)."""

from django.contrib import admin

from care_plans.transitions.models import TransitionSettings


@admin.register(TransitionSettings)
class TransitionSettingsAdmin(admin.ModelAdmin):
    """What counts as high-risk or unplanned, the follow-up clocks and the
    avoidable-utilization thresholds, per plan (defaults in each field's help)."""

    list_display = [
        "plan",
        "high_risk_min_length_of_stay_days",
        "follow_up_days",
        "high_risk_follow_up_business_days",
        "updated_at",
    ]
    autocomplete_fields = ["plan"]
    fieldsets = [
        (None, {"fields": ["plan"]}),
        (
            "High-risk and unplanned",
            {
                "fields": [
                    "high_risk_diagnoses",
                    "high_risk_min_length_of_stay_days",
                    "unplanned_admission_types",
                ]
            },
        ),
        (
            "Follow-up",
            {"fields": ["follow_up_days", "high_risk_follow_up_business_days"]},
        ),
        (
            "Avoidable Hospital or ED Utilization thresholds",
            {
                "fields": [
                    ("adult_ed_visits", "adult_ed_months"),
                    ("adult_unplanned_stays", "adult_unplanned_months"),
                    ("child_ed_visits", "child_ed_months"),
                    ("child_unplanned_stays", "child_unplanned_months"),
                ]
            },
        ),
    ]
