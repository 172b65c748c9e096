"""The HL7 intake's pages and endpoint in the permission matrix (tests/matrix.py).

The feed pages are for the plan's interface administrator only: everyone else
who signs in gets 403 (the role lacks the permission, checked before any record
is fetched). POST /api/v1/hl7/adt is for hospital feeds (scope hl7:write): a
provider's client lacks the scope and people lack the role (403). The cast's
hospital has no sender registered, so its feed's message is answered AR (200).
"""

from django.urls import reverse

from tests.cast import PEOPLE
from tests.matrix import API, register

ADMIN = {"interface_admin"}
OTHERS = set(PEOPLE) - ADMIN


def cast_sender(cast):
    """The cast's plan's sender for the cast's hospital (memoized per cast)."""
    if "_hl7_sender" not in cast.__dict__:
        from tests.factories import HL7SenderFactory

        cast.__dict__["_hl7_sender"] = HL7SenderFactory(
            organization=cast.hospital,
            plan=cast.plan,
            sending_facility="CAST_HOSPITAL",
        )
    return cast.__dict__["_hl7_sender"]


def cast_message(cast):
    if "_hl7_message" not in cast.__dict__:
        from tests.factories import InboundMessageFactory

        cast.__dict__["_hl7_message"] = InboundMessageFactory(
            sender=cast_sender(cast), status="processed", member=cast.member
        )
    return cast.__dict__["_hl7_message"]


def _sender_form(cast, facility):
    return {
        "organization": str(cast.hospital.uuid),
        "sending_facility": facility,
        "allowed_addresses": "10.9.8.0/24",
        "cin_assigning_authorities": "DHCS",
        "active": "on",
    }


ADT = (
    "MSH|^~\\&|EHR|CAST_HOSPITAL_UNREGISTERED|CALAIM|PLAN|20261130101500||"
    "ADT^A01^ADT_A01|MATRIX1|P|2.5.1\rEVN|A01|20261130101500\r"
)

register(
    "hl7_feed",
    "GET",
    lambda cast: reverse("hl7_feed"),
    allowed=ADMIN,
    forbidden=OTHERS,
)
register(
    "hl7_message",
    "GET",
    lambda cast: reverse("hl7_message", args=[cast_message(cast).uuid]),
    allowed=ADMIN,
    forbidden=OTHERS,
)
register(
    "hl7_refused",
    "GET",
    lambda cast: reverse("hl7_refused"),
    allowed=ADMIN,
    forbidden=OTHERS,
)
register(
    "hl7_senders",
    "GET",
    lambda cast: reverse("hl7_senders"),
    allowed=ADMIN,
    forbidden=OTHERS,
)
register(
    "hl7_sender_create",
    "POST",
    lambda cast: reverse("hl7_sender_create"),
    allowed=ADMIN,
    forbidden=OTHERS,
    ok_status=(302,),
    data=lambda cast: _sender_form(cast, "MATRIX_NEW"),
)
register(
    "hl7_sender_edit",
    "POST",
    lambda cast: reverse("hl7_sender_edit", args=[cast_sender(cast).uuid]),
    allowed=ADMIN,
    forbidden=OTHERS,
    ok_status=(302,),
    data=lambda cast: _sender_form(cast, "CAST_HOSPITAL"),
)
register(
    "api_hl7_adt",
    "POST",
    lambda cast: reverse("api_hl7_adt"),
    kind=API,
    allowed={"hospital_feed"},
    forbidden=set(PEOPLE) | {"provider_api"},
    data=lambda cast: ADT,
    content_type="application/hl7-v2",
)
