"""The unmatched queue: link a message to a member, or dismiss it."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from calaim.accounts import roles
from calaim.audit.services import audit_record
from members.models import Enrollment, Member

# --- The unmatched queue ------------------------------------------------------------


def _require_interface_admin(actor, message) -> None:
    if not actor.has_role(roles.INTERFACE_ADMIN):
        raise PermissionDenied("The interface administrator resolves messages.")
    sender = message.sender
    if sender is None or sender.plan_id != actor.organization_id:
        raise PermissionDenied("That feed belongs to another plan.")


@transaction.atomic
def unmatched_link(*, message, member: Member, actor) -> str:
    """Link an unmatched message to a member and process it as if matched.

    The member must be one of the plan's (ever enrolled with it), the message
    still unmatched. Returns the message's new status.
    """
    from care_plans.hl7.models import InboundMessage
    from care_plans.hl7.services import message_reprocess

    _require_interface_admin(actor, message)
    locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if locked.status != "unmatched":
        raise ValidationError(
            {"message": "This message is no longer waiting for a member."},
            code="not_unmatched",
        )
    if not Enrollment.objects.filter(
        member=member, plan_id=actor.organization_id
    ).exists():
        raise ValidationError(
            {"member": "Link only to a member of your plan."}, code="other_plan"
        )
    locked.member = member
    locked.save(update_fields=["member"])
    audit_record(
        action="update",
        object_type="hl7_message",
        object_id=str(locked.uuid),
        member_ids=[member.pk],
        actor=actor,
        reason="linked to a member",
    )
    return message_reprocess(message=locked, actor=actor)


@transaction.atomic
def unmatched_dismiss(*, message, reason: str, actor):
    """Dismiss an unmatched message with a reason (not our member, a test
    message, ...); it is kept for the log and never processed."""
    from care_plans.hl7.models import InboundMessage

    _require_interface_admin(actor, message)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the message is dismissed."})
    locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if locked.status != "unmatched":
        raise ValidationError(
            {"message": "This message is no longer waiting for a member."},
            code="not_unmatched",
        )
    locked.status = "dismissed"
    locked.error = f"Dismissed: {reason}"[:2000]
    locked.processed_at = timezone.now()
    locked.save(update_fields=["status", "error", "processed_at"])
    audit_record(
        action="update",
        object_type="hl7_message",
        object_id=str(locked.uuid),
        actor=actor,
        reason=f"dismissed: {reason}"[:500],
    )
    return locked
