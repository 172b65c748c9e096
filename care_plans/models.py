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


# --- The care management plan (issue 6 §2) -------------------------------------------


class NeedDomain(models.TextChoices):
    PHYSICAL_HEALTH = "physical_health", "Physical health"
    BEHAVIORAL_HEALTH = "behavioral_health", "Behavioral health"
    SUBSTANCE_USE = "substance_use", "Substance use"
    HOUSING = "housing", "Housing"
    FOOD = "food", "Food"
    TRANSPORTATION = "transportation", "Transportation"
    UTILITIES = "utilities", "Utilities"
    SAFETY = "safety", "Safety"
    FUNCTIONAL = "functional", "Functional status (ADLs/IADLs)"
    MEDICATIONS = "medications", "Medications"
    SOCIAL_SUPPORTS = "social_supports", "Caregiver and social supports"
    OTHER = "other", "Other"


class CarePlan(models.Model):
    """One version of a member's care management plan within an ECM episode.

    Versions are numbered per episode. A draft is edited; agreeing it records the
    member's agreement (and supersedes the version agreed before); revising an
    agreed plan copies it into a new draft whose needs and goals keep their uids,
    so referrals pointing at a goal keep pointing at it. `lock_version` rises
    with every change to the plan or anything in it: a write made against an
    older one is refused (409 stale_version), never silently applied.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        AGREED = "agreed", "Agreed"
        SUPERSEDED = "superseded", "Superseded"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="care_plans"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="care_plans"
    )
    number = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    language = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text="The language the plan was discussed and agreed in.",
    )
    member_agreed_on = models.DateField(null=True, blank=True)
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    agreed_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    lock_version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["episode_id", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "number"], name="care_plan_number_per_episode"
            ),
            models.UniqueConstraint(
                fields=["episode"],
                condition=Q(status="draft"),
                name="care_plan_one_draft_per_episode",
            ),
            models.UniqueConstraint(
                fields=["episode"],
                condition=Q(status="agreed"),
                name="care_plan_one_agreed_per_episode",
            ),
            models.CheckConstraint(
                condition=~Q(status="agreed") | Q(member_agreed_on__isnull=False),
                name="care_plan_agreed_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "status"], name="care_plan_by_member"),
        ]

    def __str__(self):
        return f"Care plan v{self.number} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class Need(models.Model):
    """A need in one plan version; `uid` is the same need across versions."""

    class Source(models.TextChoices):
        ASSESSMENT = "assessment", "Comprehensive assessment"
        SUGGESTED = "suggested", "Suggested from the assessment"
        MANUAL = "manual", "Added by the care team"

    care_plan = models.ForeignKey(
        CarePlan, on_delete=models.CASCADE, related_name="needs"
    )
    uid = models.UUIDField(default=uuid.uuid4)
    domain = models.CharField(max_length=30, choices=NeedDomain.choices)
    description = models.TextField()
    source = models.CharField(
        max_length=12, choices=Source.choices, default=Source.MANUAL
    )
    question = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="The assessment question a suggested need came from.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["care_plan_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["care_plan", "uid"], name="need_uid_once_per_plan"
            ),
        ]

    def __str__(self):
        return f"{self.get_domain_display()}: {self.description[:40]}"


class GoalStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    DISCONTINUED = "discontinued", "Discontinued"


class Goal(models.Model):
    """A person-centered goal for a need, in the member's own words.

    `uid` is stable across plan versions (referrals point at it). `part2`
    marks substance-use content under 42 CFR Part 2: shown only to the member's
    treating care team or to those a consent covers (members.part2).
    """

    Status = GoalStatus

    care_plan = models.ForeignKey(
        CarePlan, on_delete=models.CASCADE, related_name="goals"
    )
    need = models.ForeignKey(Need, on_delete=models.PROTECT, related_name="goals")
    uid = models.UUIDField(default=uuid.uuid4)
    description = models.TextField(help_text="The goal, in the member's own words.")
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=15, choices=GoalStatus.choices, default=GoalStatus.NOT_STARTED
    )
    part2 = models.BooleanField(
        default=False, help_text="Substance-use content (42 CFR Part 2)."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["care_plan_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["care_plan", "uid"], name="goal_uid_once_per_plan"
            ),
        ]

    def __str__(self):
        return self.description[:50]


class InterventionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Intervention(models.Model):
    """What someone will do towards a goal, by when.

    The responsible party is a staff user, a care-team contact, or the member.
    """

    class Responsible(models.TextChoices):
        STAFF = "staff", "Staff member"
        CARE_TEAM = "care_team", "Care-team contact"
        MEMBER = "member", "The member"

    Status = InterventionStatus

    goal = models.ForeignKey(
        Goal, on_delete=models.CASCADE, related_name="interventions"
    )
    uid = models.UUIDField(default=uuid.uuid4)
    description = models.TextField()
    responsible = models.CharField(
        max_length=10, choices=Responsible.choices, default=Responsible.STAFF
    )
    responsible_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    responsible_contact = models.ForeignKey(
        "CareTeamMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interventions",
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=15,
        choices=InterventionStatus.choices,
        default=InterventionStatus.PLANNED,
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["goal_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        responsible="staff",
                        responsible_user__isnull=False,
                        responsible_contact__isnull=True,
                    )
                    | Q(
                        responsible="care_team",
                        responsible_user__isnull=True,
                        responsible_contact__isnull=False,
                    )
                    | Q(
                        responsible="member",
                        responsible_user__isnull=True,
                        responsible_contact__isnull=True,
                    )
                ),
                name="intervention_one_responsible_party",
            ),
        ]

    def __str__(self):
        return self.description[:50]

    @property
    def responsible_label(self) -> str:
        if self.responsible == self.Responsible.STAFF and self.responsible_user:
            return self.responsible_user.full_name
        if self.responsible == self.Responsible.CARE_TEAM and self.responsible_contact:
            return self.responsible_contact.display_name
        return "The member"


# --- The care team (issue 6 §3) -------------------------------------------------------


class CareTeamRole(models.TextChoices):
    CARE_MANAGER = "care_manager", "Care manager"
    COMMUNITY_HEALTH_WORKER = "chw", "Community health worker"
    PEER_SUPPORT = "peer_support", "Peer support specialist"
    NURSE = "nurse", "Nurse"
    SOCIAL_WORKER = "social_worker", "Social worker"
    PCP = "pcp", "Primary care provider"
    BEHAVIORAL_HEALTH = "behavioral_health", "Behavioral health provider"
    CS_PROVIDER = "cs_provider", "Community Supports provider"
    CAREGIVER = "caregiver", "Caregiver or family"
    OTHER = "other", "Other"


STAFF_TEAM_ROLES = frozenset(
    {
        CareTeamRole.CARE_MANAGER,
        CareTeamRole.COMMUNITY_HEALTH_WORKER,
        CareTeamRole.PEER_SUPPORT,
        CareTeamRole.NURSE,
        CareTeamRole.SOCIAL_WORKER,
        CareTeamRole.OTHER,
    }
)


class CareTeamMember(models.Model):
    """Someone on a member's care team besides the lead care manager (who comes
    from the episode): a staff colleague (a user, given an explicit access grant
    while on the team) or an outside contact with their details.

    Removing someone stamps removed_at; the row stays for the record.
    """

    class Kind(models.TextChoices):
        STAFF = "staff", "Staff"
        CONTACT = "contact", "Outside contact"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="care_team"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="care_team"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    role = models.CharField(max_length=20, choices=CareTeamRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="care_teams",
    )
    name = models.CharField(max_length=200, blank=True, default="")
    organization_name = models.CharField(max_length=200, blank=True, default="")
    phone = models.CharField(max_length=30, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    access_until = models.DateTimeField(null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField()
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["member_id", "added_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="staff", user__isnull=False, name=""))
                | (Q(kind="contact", user__isnull=True) & ~Q(name="")),
                name="care_team_member_staff_or_contact",
            ),
            models.UniqueConstraint(
                fields=["member", "user"],
                condition=Q(removed_at__isnull=True, user__isnull=False),
                name="care_team_staff_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "member"],
                condition=Q(removed_at__isnull=True),
                name="care_team_current_by_user",
            ),
        ]

    def __str__(self):
        return f"{self.display_name} ({self.get_role_display()})"

    @property
    def display_name(self) -> str:
        if self.user_id is not None:
            return self.user.full_name
        return self.name

    @property
    def is_current(self) -> bool:
        return self.removed_at is None


class CareConference(models.Model):
    """A care conference held about the member (RTF: most recent care conference)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="care_conferences"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, related_name="care_conferences"
    )
    held_on = models.DateField()
    attendees = models.TextField()
    notes = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["member_id", "-held_on", "-id"]
        indexes = [
            models.Index(fields=["episode", "held_on"], name="care_conference_by_day")
        ]

    def __str__(self):
        return f"Care conference on {self.held_on}"
