"""The browser shell end to end: sign-in, home, chart, keyboard use, idle warning."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

# The live server's thread reads committed data only; serialized rollback puts the
# migrated reference data (counties, populations) back after each test's flush.
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


def test_care_manager_sees_caseload_and_opens_the_chart(
    page, live_server, cast, artifacts
):
    _sign_in(page, live_server, cast.lead_care_manager)

    expect(page).to_have_title("Home · CalAIM Care")
    caseload = page.get_by_role("region", name="My caseload")
    expect(caseload).to_contain_text(cast.member.cin)
    expect(page.get_by_role("link", name="Home")).to_have_attribute(
        "aria-current", "page"
    )
    page.screenshot(path=str(artifacts / "home-care-manager.png"), full_page=True)

    caseload.get_by_role("link", name="Castmember, Casey").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Casey Castmember")
    for title in ("Enrollment", "ECM episode", "Referrals"):
        expect(page.get_by_role("region", name=title)).to_be_visible()
    expect(page.get_by_role("region", name="ECM episode")).to_contain_text(
        "Lead Care Manager"
    )
    page.screenshot(path=str(artifacts / "chart-care-manager.png"), full_page=True)


def test_sign_in_with_the_keyboard_only(page, live_server, cast):
    page.goto(f"{live_server.url}/accounts/login/")

    # The e-mail field has focus on arrival; behind it, the header and skip link.
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="CalAIM Care")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(cast.lead_care_manager.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    # The skip link moves focus past the navigation to the page's content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_idle_warning_offers_to_stay_and_then_signs_out(
    page, live_server, cast, settings, artifacts
):
    # Warns halfway (2 s) for sessions this short, signs out after 4 s.
    settings.SESSION_IDLE_SECONDS = 4
    _sign_in(page, live_server, cast.lead_care_manager)

    dialog = page.get_by_role("alertdialog", name="Are you still there?")
    expect(dialog).to_be_visible()
    stay = dialog.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    page.screenshot(path=str(artifacts / "idle-warning.png"))
    with page.expect_response(re.compile(r"/session/keepalive/$")) as keepalive:
        page.keyboard.press("Enter")
    assert keepalive.value.status == 204
    expect(dialog).to_be_hidden()

    # Left alone, the warning comes back; background polling does not count as
    # activity, neither here nor on the server, and then the session ends.
    expect(dialog).to_be_visible()
    last_activity = "localStorage.getItem('calaim:lastActivity')"
    before = page.evaluate(last_activity)
    page.evaluate(
        """htmx.ajax("GET", "/", {target: "main", swap: "none",
            headers: {"X-Calaim-Background": "1"}})"""
    )  # resolves once htmx has handled the response
    assert page.evaluate(last_activity) == before
    expect(dialog).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=(/|%2F)$"))
    expect(page.get_by_role("status")).to_have_text(
        "You were signed out after 4 seconds without activity."
    )
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
