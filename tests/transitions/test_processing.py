"""From a stored ADT message to the event, the alerts, the tasks: every event
type, the cancels, the follow-up clocks, the routing and the idempotence."""

from datetime import datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calaim.accounts.models import User
from calaim.audit.models import AuditEvent
from calaim.notifications.models import Notification
from calaim.outbox.models import OutboxMessage
from calaim.work.calendar import PACIFIC
from calaim.work.models import Task, TaskStatus
from care_plans.hl7.services import messages_process
from care_plans.transitions import services
from care_plans.transitions.models import (
    Alert,
    EventKind,
    Routing,
    Stay,
    TransitionEvent,
    TransitionSettings,
)
from care_plans.transitions.services import effects, processing, transition_process
from tests import factories
from tests.transitions.adt import build_adt, make_world, receive, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


def _notified(user) -> list[str]:
    """The notification keys of `user`: written in the processing transaction
    (ADT alerts) or enqueued for the outbox to create (escalations); each must
    have its e-mail enqueued too."""
    written = set(
        Notification.objects.filter(recipient=user).values_list("key", flat=True)
    )
    enqueued = set(
        OutboxMessage.objects.filter(
            kind="notification.create", payload__recipient_id=user.pk
        ).values_list("payload__key", flat=True)
    )
    emailed = set(
        OutboxMessage.objects.filter(
            kind="notification.email", payload__recipient_id=user.pk
        ).values_list("payload__key", flat=True)
    )
    assert emailed == written | enqueued
    return sorted(written | enqueued)


def _tasks(kind, **filters):
    return list(Task.objects.filter(kind=kind, **filters))


def test_admission_records_stay_and_event_and_alerts_lead_and_supervisors(world):
    member = world.member()
    message = send(
        world,
        build_adt(
            "A01",
            diagnoses=[("I50.9", "Heart failure")],
            admit_reason="Shortness of breath",
        ),
    )

    assert message.status == "processed"
    assert message.member == member
    event = TransitionEvent.objects.get(message=message)
    assert event.kind == EventKind.ADMIT
    assert event.routing == Routing.CARE_MANAGER
    assert event.is_unplanned_admission  # admission type E, inpatient
    stay = event.stay
    assert (stay.sending_facility, stay.visit_number) == ("MERCYGEN", "V1001")
    assert stay.status == Stay.Status.ACTIVE
    assert stay.patient_class == "I"
    assert stay.location == "4W-401-1-MERCY"
    assert stay.admitted_at == datetime(2026, 11, 1, 8, 0, tzinfo=PACIFIC)
    assert stay.diagnoses[0]["code"] == "I509"
    assert stay.admit_reason == "Shortness of breath"
    reasons = dict(Alert.objects.values_list("recipient__email", "reason"))
    assert reasons == {
        world.lead.email: Alert.Reason.LEAD,
        world.supervisor.email: Alert.Reason.SUPERVISOR,
    }
    key = f"adt:{message.pk}"
    assert _notified(world.lead) == [key]
    assert _notified(world.supervisor) == [key]
    assert _notified(world.colleague) == []
    # The e-mail goes through the outbox too; its payload carries ids only.
    email = OutboxMessage.objects.get(key=f"notification.email:{world.lead.pk}:{key}")
    assert "Testperson" not in str(email.payload)


def test_emergency_registration_alerts_only_the_lead_and_counts_an_ed_visit(world):
    world.member()
    message = send(world, build_adt("A04", patient_class="E", location="ED^^^MERCY"))

    event = message.transition
    assert event.kind == EventKind.REGISTRATION
    assert event.is_ed_visit
    assert not event.is_unplanned_admission
    assert list(Alert.objects.values_list("recipient", flat=True)) == [world.lead.pk]


def test_transfer_moves_the_stay_and_cancel_transfer_puts_it_back(world):
    world.member()
    send(world, build_adt("A01"))
    transfer = send(world, build_adt("A02", location="ICU^2^1^MERCY"))
    stay = Stay.objects.get()
    assert stay.location == "ICU-2-1-MERCY"
    assert transfer.transition.kind == EventKind.TRANSFER

    cancel = send(world, build_adt("A12", location=""))

    stay.refresh_from_db()
    transfer.transition.refresh_from_db()
    assert transfer.transition.voided_by == cancel.transition
    assert stay.location == "4W-401-1-MERCY"


