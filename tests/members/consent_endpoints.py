"""Consent pages and API calls in the permission matrix (see tests/matrix.py).

Whoever may open the member's chart reads the consents (and downloads the
signed form); the member's care managers and their supervisor, the plan and the
provider's system record and revoke them. Those who see the member without that
role (the provider administrator, the auditor) get 403; those who do not see the
member, 404. In the API the role is checked first (DRF permissions), so a role
without consents at all (CS provider staff, the interface administrator, a
hospital feed) gets 403 whichever member it asks about.
"""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.matrix import API, register

PDF = b"%PDF-1.4\n%%EOF\n"
READERS = {"lead_care_manager", "supervisor", "provider_admin", "plan_admin", "auditor"}
WRITERS = {"lead_care_manager", "supervisor", "plan_admin"}
# See the member, may not record or revoke.
READ_ONLY = READERS - WRITERS
# Roles without consents at all: 403 in the API before any member is looked at.
NO_CONSENT_ROLE = {
    "cs_provider",
    "other_cs_provider",
    "interface_admin",
    "hospital_feed",
}


def _consent(cast, *, document=False, event=False):
    """A Part 2 consent of the cast's member, recorded through the service
    (memoized per cast); with `event`, one that ends by an event."""
    key = f"_consent_{document}_{event}"
    if key in cast.__dict__:
        return cast.__dict__[key]
    from members.services import consent_record

    today = timezone.localdate()
    evidence = (
        {"document": SimpleUploadedFile("signed.pdf", PDF)}
        if document
        else {"verbal_attestation": True}
    )
    consent = consent_record(
        member=cast.member,
        kind="part2",
        scope_categories=["substance_use"],
        recipient_organizations=[cast.ecm_provider],
        purpose="Care coordination",
        start_date=today,
        end_date=None if event else today + timedelta(days=365),
        end_event="End of ECM enrollment" if event else "",
        actor=cast.plan_admin,
        **evidence,
    )
    cast.__dict__[key] = consent
    return consent


def _page(name, cast, consent=None):
    args = [cast.member.uuid] + ([consent.uuid] if consent is not None else [])
    return reverse(name, args=args)


def _new_consent_form(cast):
    return {
        "kind": "part2",
        "scope_categories": ["substance_use"],
        "recipient_organizations": [cast.ecm_provider.pk],
        "purpose": "Care coordination",
        "start_date": timezone.localdate().isoformat(),
        "end_date": (timezone.localdate() + timedelta(days=90)).isoformat(),
        "verbal_attestation": "on",
    }


# --- Pages --------------------------------------------------------------------------

register(
    "member_consent_new",
    "GET",
    lambda cast: _page("member_consent_new", cast),
    allowed=WRITERS,
    forbidden=READ_ONLY,
)
register(
    "member_consent_new_post",
    "POST",
    lambda cast: _page("member_consent_new", cast),
    allowed=WRITERS,
    forbidden=READ_ONLY,
    ok_status=(302,),
    data=_new_consent_form,
)
register(
    "member_consent_new_other_member",
    "GET",
    lambda cast: reverse("member_consent_new", args=[cast.other_member.uuid]),
    allowed={"other_plan_admin"},
)
register(
    "member_consent_revoke",
    "GET",
    lambda cast: _page("member_consent_revoke", cast, _consent(cast)),
    allowed=WRITERS,
    forbidden=READ_ONLY,
)
register(
    "member_consent_revoke_post",
    "POST",
    lambda cast: _page("member_consent_revoke", cast, _consent(cast)),
    allowed=WRITERS,
    forbidden=READ_ONLY,
    ok_status=(302,),
    data=lambda cast: {"reason": "The member revoked it by phone."},
)
register(
    "member_consent_end",
    "GET",
    lambda cast: _page("member_consent_end", cast, _consent(cast, event=True)),
    allowed=WRITERS,
    forbidden=READ_ONLY,
)
register(
    "member_consent_end_post",
    "POST",
    lambda cast: _page("member_consent_end", cast, _consent(cast, event=True)),
    allowed=WRITERS,
    forbidden=READ_ONLY,
    ok_status=(302,),
    data=lambda cast: {"end_date": timezone.localdate().isoformat()},
)
register(
    "member_consent_document",
    "GET",
    lambda cast: _page("member_consent_document", cast, _consent(cast, document=True)),
    allowed=READERS,
)

# --- API ----------------------------------------------------------------------------

register(
    "api_member_consents",
    "GET",
    lambda cast: reverse("api_member_consents", args=[cast.member.uuid]),
    allowed=READERS | {"provider_api"},
    forbidden=NO_CONSENT_ROLE,
    kind=API,
)
register(
    "api_member_consents_post",
    "POST",
    lambda cast: reverse("api_member_consents", args=[cast.member.uuid]),
    allowed=WRITERS | {"provider_api"},
    forbidden=NO_CONSENT_ROLE | READ_ONLY,
    ok_status=(201,),
    kind=API,
    content_type="application/json",
    data=lambda cast: {
        "kind": "part2",
        "scope_categories": ["substance_use"],
        "recipient_organization_ids": [str(cast.ecm_provider.uuid)],
        "purpose": "Care coordination",
        "start_date": timezone.localdate().isoformat(),
        "end_event": "End of ECM enrollment",
        "verbal_attestation": True,
    },
)
register(
    "api_member_consent_detail",
    "GET",
    lambda cast: reverse(
        "api_member_consent_detail", args=[cast.member.uuid, _consent(cast).uuid]
    ),
    allowed=READERS | {"provider_api"},
    forbidden=NO_CONSENT_ROLE,
    kind=API,
)
register(
    "api_member_consent_revoke",
    "POST",
    lambda cast: reverse(
        "api_member_consent_revoke", args=[cast.member.uuid, _consent(cast).uuid]
    ),
    allowed=WRITERS | {"provider_api"},
    forbidden=NO_CONSENT_ROLE | READ_ONLY,
    kind=API,
    content_type="application/json",
    data=lambda cast: {"reason": "The member revoked it in writing."},
)
register(
    "api_member_consent_end",
    "POST",
    lambda cast: reverse(
        "api_member_consent_end",
        args=[cast.member.uuid, _consent(cast, event=True).uuid],
    ),
    allowed=WRITERS | {"provider_api"},
    forbidden=NO_CONSENT_ROLE | READ_ONLY,
    kind=API,
    content_type="application/json",
    data=lambda cast: {"end_date": timezone.localdate().isoformat()},
)
register(
    "api_member_consent_document",
    "GET",
    lambda cast: reverse(
        "api_member_consent_document",
        args=[cast.member.uuid, _consent(cast, document=True).uuid],
    ),
    allowed=READERS | {"provider_api"},
    forbidden=NO_CONSENT_ROLE,
    kind=API,
)
