"""ECM: the episode of care (the ECM issues fill in outreach, assessment, plan)."""

import uuid

from django.conf import settings
from django.db import models

from calaim.accounts.models import Organization
from members.models import Member


class Episode(models.Model):
    """One stretch of ECM for a member, with an ECM provider and a lead care manager.

    Open while closed_at is empty; at most one open episode per member.
    """

    class Status(models.TextChoices):
        REFERRED = "referred", "Referred"
        AUTHORIZED = "authorized", "Authorized"
        ASSIGNED = "assigned", "Assigned"
        OUTREACH = "outreach", "In outreach"
        ENROLLED = "enrolled", "Enrolled"
        ACTIVE = "active", "Active"
        DISCONTINUED = "discontinued", "Discontinued"
        DENIED = "denied", "Denied"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="episodes"
    )
    ecm_provider = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="ecm_episodes",
        null=True,
        blank=True,
        limit_choices_to={"is_ecm_provider": True},
    )
    lead_care_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lead_episodes",
        null=True,
        blank=True,
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.REFERRED
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=models.Q(closed_at__isnull=True),
                name="episode_one_open_per_member",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lead_care_manager", "member"],
                condition=models.Q(closed_at__isnull=True),
                name="episode_open_by_lcm",
            ),
            models.Index(
                fields=["ecm_provider", "member"],
                condition=models.Q(closed_at__isnull=True),
                name="episode_open_by_provider",
            ),
        ]

    def __str__(self):
        return f"ECM episode {self.uuid} ({self.get_status_display()})"
