"""What an event sets off: alerts and notifications, the follow-up and care
plan review tasks, the avoidable-utilization check, voiding on a cancel."""

import contextlib
from datetime import date, timedelta

from django.db.models import Q
from django.utils import timezone

from calaim.audit.services import audit_record
from calaim.bulk import insert_unless_conflict
from calaim.notifications.services import notification_send
from calaim.work.calendar import due_at
from calaim.work.models import Task, TaskStatus
from calaim.work.services import TaskAlreadyOpen, task_create, tasks_close_for_source
from care_plans.models import Episode
from care_plans.transitions.models import (
    Alert,
    EventKind,
    Routing,
    TransitionEvent,
)
from care_plans.transitions.services.rules import (
    AVOIDABLE_UTILIZATION,
    CANCELS,
    CARE_PLAN_REVIEW_TASK,
    ESCALATION_KIND,
    FOLLOW_UP_TASK,
    IDENTIFICATION_BUSINESS_DAYS,
    IDENTIFICATION_TASK,
    NOTIFICATION_KIND,
    SUPERVISOR_TITLE,
    TITLES,
    alerts_link,
    follow_up_due,
    supervisors_of,
)
from members.models import Member, MemberPopulation


def _alert(event, recipient, reason, *, title, key, escalated_from=None) -> Alert:
    """One alert and its notification (in-app + PHI-free e-mail), once."""
    alert = Alert(
        event=event,
        recipient=recipient,
        reason=reason,
        created_at=timezone.now(),
        escalated_from=escalated_from,
    )
    if not insert_unless_conflict(alert, ["event", "recipient"]):
        return Alert.objects.get(event=event, recipient=recipient)
    notification_send(
        recipient=recipient,
        kind=ESCALATION_KIND if escalated_from else NOTIFICATION_KIND,
        title=title,
        link=alerts_link(),
        key=key,
        member_id=event.member_id,
        # The care manager must know within seconds: not behind the broker.
        at_once=True,
    )
    return alert


def tell_care_team(event, episode, admitted_inpatient: bool) -> None:
    lead = episode.lead_care_manager
    key = f"adt:{event.message_id}"
    if lead.is_active:
        _alert(event, lead, Alert.Reason.LEAD, title=TITLES[event.kind], key=key)
    if admitted_inpatient:
        for supervisor in supervisors_of(episode.ecm_provider_id):
            if supervisor.pk != lead.pk:
                _alert(
                    event,
                    supervisor,
                    Alert.Reason.SUPERVISOR,
                    title=SUPERVISOR_TITLE,
                    key=key,
                )


