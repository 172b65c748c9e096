"""A care manager assesses a member in the browser: starts from the chart, sees
conditional questions appear and disappear (PHQ-2 -> PHQ-9, a yes that asks for
a name), saves a draft, resumes it, completes it, and reads the result. Saves a
screenshot of each step under the test's tmp dir."""

import re

import pytest
from playwright.sync_api import expect

from care_plans.assessments import definition as rules
from care_plans.assessments.models import Assessment
from care_plans.assessments.services import current_template
from tests.assessments.support import MINIMAL_ANSWERS
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/")


def _open_section(page, key):
    button = page.locator(f'[data-section="{key}"] .accordion-button')
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    expect(page.locator(f"#section-{key}")).to_be_visible()


def _answer(page, question, value):
    """Answer one question through its controls, as a person would."""
    box = page.locator(f"#question-{question.key}")
    expect(box).to_be_visible()
    if question.type == "yes_no":
        box.locator(f'label[for="q-{question.key}-{"yes" if value else "no"}"]').click()
    elif question.type in ("single_choice", "multi_choice"):
        for item in value if isinstance(value, list) else [value]:
            box.locator(f'label[for="q-{question.key}-{item}"]').click()
    else:
        box.locator(f'[name="q-{question.key}"]').fill(str(value))
        box.locator(f'[name="q-{question.key}"]').blur()


def test_a_care_manager_fills_an_assessment(page, live_server, cast, tmp_path):
    def shot(name):
        page.screenshot(path=str(tmp_path / f"assessment-{name}.png"), full_page=True)

    definition = current_template().definition
    questions = rules.question_map(definition)
    _sign_in(page, live_server, cast.lead_care_manager)
    page.goto(f"{live_server.url}/members/{cast.member.uuid}/")
    panel = page.locator('[data-panel="assessment"]')
    expect(panel).to_contain_text("No assessment yet.")
    shot("01-chart")
    panel.get_by_role("button", name="Start assessment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Comprehensive assessment"
    )
    # A yes brings the follow-up question in (htmx), a no takes it away.
    _answer(page, questions["ph_has_pcp"], True)
    expect(page.get_by_label("Who is your regular doctor or clinic?")).to_be_visible()
    page.get_by_label("Who is your regular doctor or clinic?").fill("Harbor Clinic")
    _answer(page, questions["ph_overall"], "fair")
    _answer(page, questions["ph_ed_visits"], 0)
    shot("02-physical-health")

    _open_section(page, "behavioral_health")
    expect(page.locator("#question-phq_3")).to_be_hidden()
    _answer(page, questions["phq_1"], "nearly_every_day")
    expect(page.locator("#question-phq_3")).to_be_visible()
    expect(page.locator("#question-phq_9")).to_be_visible()
    shot("03-phq9-shown")
    page.locator('label[for="q-phq_1-not_at_all"]').click()
    expect(page.locator("#question-phq_3")).to_be_hidden()

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved.")
    shot("04-draft-saved")
    assessment = Assessment.objects.get()
    assert assessment.answers["ph_pcp_name"] == "Harbor Clinic"

    # Resume from the chart.
    page.goto(f"{live_server.url}/members/{cast.member.uuid}/")
    panel.get_by_role("link", name="Resume the draft").click()
    expect(page.get_by_label("Who is your regular doctor or clinic?")).to_have_value(
        "Harbor Clinic"
    )

    # Completing too early names what is missing; nothing is saved.
    page.get_by_role("button", name="Complete assessment").click()
    expect(page.locator("#form-errors")).to_contain_text("Nothing was saved")
    shot("05-missing-answers")

    answers = {**MINIMAL_ANSWERS, "hrsn_transportation": True,
               "hrsn_food_worry": "sometimes_true"}  # fmt: skip
    answers.pop("ph_has_pcp")
    answers.pop("ph_ed_visits")
    for section in definition["sections"]:
        _open_section(page, section["key"])
        for spec in section["questions"]:
            if spec["key"] in answers:
                _answer(page, questions[spec["key"]], answers[spec["key"]])
    shot("06-filled")
    page.get_by_role("button", name="Complete assessment").click()

    expect(page.get_by_role("status")).to_contain_text("Assessment completed.")
    expect(page.get_by_role("heading", name="Needs found")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Transportation barrier")
    expect(page.locator("main")).to_contain_text("Food insecurity")
    expect(page.locator("main")).to_contain_text("Harbor Clinic")
    shot("07-completed")

    page.goto(f"{live_server.url}/members/{cast.member.uuid}/")
    expect(panel).to_contain_text("Completed")
    expect(panel).to_contain_text(re.compile("PHQ-2"))
    shot("08-chart-after")
    assessment.refresh_from_db()
    assert assessment.status == "completed"
    assert len(list(tmp_path.glob("assessment-*.png"))) == 8
