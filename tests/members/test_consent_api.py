"""The consents API: a provider's system lists, records and revokes consents."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from calaim.audit.models import AuditEvent
from members.models import Consent
from tests import factories
from tests.api_auth import api_client_for, authenticate_api_client, issue_token

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def today():
    return timezone.localdate()


@pytest.fixture
def api(cast, client):
    return authenticate_api_client(client, cast.provider_api)


def consents_url(member):
    return reverse("api_member_consents", args=[member.uuid])


def body(cast, **overrides):
    data = {
        "kind": "part2",
        "scope_categories": ["substance_use"],
        "recipient_organization_ids": [str(cast.ecm_provider.uuid)],
        "recipient_names": ["Dr. Synthetic Example"],
        "purpose": "Care coordination",
        "start_date": today().isoformat(),
        "end_date": (today() + timedelta(days=180)).isoformat(),
        "verbal_attestation": True,
    }
    data.update(overrides)
    return data


def test_provider_system_records_a_verbal_part2_consent(cast, api):
    response = api.post(
        consents_url(cast.member), body(cast), content_type="application/json"
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    consent = Consent.objects.get()
    assert data["id"] == str(consent.uuid)
    assert data["member_id"] == str(cast.member.uuid)
    assert data["status"] == "active"
    assert data["covers_part2"] is True
    assert data["recipient_organizations"] == [
        {"id": str(cast.ecm_provider.uuid), "name": "Cast ECM Provider"}
    ]
    assert data["recipient_names"] == ["Dr. Synthetic Example"]
    assert data["document"] is None
    assert data["verbal_attestation"]["attested_by"] == "Cast provider API"
    assert consent.recorded_by == cast.provider_api
    event = AuditEvent.objects.get(object_type="consent")
    assert event.action == "create"
    assert event.actor_id == cast.provider_api.pk


def test_provider_system_uploads_the_signed_form(cast, api):
    data = body(cast, verbal_attestation=False)
    data["document"] = SimpleUploadedFile("signed.pdf", PDF, "application/pdf")
    response = api.post(consents_url(cast.member), data)  # multipart

    assert response.status_code == 201, response.json()
    document = response.json()["document"]
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert document["content_type"] == "application/pdf"
    assert response.json()["scope_categories"] == ["substance_use"]

    download = api.get(document["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert AuditEvent.objects.filter(
        object_type="consent_document", action="export"
    ).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"end_date": "2020-01-01"}, "end_date", "invalid"),
        ({"verbal_attestation": False}, "document", "invalid"),
        ({"purpose": ""}, "purpose", "invalid"),
        (
            {"recipient_organization_ids": [], "recipient_names": []},
            "recipient_organization_ids",
            "invalid",
        ),
        (
            {"recipient_organization_ids": ["00000000-0000-0000-0000-000000000001"]},
            "recipient_organization_ids",
            "unknown",
        ),
        ({"kind": "hipaa"}, "kind", "invalid_choice"),
        ({"start_date": "yesterday"}, "start_date", "invalid"),
    ],
)
def test_bad_input_answers_400_on_the_field_and_writes_nothing(
    cast, api, overrides, field, code
):
    response = api.post(
        consents_url(cast.member),
        body(cast, **overrides),
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(error["field"], error["code"]) for error in errors] == [(field, code)]
    assert not Consent.objects.exists()


def test_a_file_that_is_not_a_signed_form_is_refused(cast, api):
    data = body(cast, verbal_attestation=False)
    data["document"] = SimpleUploadedFile("form.pdf", b"<svg onload=alert(1)>")
    response = api.post(consents_url(cast.member), data)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "document"
    assert "PDF, PNG or JPEG" in response.json()["errors"][0]["message"]
    assert not Consent.objects.exists()


def test_revoke_and_revoke_again(cast, api):
    consent = factories.ConsentFactory(
        member=cast.member, recipients=[cast.ecm_provider]
    )
    url = reverse("api_member_consent_revoke", args=[cast.member.uuid, consent.uuid])

    response = api.post(
        url, {"reason": "Member revoked"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert response.json()["revocation_reason"] == "Member revoked"
    assert response.json()["revoked_by"] == "Cast provider API"

    again = api.post(url, {"reason": "Again"}, content_type="application/json")
    assert again.status_code == 400
    assert again.json()["errors"][0]["code"] == "already_revoked"
    missing = api.post(url, {}, content_type="application/json")
    assert missing.json()["errors"][0] == {
        "field": "reason",
        "code": "required",
        "message": "This field is required.",
    }


def test_revoking_an_ascmi_form_points_at_the_revocation(cast, api):
    consent = factories.ConsentFactory(
        member=cast.member, kind="ascmi_ab133", scope_categories=["physical_health"]
    )
    response = api.post(
        reverse("api_member_consent_revoke", args=[cast.member.uuid, consent.uuid]),
        {"reason": "Revocation form signed"},
        content_type="application/json",
    )
    revocation = Consent.objects.get(kind="ascmi_revocation")
    assert response.json()["revoked_by_consent_id"] == str(revocation.uuid)


def test_list_pages_and_syncs_with_updated_since(cast, api, django_assert_num_queries):
    consents = [
        factories.ConsentFactory(member=cast.member, recipients=[cast.ecm_provider])
        for _ in range(3)
    ]
    factories.ConsentFactory(member=cast.other_member)  # not this member's
    first = api.get(consents_url(cast.member), {"page_size": 2})
    assert first.status_code == 200
    assert len(first.json()["results"]) == 2
    second = api.get(first.json()["next"])
    ids = {row["id"] for row in first.json()["results"] + second.json()["results"]}
    assert ids == {str(consent.uuid) for consent in consents}

    later = timezone.now()
    Consent.objects.filter(pk=consents[0].pk).update(
        updated_at=later + timedelta(seconds=1)
    )
    synced = api.get(consents_url(cast.member), {"updated_since": later.isoformat()})
    assert [row["id"] for row in synced.json()["results"]] == [str(consents[0].uuid)]
    event = AuditEvent.objects.filter(object_type="consent_list").first()
    assert event.member_ids == [cast.member.pk]


def _count_list_queries(api, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert api.get(consents_url(member)).status_code == 200
    return len(queries)


def test_list_query_count_does_not_grow(cast, api):
    factories.ConsentFactory(member=cast.member, recipients=[cast.ecm_provider])
    one = _count_list_queries(api, cast.member)
    for _ in range(6):
        factories.ConsentFactory(
            member=cast.member, recipients=[cast.ecm_provider, cast.plan]
        )
    assert _count_list_queries(api, cast.member) == one
    # The token and its user, the member with its visibility, the consents with
    # their recipients, the request's audit event (pinned: more is an N+1).
    assert one == 5, one


def test_a_token_without_ecm_write_may_read_but_not_record(cast, client):
    token = issue_token(api_client_for(cast.provider_api), scopes=["members:read"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert client.get(consents_url(cast.member)).status_code == 200
    response = client.post(
        consents_url(cast.member), body(cast), content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "insufficient_scope"
    assert not Consent.objects.exists()


def test_another_providers_system_gets_404(cast, client):
    from calaim.accounts import roles
    from calaim.accounts.services import service_account_create

    other = service_account_create(
        organization=cast.other_ecm_provider,
        role_name=roles.PROVIDER_API,
        name="Other provider system",
    )
    authenticate_api_client(client, other)
    assert client.get(consents_url(cast.member)).status_code == 404
    response = client.post(
        consents_url(cast.member), body(cast), content_type="application/json"
    )
    assert response.status_code == 404
    assert not Consent.objects.exists()


def test_end_event_through_the_api(cast, api):
    consent = factories.ConsentFactory(
        member=cast.member, end_date=None, end_event="End of ECM enrollment"
    )
    url = reverse("api_member_consent_end", args=[cast.member.uuid, consent.uuid])
    future = api.post(
        url,
        {"end_date": (today() + timedelta(days=3)).isoformat()},
        content_type="application/json",
    )
    assert future.status_code == 400
    assert future.json()["errors"][0]["field"] == "end_date"

    response = api.post(
        url, {"end_date": today().isoformat()}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["end_date"] == today().isoformat()
    assert response.json()["status"] == "active"  # through its last day
