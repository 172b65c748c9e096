"""Template definitions: the JSON schema, the semantic checks, conditional
display, answer checks, PHQ scoring bands and the needs a screening finds."""

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from care_plans.assessments import definition as rules
from care_plans.models import NeedDomain

V1 = json.loads(
    (Path(rules.__file__).parent / "data" / "ecm_comprehensive_v1.json").read_text()
)
TODAY = date(2026, 6, 1)


def _small(**question):
    """A one-section definition around `question` (after a yes/no and a choice)."""
    return {
        "sections": [
            {
                "key": "s",
                "title": "S",
                "questions": [
                    {"key": "yn", "text": "Yes or no?", "type": "yes_no"},
                    {
                        "key": "pick",
                        "text": "Pick",
                        "type": "single_choice",
                        "choices": [
                            {"value": "a", "label": "A", "score": 0},
                            {"value": "b", "label": "B", "score": 2},
                        ],
                    },
                    {"key": "q", "text": "Q", "type": "text", **question},
                ],
            }
        ]
    }


def _problems(definition) -> str:
    with pytest.raises(rules.DefinitionError) as caught:
        rules.validate_definition(definition)
    return " | ".join(caught.value.problems)


def test_the_standard_template_is_valid_and_has_every_section():
    rules.validate_definition(V1)
    assert [section["key"] for section in V1["sections"]] == [
        "physical_health",
        "behavioral_health",
        "substance_use",
        "social_needs",
        "functional_status",
        "medications",
        "caregiver_supports",
        "goals_strengths",
    ]
    substance = next(s for s in V1["sections"] if s["key"] == "substance_use")
    assert all(question["part2"] for question in substance["questions"])
    assert rules.part2_score_keys(V1) == {"alcohol_use"}


def test_need_domains_are_the_care_plans():
    assert set(rules.NEED_DOMAINS) == set(NeedDomain.values)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("sections"), "'sections' is a required property"),
        (lambda d: d["sections"][0]["questions"][0].update(type="slider"),
         "'slider' is not one of"),
        (lambda d: d["sections"][0]["questions"][0].update(key="Bad Key"),
         "does not match"),
        (lambda d: d["sections"][0]["questions"][0].update(colour="red"),
         "Additional properties"),
    ],
)  # fmt: skip
def test_the_schema_refuses_a_malformed_definition(change, expected):
    definition = _small()
    change(definition)
    assert expected in _problems(definition)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ({"key": "yn"}, "question yn: the key is used twice"),
        ({"type": "single_choice"}, "a single_choice question needs choices"),
        ({"type": "single_choice", "choices": [{"value": "x", "label": "X"},
          {"value": "x", "label": "Y"}]}, "a choice value is used twice"),
        ({"choices": [{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}]},
         "only choice questions have choices"),
        ({"type": "number", "min": 5, "max": 1}, "min is above max"),
        ({"min": 1}, "min, max and integer are for numbers"),
        ({"show_if": {"question": "later", "equals": "x"}},
         "refers to later, which is not an earlier question"),
        ({"show_if": {"question": "pick", "equals": "zzz"}},
         "'zzz', not a choice of pick"),
        ({"show_if": {"question": "yn", "equals": "yes"}},
         "a yes/no answer is true or false"),
        ({"show_if": {"question": "pick", "gte": 1}}, "gte compares numbers only"),
        ({"show_if": {"score": "nope", "gte": 1}}, "score nope, which is not defined"),
        ({"type": "yes_no", "need": {"domain": "food", "description": "F",
          "when": ["yes"]}}, "need.when of a yes/no question is true or false"),
        ({"need": {"domain": "food", "description": "F", "when": ["x"]}},
         "only choice and yes/no questions suggest needs"),
        ({"type": "yes_no", "part2": True, "need": {"domain": "food",
          "description": "F", "when": [True]}},
         "a Part 2 question cannot suggest a need"),
    ],
)  # fmt: skip
def test_semantic_checks_name_the_problem(question, expected):
    assert expected in _problems(_small(**question))


