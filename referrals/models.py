"""Closed-loop referrals to Community Supports: the referral, its offers to
providers, its immutable events, the plan's notices and the deliveries.

Every write goes through referrals.services; the status moves follow the table
in referrals.states.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from calaim.accounts.models import County, Organization
from members.models import Member
from referrals.states import CLOSED, Status


class Referral(models.Model):
    """A member's referral for one Community Support, from a referring
    organization, offered to contracted providers one at a time.

    Open while closed_at is empty. `receiving_organization` is the provider of
    the live offer (or of the accepted one): the access rule and the provider's
    inbox read it. `version` rises with every change, so a stale write gets 409.
    """

    Status = Status

    class Urgency(models.TextChoices):
        STANDARD = "standard", "Standard (5 business days)"
        EXPEDITED = "expedited", "Expedited (72 hours)"

    class Authorization(models.TextChoices):
        NOT_REQUIRED = "", "Not required"
        REQUESTED = "requested", "Requested"
        PENDED = "pended", "Pended"
        APPROVED = "approved", "Approved"
        MODIFIED = "modified", "Approved as modified"
        DENIED = "denied", "Denied"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="referrals"
    )
    plan = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="plan_referrals",
        null=True,
        blank=True,
    )
    county = models.ForeignKey(
        County, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    support = models.ForeignKey(
        "community_supports.CommunitySupport",
        on_delete=models.PROTECT,
        related_name="referrals",
        null=True,
        blank=True,
    )
    need_uid = models.UUIDField(null=True, blank=True)
    goal_uid = models.UUIDField(null=True, blank=True)
    referring_organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="referrals_sent",
        null=True,
        blank=True,
    )
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    receiving_organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="referrals_received",
        null=True,
        blank=True,
    )
    # The provider the referrer chose from the directory: offered first.
    preferred_provider = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    urgency = models.CharField(
        max_length=10, choices=Urgency.choices, default=Urgency.STANDARD
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    note = models.TextField(blank=True, default="")

    # What is asked for
    requested_units = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    requested_amount = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    requested_start = models.DateField(null=True, blank=True)
    requested_end = models.DateField(null=True, blank=True)

    # The plan's authorization
    authorization_status = models.CharField(
        max_length=10, choices=Authorization.choices, blank=True, default=""
    )
    authorization_requested_at = models.DateTimeField(null=True, blank=True)
    authorization_due_at = models.DateTimeField(null=True, blank=True)
    # While pended the clock stops; what was left of it waits here.
    authorization_time_left = models.DurationField(null=True, blank=True)
    authorization_number = models.CharField(max_length=40, blank=True, default="")
    approved_units = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    approved_amount = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    approved_from = models.DateField(null=True, blank=True)
    approved_through = models.DateField(null=True, blank=True)
    authorization_reason = models.TextField(blank=True, default="")
    limit_exception_reason = models.TextField(blank=True, default="")
    authorization_decided_at = models.DateTimeField(null=True, blank=True)
    authorization_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    # The delivery clock: service should start by then; on hold pauses it.
    delivery_due_at = models.DateTimeField(null=True, blank=True)
    delivery_time_left = models.DurationField(null=True, blank=True)
    on_hold_since = models.DateTimeField(null=True, blank=True)
    closure_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("authorize_referral", "Decide a Community Supports authorization"),
            ("work_referral", "Accept, hold and complete referrals as a provider"),
        ]
        indexes = [
            models.Index(
                fields=["receiving_organization", "member"],
                condition=Q(closed_at__isnull=True),
                name="referral_open_by_receiver",
            ),
            # The provider's inbox (oldest open first) and its load for the
            # directory (an index-only count per provider and plan).
            models.Index(
                fields=["receiving_organization", "created_at"],
                condition=Q(closed_at__isnull=True),
                name="referral_open_inbox",
            ),
            models.Index(
                fields=["receiving_organization", "plan", "status"],
                condition=Q(closed_at__isnull=True),
                name="referral_open_load",
            ),
            models.Index(
                fields=["referring_organization", "created_at"],
                name="referral_by_referrer",
            ),
            models.Index(fields=["member", "support"], name="referral_member_support"),
            models.Index(
                fields=["plan", "authorization_status", "authorization_due_at"],
                condition=Q(closed_at__isnull=True),
                name="referral_open_by_plan_auth",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_through__isnull=True)
                | Q(approved_from__isnull=True)
                | Q(approved_through__gte=models.F("approved_from")),
                name="referral_approved_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(status__in=sorted(CLOSED)),
                name="referral_closed_at_only_when_closed",
            ),
        ]

    def __str__(self):
        return f"Referral {self.uuid} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Offer(models.Model):
    """The referral offered to one provider: offered -> accepted | rejected
    (with a reason) | expired (the acknowledgement clock ran out) | withdrawn
    (the referral was cancelled or closed meanwhile)."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="offers"
    )
    provider = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="referral_offers"
    )
    contract = models.ForeignKey(
        "community_supports.ProviderContract",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OFFERED
    )
    version = models.PositiveIntegerField(default=1)
    offered_at = models.DateTimeField()
    acknowledge_by = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["referral_id", "offered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "provider"], name="offer_one_per_provider"
            ),
            models.UniqueConstraint(
                fields=["referral"],
                condition=Q(status="offered") | Q(status="accepted"),
                name="offer_one_live_per_referral",
            ),
        ]
        indexes = [
            models.Index(
                fields=["provider", "status"],
                condition=Q(status__in=["offered", "accepted"]),
                name="offer_live_by_provider",
            ),
        ]

    def __str__(self):
        return f"Offer of {self.referral_id} to {self.provider_id} ({self.status})"


