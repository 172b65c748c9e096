"""ECM 2 in the browser (issue 6's "done when"): the lead care manager opens the
chart of an assessed member, starts the care plan from the assessment's
suggested needs, adds a goal and an intervention, records the member's
agreement, and sees the episode active. Screenshots of each screen go to
test-artifacts/ecm2-*.png."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from care_plans.models import CarePlan, Episode, Goal, Intervention
from tests.care_plans.careplan_support import ANSWERS
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _shot(page, artifacts, name):
    page.screenshot(path=str(artifacts / f"ecm2-{name}.png"), full_page=True)


def test_care_manager_agrees_a_care_plan_and_the_episode_becomes_active(
    page, live_server, cast, artifacts
):
    from care_plans.assessments import services as assessments

    Episode.objects.filter(pk=cast.episode.pk).update(
        enrolled_on=timezone.localdate() - timedelta(days=10)
    )
    assessment = assessments.assessment_start(
        member=cast.member, actor=cast.lead_care_manager
    )
    assessments.assessment_complete(
        assessment=assessment, answers=ANSWERS, actor=cast.lead_care_manager
    )
    user = cast.lead_care_manager

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/members/{cast.member.uuid}/")
    header = page.locator("[data-chart-header]")
    expect(header).to_contain_text("Enrolled")
    expect(header).to_contain_text(user.full_name)
    plan_panel = page.get_by_role("region", name="Care plan")
    suggestions = plan_panel.locator("input[name=suggested]")
    expect(suggestions.first).to_be_visible()
    assert suggestions.count() >= 2
    expect(plan_panel).to_contain_text("Food")
    _shot(page, artifacts, "01-chart-before")
    plan_panel.get_by_role("button", name="Start the care plan").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Care plan, version 1")
    expect(page.locator("[data-plan-status]")).to_have_text("Draft")
    food = page.locator("[data-need]", has_text="Food").first
    # A need without a goal shows its "Add a goal" form open.
    food.locator("form.goal-add textarea[name=description]").fill(
        "Cook dinner for my kids three nights a week"
    )
    food.locator("form.goal-add input[name=target_date]").fill(
        (timezone.localdate() + timedelta(days=90)).isoformat()
    )
    _shot(page, artifacts, "02-plan-goal")
    food.get_by_role("button", name="Add goal").click()

    goal = page.locator("[data-goal]", has_text="Cook dinner for my kids")
    expect(goal).to_be_visible()
    goal.get_by_text("Add an intervention").click()
    goal.locator("form.intervention-add textarea[name=description]").fill(
        "Apply for CalFresh together"
    )
    goal.locator("form.intervention-add select[name=responsible_user]").select_option(
        label=user.full_name
    )
    goal.get_by_role("button", name="Add intervention").click()
    expect(page.locator("[data-intervention]")).to_contain_text(
        "Apply for CalFresh together"
    )
    _shot(page, artifacts, "03-plan-intervention")

    page.get_by_label("Date the member agreed").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Record member agreement").click()

    expect(page.locator("[data-plan-status]")).to_have_text("Agreed")
    expect(page.locator("main [data-episode-status]").first).to_have_text("Active")
    _shot(page, artifacts, "04-plan-agreed")

    page.goto(f"{live_server.url}/members/{cast.member.uuid}/")
    expect(page.locator("[data-chart-header]")).to_contain_text("Active")
    expect(page.get_by_role("region", name="Care plan")).to_contain_text(
        "Cook dinner for my kids"
    )
    expect(page.get_by_role("region", name="Timeline")).to_contain_text(
        "Care plan version 1 agreed"
    )
    _shot(page, artifacts, "05-chart-active")
    # The chart on a tablet, portrait.
    page.set_viewport_size({"width": 768, "height": 1024})
    _shot(page, artifacts, "06-chart-tablet")

    plan = CarePlan.objects.get()
    assert plan.status == CarePlan.Status.AGREED
    assert plan.needs.filter(source="suggested").count() >= 2
    assert Goal.objects.get().description.startswith("Cook dinner")
    assert Intervention.objects.get().responsible_user == user
    cast.episode.refresh_from_db()
    assert cast.episode.status == Episode.Status.ACTIVE