def open_follow_up(event, stay, episode, plan, rules, actor) -> None:
    due = follow_up_due(stay.discharged_at, high_risk=event.is_high_risk, rules=rules)
    owner = organization = None
    if event.routing == Routing.CARE_MANAGER:
        # An inactive lead care manager's work goes to the ECM provider's queue.
        if episode.lead_care_manager.is_active:
            owner = episode.lead_care_manager
        else:
            organization = episode.ecm_provider
    elif plan is not None:
        organization = plan
    if owner is None and organization is None:
        return
    with contextlib.suppress(TaskAlreadyOpen):
        task_create(
            kind=FOLLOW_UP_TASK,
            due_at=due,
            owner=owner,
            organization=organization,
            member_id=event.member_id,
            source=event,
            actor=actor,
        )
    if event.routing == Routing.CARE_MANAGER and event.patient_class == "I":
        from care_plans.services import care_plan_review_request

        care_plan_review_request(
            episode=episode,
            reason="Inpatient discharge (DOMAIN.md §10b: review after every "
            "inpatient discharge).",
            source=event,
            actor=actor,
        )


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in range(day.day, 0, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    return date(year, month, 1)


def utilization_counts(member: Member, on: date, rules) -> dict:
    """ED visits and unplanned admissions (distinct stays, events not voided) in
    the windows of the member's age group, up to and including `on`."""
    group = "adult" if member.is_adult_on(on) else "child"
    ed_months = getattr(rules, f"{group}_ed_months")
    unplanned_months = getattr(rules, f"{group}_unplanned_months")
    events = TransitionEvent.objects.filter(member=member, voided_by__isnull=True)
    end = on + timedelta(days=1)

    def count(flag, months):
        start = _months_before(on, months)
        return (
            events.filter(
                **{flag: True},
                occurred_at__date__gte=start,
                occurred_at__date__lt=end,
            )
            .values("stay_id")
            .distinct()
            .count()
        )

    return {
        "group": group,
        "ed_visits": count("is_ed_visit", ed_months),
        "ed_threshold": getattr(rules, f"{group}_ed_visits"),
        "ed_months": ed_months,
        "unplanned_stays": count("is_unplanned_admission", unplanned_months),
        "unplanned_threshold": getattr(rules, f"{group}_unplanned_stays"),
        "unplanned_months": unplanned_months,
    }


def check_utilization(event, member, plan, rules, actor, open_episode=False) -> None:
    """Flag the member for ECM identification when a threshold is crossed.

    A Task in the plan's queue rather than an identified episode: DOMAIN.md §1b
    asks for visits "that could have been avoided with appropriate care", which
    a person at the plan judges, and the plan authorizes ECM anyway; an
    automatic episode would start a 5-business-day authorization clock for every
    planned-care false positive. The plan administrator identifies the member
    from the task with the existing ECM identification page. `open_episode`: the
    caller already knows the member has an open episode (nothing to do).
    """
    if plan is None or open_episode:
        return
    if Episode.objects.filter(member=member, closed_at__isnull=True).exists():
        return
    day = timezone.localdate(event.occurred_at)
    counts = utilization_counts(member, day, rules)
    crossed = (
        counts["ed_visits"] >= counts["ed_threshold"]
        or counts["unplanned_stays"] >= counts["unplanned_threshold"]
    )
    if not crossed:
        return
    already_in_population = MemberPopulation.objects.filter(
        member=member,
        population_id=AVOIDABLE_UTILIZATION[counts["group"]],
        start_date__lte=day,
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
    if already_in_population.exists():
        return
    if Task.objects.filter(
        kind=IDENTIFICATION_TASK, member_id=member.pk, status=TaskStatus.OPEN
    ).exists():
        return
    with contextlib.suppress(TaskAlreadyOpen):
        task_create(
            kind=IDENTIFICATION_TASK,
            due_at=due_at(timezone.now(), business_days=IDENTIFICATION_BUSINESS_DAYS),
            organization=plan,
            member_id=member.pk,
            source=event,
            actor=actor,
        )


def void_cancelled(cancel, stay, actor) -> None:
    """Void the latest live event the cancel is about, and close what it opened."""
    target = (
        TransitionEvent.objects.select_for_update()
        .filter(stay=stay, kind__in=CANCELS[cancel.kind], voided_by__isnull=True)
        .exclude(pk=cancel.pk)
        .order_by("-occurred_at", "-pk")
        .first()
    )
    if target is None:
        return  # the cancel came first, or twice: nothing left to void
    target.voided_by = cancel
    target.save(update_fields=["voided_by"])
    for kind in (FOLLOW_UP_TASK, IDENTIFICATION_TASK, CARE_PLAN_REVIEW_TASK):
        tasks_close_for_source(
            source=target, kind=kind, actor=actor, status=TaskStatus.CANCELLED
        )
    if cancel.kind == EventKind.CANCEL_TRANSFER:
        previous = (
            TransitionEvent.objects.filter(stay=stay, voided_by__isnull=True)
            .exclude(kind__in=list(CANCELS))
            .exclude(pk=cancel.pk)
            .exclude(location="")
            .order_by("-occurred_at", "-pk")
            .first()
        )
        stay.location = previous.location if previous else ""
        stay.save(update_fields=["location", "updated_at"])
    audit_record(
        action="update",
        object_type="transition_event",
        object_id=str(target.uuid),
        member_ids=[target.member_id],
        actor=actor,
        reason=f"voided by ADT {cancel.trigger}",
    )
