"""Shared set-ups for the assessment tests."""

from care_plans.assessments import services

# Every required question of the ECM template v1, answered so that nothing
# conditional is shown: the smallest complete assessment.
MINIMAL_ANSWERS = {
    "ph_overall": "good",
    "ph_has_pcp": False,
    "ph_ed_visits": 0,
    "phq_1": "not_at_all",
    "phq_2": "several_days",
    "bh_in_care": False,
    "su_alcohol_frequency": "never",
    "su_drug_use_days": 0,
    "hrsn_living_situation": "steady",
    "hrsn_housing_problems": ["none"],
    "hrsn_food_worry": "never_true",
    "hrsn_food_ran_out": "never_true",
    "hrsn_transportation": False,
    "hrsn_utilities": "no",
    "hrsn_safety_hurt": "never",
    "hrsn_safety_insult": "never",
    "hrsn_safety_threaten": "never",
    "hrsn_safety_scream": "never",
    "fs_adl_help": ["none"],
    "fs_iadl_help": ["none"],
    "fs_falls": False,
    "med_count": 0,
    "cg_has_caregiver": False,
    "cg_lonely": "rarely",
    "goal_what_matters": "Keep my apartment and see my grandchildren.",
}


def start(cast, actor=None):
    """A draft assessment of the cast's member, started by its lead care manager."""
    return services.assessment_start(
        member=cast.member, actor=actor or cast.lead_care_manager
    )


def completed(cast, answers=None, actor=None):
    """A completed assessment of the cast's member (MINIMAL_ANSWERS and `answers`)."""
    assessment = start(cast, actor)
    return services.assessment_complete(
        assessment=assessment,
        answers={**MINIMAL_ANSWERS, **(answers or {})},
        actor=actor or cast.lead_care_manager,
    )


def part2_consent(cast, organization):
    """An active 42 CFR Part 2 consent of the cast's member naming `organization`."""
    from datetime import timedelta

    from django.utils import timezone

    from members.services import consent_record

    today = timezone.localdate()
    return consent_record(
        member=cast.member,
        kind="part2",
        start_date=today - timedelta(days=1),
        end_date=today + timedelta(days=365),
        scope_categories=["substance_use"],
        recipient_organizations=[organization],
        purpose="Care coordination",
        verbal_attestation=True,
        actor=cast.lead_care_manager,
    )
