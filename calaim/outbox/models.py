"""The transactional outbox: work to do after a transaction commits."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class OutboxMessage(models.Model):
    """One effect to carry out once, written in the transaction that caused it.

    The payload holds ids and other non-identifying values only: it is readable by
    anyone with database or broker access and is logged by id, so it must never
    carry a name, a birth date or a CIN.
    """

    kind = models.CharField(max_length=100)
    # Unique per effect: enqueueing the same effect twice yields one message.
    key = models.CharField(max_length=255, unique=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Not to be tried before this time (set forward after a failed attempt).
    available_at = models.DateTimeField(default=timezone.now)
    # When the message was last handed to the broker; the sweep sends again what
    # has waited longer than OUTBOX_REDELIVER_AFTER_SECONDS.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Who holds the message while SENDING; the attempt that finishes must still hold
    # it, or its work is rolled back (another worker took over a stale claim).
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The error's class name only: exception messages can quote PHI.
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The sweep reads only undelivered rows; delivered ones pile up unread.
            models.Index(
                fields=["available_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="outbox_undelivered_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "delivered", "failed"]),
                name="outbox_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.status})"
