"""ECM: the episode of care, its events, outreach, encounters and notices."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from calaim.accounts.models import Organization
from members.models import Member, PopulationOfFocus


class EpisodeStatus(models.TextChoices):
    IDENTIFIED = "identified", "Identified"
    AUTHORIZATION_REQUESTED = "authorization_requested", "Authorization requested"
    AUTHORIZED = "authorized", "Authorized"
    DENIED = "denied", "Denied"
    ASSIGNED = "assigned", "Assigned"
    OUTREACH = "outreach", "In outreach"
    ENROLLED = "enrolled", "Enrolled"
    DECLINED = "declined", "Declined"
    UNABLE_TO_REACH = "unable_to_reach", "Unable to reach"
    ACTIVE = "active", "Active"
    DISCONTINUED = "discontinued", "Discontinued"


# A closed episode is never reopened; a new one starts instead.
CLOSED_STATUSES = frozenset(
    {
        EpisodeStatus.DENIED,
        EpisodeStatus.DECLINED,
        EpisodeStatus.UNABLE_TO_REACH,
        EpisodeStatus.DISCONTINUED,
    }
)


class DiscontinuationReason(models.TextChoices):
    """Our reasons, each mapped to a DHCS code in DHCS_DISCONTINUATION_CODES.

    DOMAIN.md §2c: the DHCS code list was not confirmed; one plan maps to codes
    1-5, 7, 8 and 15 (15 the catch-all, 8 a termed member). The mapping is data
    here so a plan can correct it without a migration of episode rows.
    """

    GOALS_MET = "goals_met", "All care plan goals met"
    LOWER_LEVEL_OF_CARE = "lower_level", "Ready for a lower level of care"
    MEMBER_DECLINED = "declined", "Member declined or withdrew"
    UNABLE_TO_REACH = "unable_to_reach", "Unable to reach or engage"
    LOST_ELIGIBILITY = "lost_medi_cal", "Lost Medi-Cal or moved out of the plan"
    EXCLUDED_PROGRAM = "excluded_program", "Enrolled in a program that excludes ECM"
    DEATH = "death", "Death"
    OTHER = "other", "Other"


DHCS_DISCONTINUATION_CODES = {
    DiscontinuationReason.GOALS_MET: "1",
    DiscontinuationReason.LOWER_LEVEL_OF_CARE: "2",
    DiscontinuationReason.MEMBER_DECLINED: "3",
    DiscontinuationReason.UNABLE_TO_REACH: "4",
    DiscontinuationReason.EXCLUDED_PROGRAM: "5",
    DiscontinuationReason.LOST_ELIGIBILITY: "8",
    DiscontinuationReason.DEATH: "7",
    DiscontinuationReason.OTHER: "15",
}


class Episode(models.Model):
    """One stretch of ECM for a member, from identification to its end.

    Open while closed_at is empty; at most one open episode per member (a partial
    unique constraint). Every status change goes through care_plans.services and
    leaves an EpisodeEvent. `version` rises with every change, so a stale write
    (two people assigning at once) is refused with 409.
    """

    Status = EpisodeStatus

    class Source(models.TextChoices):
        PLAN_DATA = "plan_data", "Plan data"
        PROVIDER_REFERRAL = "provider_referral", "Provider referral"
        COMMUNITY_REFERRAL = "community_referral", "Community referral"
        SELF_REFERRAL = "self_referral", "Self-referral"

    class Urgency(models.TextChoices):
        STANDARD = "standard", "Standard (5 business days)"
        EXPEDITED = "expedited", "Expedited (72 hours)"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="episodes"
    )
    plan = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="plan_episodes",
        null=True,
        blank=True,
        limit_choices_to={"is_plan": True},
    )
    status = models.CharField(
        max_length=30, choices=EpisodeStatus.choices, default=EpisodeStatus.IDENTIFIED
    )
    version = models.PositiveIntegerField(default=1)

    # Identification and referral
    source = models.CharField(
        max_length=30, choices=Source.choices, default=Source.PLAN_DATA
    )
    population = models.ForeignKey(
        PopulationOfFocus, on_delete=models.PROTECT, null=True, blank=True
    )
    referred_by_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    referrer_contact = models.CharField(max_length=200, blank=True, default="")
    identification_note = models.TextField(blank=True, default="")

    # Authorization
    urgency = models.CharField(
        max_length=10, choices=Urgency.choices, default=Urgency.STANDARD
    )
    authorization_requested_at = models.DateTimeField(null=True, blank=True)
    authorization_due_at = models.DateTimeField(null=True, blank=True)
    authorization_number = models.CharField(max_length=40, blank=True, default="")
    authorized_from = models.DateField(null=True, blank=True)
    authorized_through = models.DateField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_reason = models.TextField(blank=True, default="")
    presumptive_by = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    presumptive_until = models.DateField(null=True, blank=True)

    # Assignment
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
    assigned_at = models.DateTimeField(null=True, blank=True)

    # Enrollment (consent to ECM)
    enrolled_on = models.DateField(null=True, blank=True)
    consent_method = models.CharField(max_length=20, blank=True, default="")

    # The end
    discontinued_on = models.DateField(null=True, blank=True)
    discontinuation_reason = models.CharField(
        max_length=20, choices=DiscontinuationReason.choices, blank=True, default=""
    )
    discontinuation_note = models.TextField(blank=True, default="")

    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-opened_at"]
        permissions = [
            ("authorize_episode", "Authorize or deny ECM"),
            ("presumptively_authorize_episode", "Presumptively authorize ECM"),
            ("assign_episode", "Assign an episode to an ECM provider"),
            ("assign_lead_care_manager", "Change an episode's lead care manager"),
            ("enroll_episode", "Record consent, a decline or unable-to-reach"),
            ("discontinue_episode", "Discontinue ECM"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(closed_at__isnull=True),
                name="episode_one_open_per_member",
            ),
            models.CheckConstraint(
                condition=Q(authorized_through__isnull=True)
                | Q(authorized_from__isnull=True)
                | Q(authorized_through__gte=models.F("authorized_from")),
                name="episode_authorization_dates_in_order",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lead_care_manager", "member"],
                condition=Q(closed_at__isnull=True),
                name="episode_open_by_lcm",
            ),
            models.Index(
                fields=["ecm_provider", "member"],
                condition=Q(closed_at__isnull=True),
                name="episode_open_by_provider",
            ),
            models.Index(
                fields=["plan", "status", "authorization_due_at"],
                condition=Q(closed_at__isnull=True),
                name="episode_open_by_plan_status",
            ),
        ]

    def __str__(self):
        return f"ECM episode {self.uuid} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def dhcs_discontinuation_code(self) -> str:
        return DHCS_DISCONTINUATION_CODES.get(self.discontinuation_reason, "")


class EpisodeEvent(models.Model):
    """An immutable record of one change to an episode: who, when, from, to, why."""

    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=30, blank=True, default="")
    to_status = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField()
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["episode_id", "occurred_at", "id"]

    def __str__(self):
        return f"{self.action}: {self.from_status} -> {self.to_status}"


class OutreachMethod(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    TEXT = "text", "Text message"
    EMAIL = "email", "E-mail"
    MAIL = "mail", "Mail"
    VIDEO = "video", "Video"


# The OTF's two buckets (DOMAIN.md §4c): in person vs telephonic/electronic.
OTF_OUTREACH_METHOD = {
    OutreachMethod.IN_PERSON: "In-Person",
    OutreachMethod.PHONE: "Telephonic",
    OutreachMethod.TEXT: "Telephonic",
    OutreachMethod.EMAIL: "Telephonic",
    OutreachMethod.MAIL: "Telephonic",
    OutreachMethod.VIDEO: "Telephonic",
}


class OutreachAttempt(models.Model):
    """One attempt to reach a member (the Outreach Tracker File's fields)."""

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached the member"
        NO_ANSWER = "no_answer", "No answer"
        LEFT_MESSAGE = "left_message", "Left a message"
        WRONG_CONTACT = "wrong_contact", "Wrong or disconnected contact"
        NOT_FOUND = "not_found", "Not found at the location"
        OTHER = "other", "Other"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="outreach"
    )
    attempted_at = models.DateTimeField()
    method = models.CharField(max_length=10, choices=OutreachMethod.choices)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    minutes = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True, default="")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["episode_id", "attempted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__lte=600), name="outreach_minutes_plausible"
            ),
        ]

    def __str__(self):
        return f"{self.get_method_display()} on {self.attempted_at:%Y-%m-%d}"

    @property
    def successful(self) -> bool:
        return self.outcome == self.Outcome.REACHED