def test_discharge_opens_follow_up_in_seven_days_and_requests_care_plan_review(world):
    world.member()
    send(world, build_adt("A01", admitted_at="20261101080000"))
    message = send(
        world,
        build_adt(
            "A03",
            admitted_at="20261101080000",
            discharged_at="20261103140000",
            disposition="01",
        ),
    )

    event = message.transition
    assert event.kind == EventKind.DISCHARGE
    assert not event.is_high_risk  # 2 days, no listed diagnosis
    stay = event.stay
    assert stay.status == Stay.Status.DISCHARGED
    assert stay.disposition == "01"
    follow_up = Task.objects.get(kind=services.FOLLOW_UP_TASK)
    assert follow_up.owner == world.lead
    # 7 calendar days after Nov 3: the end of Nov 10, Pacific.
    assert timezone.localtime(follow_up.due_at, PACIFIC).date().isoformat() == (
        "2026-11-10"
    )
    review = Task.objects.get(kind=services.CARE_PLAN_REVIEW_TASK)
    assert review.owner == world.lead
    assert (review.source_type, review.source_id) == (
        "transitions.transitionevent",
        str(event.pk),
    )
    assert _notified(world.lead) == sorted(
        [f"adt:{message.pk}", f"adt:{message.pk - 1}"]
    )


def test_high_risk_discharge_is_due_in_two_business_days(world):
    world.member()
    send(world, build_adt("A01", diagnoses=[("I50.9", "Heart failure")]))
    # Friday Nov 6, 2026; Veterans Day (Wed Nov 11) is not in 2 business days.
    message = send(world, build_adt("A03", discharged_at="20261106100000"))

    assert message.transition.is_high_risk
    follow_up = Task.objects.get(kind=services.FOLLOW_UP_TASK)
    assert timezone.localtime(follow_up.due_at, PACIFIC) == datetime(
        2026, 11, 10, 17, 0, tzinfo=PACIFIC
    )


def test_a_long_stay_is_high_risk_by_the_plans_setting(world):
    world.member()
    TransitionSettings.objects.create(
        plan=world.plan, high_risk_min_length_of_stay_days=3, high_risk_diagnoses=[]
    )
    send(world, build_adt("A01", admitted_at="20261101080000"))
    message = send(world, build_adt("A03", discharged_at="20261104090000"))

    assert message.transition.is_high_risk


def test_unplanned_is_the_plans_setting(world):
    world.member()
    TransitionSettings.objects.create(plan=world.plan, unplanned_admission_types=["U"])

    message = send(world, build_adt("A01", admission_type="E"))

    assert not message.transition.is_unplanned_admission


def test_class_change_to_inpatient_alerts_supervisors_and_update_alerts_nobody(world):
    world.member()
    send(world, build_adt("A04", patient_class="E"))
    change = send(world, build_adt("A06", patient_class="I"))
    assert change.transition.kind == EventKind.CLASS_CHANGE
    assert Stay.objects.get().patient_class == "I"
    assert Alert.objects.filter(event=change.transition).count() == 2

    back = send(world, build_adt("A07", patient_class="O"))
    assert Alert.objects.filter(event=back.transition).count() == 1  # the lead
    update = send(world, build_adt("A08", patient_class="O", location="OBS^1"))
    assert update.transition.kind == EventKind.UPDATE
    assert not Alert.objects.filter(event=update.transition).exists()
    assert Stay.objects.get().location == "OBS-1"


def test_cancel_admit_voids_the_admission_and_cancels_the_stay(world):
    world.member()
    admit = send(world, build_adt("A01"))
    cancel = send(world, build_adt("A11"))

    admit.transition.refresh_from_db()
    assert admit.transition.voided_by == cancel.transition
    assert Stay.objects.get().status == Stay.Status.CANCELLED
    # The cancel itself alerts nobody.
    assert not Alert.objects.filter(event=cancel.transition).exists()


