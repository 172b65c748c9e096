"""Demo assessments: one completed, one draft, for Harbor's care manager.

Member 90000011D gets a completed comprehensive assessment whose social needs
(no steady place to live, food that runs out) are the ones the demo care plan
addresses, with a positive PHQ-2 leading to the PHQ-9, and substance-use answers
(42 CFR Part 2: the plan's staff see them withheld). Member 90000005D gets a
draft with the first sections answered, to resume. Written through the services;
a member who already has an assessment is left alone, so it runs twice safely.
"""

from care_plans.assessments.models import Assessment
from care_plans.assessments.services import (
    assessment_complete,
    assessment_save_draft,
    assessment_start,
)
from members.services import member_by_cin

COMPLETED_CIN = "90000011D"
DRAFT_CIN = "90000005D"

COMPLETED_ANSWERS = {
    "ph_overall": "fair",
    "ph_conditions": ["diabetes", "hypertension"],
    "ph_has_pcp": True,
    "ph_pcp_name": "Example Family Clinic",
    "ph_ed_visits": 3,
    "ph_ed_reason": "High blood sugar; no refrigerator for insulin.",
    "ph_hospital_stays": 2,
    "phq_1": "more_than_half",
    "phq_2": "several_days",
    "phq_3": "several_days",
    "phq_4": "more_than_half",
    "phq_5": "several_days",
    "phq_6": "not_at_all",
    "phq_7": "several_days",
    "phq_8": "not_at_all",
    "phq_9": "not_at_all",
    "bh_in_care": False,
    "su_alcohol_frequency": "monthly",
    "su_alcohol_typical": "one_two",
    "su_alcohol_six_plus": "never",
    "su_drug_use_days": 0,
    "su_in_treatment": False,
    "hrsn_living_situation": "no_steady",
    "hrsn_housing_problems": ["none"],
    "hrsn_food_worry": "often_true",
    "hrsn_food_ran_out": "often_true",
    "hrsn_transportation": True,
    "hrsn_utilities": "no",
    "hrsn_safety_hurt": "never",
    "hrsn_safety_insult": "rarely",
    "hrsn_safety_threaten": "never",
    "hrsn_safety_scream": "rarely",
    "fs_adl_help": ["none"],
    "fs_iadl_help": ["cooking", "getting_around"],
    "fs_falls": False,
    "fs_mobility_aid": "none",
    "med_count": 4,
    "med_trouble": True,
    "med_trouble_reasons": ["cost", "forgetting"],
    "med_list": "Metformin 500 mg twice a day; insulin glargine 20 units at night;"
    " lisinopril 10 mg daily; atorvastatin 20 mg daily.",
    "cg_has_caregiver": False,
    "cg_lonely": "sometimes",
    "goal_what_matters": "A place of my own, and keeping my sugar under control.",
    "goal_strengths": ["family", "motivation"],
    "goal_confidence": 7,
}
DRAFT_ANSWERS = {
    "ph_overall": "good",
    "ph_conditions": ["lung"],
    "ph_has_pcp": True,
    "ph_pcp_name": "Harbor Community Clinic",
    "ph_ed_visits": 0,
    "phq_1": "not_at_all",
    "phq_2": "several_days",
}


def seed(stdout, organizations, users):
    """Add the demo assessments (idempotent)."""
    care_manager = users["care.manager@harbor.example"]
    for cin, answers, complete in (
        (COMPLETED_CIN, COMPLETED_ANSWERS, True),
        (DRAFT_CIN, DRAFT_ANSWERS, False),
    ):
        member = member_by_cin(cin)
        if member is None or Assessment.objects.filter(member=member).exists():
            continue
        assessment = assessment_start(member=member, actor=care_manager)
        if complete:
            assessment_complete(
                assessment=assessment, answers=answers, actor=care_manager
            )
        else:
            assessment_save_draft(
                assessment=assessment, answers=answers, actor=care_manager
            )
