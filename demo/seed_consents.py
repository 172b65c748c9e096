"""Demo consents: a few synthetic ASCMI and 42 CFR Part 2 consents.

Recorded through members.services.consents by the Harbor care manager, for three
of the San Diego demo members she leads: one with an ASCMI form and a Part 2
consent in effect (the Part 2 one with a synthetic signed PDF), one whose
consents were revoked, one whose Part 2 consent has expired. A member who
already has a consent is left alone, so running it twice changes nothing.
"""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from members.models import Consent, ConsentKind
from members.services import consent_record, consent_revoke, member_by_cin

# A one-page PDF saying only that it is a demo; no person's data.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]>> endobj\n"
    b"% Synthetic demo consent form - no real person.\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)


def seed(stdout, organizations, users):
    """Add the demo consents (idempotent)."""
    today = timezone.localdate()
    harbor = organizations["Harbor Community Care"]
    pacific = organizations["Pacific Coast Health Plan"]
    open_door = organizations["Open Door Housing Services"]
    care_manager = users["care.manager@harbor.example"]

    def fresh(cin):
        member = member_by_cin(cin)
        if member is None or Consent.objects.filter(member=member).exists():
            return None
        return member

    member = fresh("90000001D")
    if member is not None:
        consent_record(
            member=member,
            kind=ConsentKind.ASCMI_AB133,
            scope_categories=["physical_health", "mental_health", "social_services"],
            recipient_organizations=[harbor, pacific, open_door],
            purpose="Care coordination under CalAIM",
            start_date=today - timedelta(days=40),
            end_date=today + timedelta(days=325),
            verbal_attestation=True,
            attestation_notes="Explained the form in Spanish; member agreed.",
            actor=care_manager,
        )
        consent_record(
            member=member,
            kind=ConsentKind.PART2,
            scope_categories=["substance_use"],
            scope_text="Substance use treatment records from the member's clinic.",
            recipient_organizations=[harbor],
            purpose="Treatment and care coordination",
            start_date=today - timedelta(days=40),
            end_event="End of ECM enrollment",
            document=SimpleUploadedFile("part2-consent-demo.pdf", DEMO_PDF),
            actor=care_manager,
        )

    member = fresh("90000005D")
    if member is not None:
        ascmi = consent_record(
            member=member,
            kind=ConsentKind.ASCMI_NON_AB133,
            scope_categories=["physical_health", "social_services"],
            recipient_organizations=[harbor, open_door],
            start_date=today - timedelta(days=90),
            verbal_attestation=True,
            actor=care_manager,
        )
        consent_revoke(
            consent=ascmi, reason="Member revoked by phone.", actor=care_manager
        )
        part2 = consent_record(
            member=member,
            kind=ConsentKind.PART2,
            scope_categories=["substance_use"],
            recipient_organizations=[harbor],
            purpose="Care coordination",
            start_date=today - timedelta(days=90),
            end_date=today + timedelta(days=275),
            verbal_attestation=True,
            actor=care_manager,
        )
        consent_revoke(
            consent=part2, reason="Member asked to stop sharing.", actor=care_manager
        )

    member = fresh("90000007D")
    if member is not None:
        consent_record(
            member=member,
            kind=ConsentKind.PART2,
            scope_categories=["substance_use"],
            recipient_names="Synthetic Recovery Clinic",
            purpose="Care coordination",
            start_date=today - timedelta(days=400),
            end_date=today - timedelta(days=35),
            verbal_attestation=True,
            actor=care_manager,
        )
    # The same line on every run (seed_demo's output does not change on a rerun).
    members = [member_by_cin(cin) for cin in ("90000001D", "90000005D", "90000007D")]
    on_file = Consent.objects.filter(member__in=[m for m in members if m]).count()
    stdout.write(f"Demo consents: {on_file} on file.")
