"""The consents panel of the member chart and the consent pages, through HTTP."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from calaim.audit.models import AuditEvent
from members.consent_views import consents_panel
from members.models import Consent, ConsentKind
from members.services import consent_record, consent_revoke
from members.services.consents import document_dir
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def today():
    return timezone.localdate()


def record(cast, **overrides):
    arguments = {
        "member": cast.member,
        "kind": ConsentKind.PART2,
        "scope_categories": ["substance_use"],
        "recipient_organizations": [cast.ecm_provider],
        "purpose": "Care coordination",
        "start_date": today(),
        "end_date": today() + timedelta(days=365),
        "verbal_attestation": True,
        "actor": cast.lead_care_manager,
    }
    arguments.update(overrides)
    return consent_record(**arguments)


def panel_html(client, user, member):
    client.force_login(user)
    response = client.get(reverse("member_chart", args=[member.uuid]))
    assert response.status_code == 200
    match = re.search(
        r'data-panel="consents">(.*?)(?=<section class="col-12|\Z)',
        response.content.decode(),
        flags=re.S,
    )
    assert match, "the chart has no consents panel"
    return match.group(1)


def text(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def form_data(cast, **overrides):
    data = {
        "kind": "part2",
        "scope_categories": ["substance_use"],
        "recipient_organizations": [cast.ecm_provider.pk],
        "purpose": "Care coordination",
        "start_date": today().isoformat(),
        "end_date": (today() + timedelta(days=90)).isoformat(),
    }
    data.update(overrides)
    return data


# --- The panel ----------------------------------------------------------------------


def test_panel_lists_consents_with_their_status(cast, client):
    active = record(cast)
    expired = record(
        cast,
        start_date=today() - timedelta(days=100),
        end_date=today() - timedelta(days=1),
        purpose="An old purpose",
    )
    revoked = record(cast, purpose="Revoked purpose")
    consent_revoke(consent=revoked, reason="Member asked", actor=cast.supervisor)
    record(
        cast,
        kind=ConsentKind.ASCMI_AB133,
        scope_categories=[],
        recipient_organizations=[],
        purpose="",
        end_date=None,
        start_date=today() + timedelta(days=3),
    )

    html = panel_html(client, cast.lead_care_manager, cast.member)

    rows = dict(re.findall(r'data-consent="([^"]+)">(.*?)</li>', html, flags=re.S))
    assert len(rows) == 4
    assert "Active" in text(rows[str(active.uuid)])
    assert "Part 2" in text(rows[str(active.uuid)])
    assert "Cast ECM Provider" in text(rows[str(active.uuid)])
    assert "Expired" in text(rows[str(expired.uuid)])
    assert "Revoked" in text(rows[str(revoked.uuid)])
    assert "Member asked" in text(rows[str(revoked.uuid)])
    assert "Nothing (record of the member's choice)" in html
    assert "Not yet in effect" in html
    # The care manager may record and revoke (only what is still in effect).
    assert reverse("member_consent_new", args=[cast.member.uuid]) in html
    assert html.count(">Revoke</a>") == 2


def test_readers_see_the_panel_without_the_actions(cast, client):
    record(cast, verbal_attestation=False, document=SimpleUploadedFile("f.pdf", PDF))
    html = panel_html(client, cast.auditor, cast.member)
    assert "Signed form" in html
    assert "Record a consent" not in html
    assert ">Revoke</a>" not in html


def test_a_referral_only_viewer_gets_no_consents_panel(cast, client):
    record(cast)
    client.force_login(cast.cs_provider)
    body = client.get(reverse("member_chart", args=[cast.member.uuid])).content
    assert b'data-panel="consents"' not in body


def test_panel_queries_do_not_grow_with_consents(cast, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = cast.lead_care_manager
    request.user.get_all_permissions()  # the page has read them already

    record(cast)
    with django_assert_num_queries(1):  # consents, their people and recipients
        assert len(consents_panel(request, cast.member)["consents"]) == 1
    for _ in range(5):
        record(cast, recipient_organizations=[cast.ecm_provider, cast.plan])
    with django_assert_num_queries(1):
        assert len(consents_panel(request, cast.member)["consents"]) == 6


# --- Recording ----------------------------------------------------------------------


def test_care_manager_records_a_consent_with_the_signed_form(cast, client):
    client.force_login(cast.lead_care_manager)
    url = reverse("member_consent_new", args=[cast.member.uuid])
    assert client.get(url).status_code == 200

    upload = SimpleUploadedFile("signed consent.pdf", PDF, "application/pdf")
    response = client.post(url, form_data(cast, document=upload))

    assert response.status_code == 302
    assert response["Location"].endswith("#panel-consents")
    consent = Consent.objects.get()
    assert consent.document_sha256 == hashlib.sha256(PDF).hexdigest()
    assert consent.recorded_by == cast.lead_care_manager
    assert list(consent.recipient_organizations.all()) == [cast.ecm_provider]
    event = AuditEvent.objects.filter(object_type="consent").get()
    assert event.action == "create"
    assert event.ip_address == "127.0.0.1"


def test_plan_records_a_verbal_ascmi_consent(cast, client):
    client.force_login(cast.plan_admin)
    response = client.post(
        reverse("member_consent_new", args=[cast.member.uuid]),
        form_data(
            cast,
            kind="ascmi_ab133",
            scope_categories=["physical_health", "social_services"],
            purpose="",
            end_date="",
            verbal_attestation="on",
            attestation_witness="A. Witness",
        ),
    )
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.attested_by == cast.plan_admin
    assert consent.attestation_witness == "A. Witness"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"end_date": "2020-01-01", "verbal_attestation": "on"},
            "The end date is before the start date.",
        ),
        ({}, "Upload the signed form, or attest that the member consented verbally."),
        (
            {
                "document": SimpleUploadedFile(
                    "notes.pdf", b"just text", "application/pdf"
                )
            },
            "The signed form must be a PDF, PNG or JPEG file.",
        ),
        (
            {"purpose": "", "verbal_attestation": "on"},
            "42 CFR 2.31: say what the information may be used for.",
        ),
        (
            {"recipient_organizations": [], "verbal_attestation": "on"},
            "42 CFR 2.31: name at least one recipient",
        ),
    ],
)
def test_bad_input_shows_the_error_and_writes_nothing(cast, client, overrides, message):
    client.force_login(cast.lead_care_manager)
    response = client.post(
        reverse("member_consent_new", args=[cast.member.uuid]),
        form_data(cast, **overrides),
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Consent.objects.exists()
    assert list(document_dir().iterdir()) == []


# --- Revoking -----------------------------------------------------------------------


def test_supervisor_revokes_a_consent(cast, client):
    consent = record(cast)
    client.force_login(cast.supervisor)
    url = reverse("member_consent_revoke", args=[cast.member.uuid, consent.uuid])
    page = client.get(url)
    assert page.status_code == 200
    assert "42 CFR Part 2 consent" in page.content.decode()

    assert client.post(url, {"reason": ""}).status_code == 400
    consent.refresh_from_db()
    assert consent.revoked_at is None

    response = client.post(url, {"reason": "The member revoked it by phone."})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_by == cast.supervisor
    assert consent.revocation_reason == "The member revoked it by phone."


def test_revoking_twice_says_so(cast, client):
    consent = record(cast)
    consent_revoke(consent=consent, reason="First", actor=cast.supervisor)
    client.force_login(cast.supervisor)
    response = client.post(
        reverse("member_consent_revoke", args=[cast.member.uuid, consent.uuid]),
        {"reason": "Second"},
    )
    assert response.status_code == 400
    assert "already revoked" in response.content.decode()


def test_a_consent_is_found_only_under_its_own_member(cast, client):
    other = factories.ConsentFactory(member=cast.other_member)
    client.force_login(cast.plan_admin)
    url = reverse("member_consent_revoke", args=[cast.member.uuid, other.uuid])
    assert client.get(url).status_code == 404


# --- The signed form ----------------------------------------------------------------


def test_the_signed_form_downloads_and_the_download_is_audited(cast, client):
    consent = record(
        cast,
        verbal_attestation=False,
        document=SimpleUploadedFile("Signed form.pdf", PDF),
    )
    client.force_login(cast.auditor)
    response = client.get(
        reverse("member_consent_document", args=[cast.member.uuid, consent.uuid])
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(object_type="consent_document")
    assert event.action == "export"
    assert event.member_ids == [cast.member.pk]


def test_a_verbal_consent_has_no_form_to_download(cast, client):
    consent = record(cast)
    client.force_login(cast.auditor)
    response = client.get(
        reverse("member_consent_document", args=[cast.member.uuid, consent.uuid])
    )
    assert response.status_code == 404


def test_care_manager_records_the_end_event(cast, client):
    consent = record(cast, end_date=None, end_event="End of ECM enrollment")
    html = panel_html(client, cast.lead_care_manager, cast.member)
    url = reverse("member_consent_end", args=[cast.member.uuid, consent.uuid])
    assert url in html
    assert client.get(url).status_code == 200

    tomorrow = (today() + timedelta(days=1)).isoformat()
    refused = client.post(url, {"end_date": tomorrow})
    assert refused.status_code == 400
    assert "has not happened yet" in refused.content.decode()

    assert client.post(url, {"end_date": today().isoformat()}).status_code == 302
    consent.refresh_from_db()
    assert consent.end_date == today()
    # It ends today: still active today, and no longer offers the end action.
    assert url not in panel_html(client, cast.lead_care_manager, cast.member)