def test_cancel_discharge_reopens_the_stay_and_cancels_its_tasks(world):
    world.member()
    send(world, build_adt("A01"))
    discharge = send(world, build_adt("A03", discharged_at="20261103140000"))
    assert Task.objects.filter(status=TaskStatus.OPEN).count() == 2

    send(world, build_adt("A13", discharged_at=""))

    stay = Stay.objects.get()
    assert stay.status == Stay.Status.ACTIVE
    assert stay.discharged_at is None
    discharge.transition.refresh_from_db()
    assert discharge.transition.is_voided
    assert set(Task.objects.values_list("kind", "status")) == {
        (services.FOLLOW_UP_TASK, TaskStatus.CANCELLED),
        (services.CARE_PLAN_REVIEW_TASK, TaskStatus.CANCELLED),
    }
    # Discharged again: a new follow-up opens.
    send(world, build_adt("A03", discharged_at="20261105140000"))
    assert (
        Task.objects.filter(
            kind=services.FOLLOW_UP_TASK, status=TaskStatus.OPEN
        ).count()
        == 1
    )


def test_a_cancel_with_nothing_to_cancel_is_recorded_and_changes_nothing(world):
    world.member()
    message = send(world, build_adt("A13", visit_number="V-NEVER"))

    assert message.status == "processed"
    assert message.transition.kind == EventKind.CANCEL_DISCHARGE
    assert not TransitionEvent.objects.filter(voided_by__isnull=False).exists()


def test_processing_again_changes_nothing(world):
    world.member()
    message = send(world, build_adt("A01"))
    before = (
        TransitionEvent.objects.count(),
        Alert.objects.count(),
        OutboxMessage.objects.count(),
    )

    assert transition_process(message=message) == "processed"

    after = (
        TransitionEvent.objects.count(),
        Alert.objects.count(),
        OutboxMessage.objects.count(),
    )
    assert after == before


def test_the_same_message_twice_is_one_event(world):
    from care_plans.hl7.services import message_receive

    world.member()
    raw = build_adt("A01", control_id="SAME-1")
    send(world, raw)

    receipt = message_receive(
        data=raw, channel="http", organization=world.hospital, publish=False
    )

    assert receipt.ack_code == "AA"
    assert receipt.duplicate
    assert TransitionEvent.objects.count() == 1
    assert Alert.objects.filter(recipient=world.lead).count() == 1


def test_member_without_an_episode_goes_to_the_plan_queue(world):
    member = world.member(episode=False)
    send(world, build_adt("A01"))
    message = send(world, build_adt("A03", discharged_at="20261103140000"))

    assert message.transition.routing == Routing.PLAN_QUEUE
    assert message.transition.plan == world.plan
    assert not Alert.objects.exists()
    follow_up = Task.objects.get(kind=services.FOLLOW_UP_TASK)
    assert follow_up.organization == world.plan
    assert follow_up.owner is None
    assert follow_up.member_id == member.pk
    assert not Task.objects.filter(kind=services.CARE_PLAN_REVIEW_TASK).exists()


def test_member_not_enrolled_on_the_event_date_goes_nowhere(world):
    member = factories.MemberFactory(
        cin="91234567A", first_name="Jane", last_name="Testperson", sex="F"
    )
    message = send(world, build_adt("A03", discharged_at="20261103140000"))

    assert message.transition.member == member
    assert message.transition.routing == Routing.NONE
    assert not Task.objects.exists()


def test_outpatient_discharge_opens_no_follow_up(world):
    world.member()
    send(world, build_adt("A03", patient_class="O", discharged_at="20261103140000"))

    assert not Task.objects.exists()


def test_ignored_trigger_and_unmatched_patient(world):
    world.member()
    # A05 (pre-admit) is stored as ignored by the intake; the processor would
    # also ignore a trigger it does not know.
    message = factories.InboundMessageFactory(
        sender=world.sender, trigger="A05", raw=build_adt("A05")
    )
    assert transition_process(message=message) == "ignored"

    unmatched = send(world, build_adt("A01", pid3="123^^^MRN^MR", last_name="NOBODY"))
    assert unmatched.status == "unmatched"
    assert not TransitionEvent.objects.exists()


def test_an_unreadable_message_fails(world):
    message = factories.InboundMessageFactory(sender=world.sender, raw="garbage")

    assert transition_process(message=message) == "failed"
    assert "MSH" in message.error


def _ed_visits(world, count, *, start=1):
    for number in range(start, start + count):
        send(
            world,
            build_adt(
                "A04",
                patient_class="E",
                visit_number=f"ED{number}",
                admitted_at=f"202611{number:02d}100000",
            ),
        )


