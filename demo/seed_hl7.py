"""Demo HL7 senders: the demo hospitals' sending facilities, registered with the
plans that receive their ADT feeds (idempotent: looked up by MSH-4)."""

from calaim.accounts.models import User
from care_plans.hl7.models import HL7Sender
from care_plans.hl7.services import sender_register

SENDERS = [
    # MSH-4, hospital, plan, MLLP addresses, CIN assigning authorities
    ("MERCYBAY", "Mercy Bay Hospital", "Pacific Coast Health Plan",
     ["127.0.0.1", "::1"], ["DHCS"]),
    ("VALLEYGEN", "Valley General Hospital", "Golden Valley Health",
     ["127.0.0.1", "::1"], ["DHCS", "CA-MEDICAID"]),
]  # fmt: skip


def seed(stdout, organizations, users):
    """Register the demo senders (MSH-4 MERCYBAY, VALLEYGEN) once."""
    actor = User.objects.filter(email="interfaces@pacificcoast.example").first()
    for facility, hospital, plan, addresses, authorities in SENDERS:
        if HL7Sender.objects.filter(sending_facility=facility).exists():
            continue
        sender_register(
            plan=organizations[plan],
            organization=organizations[hospital],
            sending_facility=facility,
            allowed_addresses=addresses,
            cin_assigning_authorities=authorities,
            actor=actor,
        )
    # The same text on every run (the demo's output is compared between runs).
    names = ", ".join(f"{facility} ({hospital})" for facility, hospital, *_ in SENDERS)
    stdout.write(
        f"HL7 senders: {names}; MLLP on port 2575 from localhost, or "
        "POST /api/v1/hl7/adt with the hospital's client"
    )
