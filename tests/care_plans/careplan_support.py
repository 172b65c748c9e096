"""Shared set-ups for the care plan tests."""

# A complete ECM assessment (template v1) that finds food and transportation
# needs (completed through the assessments service: its pages are walked by its
# own tests).
ANSWERS = {
    "ph_overall": "fair",
    "ph_has_pcp": False,
    "ph_ed_visits": 1,
    "phq_1": "not_at_all",
    "phq_2": "several_days",
    "bh_in_care": False,
    "su_alcohol_frequency": "never",
    "su_drug_use_days": 0,
    "hrsn_living_situation": "steady",
    "hrsn_housing_problems": ["none"],
    "hrsn_food_worry": "often_true",
    "hrsn_food_ran_out": "often_true",
    "hrsn_transportation": True,
    "hrsn_utilities": "no",
    "hrsn_safety_hurt": "never",
    "hrsn_safety_insult": "never",
    "hrsn_safety_threaten": "never",
    "hrsn_safety_scream": "never",
    "fs_adl_help": ["none"],
    "fs_iadl_help": ["none"],
    "fs_falls": False,
    "med_count": 2,
    "med_trouble": False,
    "cg_has_caregiver": False,
    "cg_lonely": "rarely",
    "goal_what_matters": "Cook for my kids again.",
}
