"""The plan's rules and the pieces every step shares: what counts as
high-risk, the follow-up clock, which plan, who supervises, the kind names."""

from datetime import date, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from calaim.accounts import roles
from calaim.accounts.services import system_account
from calaim.memo import memoized
from calaim.prepared import prepared_list
from calaim.work.calendar import due_at
from care_plans.transitions.models import (
    EventKind,
    Stay,
    TransitionSettings,
)
from members.models import Enrollment, Member

FOLLOW_UP_TASK = "tcs.follow_up"
IDENTIFICATION_TASK = "tcs.ecm_identification"
CARE_PLAN_REVIEW_TASK = "ecm.care_plan_review"
NOTIFICATION_KIND = "transition.alert"
ESCALATION_KIND = "transition.escalation"
AVOIDABLE_UTILIZATION = {
    "adult": "adult_avoidable_utilization",
    "child": "child_avoidable_utilization",
}
ESCALATE_AFTER_HOURS = getattr(settings, "TRANSITIONS_ESCALATE_AFTER_HOURS", 24)
ESCALATION_BATCH = getattr(settings, "TRANSITIONS_ESCALATION_BATCH", 200)
IDENTIFICATION_BUSINESS_DAYS = 5

ALERTING_KINDS = {
    EventKind.ADMIT,
    EventKind.REGISTRATION,
    EventKind.TRANSFER,
    EventKind.DISCHARGE,
    EventKind.CLASS_CHANGE,
}
CANCELS = {
    EventKind.CANCEL_ADMIT: (EventKind.ADMIT, EventKind.REGISTRATION),
    EventKind.CANCEL_TRANSFER: (EventKind.TRANSFER,),
    EventKind.CANCEL_DISCHARGE: (EventKind.DISCHARGE,),
}
# Outpatient-type classes (HL7 table 0004): a discharge from these is no
# transition that needs a follow-up contact.
OUTPATIENT_CLASSES = {"O", "R", "B", "P"}
TITLES = {
    EventKind.ADMIT: "Hospital admission for a member on your caseload",
    EventKind.REGISTRATION: "Hospital or ED visit for a member on your caseload",
    EventKind.TRANSFER: "Hospital transfer for a member on your caseload",
    EventKind.DISCHARGE: "Hospital discharge for a member on your caseload",
    EventKind.CLASS_CHANGE: "Hospital status change for a member on your caseload",
}
SUPERVISOR_TITLE = "Inpatient admission for a member of your organization"
ESCALATION_TITLE = "Unacknowledged hospital alert for a member of your organization"


# --- Plan settings ------------------------------------------------------------------


def settings_for(plan) -> TransitionSettings:
    """The plan's transition settings, or the stated defaults (unsaved)."""
    if plan is None:
        return TransitionSettings()
    found = prepared_list(
        "transitions.settings",
        lambda plan_id: TransitionSettings.objects.filter(plan_id=plan_id).order_by(
            "pk"
        )[:1],
        plan.pk,
    )
    return found[0] if found else TransitionSettings(plan=plan)


def is_high_risk(stay: Stay, rules: TransitionSettings) -> bool:
    """An inpatient discharge with a listed diagnosis, or a long inpatient stay."""
    if stay.patient_class != "I":
        return False
    prefixes = tuple(
        code.upper().replace(".", "") for code in rules.high_risk_diagnoses
    )
    if prefixes and any(
        str(diagnosis.get("code", "")).startswith(prefixes)
        for diagnosis in stay.diagnoses
    ):
        return True
    days = stay.length_of_stay_days
    return days is not None and days >= rules.high_risk_min_length_of_stay_days


def follow_up_due(discharged_at: datetime, *, high_risk: bool, rules) -> datetime:
    """7 calendar days after the discharge, or 2 business days when high-risk
    (both configurable per plan)."""
    if high_risk:
        return due_at(
            discharged_at, business_days=rules.high_risk_follow_up_business_days
        )
    return due_at(discharged_at, calendar_days=rules.follow_up_days)


def adt_actor(message):
    """The named service account ADT processing acts as (the sender's hospital)."""
    organization = message.sender.organization if message.sender_id else None
    if organization is None:
        raise ValueError("An ADT message without a known sender is never processed.")
    return memoized(
        ("adt_actor", organization.pk),
        lambda: system_account(organization=organization, name="ADT intake"),
    )


def plan_on(member: Member, day: date):
    """The plan the member was enrolled with on `day` (the latest span), or None."""
    spans = prepared_list(
        "transitions.plan_on",
        lambda member_id, on: (
            Enrollment.objects.filter(member_id=member_id, start_date__lte=on)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
            .select_related("plan")
            .order_by("-start_date", "pk")[:1]
        ),
        member.pk,
        day,
    )
    return spans[0].plan if spans else None


def supervisors_of(organization_id) -> list:
    """The active supervisors of an organization (once per processed group)."""
    if organization_id is None:
        return []
    return memoized(
        ("supervisors", organization_id), lambda: _supervisors(organization_id)
    )


def _supervisors(organization_id) -> list:
    return list(
        get_user_model()
        .objects.filter(
            organization_id=organization_id,
            is_active=True,
            groups__name=roles.SUPERVISOR,
        )
        .order_by("pk")
    )


def alerts_link() -> str:
    return memoized("alerts_link", lambda: reverse("transition_alerts"))
