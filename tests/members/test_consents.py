"""Consents: recording and revoking ASCMI and 42 CFR Part 2 consents (the services).

Every bad input gets a specific error on its field and writes nothing (no row,
no stored file); the database's own constraints hold the same rules for any
write that bypasses the service.
"""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from calaim.audit.models import AuditEvent
from members.models import Consent, ConsentKind
from members.selectors import consent_flags
from members.services import consent_end, consent_record, consent_revoke
from members.services.consents import document_dir

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def pdf(name="signed.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def today():
    return timezone.localdate()


def part2(cast, **overrides):
    """Arguments of a complete Part 2 consent naming the cast's ECM provider."""
    arguments = {
        "member": cast.member,
        "kind": ConsentKind.PART2,
        "scope_categories": ["substance_use"],
        "recipient_organizations": [cast.ecm_provider],
        "purpose": "Care coordination under ECM",
        "start_date": today(),
        "end_date": today() + timedelta(days=365),
        "verbal_attestation": True,
        "actor": cast.lead_care_manager,
    }
    arguments.update(overrides)
    return arguments


def stored_files():
    return sorted(path.name for path in document_dir().iterdir())


def nothing_written():
    return Consent.objects.count() == 0 and stored_files() == []


def test_part2_consent_with_signed_form_is_stored_privately_and_audited(cast):
    consent = consent_record(**part2(cast, verbal_attestation=False, document=pdf()))

    digest = hashlib.sha256(PDF).hexdigest()
    assert consent.document_sha256 == digest
    assert consent.document_content_type == "application/pdf"
    assert consent.document_size == len(PDF)
    assert consent.document_name == "signed.pdf"
    assert stored_files() == [f"{digest}.pdf"]
    assert (document_dir() / f"{digest}.pdf").stat().st_mode & 0o077 == 0
    assert consent.attested_by is None
    assert list(consent.recipient_organizations.all()) == [cast.ecm_provider]
    assert consent.status_on(today()) == Consent.Status.ACTIVE
    assert consent.covers_part2
    event = AuditEvent.objects.get(object_type="consent", action="create")
    assert event.member_ids == [cast.member.pk]
    assert event.object_id == str(consent.uuid)


def test_verbal_consent_is_attested_by_the_recorder(cast):
    consent = consent_record(
        **part2(cast, attestation_witness="A. Witness", attestation_notes="By phone")
    )
    assert consent.attested_by == cast.lead_care_manager
    assert consent.attested_at is not None
    assert consent.attestation_witness == "A. Witness"
    assert consent.document_sha256 == ""


@pytest.mark.parametrize(
    ("content", "suffix"), [(PNG, ".png"), (JPEG, ".jpg"), (PDF, ".pdf")]
)
def test_photos_and_pdfs_are_accepted_by_their_bytes(cast, content, suffix):
    # The browser's claimed type does not matter; the first bytes do.
    upload = pdf(name="scan", content=content, content_type="text/plain")
    consent = consent_record(**part2(cast, verbal_attestation=False, document=upload))
    assert consent.document_file == f"{consent.document_sha256}{suffix}"


def test_end_before_start_is_refused_and_nothing_written(cast):
    with pytest.raises(ValidationError) as refused:
        consent_record(
            **part2(
                cast,
                end_date=today() - timedelta(days=1),
                verbal_attestation=False,
                document=pdf(),
            )
        )
    assert refused.value.message_dict == {
        "end_date": ["The end date is before the start date."]
    }
    assert nothing_written()


def test_neither_document_nor_attestation_is_refused(cast):
    with pytest.raises(ValidationError) as refused:
        consent_record(**part2(cast, verbal_attestation=False))
    assert "attest that the member consented verbally" in str(
        refused.value.message_dict["document"]
    )
    assert nothing_written()


def test_both_document_and_attestation_is_refused(cast):
    with pytest.raises(ValidationError) as refused:
        consent_record(**part2(cast, document=pdf()))
    assert "not both" in str(refused.value.message_dict["document"])
    assert nothing_written()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"MZ\x90\x00 an executable", "must be a PDF, PNG or JPEG"),
        (b"<html><script>alert(1)</script></html>", "must be a PDF, PNG or JPEG"),
        (b"", "The file is empty."),
    ],
)
def test_wrong_file_type_is_refused_and_nothing_written(cast, content, message):
    upload = pdf(name="signed.pdf", content=content)
    with pytest.raises(ValidationError) as refused:
        consent_record(**part2(cast, verbal_attestation=False, document=upload))
    assert message in str(refused.value.message_dict["document"])
    assert nothing_written()


