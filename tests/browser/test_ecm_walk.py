"""ECM in the browser: a plan administrator and a care manager take a member from
identification to enrolled (issue 5's "done when"), saving screenshots of each
screen to test-artifacts/ecm-*.png."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from care_plans.models import Episode, OutreachAttempt
from community_supports.models import ProviderContract
from tests.factories import PASSWORD, EnrollmentFactory, MemberFactory

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


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("E-mail")).to_be_visible()


def _shot(page, artifacts, name):
    page.screenshot(path=str(artifacts / f"ecm-{name}.png"), full_page=True)


def test_plan_admin_and_care_manager_take_a_member_to_enrolled(
    page, live_server, cast, artifacts
):
    contract = ProviderContract.objects.create(
        plan=cast.plan,
        provider=cast.ecm_provider,
        service=ProviderContract.Service.ECM,
        start_date=date(2024, 1, 1),
        capacity=20,
    )
    contract.counties.add("37")
    member = MemberFactory(first_name="Nova", last_name="Newcomer")
    EnrollmentFactory(member=member, plan=cast.plan)
    chart = f"{live_server.url}/members/{member.uuid}/"

    # --- The plan administrator: identify, authorize, assign ---------------------
    _sign_in(page, live_server, cast.plan_admin)
    page.goto(chart)
    episode_panel = page.get_by_role("region", name="ECM episode")
    expect(episode_panel).to_contain_text("No open ECM episode")
    episode_panel.get_by_role("link", name=re.compile("Identify for ECM")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Identify for ECM")
    page.get_by_label("Source").select_option("plan_data")
    page.get_by_label("Referrer contact").fill("Dr. Synthetic, 555-0100")
    _shot(page, artifacts, "01-identify")
    page.get_by_role("button", name="Identify and request authorization").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("ECM authorizations")
    row = page.locator("#authorization-queue tr", has_text="Newcomer, Nova")
    expect(row).to_be_visible()
    _shot(page, artifacts, "02-authorization-queue")
    row.get_by_role("link", name="Authorize").click()

    page.get_by_label("Authorization number").fill("AUTH-WALK-1")
    _shot(page, artifacts, "03-authorize")
    page.get_by_role("button", name="Authorize", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Assign")
    page.locator(f'#providers [data-provider="{cast.ecm_provider.uuid}"]').click()
    page.get_by_label(re.compile(cast.lead_care_manager.full_name)).check()
    _shot(page, artifacts, "04-assign")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator("main")).to_contain_text(cast.lead_care_manager.full_name)
    _shot(page, artifacts, "05-assignment-notice")
    episode = Episode.objects.get(member=member, closed_at__isnull=True)
    assert episode.status == "assigned"
    assert episode.lead_care_manager == cast.lead_care_manager
    _sign_out(page)

    # --- The care manager: caseload, outreach, enrollment -------------------------
    _sign_in(page, live_server, cast.lead_care_manager)
    page.get_by_role("link", name="My caseload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My caseload")
    new_row = page.locator(f'tr[data-member="{member.cin}"]')
    expect(new_row).to_contain_text("Assigned")
    expect(new_row).to_contain_text("0 of 3 attempts so far")
    _shot(page, artifacts, "06-caseload")
    new_row.get_by_role("link", name="Newcomer, Nova").click()

    outreach = page.get_by_role("region", name="Outreach")
    expect(outreach).to_contain_text("No outreach attempts yet.")
    outreach.get_by_label("Method").select_option("phone")
    outreach.get_by_label("Outcome").select_option("reached")
    outreach.get_by_label("Minutes").fill("12")
    outreach.get_by_label("Note").fill("Reached the member; explained ECM.")
    _shot(page, artifacts, "07-chart-outreach-form")
    outreach.get_by_role("button", name="Record attempt").click()

    expect(page.get_by_role("status")).to_contain_text("Outreach attempt recorded.")
    outreach = page.get_by_role("region", name="Outreach")
    expect(outreach).to_contain_text("Reached the member")
    expect(page.get_by_role("region", name="ECM episode")).to_contain_text(
        "In outreach"
    )
    assert OutreachAttempt.objects.filter(episode=episode).count() == 1

    outreach.get_by_text("Member agreed: record consent and enroll").click()
    outreach.get_by_label("Consent given").select_option("verbal")
    _shot(page, artifacts, "08-chart-enroll-form")
    outreach.get_by_role("button", name="Enroll in ECM").click()

    expect(page.get_by_role("status")).to_contain_text("The member is enrolled in ECM.")
    episode_panel = page.get_by_role("region", name="ECM episode")
    expect(episode_panel).to_contain_text("Enrolled")
    expect(episode_panel).to_contain_text("Verbal consent")
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("Enroll")
    expect(page.get_by_role("region", name="Encounters")).to_contain_text(
        "Record an encounter"
    )
    _shot(page, artifacts, "09-chart-enrolled")
    episode.refresh_from_db()
    assert episode.status == "enrolled"
    assert episode.consent_method == "verbal"


def test_supervisor_covers_an_absence_from_the_chart(
    page, live_server, cast, artifacts
):
    from members.models import MemberGrant

    _sign_in(page, live_server, cast.supervisor)
    page.get_by_role("link", name="Caseloads").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Caseloads of")
    page.get_by_label("Lead care manager").select_option(str(cast.lead_care_manager.pk))
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'tr[data-member="{cast.member.cin}"]')).to_contain_text(
        "Lead Care Manager"
    )
    _shot(page, artifacts, "10-supervisor-caseloads")
    page.get_by_role("link", name="Castmember, Casey").click()

    episode_panel = page.get_by_role("region", name="ECM episode")
    episode_panel.get_by_text("Add a covering care manager").click()
    episode_panel.get_by_label("Covering care manager").select_option(
        label=cast.colleague.full_name
    )
    episode_panel.get_by_label("Reason for the cover").fill("Leave")
    _shot(page, artifacts, "11-supervisor-chart-forms")
    episode_panel.get_by_role("button", name="Grant covering access").click()

    # Refused by the grant service (the reason is too short): the form again,
    # with the message on its field and nothing written.
    expect(page.get_by_role("heading", level=1)).to_have_text("Covering care manager")
    expect(page.locator("#cover_reason_error")).to_contain_text("at least 10")
    _shot(page, artifacts, "12-action-error")
    assert not MemberGrant.objects.exists()
    page.get_by_label("Reason for the cover").fill(
        "Lead care manager on leave this week"
    )
    page.get_by_role("button", name="Grant covering access").click()

    expect(page.get_by_role("status")).to_contain_text("Covering access granted.")
    expect(page.get_by_role("region", name="ECM episode")).to_contain_text(
        f"{cast.colleague.full_name}, through"
    )
    assert MemberGrant.objects.get().user == cast.colleague
