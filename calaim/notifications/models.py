"""In-app notifications (and the e-mails that point to them)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Notification(models.Model):
    """Something a user should see: one per event and recipient.

    The title is generic ("Hospital admission for a member on your caseload"): the
    member behind it is reached through `link`, where the access rules apply, so a
    notification never shows more than its recipient may see. `member_id` is a plain
    id (members are a higher layer), kept for the audit trail and for filtering.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(max_length=64)
    # The event this notification is about (e.g. "adt:123"); one per recipient.
    key = models.CharField(max_length=200)
    member_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=200)
    link = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Set when the e-mail is claimed for sending, so a redelivery sends none.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"],
                name="notification_one_per_event_and_recipient",
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"], name="notification_inbox"
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["member_id"],
                condition=Q(member_id__isnull=False),
                name="notification_member",
            ),
        ]

    def __str__(self):
        return f"{self.kind} for user {self.recipient_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None