def test_a_file_over_the_limit_is_refused(cast, settings):
    settings.CONSENT_DOCUMENT_MAX_BYTES = 1024
    upload = pdf(content=PDF + b"0" * 2048)
    with pytest.raises(ValidationError) as refused:
        consent_record(**part2(cast, verbal_attestation=False, document=upload))
    assert "the limit is 1.0" in str(refused.value.message_dict["document"])
    assert nothing_written()


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (
            {"recipient_organizations": [], "recipient_names": ""},
            "recipient_organizations",
            "name at least one recipient",
        ),
        ({"purpose": "  "}, "purpose", "what the information may be used for"),
        (
            {"end_date": None, "end_event": ""},
            "end_date",
            "date or the event on which the consent ends",
        ),
        ({"scope_categories": []}, "scope_categories", "substance use disorder"),
        (
            {"scope_categories": ["mental_health"]},
            "scope_categories",
            "substance use disorder",
        ),
    ],
)
def test_part2_consent_missing_a_required_element_is_refused(
    cast, overrides, field, words
):
    with pytest.raises(ValidationError) as refused:
        consent_record(**part2(cast, **overrides))
    assert words in str(refused.value.message_dict[field])
    assert nothing_written()


def test_part2_consent_may_end_by_event_and_name_a_person(cast):
    consent = consent_record(
        **part2(
            cast,
            end_date=None,
            end_event="End of ECM enrollment",
            recipient_organizations=[],
            recipient_names="  Dr. Synthetic Example, PCP \n\n",
        )
    )
    assert consent.end_event == "End of ECM enrollment"
    assert consent.recipient_names == "Dr. Synthetic Example, PCP"


def test_ascmi_covering_substance_use_needs_the_part2_elements(cast):
    with pytest.raises(ValidationError) as refused:
        consent_record(
            **part2(cast, kind=ConsentKind.ASCMI_AB133, scope_categories=["all"])
            | {"purpose": "", "end_date": None}
        )
    assert set(refused.value.message_dict) == {"purpose", "end_date"}
    assert nothing_written()


def test_ascmi_sharing_nothing_is_a_record_of_choice(cast):
    consent = consent_record(
        member=cast.member,
        kind=ConsentKind.ASCMI_AB133,
        start_date=today(),
        verbal_attestation=True,
        actor=cast.lead_care_manager,
    )
    assert consent.scope_categories == []
    assert not consent.covers_part2
    assert consent_flags(cast.member) == {"ascmi": "ab133", "part2": False}


def test_unknown_kind_and_category_are_refused(cast):
    with pytest.raises(ValidationError) as refused:
        consent_record(**part2(cast, kind="hipaa", scope_categories=["gossip"]))
    assert set(refused.value.message_dict) >= {"kind", "scope_categories"}
    assert nothing_written()


def test_only_the_care_team_and_the_plan_record_consents(cast):
    for outsider in (cast.auditor, cast.provider_admin):
        with pytest.raises(PermissionDenied):
            consent_record(**part2(cast, actor=outsider))
    # A care manager who does not see the member may not record for them.
    with pytest.raises(PermissionDenied):
        consent_record(**part2(cast, actor=cast.colleague))
    assert nothing_written()
    for allowed in (cast.supervisor, cast.plan_admin, cast.provider_api):
        consent_record(**part2(cast, actor=allowed))
    assert Consent.objects.count() == 3


# --- Revocation ---------------------------------------------------------------------


