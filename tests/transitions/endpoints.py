"""Transitions of care in the permission matrix (see tests/matrix.py).

- The alert inbox is for care managers and supervisors (each sees only their
  own alerts, so the page names nobody they may not see); everyone else 403.
  Acknowledging is the recipient's alone: anyone else gets 404, as for a
  missing alert.
- The transitional-care queue is each plan's own (its plan administrators;
  another plan's gets its own empty queue); everyone else 403.
- The unmatched queue is the interface administrator's; one message of it
  answers 404 to everyone else, as a missing one would.
The records the calls need (an alert of the cast's lead care manager, an
unmatched message of the cast plan's feed) go through the real intake and
processor in the url lambdas, before the database fingerprint.
"""

from django.urls import reverse

from tests.matrix import register

ALERT_ROLES = {"lead_care_manager", "colleague", "supervisor", "other_care_manager"}
PEOPLE_BUT = {
    "lead_care_manager",
    "colleague",
    "supervisor",
    "provider_admin",
    "other_care_manager",
    "plan_admin",
    "other_plan_admin",
    "cs_provider",
    "other_cs_provider",
    "auditor",
    "interface_admin",
}


def _sender(cast):
    from care_plans.hl7.models import HL7Sender

    sender, _ = HL7Sender.objects.get_or_create(
        sending_facility="CASTHOSP",
        defaults={
            "organization": cast.hospital,
            "plan": cast.plan,
            "allowed_addresses": ["127.0.0.1"],
        },
    )
    return sender


def _send(cast, raw):
    from care_plans.hl7.services import message_process, message_receive

    _sender(cast)
    receipt = message_receive(
        data=raw, channel="http", organization=cast.hospital, publish=False
    )
    message_process(message_id=receipt.message.pk)
    receipt.message.refresh_from_db()
    return receipt.message


def lead_alert(cast):
    """An ED visit of the cast's member: one alert, for the lead care manager."""
    if "_transition_alert" not in cast.__dict__:
        from care_plans.transitions.models import Alert
        from tests.transitions.adt import build_adt

        message = _send(
            cast,
            build_adt(
                "A04",
                facility="CASTHOSP",
                pid3=f"{cast.member.cin}^^^DHCS^MA",
                patient_class="E",
            ),
        )
        cast.__dict__["_transition_alert"] = Alert.objects.get(
            event__message=message, recipient=cast.lead_care_manager
        )
    return cast.__dict__["_transition_alert"]


def unmatched_message(cast):
    if "_unmatched_message" not in cast.__dict__:
        from tests.transitions.adt import build_adt

        message = _send(
            cast,
            build_adt(
                "A01",
                facility="CASTHOSP",
                pid3="MRN-1^^^CASTHOSP^MR",
                last_name="CASTMEMBER",
                first_name="CASEY",
                birth_date="19700101",
            ),
        )
        assert message.status == "unmatched", message.status
        cast.__dict__["_unmatched_message"] = message
    return cast.__dict__["_unmatched_message"]


register(
    "transition_alerts",
    "get",
    lambda cast: reverse("transition_alerts"),
    allowed=ALERT_ROLES,
    forbidden=PEOPLE_BUT - ALERT_ROLES,
)
register(
    "transition_alert_acknowledge",
    "post",
    lambda cast: reverse("transition_alert_acknowledge", args=[lead_alert(cast).uuid]),
    allowed={"lead_care_manager"},
    ok_status=(302,),
)
register(
    "transition_queue",
    "get",
    lambda cast: reverse("transition_queue"),
    allowed={"plan_admin", "other_plan_admin"},
    forbidden=PEOPLE_BUT - {"plan_admin", "other_plan_admin"},
)
register(
    "transition_unmatched",
    "get",
    lambda cast: reverse("transition_unmatched"),
    allowed={"interface_admin"},
    forbidden=PEOPLE_BUT - {"interface_admin"},
)
register(
    "transition_unmatched_detail",
    "get",
    lambda cast: reverse(
        "transition_unmatched_detail", args=[unmatched_message(cast).uuid]
    ),
    allowed={"interface_admin"},
)
register(
    "transition_unmatched_link",
    "post",
    lambda cast: reverse(
        "transition_unmatched_link", args=[unmatched_message(cast).uuid]
    ),
    data=lambda cast: {"member": str(cast.member.uuid)},
    allowed={"interface_admin"},
    ok_status=(302,),
)
register(
    "transition_unmatched_dismiss",
    "post",
    lambda cast: reverse(
        "transition_unmatched_dismiss", args=[unmatched_message(cast).uuid]
    ),
    data=lambda cast: {"reason": "A test message from the hospital."},
    allowed={"interface_admin"},
    ok_status=(302,),
)
