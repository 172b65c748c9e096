"""The closed-loop referral of DESIGN.md §4.4 in the browser (issue 8's "done
when"): a care manager refers from the chart, the plan authorizes, the first
provider declines, the next one accepts, delivers and completes; screenshots of
each screen go to test-artifacts/referral-*.png."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from referrals.models import Referral
from tests.factories import PASSWORD
from tests.referrals.support import PAIR, contract, offer_support, support

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
    page.screenshot(path=str(artifacts / f"referral-{name}.png"), full_page=True)


def test_referral_closes_the_loop_with_a_rejection_and_reoffer(
    page, live_server, cast, artifacts
):
    walk = support("walk-deposits")
    offer_support(cast.plan, walk)
    contract(cast.plan, cast.cs_organization, walk)
    contract(cast.plan, cast.other_cs_organization, walk)
    chart = f"{live_server.url}/members/{cast.member.uuid}/"

    # --- The lead care manager refers from the chart ----------------------------
    _sign_in(page, live_server, cast.lead_care_manager)
    page.goto(chart)
    panel = page.get_by_role("region", name="Referrals")
    panel.get_by_role("link", name="Refer for a Community Support").click()
    page.get_by_label("Community Support").first.select_option(label=walk.name)
    page.get_by_role("button", name="Show providers").click()
    expect(page.locator("#directory")).to_contain_text(cast.cs_organization.name)
    form = page.locator("#referral-form")
    form.get_by_label("Community Support").select_option(label=walk.name)
    form.get_by_label("Units").fill("1")
    form.get_by_label("What the member needs").fill("Deposit for a new apartment.")
    _shot(page, artifacts, "1-refer")
    form.get_by_role("button", name="Send the referral").click()
    expect(page.locator("#referral-status")).to_have_text("Draft")
    expect(page.locator("#authorization")).to_contain_text("Requested")
    _shot(page, artifacts, "2-sent")
    referral_url = page.url
    referral_uuid = referral_url.rstrip("/").rsplit("/", 1)[1]
    _sign_out(page)

    # --- The plan authorizes -------------------------------------------------------
    _sign_in(page, live_server, cast.plan_admin)
    page.get_by_role("link", name="CS referrals").click()
    expect(page.locator("#cs-authorization-queue")).to_contain_text("Castmember")
    _shot(page, artifacts, "3-authorization-queue")
    page.goto(referral_url)
    decision = page.locator("form[data-action='referral_authorize']")
    decision.get_by_label("Decision").select_option("approved")
    decision.get_by_label("Authorization number").fill("CS-2026-001")
    through = (timezone.localdate() + timedelta(days=60)).isoformat()
    decision.get_by_label("Through").fill(through)
    _shot(page, artifacts, "4-decide")
    decision.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#referral-status")).to_have_text("Received")
    expect(page.locator("#receiving-provider")).to_have_text(cast.cs_organization.name)
    _sign_out(page)

    # --- The first provider declines: the next one gets the offer -----------------
    _sign_in(page, live_server, cast.cs_provider)
    page.get_by_role("link", name="Referral inbox").click()
    page.locator(f"tr[data-referral='{referral_uuid}'] a").click()
    _shot(page, artifacts, "5-offer")
    reject = page.locator("form[data-action='referral_reject']")
    reject.get_by_label("Reason").fill("No openings this month.")
    reject.get_by_role("button", name="Decline").click()
    expect(page.locator(f"tr[data-referral='{referral_uuid}']")).to_have_count(0)
    _sign_out(page)

    referral = Referral.objects.get(uuid=referral_uuid)
    assert referral.receiving_organization_id == cast.other_cs_organization.pk

    # --- The next provider accepts, delivers, completes ----------------------------
    _sign_in(page, live_server, cast.other_cs_provider)
    page.get_by_role("link", name="Referral inbox").click()
    page.locator(f"tr[data-referral='{referral_uuid}'] a").click()
    page.locator("form[data-action='referral_accept']").get_by_role(
        "button", name="Accept"
    ).click()
    expect(page.locator("#referral-status")).to_have_text("Accepted")
    deliver = page.locator("form[data-action='referral_deliver']")
    deliver.get_by_label("Date of service").fill(timezone.localdate().isoformat())
    deliver.get_by_label("HCPCS code and modifier").select_option(
        f"{PAIR[0]}-{PAIR[1]}"
    )
    deliver.get_by_label("Units").fill("1")
    deliver.get_by_label("Amount ($)").fill("1500")
    deliver.get_by_role("button", name="Record delivery").click()
    expect(page.locator("#referral-status")).to_have_text("In progress")
    expect(page.locator("#deliveries")).to_contain_text(PAIR[0])
    _shot(page, artifacts, "6-delivered")
    page.locator("form[data-action='referral_complete']").get_by_role(
        "button", name="Complete: services received"
    ).click()
    expect(page.locator("#referral-status")).to_have_text("Completed")
    expect(page.locator("#rtf-closure")).to_have_text("Services Received")
    _sign_out(page)

    # --- The care manager sees the loop closed, with the whole timeline ------------
    _sign_in(page, live_server, cast.lead_care_manager)
    page.goto(referral_url)
    timeline = page.locator("#timeline")
    for step in ("Create", "Offer", "Offer rejected", "Reoffer", "Accept", "Complete"):
        expect(timeline).to_contain_text(step)
    expect(page.locator("#offers")).to_contain_text("No openings this month.")
    _shot(page, artifacts, "7-closed")