def test_fifth_ed_visit_in_six_months_flags_an_adult_for_ecm(world):
    member = world.member(episode=False)
    _ed_visits(world, 4)
    assert not _tasks(services.IDENTIFICATION_TASK)

    _ed_visits(world, 1, start=5)

    task = Task.objects.get(kind=services.IDENTIFICATION_TASK)
    assert task.organization == world.plan
    assert task.member_id == member.pk
    # Another visit does not open a second task.
    _ed_visits(world, 1, start=6)
    assert len(_tasks(services.IDENTIFICATION_TASK)) == 1


def test_visits_outside_the_window_and_members_in_ecm_are_not_flagged(world):
    world.member(episode=False)
    for number, month in enumerate(["202604", "202605", "202606", "202607"], 1):
        send(
            world,
            build_adt(
                "A04",
                patient_class="E",
                visit_number=f"OLD{number}",
                admitted_at=f"{month}01100000",
            ),
        )
    _ed_visits(world, 1)  # Nov 1: the April visit is more than 6 months back
    assert (
        services.utilization_counts(
            world.members["jane"],
            timezone.localdate(TransitionEvent.objects.first().occurred_at),
            TransitionSettings(),
        )["ed_visits"]
        == 4
    )
    assert not _tasks(services.IDENTIFICATION_TASK)

    world.member("enrolled", cin="97654321B", first_name="Enid")
    for number in range(5):
        send(
            world,
            build_adt(
                "A04",
                pid3="97654321B^^^DHCS^MA",
                first_name="ENID",
                patient_class="E",
                visit_number=f"EN{number}",
            ),
        )
    assert not _tasks(services.IDENTIFICATION_TASK)


def test_second_unplanned_stay_in_a_year_flags_a_child(world):
    world.member(episode=False, birth_date=datetime(2015, 3, 1).date())
    for number in (1, 2):
        send(
            world,
            build_adt(
                "A01",
                birth_date="20150301",
                visit_number=f"IP{number}",
                admitted_at=f"20261{number}01080000",
            ),
        )

    assert len(_tasks(services.IDENTIFICATION_TASK)) == 1


def test_cancelled_visit_closes_the_identification_it_caused(world):
    world.member(episode=False)
    _ed_visits(world, 5)
    send(world, build_adt("A11", visit_number="ED5", patient_class="E"))

    assert Task.objects.get(kind=services.IDENTIFICATION_TASK).status == (
        TaskStatus.CANCELLED
    )


def test_unacknowledged_lead_alert_escalates_to_supervisors_once(world):
    world.member()
    message = send(world, build_adt("A04", patient_class="E"))
    alert = Alert.objects.get(recipient=world.lead)
    assert services.alerts_escalate() == 0  # not 24 hours yet

    later = timezone.now() + timedelta(hours=24, minutes=1)
    assert services.alerts_escalate(now=later) == 1
    assert services.alerts_escalate(now=later) == 0

    alert.refresh_from_db()
    assert alert.escalated_at == later
    escalation = Alert.objects.get(recipient=world.supervisor)
    assert escalation.reason == Alert.Reason.ESCALATION
    assert escalation.escalated_from == alert
    assert _notified(world.supervisor) == [f"adt-escalation:{alert.pk}"]
    assert message.transition.alerts.count() == 2


def test_acknowledged_or_cancelled_alerts_do_not_escalate(world):
    world.member()
    send(world, build_adt("A04", patient_class="E", visit_number="ED1"))
    services.alert_acknowledge(
        alert=Alert.objects.get(recipient=world.lead), actor=world.lead
    )
    send(world, build_adt("A04", patient_class="E", visit_number="ED2"))
    send(world, build_adt("A11", patient_class="E", visit_number="ED2"))

    later = timezone.now() + timedelta(days=2)
    assert services.alerts_escalate(now=later) == 0
    assert not Alert.objects.filter(recipient=world.supervisor).exists()


def test_only_the_recipient_acknowledges(world):
    from django.core.exceptions import PermissionDenied

    world.member()
    send(world, build_adt("A04", patient_class="E"))
    alert = Alert.objects.get(recipient=world.lead)

    with pytest.raises(PermissionDenied):
        services.alert_acknowledge(alert=alert, actor=world.colleague)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None

    services.alert_acknowledge(alert=alert, actor=world.lead)
    first = Alert.objects.get(pk=alert.pk).acknowledged_at
    services.alert_acknowledge(alert=alert, actor=world.lead)
    assert Alert.objects.get(pk=alert.pk).acknowledged_at == first


