"""HL7 v2 intake: the hospitals that may send, and every message they sent.

A message is stored raw before it is acknowledged (DESIGN.md §4.3) and parsed
only later, by the processor of its type (care_plans.hl7.registry). The raw text
is PHI: it is shown only through the feed pages, which audit every view.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class HL7Sender(models.Model):
    """A hospital's sending facility (MSH-4) that a plan has agreed to receive from.

    A message names its sender only by MSH-4, so the facility id is unique across
    the platform. Over MLLP the peer address must also be in `allowed_addresses`
    (an empty list allows no MLLP peer); over HTTPS the caller's organization must
    be `organization`.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="hl7_senders",
        limit_choices_to={"is_hospital": True},
        help_text="The hospital that sends.",
    )
    # The plan whose interface administrators registered and watch this feed.
    plan = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="hl7_feeds",
        limit_choices_to={"is_plan": True},
    )
    sending_facility = models.CharField(
        "sending facility (MSH-4)",
        max_length=180,
        unique=True,
        help_text="MSH-4 namespace id, exactly as the hospital sends it.",
    )
    allowed_addresses = models.JSONField(
        default=list,
        blank=True,
        help_text="IP addresses or CIDR networks that may send over MLLP.",
    )
    cin_assigning_authorities = models.JSONField(
        default=list,
        blank=True,
        help_text="PID-3 assigning-authority ids whose identifiers are CINs.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sending_facility"]
        verbose_name = "HL7 sender"

    def __str__(self):
        return self.sending_facility


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    UNMATCHED = "unmatched", "Unmatched"
    DISMISSED = "dismissed", "Dismissed"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected (AR)"
    ERROR = "error", "Error (AE)"


# Statuses of a message we acknowledged with AA: a second copy is a duplicate.
ACCEPTED_STATUSES = [
    MessageStatus.PENDING,
    MessageStatus.PROCESSED,
    MessageStatus.IGNORED,
    MessageStatus.UNMATCHED,
    MessageStatus.DISMISSED,
    MessageStatus.FAILED,
]
# What a processor may answer (registry.py).
PROCESSOR_STATUSES = {
    MessageStatus.PROCESSED,
    MessageStatus.UNMATCHED,
    MessageStatus.IGNORED,
    MessageStatus.FAILED,
}


class Channel(models.TextChoices):
    MLLP = "mllp", "MLLP"
    HTTP = "http", "HTTPS"


class AckCode(models.TextChoices):
    ACCEPT = "AA", "AA accept"
    ERROR = "AE", "AE error"
    REJECT = "AR", "AR reject"


class InboundMessage(models.Model):
    """One HL7 v2 message as received, with what we answered and what became of it.

    `raw` keeps the message exactly as read (segment separators intact; a NUL
    byte, which PostgreSQL cannot store in text, becomes U+FFFD). Rejected (AR)
    and erroneous (AE) messages are kept for the interface administrator's log and
    are never processed.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sender = models.ForeignKey(
        HL7Sender,
        on_delete=models.PROTECT,
        related_name="messages",
        null=True,
        blank=True,
        # hl7_message_sender_status begins with the sender: a second index on it
        # alone would only cost every stored message one more index insert.
        db_index=False,
    )
    sending_facility = models.CharField(max_length=180, blank=True, default="")
    control_id = models.CharField(max_length=199, blank=True, default="")
    message_type = models.CharField(max_length=20, blank=True, default="")
    trigger = models.CharField(max_length=20, blank=True, default="")
    version = models.CharField(max_length=20, blank=True, default="")
    channel = models.CharField(max_length=4, choices=Channel.choices)
    peer = models.CharField(max_length=100, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)
    raw = models.TextField()
    ack_code = models.CharField(max_length=2, choices=AckCode.choices)
    error = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Not to be tried again before this time (set forward after a failed attempt).
    available_at = models.DateTimeField(default=timezone.now)
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="hl7_messages",
        null=True,
        blank=True,
        db_index=False,  # hl7_message_member: only rows that have one
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        permissions = [("view_raw_inboundmessage", "Can view raw HL7 messages")]
        constraints = [
            # A sender's control id is accepted once, whatever the channel.
            models.UniqueConstraint(
                fields=["sending_facility", "control_id"],
                condition=Q(status__in=ACCEPTED_STATUSES),
                name="hl7_message_accepted_once",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[choice.value for choice in MessageStatus]),
                name="hl7_message_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(ack_code__in=["AA", "AE", "AR"]),
                name="hl7_message_ack_code_valid",
            ),
        ]
        indexes = [
            # The sweep reads only pending rows.
            models.Index(
                fields=["available_at"],
                condition=Q(status="pending"),
                name="hl7_message_pending_due",
            ),
            models.Index(
                fields=["sender", "status", "-received_at"],
                name="hl7_message_sender_status",
            ),
            models.Index(
                fields=["-received_at"],
                condition=Q(sender__isnull=True),
                name="hl7_message_unknown_sender",
            ),
            # A message is stored before it is matched: leaving the unmatched out
            # spares the listener's INSERT an index entry.
            models.Index(
                fields=["member"],
                condition=Q(member__isnull=False),
                name="hl7_message_member",
            ),
        ]

    def __str__(self):
        return f"{self.sending_facility} {self.control_id} ({self.status})"