def test_revoking_a_part2_consent_ends_it_without_deleting_it(cast):
    consent = consent_record(**part2(cast))
    assert consent_flags(cast.member)["part2"] is True

    revoked = consent_revoke(
        consent=consent, reason="Member revoked by phone", actor=cast.supervisor
    )

    assert revoked.revoked_by == cast.supervisor
    assert revoked.revocation_reason == "Member revoked by phone"
    assert revoked.revoked_by_consent is None
    assert revoked.status_on(today()) == Consent.Status.REVOKED
    assert Consent.objects.count() == 1
    assert consent_flags(cast.member)["part2"] is False
    event = AuditEvent.objects.get(object_type="consent", action="update")
    assert event.reason == "revoked"
    assert event.member_ids == [cast.member.pk]


def test_a_consent_is_revoked_once(cast):
    consent = consent_record(**part2(cast))
    consent_revoke(consent=consent, reason="Member asked", actor=cast.supervisor)
    with pytest.raises(ValidationError) as refused:
        consent_revoke(consent=consent, reason="Again", actor=cast.supervisor)
    assert refused.value.code == "already_revoked"


def test_an_expired_consent_cannot_be_revoked(cast):
    consent = consent_record(
        **part2(
            cast,
            start_date=today() - timedelta(days=30),
            end_date=today() - timedelta(days=1),
        )
    )
    assert consent.status_on(today()) == Consent.Status.EXPIRED
    with pytest.raises(ValidationError) as refused:
        consent_revoke(consent=consent, reason="Too late", actor=cast.supervisor)
    assert refused.value.code == "expired"
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_revocation_needs_a_reason_and_the_role(cast):
    consent = consent_record(**part2(cast))
    with pytest.raises(ValidationError) as refused:
        consent_revoke(consent=consent, reason="  ", actor=cast.supervisor)
    assert refused.value.message_dict == {"reason": ["Say why the consent is revoked."]}
    with pytest.raises(PermissionDenied):
        consent_revoke(consent=consent, reason="Not mine", actor=cast.auditor)
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_revoking_an_ascmi_form_records_the_revocation_as_its_own_record(cast):
    form = consent_record(
        **part2(cast, kind=ConsentKind.ASCMI_NON_AB133, scope_categories=["all"])
    )
    assert consent_flags(cast.member) == {"ascmi": "non_ab133", "part2": True}

    consent_revoke(
        consent=form, reason="Member revoked in person", actor=cast.plan_admin
    )

    form.refresh_from_db()
    revocation = form.revoked_by_consent
    assert revocation.kind == ConsentKind.ASCMI_REVOCATION
    assert revocation.attested_by == cast.plan_admin
    assert revocation.attestation_notes == "Member revoked in person"
    assert revocation.status_on(today()) == Consent.Status.RECORDED
    assert consent_flags(cast.member) == {"ascmi": "revoked", "part2": False}
    with pytest.raises(ValidationError) as refused:
        consent_revoke(consent=revocation, reason="Undo", actor=cast.plan_admin)
    assert refused.value.code == "not_revocable"


def test_an_ascmi_revocation_form_ends_every_ascmi_form_in_effect(cast):
    first = consent_record(
        **part2(cast, kind=ConsentKind.ASCMI_AB133, scope_categories=["all"])
    )
    second = consent_record(
        member=cast.member,
        kind=ConsentKind.ASCMI_NON_AB133,
        scope_categories=["social_services"],
        start_date=today(),
        verbal_attestation=True,
        actor=cast.lead_care_manager,
    )
    part2_consent = consent_record(**part2(cast))

    revocation = consent_record(
        member=cast.member,
        kind=ConsentKind.ASCMI_REVOCATION,
        start_date=today(),
        document=pdf(name="revocation.pdf"),
        actor=cast.lead_care_manager,
    )

    for form in (first, second):
        form.refresh_from_db()
        assert form.revoked_by_consent == revocation
        assert form.status_on(today()) == Consent.Status.REVOKED
    part2_consent.refresh_from_db()
    assert part2_consent.revoked_at is None  # Part 2 consents are revoked one by one
    assert consent_flags(cast.member) == {"ascmi": "revoked", "part2": True}


