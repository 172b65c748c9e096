"""From a stored ADT message to a transition event (see the package docstring)."""

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from calaim.audit.services import audit_record
from calaim.bulk import insert_unless_conflict
from calaim.prepared import prepared_list
from care_plans.models import Episode
from care_plans.transitions.matching import match_member
from care_plans.transitions.models import (
    TRIGGER_KINDS,
    EventKind,
    Routing,
    Stay,
    TransitionEvent,
)
from care_plans.transitions.parsing import ADT, ADTParseError, parse_adt
from care_plans.transitions.services.effects import (
    check_utilization,
    open_follow_up,
    tell_care_team,
    void_cancelled,
)
from care_plans.transitions.services.rules import (
    ALERTING_KINDS,
    CANCELS,
    OUTPATIENT_CLASSES,
    adt_actor,
    is_high_risk,
    plan_on,
    settings_for,
)
from members.models import Member

_HAS_EVENT = "SELECT 1 FROM transitions_transitionevent WHERE message_id = %s LIMIT 1"
# The condition of the stays' unique constraint (one stay per facility and visit).
VISIT_KNOWN = "NOT (visit_number = '')"


def transition_process(*, message) -> str:
    """Process one stored ADT message; return its new status.

    Idempotent: a message that already has its event is "processed" again
    without any write. Unreadable → "failed" (with the reason on the message);
    a trigger we do not act on → "ignored"; nobody matched → "unmatched" (the
    interface administrator's queue); else the event and its effects.
    """
    try:
        adt = parse_adt(message.raw)
    except ADTParseError as error:
        message.error = str(error)
        message.save(update_fields=["error"])
        return "failed"
    trigger = adt.trigger or (message.trigger or "").upper()
    kind = TRIGGER_KINDS.get(trigger)
    if kind is None:
        return "ignored"
    member = message.member
    if member is None:
        sender = message.sender
        match = match_member(
            adt, cin_authorities=sender.cin_assigning_authorities if sender else ()
        )
        if match.member is None:
            return "unmatched"
        member = match.member
        # Saved with the message's status (hl7 processing), in the same commit.
        message.member = member
    # Asked only now: an unmatched message, most of a busy feed's, has no event.
    with connection.cursor() as cursor:
        cursor.execute(_HAS_EVENT, [message.pk])
        if cursor.fetchone():
            return "processed"
    transition_record(message=message, adt=adt, member=member, kind=kind)
    return "processed"


def _open_episode(member_id):
    """The member's open episode with a lead care manager (compiled once)."""
    return (
        Episode.objects.filter(
            member_id=member_id, closed_at__isnull=True, lead_care_manager__isnull=False
        )
        .select_related("lead_care_manager", "ecm_provider")
        .order_by("pk")[:1]
    )


def _stay_for(message, adt: ADT, member: Member) -> Stay:
    """The stay of (sending facility, PV1-19), locked; a new one (unsaved) on
    first sight."""
    facility = message.sending_facility or adt.sending_facility
    hospital_id = message.sender.organization_id if message.sender_id else None
    if adt.visit_number:
        stays = prepared_list(
            "transitions.stay_locked",
            lambda facility_id, visit: Stay.objects.select_for_update().filter(
                sending_facility=facility_id, visit_number=visit
            )[:1],
            facility,
            adt.visit_number,
        )
        if stays:
            return stays[0]
    return Stay(
        member=member,
        hospital_id=hospital_id,
        sending_facility=facility,
        visit_number=adt.visit_number,
    )


def _stay_save(stay: Stay, adt: ADT, kind: str, occurred_at: datetime) -> Stay:
    """Write the stay (`_apply` done): an update, or the first insert. When
    another worker created the same visit's stay a moment ago, apply this message
    to that one instead."""
    if stay.pk is not None:
        stay.save()
        return stay
    if not stay.visit_number:
        stay.save(force_insert=True)  # no visit number: nothing to collide with
        return stay
    # One statement; no savepoint (the constraint is stay_one_per_facility_visit).
    if insert_unless_conflict(
        stay, ["sending_facility", "visit_number"], conflict_where=VISIT_KNOWN
    ):
        return stay
    member = stay.member
    stay = Stay.objects.select_for_update().get(
        sending_facility=stay.sending_facility, visit_number=stay.visit_number
    )
    stay.member = member
    _apply(stay, adt, kind, occurred_at)
    stay.save()
    return stay


