"""Consents: ASCMI forms, their revocation, and 42 CFR Part 2 consents.

A consent is recorded with its evidence (the signed form, stored privately, or a
staff member's attestation that the member consented verbally) and is never
deleted. Revoking a Part 2 consent ends it; revoking an ASCMI form also records
the revocation as its own row, as the ASCMI Revocation Form is its own document
(DOMAIN.md §7a). A consent that ends by an event gets its end date when the
event is recorded. Every rule lives here, so the pages and the API refuse the
same things with the same words.
"""

import hashlib
import os
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from calaim import access as registry
from calaim.accounts.models import Organization
from calaim.audit.services import audit_record
from members.models import (
    ASCMI_KINDS,
    PART2_CATEGORIES,
    Consent,
    ConsentCategory,
    ConsentKind,
    Member,
)

# The signed form may be a PDF or a photo of the page: known by its first bytes,
# never by the name or the content type the browser claims.
DOCUMENT_TYPES = {
    "application/pdf": (b"%PDF-", ".pdf"),
    "image/png": (b"\x89PNG\r\n\x1a\n", ".png"),
    "image/jpeg": (b"\xff\xd8\xff", ".jpg"),
}
DEFAULT_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


def max_document_bytes() -> int:
    return getattr(settings, "CONSENT_DOCUMENT_MAX_BYTES", DEFAULT_MAX_DOCUMENT_BYTES)


def document_dir() -> Path:
    """Signed consent forms are PHI: a private folder, never a public media URL."""
    path = Path(settings.DATA_DIR) / "uploads" / "consents"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _check(actor, member, permission):
    registry.require_permission(actor, permission)
    if not registry.member_is_visible(actor, member.pk):
        raise PermissionDenied("You can only record consents for members you can see.")


def _read_document(document) -> tuple[bytes, str]:
    """The upload's bytes and its content type, or a ValidationError on
    "document" for an empty, too large or unsupported file."""
    limit = max_document_bytes()
    size = getattr(document, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            {
                "document": f"The file is {filesizeformat(size)}; the limit is "
                f"{filesizeformat(limit)}."
            }
        )
    if hasattr(document, "seek"):
        document.seek(0)
    content = document.read(limit + 1)
    if len(content) > limit:
        raise ValidationError(
            {"document": f"The file is larger than {filesizeformat(limit)}."}
        )
    if not content:
        raise ValidationError({"document": "The file is empty."})
    for content_type, (magic, _) in DOCUMENT_TYPES.items():
        if content.startswith(magic):
            return content, content_type
    raise ValidationError(
        {"document": "The signed form must be a PDF, PNG or JPEG file."},
        code="unsupported_type",
    )


def _store_document(content: bytes, content_type: str) -> tuple[str, Path]:
    digest = hashlib.sha256(content).hexdigest()
    final = document_dir() / f"{digest}{DOCUMENT_TYPES[content_type][1]}"
    if not final.exists():
        temporary = document_dir() / f".incoming-{uuid.uuid4().hex}"
        with open(temporary, "wb") as out:
            os.chmod(temporary, 0o600)
            out.write(content)
        os.replace(temporary, final)
    return digest, final


def _names(raw: str) -> str:
    lines = (line.strip() for line in (raw or "").splitlines())
    return "\n".join(line for line in lines if line)


