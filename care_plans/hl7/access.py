"""The chokepoints that fetch a feed's sender or message for a user.

A plan's interface administrators see the senders their plan registered and the
messages those senders sent; nobody else sees either. Missing and not allowed
answer the same 404; a role without the permission answers 403 first, so the
check does not reveal whether a record exists.
"""

from django.core.exceptions import ValidationError
from django.http import Http404

from calaim import access as registry
from calaim.audit.models import AuditAction
from calaim.audit.services import audit_record
from care_plans.hl7.models import HL7Sender, InboundMessage

VIEW_FEED = "hl7.view_inboundmessage"
VIEW_RAW = "hl7.view_raw_inboundmessage"
MANAGE_SENDERS = "hl7.change_hl7sender"
ADD_SENDER = "hl7.add_hl7sender"


def access_sender(user, sender_uuid) -> HL7Sender:
    """A sender of the user's plan, for editing (403 without the role)."""
    registry.require_permission(user, MANAGE_SENDERS)
    try:
        return HL7Sender.objects.select_related("organization").get(
            uuid=sender_uuid, plan_id=user.organization_id
        )
    except (HL7Sender.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such sender.") from missing


def access_message(user, message_uuid) -> InboundMessage:
    """A message of one of the user's plan's senders, raw text included.

    The raw message is PHI: every fetch is recorded in the audit trail as a view,
    with the member's id when the message was matched.
    """
    registry.require_permission(user, VIEW_RAW)
    try:
        message = InboundMessage.objects.select_related(
            "sender", "sender__organization"
        ).get(uuid=message_uuid, sender__plan_id=user.organization_id)
    except (InboundMessage.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such message.") from missing
    audit_record(
        action=AuditAction.VIEW,
        object_type="hl7_message",
        object_id=str(message.uuid),
        member_ids=[message.member_id] if message.member_id else [],
    )
    return message