def _apply(stay: Stay, adt: ADT, kind: str, occurred_at: datetime) -> None:
    """Copy what the message carries onto the stay, then the kind's own change."""
    for name in (
        "patient_class",
        "location",
        "admission_type",
        "admitted_at",
        "disposition",
        "admit_reason",
    ):
        value = getattr(adt, name)
        if value:
            setattr(stay, name, value)
    if adt.diagnoses:
        stay.diagnoses = [
            {
                "code": diagnosis.code,
                "text": diagnosis.text,
                "system": diagnosis.coding_system,
                "type": diagnosis.type_code,
            }
            for diagnosis in adt.diagnoses
        ]
    if kind in (EventKind.ADMIT, EventKind.REGISTRATION):
        stay.status = Stay.Status.ACTIVE
        stay.admitted_at = stay.admitted_at or occurred_at
    elif kind == EventKind.DISCHARGE:
        stay.status = Stay.Status.DISCHARGED
        stay.discharged_at = adt.discharged_at or occurred_at
    elif kind == EventKind.UPDATE and adt.discharged_at:
        stay.discharged_at = adt.discharged_at
    elif kind == EventKind.CANCEL_ADMIT:
        stay.status = Stay.Status.CANCELLED
    elif kind == EventKind.CANCEL_DISCHARGE:
        stay.status = Stay.Status.ACTIVE
        stay.discharged_at = None
        stay.disposition = ""


# No savepoint of its own when nested: the HL7 processor runs each message in a
# savepoint already, and an error here fails the message whole.
@transaction.atomic(savepoint=False)
def transition_record(*, message, adt: ADT, member: Member, kind: str):
    """Record the event of one matched ADT message and carry out its effects."""
    actor = adt_actor(message)
    occurred_at = adt.occurred_at or message.received_at
    stay = _stay_for(message, adt, member)
    if stay.member_id != member.pk:
        # The hospital re-keyed the visit to another patient (or we matched a
        # later message differently): the stay follows the latest message.
        stay.member = member
    _apply(stay, adt, kind, occurred_at)
    stay = _stay_save(stay, adt, kind, occurred_at)
    event_day = timezone.localdate(occurred_at)
    plan = plan_on(member, event_day)
    rules = settings_for(plan)
    episode = next(
        iter(prepared_list("transitions.open_episode", _open_episode, member.pk)), None
    )
    if episode is not None:
        routing = Routing.CARE_MANAGER
    elif plan is not None:
        routing = Routing.PLAN_QUEUE
    else:
        routing = Routing.NONE
    patient_class = adt.patient_class or stay.patient_class
    admitted_inpatient = patient_class == "I" and (
        kind == EventKind.ADMIT
        or (kind == EventKind.CLASS_CHANGE and adt.trigger == "A06")
    )
    event = TransitionEvent(
        message=message,
        member=member,
        stay=stay,
        kind=kind,
        trigger=adt.trigger,
        occurred_at=occurred_at,
        patient_class=patient_class,
        location=adt.location or stay.location,
        plan=plan,
        routing=routing,
        is_ed_visit=kind in (EventKind.ADMIT, EventKind.REGISTRATION)
        and patient_class == "E",
        is_unplanned_admission=admitted_inpatient
        and stay.admission_type in rules.unplanned_admission_types,
    )
    if kind == EventKind.DISCHARGE:
        event.is_high_risk = is_high_risk(stay, rules)
    event.save()
    audit_record(
        action="create",
        object_type="transition_event",
        object_id=str(event.uuid),
        member_ids=[member.pk],
        actor=actor,
        reason=f"ADT {adt.trigger}",
    )
    if kind in CANCELS:
        void_cancelled(event, stay, actor)
        return event
    if kind not in ALERTING_KINDS:
        return event
    if routing == Routing.CARE_MANAGER:
        tell_care_team(event, episode, admitted_inpatient)
    if kind == EventKind.DISCHARGE and patient_class not in OUTPATIENT_CLASSES:
        open_follow_up(event, stay, episode, plan, rules, actor)
    if event.is_ed_visit or event.is_unplanned_admission:
        check_utilization(
            event, member, plan, rules, actor, open_episode=episode is not None
        )
    return event