def test_a_question_outside_part2_cannot_depend_on_a_part2_answer():
    definition = _small(show_if={"question": "yn", "equals": True})
    definition["sections"][0]["questions"][0]["part2"] = True
    assert "shown on a Part 2 answer" in _problems(definition)


def test_a_score_condition_must_look_back_and_bands_must_cover_the_range():
    definition = _small(show_if={"score": "total", "gte": 1})
    definition["scores"] = [
        {
            "key": "total",
            "label": "Total",
            "items": ["pick"],
            "bands": [{"min": 0, "max": 1, "key": "low", "label": "Low"}],
        }
    ]
    assert "the bands must reach the highest score, 2" in _problems(definition)
    definition["scores"][0]["bands"].append(
        {"min": 1, "max": 2, "key": "high", "label": "High"}
    )
    assert "without gaps or overlaps" in _problems(definition)
    definition["scores"][0]["bands"][1]["min"] = 2
    rules.validate_definition(definition)
    definition["scores"][0]["items"] = ["q"]
    assert "q must be a single choice question with a score" in _problems(definition)


# --- Conditional display ------------------------------------------------------------

PHQ9_REST = [f"phq_{n}" for n in range(3, 10)]


@pytest.mark.parametrize(
    ("phq_1", "phq_2", "phq9_shown"),
    [
        ("not_at_all", "not_at_all", False),
        ("several_days", "several_days", False),  # 2
        ("several_days", "more_than_half", True),  # 3
        ("nearly_every_day", None, True),  # 3 with one item answered
        ("not_at_all", "nearly_every_day", True),
    ],
)
def test_phq9_items_show_only_when_phq2_is_3_or_more(phq_1, phq_2, phq9_shown):
    answers = {"phq_1": phq_1}
    if phq_2:
        answers["phq_2"] = phq_2
    shown = rules.visible_keys(V1, answers)
    assert all((key in shown) == phq9_shown for key in PHQ9_REST)


def test_conditions_follow_yes_no_numbers_choices_and_cascade():
    shown = rules.visible_keys(V1, {})
    assert "ph_pcp_name" not in shown
    assert "med_trouble" not in shown
    shown = rules.visible_keys(
        V1,
        {
            "ph_has_pcp": True,
            "ph_conditions": ["diabetes", "other"],
            "ph_ed_visits": 2,
            "med_count": 3,
            "med_trouble": True,
        },
    )
    assert {"ph_pcp_name", "ph_conditions_other", "ph_ed_reason", "med_trouble",
            "med_trouble_reasons", "med_list"} <= set(shown)  # fmt: skip
    # med_count 0 hides med_trouble, and with it the question shown on its answer.
    shown = rules.visible_keys(V1, {"med_count": 0, "med_trouble": True})
    assert "med_trouble" not in shown
    assert "med_trouble_reasons" not in shown


# --- Answers ------------------------------------------------------------------------


def _question(key):
    return rules.question_map(V1)[key]


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("ph_overall", "great", "invalid_choice"),
        ("ph_overall", 3, "invalid_choice"),
        ("ph_conditions", "diabetes", "invalid_type"),
        ("ph_conditions", ["diabetes", "diabetes"], "duplicate_choice"),
        ("ph_conditions", ["diabetes", "none"], "exclusive_choice"),
        ("ph_conditions", ["flu"], "invalid_choice"),
        ("ph_has_pcp", "yes", "invalid_type"),
        ("ph_ed_visits", "2", "invalid_type"),
        ("ph_ed_visits", True, "invalid_type"),
        ("ph_ed_visits", 1.5, "invalid_type"),
        ("ph_ed_visits", -1, "min_value"),
        ("ph_ed_visits", 101, "max_value"),
        ("ph_last_checkup", "2026-13-01", "invalid_date"),
        ("ph_last_checkup", "2026-07-01", "future_date"),
        ("ph_last_checkup", 20260101, "invalid_type"),
        ("ph_pcp_name", "x" * 201, "max_length"),
        ("ph_pcp_name", "   ", "blank"),
    ],
)
def test_an_answer_that_does_not_fit_is_refused_with_its_code(key, value, code):
    with pytest.raises(rules.AnswerError) as caught:
        rules.clean_answer(_question(key), value, today=TODAY)
    assert caught.value.code == code


