"""An action link: one stored row per link sent; the URL carries its signed id."""

import uuid

from django.conf import settings
from django.db import models


class ActionLink(models.Model):
    """A single-use, expiring permission to perform one action on one object.

    The URL holds `uuid` signed with SECRET_KEY (django.core.signing), so a link
    cannot be guessed or altered, and the row holds its expiry and use: the row
    is claimed with a conditional UPDATE, so of two uses at once one wins.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    action = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    # A provider's contact address, not a member's: e-mails carry no PHI.
    recipient_email = models.EmailField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["action", "object_id"], name="action_link_object"),
        ]

    def __str__(self):
        return f"{self.action} {self.object_id} for {self.recipient_email}"
