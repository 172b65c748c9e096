"""Transitions of care: hospital stays, the ADT events about them, the alerts
they raise, and each plan's settings for what counts as high-risk or unplanned.

A stay holds clinical data (diagnoses, location) and is PHI like the raw
message: it is read only through the selectors, behind the access rules.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from calaim.accounts.models import Organization
from members.models import Member

# CMS Hospital Readmissions Reduction Program conditions (ICD-10-CM prefixes):
# acute myocardial infarction, heart failure, pneumonia, COPD. Stated defaults,
# not a DHCS rule (DOMAIN.md §5a calls the risk tiering the plan's own).
DEFAULT_HIGH_RISK_DIAGNOSES = [
    *("I21", "I22", "I50"),
    *("J12", "J13", "J14", "J15", "J18", "J44"),
]
DEFAULT_UNPLANNED_ADMISSION_TYPES = ["E", "U"]


def _high_risk_diagnoses():
    return list(DEFAULT_HIGH_RISK_DIAGNOSES)


def _unplanned_types():
    return list(DEFAULT_UNPLANNED_ADMISSION_TYPES)


class TransitionSettings(models.Model):
    """One plan's rules for transitions of care (DOMAIN.md §1b, §5a, §10b).

    A plan without a row gets the defaults stated in each field's help text.
    """

    plan = models.OneToOneField(
        Organization,
        on_delete=models.CASCADE,
        related_name="transition_settings",
        limit_choices_to={"is_plan": True},
    )
    high_risk_diagnoses = ArrayField(
        models.CharField(max_length=10),
        default=_high_risk_diagnoses,
        blank=True,
        help_text="ICD-10 code prefixes that make an inpatient discharge high-risk. "
        "Default: the CMS readmission conditions I21, I22 (heart attack), I50 "
        "(heart failure), J12-J15, J18 (pneumonia), J44 (COPD).",
    )
    high_risk_min_length_of_stay_days = models.PositiveSmallIntegerField(
        default=5,
        help_text="An inpatient (patient class I) stay at least this many days long "
        "makes its discharge high-risk. Default 5.",
    )
    unplanned_admission_types = ArrayField(
        models.CharField(max_length=2),
        default=_unplanned_types,
        blank=True,
        help_text="PV1-4 admission types that make an admission unplanned. "
        "Default E (emergency) and U (urgent).",
    )
    follow_up_days = models.PositiveSmallIntegerField(
        default=7,
        help_text="Follow-up contact due this many calendar days after a discharge. "
        "Default 7 (DOMAIN.md §10b).",
    )
    high_risk_follow_up_business_days = models.PositiveSmallIntegerField(
        default=2,
        help_text="Follow-up due this many business days after a high-risk "
        "discharge. Default 2.",
    )
    # Avoidable Hospital or ED Utilization thresholds (DOMAIN.md §1b).
    adult_ed_visits = models.PositiveSmallIntegerField(
        default=5, help_text="Adults: ED visits ... Default 5."
    )
    adult_ed_months = models.PositiveSmallIntegerField(
        default=6, help_text="... within this many months. Default 6."
    )
    adult_unplanned_stays = models.PositiveSmallIntegerField(
        default=3, help_text="Adults: unplanned inpatient stays ... Default 3."
    )
    adult_unplanned_months = models.PositiveSmallIntegerField(
        default=6, help_text="... within this many months. Default 6."
    )
    child_ed_visits = models.PositiveSmallIntegerField(
        default=3, help_text="Children and youth: ED visits ... Default 3."
    )
    child_ed_months = models.PositiveSmallIntegerField(
        default=12, help_text="... within this many months. Default 12."
    )
    child_unplanned_stays = models.PositiveSmallIntegerField(
        default=2, help_text="Children and youth: unplanned stays ... Default 2."
    )
    child_unplanned_months = models.PositiveSmallIntegerField(
        default=12, help_text="... within this many months. Default 12."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "transition settings"
        verbose_name_plural = "transition settings"

    def __str__(self):
        return f"Transition settings of {self.plan}"


class Stay(models.Model):
    """One hospital encounter: every ADT message with the same sending facility
    and visit number (PV1-19) is about it, so an admission and its discharge are
    one stay. A message without a visit number gets a stay of its own."""

    class Status(models.TextChoices):
        ACTIVE = "active", "In the hospital"
        DISCHARGED = "discharged", "Discharged"
        CANCELLED = "cancelled", "Cancelled by the hospital"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="stays")
    hospital = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", null=True
    )
    sending_facility = models.CharField(max_length=40)
    visit_number = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    patient_class = models.CharField(max_length=1, blank=True, default="")
    location = models.CharField(max_length=100, blank=True, default="")
    admission_type = models.CharField(max_length=2, blank=True, default="")
    admitted_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(max_length=10, blank=True, default="")
    admit_reason = models.CharField(max_length=200, blank=True, default="")
    diagnoses = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-admitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sending_facility", "visit_number"],
                condition=~Q(visit_number=""),
                name="stay_one_per_facility_visit",
            ),
        ]
        indexes = [models.Index(fields=["member", "admitted_at"], name="stay_member")]

    def __str__(self):
        return f"Stay {self.uuid} ({self.status})"

    @property
    def length_of_stay_days(self) -> int | None:
        if self.admitted_at is None or self.discharged_at is None:
            return None
        return (self.discharged_at - self.admitted_at).days


class EventKind(models.TextChoices):
    ADMIT = "admit", "Admission"
    TRANSFER = "transfer", "Transfer"
    DISCHARGE = "discharge", "Discharge"
    REGISTRATION = "registration", "Registration / ED visit"
    CLASS_CHANGE = "class_change", "Patient class change"
    UPDATE = "update", "Update"
    CANCEL_ADMIT = "cancel_admit", "Admission cancelled"
    CANCEL_TRANSFER = "cancel_transfer", "Transfer cancelled"
    CANCEL_DISCHARGE = "cancel_discharge", "Discharge cancelled"


TRIGGER_KINDS = {
    "A01": EventKind.ADMIT,
    "A02": EventKind.TRANSFER,
    "A03": EventKind.DISCHARGE,
    "A04": EventKind.REGISTRATION,
    "A06": EventKind.CLASS_CHANGE,
    "A07": EventKind.CLASS_CHANGE,
    "A08": EventKind.UPDATE,
    "A11": EventKind.CANCEL_ADMIT,
    "A12": EventKind.CANCEL_TRANSFER,
    "A13": EventKind.CANCEL_DISCHARGE,
}


class Routing(models.TextChoices):
    CARE_MANAGER = "care_manager", "Lead care manager"
    PLAN_QUEUE = "plan_queue", "Plan's transitional-care queue"
    NONE = "none", "Nobody (no plan on the event date)"


class TransitionEvent(models.Model):
    """Exactly one per processed ADT message (the message is unique), so a
    message processed twice cannot add a second event."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.OneToOneField(
        "hl7.InboundMessage", on_delete=models.PROTECT, related_name="transition"
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="transition_events"
    )
    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    trigger = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    patient_class = models.CharField(max_length=1, blank=True, default="")
    location = models.CharField(max_length=100, blank=True, default="")
    plan = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", null=True
    )
    routing = models.CharField(max_length=15, choices=Routing.choices)
    # Counted against the avoidable-utilization thresholds (DOMAIN.md §1b).
    is_ed_visit = models.BooleanField(default=False)
    is_unplanned_admission = models.BooleanField(default=False)
    is_high_risk = models.BooleanField(default=False)
    voided_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="voided"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["member", "-occurred_at"], name="transition_member"),
            models.Index(
                fields=["plan", "-occurred_at"],
                condition=Q(routing="plan_queue"),
                name="transition_plan_queue",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.trigger})"

    @property
    def is_voided(self) -> bool:
        return self.voided_by_id is not None


class Alert(models.Model):
    """One person told of one event: the lead care manager, a supervisor for
    an inpatient admission, or a supervisor after an escalation. Unique per
    event and recipient; unacknowledged lead alerts escalate (tasks.py)."""

    class Reason(models.TextChoices):
        LEAD = "lead", "Lead care manager"
        SUPERVISOR = "supervisor", "Supervisor (inpatient admission)"
        ESCALATION = "escalation", "Escalated: not acknowledged in time"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(
        TransitionEvent, on_delete=models.PROTECT, related_name="alerts"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=12, choices=Reason.choices)
    escalated_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"], name="alert_one_per_event_recipient"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="alert_inbox"),
            models.Index(
                fields=["created_at"],
                condition=Q(
                    acknowledged_at__isnull=True,
                    escalated_at__isnull=True,
                    reason="lead",
                ),
                name="alert_escalation_due",
            ),
        ]

    def __str__(self):
        return f"Alert {self.uuid} for user {self.recipient_id}"