def test_an_ascmi_revocation_shares_nothing(cast):
    with pytest.raises(ValidationError) as refused:
        consent_record(
            member=cast.member,
            kind=ConsentKind.ASCMI_REVOCATION,
            scope_categories=["all"],
            start_date=today(),
            verbal_attestation=True,
            actor=cast.lead_care_manager,
        )
    assert "shares nothing" in str(refused.value.message_dict["scope_categories"])


# --- Flags and the database's own rules ---------------------------------------------


def test_consent_flags_follow_dates(cast):
    assert consent_flags(cast.member) == {"ascmi": None, "part2": False}
    consent_record(
        **part2(
            cast,
            start_date=today() - timedelta(days=60),
            end_date=today() - timedelta(days=1),
        )
    )
    consent_record(**part2(cast, start_date=today() + timedelta(days=1)))
    assert consent_flags(cast.member) == {"ascmi": None, "part2": False}
    consent_record(**part2(cast, end_date=today()))  # the last day counts
    assert consent_flags(cast.member) == {"ascmi": None, "part2": True}


def test_consent_flags_take_one_query(cast, django_assert_num_queries):
    for _ in range(3):
        consent_record(**part2(cast))
    with django_assert_num_queries(1):
        consent_flags(cast.member)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        (
            {"end_date": "2026-01-01", "start_date": "2026-02-01"},
            "consent_ends_after_it_starts",
        ),
        ({"attested_by": None, "attested_at": None}, "consent_signed_or_attested"),
        ({"purpose": ""}, "consent_part2_has_required_elements"),
        ({"end_date": None, "end_event": ""}, "consent_part2_has_required_elements"),
    ],
)
def test_the_database_refuses_what_the_service_refuses(cast, fields, constraint):
    values = {
        "member": cast.member,
        "kind": ConsentKind.PART2,
        "scope_categories": ["substance_use"],
        "purpose": "Care coordination",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "recorded_by": cast.lead_care_manager,
        "attested_by": cast.lead_care_manager,
        "attested_at": timezone.now(),
    }
    values.update(fields)
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Consent.objects.create(**values)


# --- The end event ------------------------------------------------------------------


def test_recording_the_end_event_expires_the_consent_that_day(cast):
    consent = consent_record(
        **part2(
            cast,
            start_date=today() - timedelta(days=20),
            end_date=None,
            end_event="End of ECM enrollment",
        )
    )
    ended = consent_end(
        consent=consent, on=today() - timedelta(days=2), actor=cast.supervisor
    )
    assert ended.end_date == today() - timedelta(days=2)
    assert ended.revoked_at is None  # not a revocation by the member
    assert ended.status_on(today()) == Consent.Status.EXPIRED
    assert consent_flags(cast.member)["part2"] is False
    assert AuditEvent.objects.filter(
        object_type="consent", action="update", reason="end event recorded"
    ).exists()


@pytest.mark.parametrize(
    ("on", "message"),
    [
        (1, "The event has not happened yet"),
        (-30, "The end date is before the start date."),
    ],
)
def test_the_end_event_day_must_be_between_start_and_today(cast, on, message):
    consent = consent_record(
        **part2(
            cast,
            start_date=today() - timedelta(days=10),
            end_date=None,
            end_event="Discharge",
        )
    )
    with pytest.raises(ValidationError) as refused:
        consent_end(
            consent=consent, on=today() + timedelta(days=on), actor=cast.supervisor
        )
    assert message in str(refused.value.message_dict["end_date"])
    consent.refresh_from_db()
    assert consent.end_date is None


def test_only_an_event_bound_consent_ends_by_event(cast):
    consent = consent_record(**part2(cast))
    with pytest.raises(ValidationError) as refused:
        consent_end(consent=consent, on=today(), actor=cast.supervisor)
    assert refused.value.code == "no_end_event"