def test_the_beat_runs_the_escalation_task(world, settings):
    from care_plans.transitions import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["transitions-escalate-alerts"]
    assert entry["task"] == tasks.escalate_alerts.name
    world.member()
    send(world, build_adt("A04", patient_class="E"))
    Alert.objects.update(created_at=timezone.now() - timedelta(hours=25))

    assert tasks.escalate_alerts() == 1
    assert Alert.objects.filter(reason=Alert.Reason.ESCALATION).count() == 1


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    cut=st.integers(min_value=0, max_value=400),
    junk=st.text(max_size=30),
    trigger=st.sampled_from(["A01", "A02", "A03", "A04", "A06", "A08", "A11", "A13"]),
)
def test_mangled_messages_never_crash_the_processor(world, cut, junk, trigger):
    """Truncated messages and stray characters: a status, never an exception."""
    if "jane" not in world.members:
        world.member()
    raw = build_adt(trigger, diagnoses=[("I50.9", "Heart failure")])
    raw = raw[:cut] + junk + raw[cut:] if cut % 2 else raw[: max(cut, 3)]
    message = factories.InboundMessageFactory(
        sender=world.sender, trigger=trigger, raw=raw.replace("\x00", "")
    )

    with transaction.atomic():
        status = transition_process(message=message)

    assert status in {"processed", "unmatched", "ignored", "failed"}
    assert TransitionEvent.objects.filter(message=message).count() == (
        1 if status == "processed" else 0
    )


def test_an_inactive_lead_leaves_the_follow_up_to_the_providers_queue(world):
    world.member()
    world.lead.is_active = False
    world.lead.save(update_fields=["is_active"])

    send(world, build_adt("A03", discharged_at="20261103140000"))

    assert not Alert.objects.filter(recipient=world.lead).exists()
    follow_up = Task.objects.get(kind=services.FOLLOW_UP_TASK)
    assert follow_up.owner is None
    assert follow_up.organization == world.provider


def _received(world, count, **fields) -> list[int]:
    """Store `count` admissions of the member (pending), one visit each."""
    return [
        receive(world, build_adt("A01", visit_number=f"VG{number}", **fields)).pk
        for number in range(count)
    ]


def test_a_group_looks_up_the_service_account_and_supervisors_once(world):
    """The worker processes messages in groups (one transaction): what every
    message of the group needs about its hospital and provider is read once."""
    world.member()
    ids = _received(world, 3)

    with CaptureQueriesContext(connection) as queries:
        outcomes = messages_process(message_ids=ids)

    assert set(outcomes.values()) == {"processed"}
    user_reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and 'FROM "accounts_user"' in query["sql"]
    ]
    assert len(user_reads) == 2, user_reads  # the ADT intake account, supervisors
    assert Alert.objects.count() == 6  # lead and supervisor, for each admission
    assert Notification.objects.filter(recipient=world.supervisor).count() == 3


def test_a_failed_message_does_not_leave_the_group_a_rolled_back_account(
    world, monkeypatch
):
    """The first message creates the ADT intake service account, then fails: its
    savepoint rolls the account back, and the next message of the group must not
    act as the account that no longer exists (the group would fail at commit)."""
    world.member()
    ids = _received(world, 2)
    real = effects.tell_care_team
    calls = []

    def fail_first(event, *args, **kwargs):
        calls.append(event.message_id)
        if event.message_id == ids[0]:
            raise RuntimeError("injected failure after the account was created")
        return real(event, *args, **kwargs)

    monkeypatch.setattr(processing, "tell_care_team", fail_first)
    assert not User.objects.filter(full_name="ADT intake").exists()

    outcomes = messages_process(message_ids=ids)

    assert outcomes == {ids[0]: "retry", ids[1]: "processed"}
    # The group first ran without savepoints and rolled back whole at the
    # failure; then again, each message in its own savepoint.
    assert calls == [ids[0], ids[0], ids[1]]
    # The second message's effects once, though its group ran twice.
    assert Alert.objects.filter(event__message_id=ids[1]).count() == 2
    assert not TransitionEvent.objects.filter(message_id=ids[0]).exists()
    event = TransitionEvent.objects.get(message_id=ids[1])
    actor = User.objects.get(full_name="ADT intake")
    assert AuditEvent.objects.filter(
        object_id=str(event.uuid), actor_id=actor.pk
    ).exists()