def _validate(
    *,
    kind,
    categories,
    organizations,
    names,
    purpose,
    start_date,
    end_date,
    end_event,
    has_document,
    verbal_attestation,
) -> dict:
    errors = {}
    if kind not in ConsentKind.values:
        errors["kind"] = f"Unknown kind of consent: {kind!r}."
    unknown = [value for value in categories if value not in ConsentCategory.values]
    if unknown:
        errors["scope_categories"] = f"Unknown category: {', '.join(unknown)}."
    if start_date is None:
        errors["start_date"] = "Give the date the consent starts."
    elif end_date is not None and end_date < start_date:
        errors["end_date"] = "The end date is before the start date."
    if has_document and verbal_attestation:
        errors["document"] = (
            "Upload the signed form or attest to verbal consent, not both."
        )
    elif not has_document and not verbal_attestation:
        errors["document"] = (
            "Upload the signed form, or attest that the member consented verbally."
        )
    if kind == ConsentKind.ASCMI_REVOCATION:
        if categories or organizations or names:
            errors["scope_categories"] = (
                "A revocation shares nothing: leave the scope and recipients empty."
            )
        return errors
    covers_part2 = kind == ConsentKind.PART2 or bool(
        set(categories) & set(PART2_CATEGORIES)
    )
    if kind == ConsentKind.PART2 and not set(categories) & set(PART2_CATEGORIES):
        errors.setdefault(
            "scope_categories",
            "A Part 2 consent covers substance use disorder records: include them "
            "(or all information) in the scope.",
        )
    if covers_part2:
        # 42 CFR 2.31(a): recipients, purpose, what is shared, an expiration.
        if not organizations and not names:
            errors["recipient_organizations"] = (
                "42 CFR 2.31: name at least one recipient (an organization or a "
                "named person)."
            )
        if not purpose:
            errors["purpose"] = "42 CFR 2.31: say what the information may be used for."
        if end_date is None and not end_event:
            errors.setdefault(
                "end_date",
                "42 CFR 2.31: give the date or the event on which the consent ends.",
            )
    return errors


@transaction.atomic
def consent_record(
    *,
    member: Member,
    kind: str,
    start_date: date,
    actor,
    scope_categories: Iterable[str] = (),
    scope_text: str = "",
    recipient_organizations: Iterable[Organization] = (),
    recipient_names: str = "",
    purpose: str = "",
    end_date: date | None = None,
    end_event: str = "",
    document=None,
    verbal_attestation: bool = False,
    attestation_witness: str = "",
    attestation_notes: str = "",
) -> Consent:
    """Record a member's consent (or an ASCMI revocation) with its evidence.

    The evidence is the signed form (`document`: a PDF, PNG or JPEG upload,
    stored under DATA_DIR by its sha256) or `verbal_attestation` by the actor.
    A consent covering Part 2 records (a Part 2 consent, or an ASCMI form whose
    scope includes substance use) must carry 42 CFR 2.31's elements: recipients,
    purpose, scope and an end date or event. An ASCMI revocation ends every
    ASCMI form of the member still in effect on its date. Bad input raises
    ValidationError and writes nothing, not even the file.
    """
    _check(actor, member, "members.add_consent")
    categories = list(dict.fromkeys(scope_categories or ()))
    organizations = list(dict.fromkeys(recipient_organizations or ()))
    names = _names(recipient_names)
    purpose = (purpose or "").strip()
    end_event = (end_event or "").strip()
    errors = _validate(
        kind=kind,
        categories=categories,
        organizations=organizations,
        names=names,
        purpose=purpose,
        start_date=start_date,
        end_date=end_date,
        end_event=end_event,
        has_document=document is not None,
        verbal_attestation=verbal_attestation,
    )
    for field, value, limit in (
        ("purpose", purpose, 500),
        ("end_event", end_event, 300),
        ("attestation_witness", attestation_witness or "", 200),
    ):
        if len(value) > limit:
            errors.setdefault(field, f"At most {limit} characters.")
    content = content_type = None
    if document is not None and "document" not in errors:
        try:
            content, content_type = _read_document(document)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    consent = Consent(
        member=member,
        kind=kind,
        scope_categories=categories,
        scope_text=(scope_text or "").strip(),
        recipient_names=names,
        purpose=purpose,
        start_date=start_date,
        end_date=end_date,
        end_event=end_event,
        recorded_by=actor,
    )
    if content is not None:
        digest, path = _store_document(content, content_type)
        consent.document_file = path.name
        consent.document_name = os.path.basename(getattr(document, "name", ""))[:255]
        consent.document_name = consent.document_name or f"consent{path.suffix}"
        consent.document_sha256 = digest
        consent.document_content_type = content_type
        consent.document_size = len(content)
    else:
        consent.attested_by = actor
        consent.attested_at = now
        consent.attestation_witness = (attestation_witness or "").strip()
        consent.attestation_notes = (attestation_notes or "").strip()
    consent.save()
    if organizations:
        consent.recipient_organizations.set(organizations)
    if kind == ConsentKind.ASCMI_REVOCATION:
        Consent.objects.filter(
            member=member, kind__in=ASCMI_KINDS, revoked_at__isnull=True
        ).exclude(end_date__lt=start_date).update(
            revoked_at=now,
            revoked_by=actor,
            revocation_reason="ASCMI Revocation Form on file.",
            revoked_by_consent=consent,
            updated_at=now,
        )
    audit_record(
        action="create",
        object_type="consent",
        object_id=str(consent.uuid),
        member_ids=[member.pk],
        actor=actor,
        reason=kind,
    )
    return consent