class EncounterMode(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    TELEPHONIC = "telephonic", "Telephonic"
    VIDEO = "video", "Video"


class Encounter(models.Model):
    """An ECM service given to an enrolled member, with its HCPCS code."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="encounters"
    )
    occurred_on = models.DateField()
    mode = models.CharField(max_length=10, choices=EncounterMode.choices)
    minutes = models.PositiveSmallIntegerField()
    hcpcs_code = models.CharField(max_length=5)
    modifiers = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["episode_id", "occurred_on"]
        indexes = [
            models.Index(fields=["episode", "occurred_on"], name="encounter_by_day")
        ]

    def __str__(self):
        return f"{self.hcpcs_code}-{'-'.join(self.modifiers)} on {self.occurred_on}"


class Notice(models.Model):
    """A generated notice (assignment, notice of action, referrer decision).

    The rendered HTML is PHI and kept on the chart; `sent_at` records delivery.
    """

    class Kind(models.TextChoices):
        ASSIGNMENT = "assignment", "Assignment to an ECM provider"
        DENIAL = "denial", "Notice of action: ECM denied"
        DISCONTINUATION = "discontinuation", "Notice of action: ECM discontinued"
        REFERRER_DECISION = "referrer_decision", "Decision sent to the referrer"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="notices"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    recipient = models.CharField(max_length=200)
    html = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_method = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        ordering = ["episode_id", "created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} for episode {self.episode_id}"