def test_answers_are_stored_in_a_canonical_form():
    assert rules.clean_answer(
        _question("ph_conditions"), ["lung", "diabetes"], today=TODAY
    ) == ["diabetes", "lung"]
    assert rules.clean_answer(_question("ph_ed_visits"), 2.0, today=TODAY) == 2
    assert rules.clean_answer(_question("ph_pcp_name"), " Dr. A ", today=TODAY) == (
        "Dr. A"
    )


# --- Scores -------------------------------------------------------------------------

PHQ_VALUES = ["not_at_all", "several_days", "more_than_half", "nearly_every_day"]


def _phq(total: int) -> dict:
    """Nine PHQ answers adding up to `total` (0-27)."""
    answers = {}
    for n in range(1, 10):
        item = min(3, total)
        answers[f"phq_{n}"] = PHQ_VALUES[item]
        total -= item
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "none_minimal"), (4, "none_minimal"), (5, "mild"), (9, "mild"),
     (10, "moderate"), (14, "moderate"), (15, "moderately_severe"),
     (19, "moderately_severe"), (20, "severe"), (27, "severe")],
)  # fmt: skip
def test_phq9_severity_bands(total, band):
    scores = rules.compute_scores(V1, _phq(total))
    assert scores["phq9"]["value"] == total
    assert scores["phq9"]["band"] == band
    assert scores["phq9"]["max"] == 27


@pytest.mark.parametrize(
    ("phq_1", "phq_2", "value", "positive"),
    [(0, 0, 0, False), (1, 1, 2, False), (2, 1, 3, True), (3, 3, 6, True)],
)
def test_phq2_is_positive_at_3(phq_1, phq_2, value, positive):
    scores = rules.compute_scores(
        V1, {"phq_1": PHQ_VALUES[phq_1], "phq_2": PHQ_VALUES[phq_2]}
    )
    assert scores["phq2"]["value"] == value
    assert scores["phq2"]["positive"] is positive
    assert "phq9" not in scores  # its other items were not answered


def test_safety_is_scored_1_to_5_per_item_and_positive_above_10():
    answers = {
        "hrsn_safety_hurt": "never",
        "hrsn_safety_insult": "sometimes",
        "hrsn_safety_threaten": "rarely",
        "hrsn_safety_scream": "fairly_often",
    }
    scores = rules.compute_scores(V1, answers)
    assert scores["hrsn_safety"]["value"] == 10
    assert scores["hrsn_safety"]["positive"] is False
    answers["hrsn_safety_hurt"] = "rarely"
    assert rules.compute_scores(V1, answers)["hrsn_safety"]["positive"] is True


# --- Needs --------------------------------------------------------------------------


def test_social_needs_found_by_the_hrsn_screening():
    answers = {
        "hrsn_living_situation": "worried",
        "hrsn_housing_problems": ["mold", "leaks"],
        "hrsn_food_worry": "sometimes_true",
        "hrsn_food_ran_out": "never_true",
        "hrsn_transportation": True,
        "hrsn_utilities": "already_off",
        "hrsn_safety_hurt": "sometimes",
        "hrsn_safety_insult": "sometimes",
        "hrsn_safety_threaten": "sometimes",
        "hrsn_safety_scream": "sometimes",
        "su_in_treatment": True,  # Part 2: never a need
    }
    needs = rules.needs_found(V1, answers, rules.compute_scores(V1, answers))
    assert [(need["domain"], need["question"]) for need in needs] == [
        ("housing", "hrsn_living_situation"),
        ("housing", "hrsn_housing_problems"),
        ("food", "hrsn_food_worry"),
        ("transportation", "hrsn_transportation"),
        ("utilities", "hrsn_utilities"),
        ("safety", "hrsn_safety"),
    ]


def test_no_needs_from_a_clear_screening():
    answers = {
        "hrsn_living_situation": "steady",
        "hrsn_housing_problems": ["none"],
        "hrsn_transportation": False,
    }
    assert rules.needs_found(V1, answers, {}) == []


def test_validation_does_not_change_the_definition():
    before = copy.deepcopy(V1)
    rules.validate_definition(V1)
    assert before == V1
