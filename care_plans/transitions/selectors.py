"""Reads of transitions of care, scoped to what the user may see."""

from datetime import timedelta

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from calaim import access as registry
from calaim.prepared import prepared_list
from calaim.work.models import Task, TaskStatus
from care_plans.transitions.models import Alert, Routing, TransitionEvent
from care_plans.transitions.services import FOLLOW_UP_TASK, IDENTIFICATION_TASK

QUEUE_DAYS = 90
SOURCE_TYPE = TransitionEvent._meta.label_lower


def alerts_for(user, *, open_only: bool = False) -> QuerySet[Alert]:
    """The user's own alerts, unacknowledged first, then newest; each marked
    whether the user still sees its member (one who left the caseload is not
    named)."""
    alerts = Alert.objects.filter(recipient=user)
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    return (
        alerts.select_related("event__stay", "event__member")
        .annotate(
            member_visible=Case(
                When(
                    event__member_id__in=registry.visible_member_ids(user),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by(F("acknowledged_at").asc(nulls_first=True), "-created_at", "-pk")
    )


def _open_task(kind: str):
    return Exists(
        Task.objects.filter(
            kind=kind,
            status=TaskStatus.OPEN,
            source_type=SOURCE_TYPE,
            source_id=Cast(OuterRef("pk"), CharField()),
        )
    )


def plan_queue(plan, *, days: int = QUEUE_DAYS) -> QuerySet[TransitionEvent]:
    """The plan's transitional-care queue: events of the last `days` days for
    the plan's members without a lead care manager, newest first, with whether
    a follow-up or an ECM-identification task is still open."""
    since = timezone.now() - timedelta(days=days)
    return (
        TransitionEvent.objects.filter(
            plan=plan, routing=Routing.PLAN_QUEUE, occurred_at__gte=since
        )
        .select_related("member", "stay")
        .annotate(
            follow_up_open=_open_task(FOLLOW_UP_TASK),
            identification_open=_open_task(IDENTIFICATION_TASK),
        )
        .order_by("-occurred_at", "-pk")
    )


def events_for_member(member, limit: int = 50) -> list[TransitionEvent]:
    """The member's transition events, newest first, with their stays (one query)."""
    return prepared_list(
        ("transitions.events_for_member", limit),
        lambda member_id: (
            TransitionEvent.objects.filter(member_id=member_id)
            .select_related("stay")
            .order_by("-occurred_at", "-pk")[:limit]
        ),
        member.pk,
    )


def unmatched_messages(plan) -> QuerySet:
    """The plan's feeds' messages that wait for a member, oldest first."""
    from care_plans.hl7.models import InboundMessage

    return (
        InboundMessage.objects.filter(status="unmatched", sender__plan=plan)
        .select_related("sender")
        .order_by("received_at", "pk")
    )


def link_candidates(plan, *, last_name="", birth_date=None, cin="", limit=10):
    """Members ever enrolled with `plan` that fit the search: a CIN (or an older
    CIN) alone, or a last name together with a birth date. Anything looser
    returns nothing: the interface administrator resolves a message, they do
    not browse members."""
    from calaim.validators import normalize_cin
    from members.models import Enrollment, Member

    members = Member.objects.filter(
        Exists(Enrollment.objects.filter(member=OuterRef("pk"), plan=plan)),
        merged_into__isnull=True,
    )
    if cin:
        cin = normalize_cin(cin)
        found = members.filter(Q(cin=cin) | Q(cins__cin=cin))
    elif last_name and birth_date:
        found = members.filter(
            last_name__iexact=last_name.strip(), birth_date=birth_date
        )
    else:
        return []
    return list(found.distinct().order_by("last_name", "first_name", "pk")[:limit])
