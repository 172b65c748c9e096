"""The transitions pages in the browser: a care manager acknowledges an alert
(htmx) and opens the chart; an interface administrator links an unmatched
message. Screenshots go to test-artifacts/transitions-*.png."""

import re

import pytest
from playwright.sync_api import expect

from care_plans.transitions.models import Alert, TransitionEvent
from tests import factories
from tests.browser import conftest as browser
from tests.factories import PASSWORD
from tests.transitions.adt import build_adt, make_world, send

# The browser fixtures of tests/browser, used by name below.
chromium = browser.chromium
page = browser.page
artifacts = browser.artifacts

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


def test_care_manager_acknowledges_an_alert_and_opens_the_chart(
    page, live_server, artifacts
):
    world = make_world()
    world.member()
    send(world, build_adt("A04", patient_class="E", location="ED^7^^MERCY"))

    _sign_in(page, live_server, world.lead)
    page.get_by_role("link", name="Hospital alerts").click()
    row = page.locator("#transition-alerts tbody tr")
    expect(row).to_contain_text("Registration / ED visit")
    page.screenshot(path=str(artifacts / "transitions-inbox.png"), full_page=True)

    row.get_by_role("button", name=re.compile("Acknowledge")).click()
    expect(row).to_contain_text("Acknowledged")
    assert Alert.objects.get(recipient=world.lead).acknowledged_at is not None

    row.get_by_role("link", name="Testperson, Jane").click()
    panel = page.get_by_role("region", name="Hospital transitions")
    expect(panel).to_contain_text("MERCYGEN")
    page.screenshot(path=str(artifacts / "transitions-chart.png"), full_page=True)


def test_interface_admin_links_an_unmatched_message(page, live_server, artifacts):
    from calaim.accounts import roles

    world = make_world()
    member = world.member()
    message = send(world, build_adt("A01", pid3="MRN9^^^MERCY^MR", first_name="JAN"))
    admin = factories.UserFactory(
        email="interfaces@transitions.example",
        organization=world.plan,
        roles=[roles.INTERFACE_ADMIN],
    )

    _sign_in(page, live_server, admin)
    page.get_by_role("link", name="Unmatched ADT").click()
    page.get_by_role("link", name=re.compile("Resolve")).click()
    page.get_by_label("Last name").fill("Testperson")
    page.get_by_label("and birth date").fill("1980-05-17")
    page.get_by_role("button", name="Search").click()
    page.screenshot(path=str(artifacts / "transitions-unmatched.png"), full_page=True)
    page.get_by_role("button", name=re.compile("Link to Testperson")).first.click()

    expect(page.get_by_role("status").first).to_contain_text("Linked")
    assert TransitionEvent.objects.get(message=message).member == member