@transaction.atomic
def consent_revoke(*, consent: Consent, reason: str, actor) -> Consent:
    """Record that the member revoked a consent; it stops covering anything now.

    Nothing is deleted: the consent keeps its content and gains who recorded the
    revocation, when and why. Revoking an ASCMI form also records an ASCMI
    revocation (attested by the actor), as the form's revocation is its own
    record. A revocation, a consent already revoked or one that has expired
    cannot be revoked.
    """
    _check(actor, consent.member, "members.revoke_consent")
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    reason = (reason or "").strip()
    today = timezone.localdate()
    if consent.kind == ConsentKind.ASCMI_REVOCATION:
        raise ValidationError("A revocation cannot be revoked.", code="not_revocable")
    if consent.revoked_at is not None:
        raise ValidationError(
            f"This consent was already revoked on "
            f"{timezone.localtime(consent.revoked_at):%B %-d, %Y}.",
            code="already_revoked",
        )
    if consent.end_date is not None and consent.end_date < today:
        raise ValidationError(
            f"This consent ended on {consent.end_date:%B %-d, %Y}: there is nothing "
            "to revoke.",
            code="expired",
        )
    if not reason:
        raise ValidationError({"reason": "Say why the consent is revoked."})
    if len(reason) > 500:
        raise ValidationError({"reason": "At most 500 characters."})
    now = timezone.now()
    if consent.kind in ASCMI_KINDS:
        consent.revoked_by_consent = Consent.objects.create(
            member_id=consent.member_id,
            kind=ConsentKind.ASCMI_REVOCATION,
            start_date=today,
            attested_by=actor,
            attested_at=now,
            attestation_notes=reason,
            recorded_by=actor,
        )
    consent.revoked_at = now
    consent.revoked_by = actor
    consent.revocation_reason = reason
    consent.save(
        update_fields=[
            "revoked_at",
            "revoked_by",
            "revocation_reason",
            "revoked_by_consent",
            "updated_at",
        ]
    )
    audit_record(
        action="update",
        object_type="consent",
        object_id=str(consent.uuid),
        member_ids=[consent.member_id],
        actor=actor,
        reason="revoked",
    )
    return consent


@transaction.atomic
def consent_end(*, consent: Consent, on: date, actor) -> Consent:
    """Record that the event ending a consent happened on `on` (e.g. the end
    of ECM enrollment): the consent's end date becomes that day.

    For consents that end by an event rather than a date. Not a revocation:
    the member did not withdraw it, its term ran out. The day may not be in the
    future (the event has happened) nor before the consent started.
    """
    _check(actor, consent.member, "members.revoke_consent")
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.kind == ConsentKind.ASCMI_REVOCATION or not consent.end_event:
        raise ValidationError(
            "This consent does not end by an event.", code="no_end_event"
        )
    if consent.end_date is not None:
        raise ValidationError(
            f"This consent already ends on {consent.end_date:%B %-d, %Y}.",
            code="already_ended",
        )
    if consent.revoked_at is not None:
        raise ValidationError("This consent was revoked.", code="already_revoked")
    if on is None:
        raise ValidationError({"end_date": "Give the day the event happened."})
    if on > timezone.localdate():
        raise ValidationError(
            {"end_date": "The event has not happened yet: the day is in the future."}
        )
    if on < consent.start_date:
        raise ValidationError({"end_date": "The end date is before the start date."})
    consent.end_date = on
    consent.save(update_fields=["end_date", "updated_at"])
    audit_record(
        action="update",
        object_type="consent",
        object_id=str(consent.uuid),
        member_ids=[consent.member_id],
        actor=actor,
        reason="end event recorded",
    )
    return consent


def consent_document_path(consent: Consent) -> Path | None:
    """Where the consent's signed form is stored, or None when it has none (or
    the file is gone). Callers check access first (members.access)."""
    name = consent.document_file
    if not consent.document_sha256 or not name or Path(name).name != name:
        return None
    path = document_dir() / name
    return path if path.is_file() else None