class ReferralEvent(models.Model):
    """One change to a referral: who, when, from, to, why. Immutable: the
    database refuses UPDATE and DELETE (migration trigger)."""

    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", null=True
    )
    occurred_at = models.DateTimeField()
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["referral_id", "occurred_at", "id"]

    def __str__(self):
        return f"{self.action}: {self.from_status} -> {self.to_status}"

    @property
    def action_label(self) -> str:
        return self.action.replace("_", " ").capitalize()

    @property
    def from_label(self) -> str:
        return _status_label(self.from_status)

    @property
    def to_label(self) -> str:
        return _status_label(self.to_status)


def _status_label(status: str) -> str:
    from referrals.states import Status

    return dict(Status.choices).get(status, status) if status else ""


class Delivery(models.Model):
    """A service delivered on a referral: the day, units, amount and the HCPCS
    code + modifier pair (DOMAIN.md §3c: the pair names the service)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="deliveries"
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    support = models.ForeignKey(
        "community_supports.CommunitySupport",
        on_delete=models.PROTECT,
        related_name="+",
    )
    provider = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+"
    )
    delivered_on = models.DateField()
    units = models.DecimalField(max_digits=10, decimal_places=2)
    amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    hcpcs = models.CharField(max_length=5)
    modifier = models.CharField(max_length=2, blank=True, default="")
    stay_id = models.CharField(max_length=40, blank=True, default="")
    note = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["referral_id", "delivered_on", "id"]
        indexes = [
            models.Index(
                fields=["member", "support", "delivered_on"],
                name="delivery_member_support_day",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(units__gt=0), name="delivery_units_positive"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="delivery_amount_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.hcpcs}-{self.modifier} on {self.delivered_on}"


class ReferralNotice(models.Model):
    """A notice of the plan's authorization decision, to the member or the
    referrer; the rendered HTML is PHI and stays on the chart."""

    class Kind(models.TextChoices):
        MEMBER_DECISION = "member_decision", "Decision notice to the member"
        REFERRER_DECISION = "referrer_decision", "Decision sent to the referrer"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="notices"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    decision = models.CharField(max_length=10)
    recipient = models.CharField(max_length=200)
    html = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["referral_id", "created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.decision})"


class ProviderIntake(models.Model):
    """Where a provider without an account or a system receives its offers: the
    e-mail address the signed action links go to."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="referral_intake"
    )
    email = models.EmailField()
    send_action_links = models.BooleanField(default=True)

    def __str__(self):
        return f"Intake of {self.organization_id}: {self.email}"
