"""Reads of the feed pages, scoped to the interface administrator's plan."""

from django.db.models import Count, Q, QuerySet

from care_plans.hl7.models import HL7Sender, InboundMessage, MessageStatus

REFUSED = [MessageStatus.REJECTED, MessageStatus.ERROR]
# Columns of the feed page's lists: everything but the raw text (PHI, and large).
LIST_FIELDS = [
    "uuid",
    "sender_id",
    "sending_facility",
    "control_id",
    "message_type",
    "trigger",
    "version",
    "channel",
    "peer",
    "received_at",
    "ack_code",
    "status",
    "processed_at",
    "attempts",
    "member_id",
    "error",
]


def senders_of(user) -> QuerySet[HL7Sender]:
    """The senders the user's plan registered, with their hospital."""
    return HL7Sender.objects.filter(plan_id=user.organization_id).select_related(
        "organization"
    )


def feed_counts(user) -> dict[int, dict[str, int]]:
    """Messages per sender and status, {sender id: {status: count}}, one query."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        InboundMessage.objects.filter(sender__plan_id=user.organization_id)
        .order_by()
        .values_list("sender_id", "status")
        .annotate(count=Count("id"))
    )
    for sender_id, status, count in rows:
        counts.setdefault(sender_id, {})[status] = count
    return counts


def feed_messages(
    user, *, sender_uuid=None, status=None, channel=None
) -> QuerySet[InboundMessage]:
    """The plan's senders' messages, newest first, without the raw text."""
    messages = (
        InboundMessage.objects.filter(sender__plan_id=user.organization_id)
        .only(*LIST_FIELDS)
        .order_by("-received_at", "-id")
    )
    if sender_uuid:
        messages = messages.filter(sender__uuid=sender_uuid)
    if status:
        messages = messages.filter(status=status)
    if channel:
        messages = messages.filter(channel=channel)
    return messages


def refused_messages(user) -> QuerySet[InboundMessage]:
    """AR and AE answers: of the plan's own senders, and every message from a
    sender nobody registered (which belongs to no plan; the list shows only its
    envelope: facility, control id, address, reason, never the raw text)."""
    return (
        InboundMessage.objects.filter(status__in=REFUSED)
        .filter(Q(sender__plan_id=user.organization_id) | Q(sender__isnull=True))
        .only(*LIST_FIELDS)
        .order_by("-received_at", "-id")
    )
