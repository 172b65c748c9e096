"""Member search and the chart's record panels in a real browser (htmx on)."""

from datetime import date

import pytest
from playwright.sync_api import expect

from members.models import Member, MemberCin
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


def test_plan_admin_finds_a_member_and_records_a_population(
    page, live_server, cast, artifacts
):
    Member.objects.filter(pk=cast.member.pk).update(
        phone="555-0142", preferred_language="SPA", race_ethnicity=["hispanic"]
    )
    MemberCin.objects.create(
        cin="97777777Z", member=cast.member, is_current=False, source="834 REF*Q4"
    )
    _sign_in(page, live_server, cast.plan_admin)

    page.get_by_role("link", name="Find a member").click()
    expect(page).to_have_title("Find a member · CalAIM Care")
    page.get_by_label("CIN, BIC ID or name").fill("castmembr")
    page.get_by_role("button", name="Search").click()

    # htmx swapped the results in and pushed the search into the address bar.
    results = page.locator("#search-results")
    expect(results).to_contain_text("1 member found")
    expect(page).to_have_url(
        f"{live_server.url}/members/search/?q=castmembr&birth_date="
    )
    page.screenshot(path=str(artifacts / "member-search.png"), full_page=True)

    results.get_by_role("link", name="Castmember, Casey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Casey Castmember")
    for title in (
        "Demographics",
        "Enrollment history",
        "Populations of focus",
        "Programs that exclude ECM",
        "CIN history",
        "Changes",
    ):
        expect(page.get_by_role("region", name=title, exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="CIN history")).to_contain_text("97777777Z")

    populations = page.get_by_role("region", name="Populations of focus")
    populations.get_by_text("Record a population of focus").click()
    populations.get_by_label("Population of focus").select_option(
        label="Adult – Serious Mental Health and/or SUD Needs"
    )
    populations.get_by_label("Source").select_option(label="Plan data")
    populations.get_by_label("Start date").fill(date(2021, 6, 1).isoformat())
    populations.get_by_label("Evidence (optional)").fill("Synthetic claims summary")
    populations.get_by_role("button", name="Record population").click()

    # Before the population went live: the chart comes back with the form open,
    # the input kept, and the reason next to the start date.
    populations = page.get_by_role("region", name="Populations of focus")
    start_date = populations.get_by_label("Start date")
    expect(start_date).to_have_attribute("aria-invalid", "true")
    expect(populations.locator("#pof_start_date_error")).to_contain_text(
        "went live on January 1, 2022"
    )
    page.screenshot(path=str(artifacts / "chart-population-error.png"), full_page=True)
    start_date.fill(date(2025, 1, 1).isoformat())
    populations.get_by_role("button", name="Record population").click()

    expect(page.get_by_role("status").first).to_contain_text(
        "Population of focus recorded."
    )
    expect(page.get_by_role("region", name="Populations of focus")).to_contain_text(
        "Synthetic claims summary"
    )
    page.screenshot(path=str(artifacts / "chart-plan-admin.png"), full_page=True)
