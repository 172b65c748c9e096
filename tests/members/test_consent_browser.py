"""A care manager records and revokes a Part 2 consent in a real browser."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.models import Consent
from tests.browser.conftest import artifacts, chromium, page  # noqa: F401
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n% synthetic demo form\n%%EOF\n"


def _sign_in(page, live_server, user):  # noqa: F811
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_care_manager_records_and_revokes_a_part2_consent(
    page,  # noqa: F811
    live_server,
    cast,
    artifacts,  # noqa: F811
):
    _sign_in(page, live_server, cast.lead_care_manager)
    page.goto(f"{live_server.url}/members/{cast.member.uuid}/")
    consents = page.get_by_role("region", name="Consents", exact=True)
    expect(consents).to_contain_text("No consent on record.")
    consents.get_by_role("link", name="Record a consent").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a consent")

    today = timezone.localdate()
    page.get_by_label("Kind of consent").select_option(label="42 CFR Part 2 consent")
    page.get_by_label("Substance use disorder (42 CFR Part 2)").check()
    page.get_by_label("Recipient organizations").select_option(
        label="Cast ECM Provider"
    )
    page.get_by_label("Purpose").fill("Care coordination")
    page.get_by_label("Start date").fill(today.isoformat())
    page.get_by_label("End date").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Signed form (PDF, PNG or JPEG)").set_input_files(
        {"name": "signed.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Record consent").click()

    # End before start: the form comes back with the reason at the end date.
    expect(page.locator("#consent_end_date_error")).to_have_text(
        "The end date is before the start date."
    )
    expect(page.get_by_label("End date")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(artifacts / "consent-form-error.png"), full_page=True)
    assert not Consent.objects.exists()

    page.get_by_label("End date").fill((today + timedelta(days=365)).isoformat())
    page.get_by_label("Signed form (PDF, PNG or JPEG)").set_input_files(
        {"name": "signed.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Record consent").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Casey Castmember")
    consents = page.get_by_role("region", name="Consents", exact=True)
    expect(consents).to_contain_text("42 CFR Part 2 consent")
    expect(consents).to_contain_text("Active")
    expect(consents.get_by_role("link", name="Signed form")).to_be_visible()
    consents.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "consent-panel.png"), full_page=True)

    consents.get_by_role("link", name="Revoke").click()
    page.get_by_label("Why is the consent revoked?").fill("Member revoked by phone.")
    page.get_by_role("button", name="Record revocation").click()

    consents = page.get_by_role("region", name="Consents", exact=True)
    expect(consents).to_contain_text("Revoked")
    expect(consents).to_contain_text("Member revoked by phone.")
    expect(consents.get_by_role("link", name="Revoke")).to_have_count(0)
    assert Consent.objects.get().revoked_by == cast.lead_care_manager
