"""Never lost, never doubled (issue 7 §6), with real processes: the MLLP server,
the HTTP endpoint, a Celery worker and beat against a redis-server each test
starts on its own port.

(a) the worker is SIGKILLed while it processes an admission; (b) Redis is
stopped while messages arrive over both channels (each is still acknowledged
AA); (c) the same message arrives twice on each channel. Each ends with exactly
one TransitionEvent per message and one notification per recipient.
"""

import pytest
from django.urls import reverse

from calaim.accounts import roles
from calaim.accounts.services import service_account_create
from calaim.notifications.models import Notification
from care_plans.hl7.models import InboundMessage
from care_plans.transitions.models import TransitionEvent
from tests.api_auth import authenticate_api_client
from tests.hl7.support import RunningServer, connect, framed, msa, read_acks
from tests.support import workers
from tests.support.workers import wait_until
from tests.transitions.adt import build_adt, make_world
from tests.transitions.slow_worker import SLOW_PREFIX

redis_server = workers.redis_server
app_broker = workers.app_broker
processes = workers.processes

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def world():
    world = make_world()
    world.member()
    return world


@pytest.fixture
def mllp():
    server = RunningServer()
    yield server
    server.stop()


@pytest.fixture
def fast_processes(processes):
    """Worker and beat with short intake sweeps, so a lost task is run soon."""
    processes.env.update(
        HL7_SWEEP_SECONDS="1",
        HL7_SWEEP_AFTER_SECONDS="2",
        HL7_RETRY_BASE_SECONDS="1",
    )
    return processes


def _over_mllp(port, *messages) -> list[str]:
    with connect(port) as sock:
        sock.sendall(b"".join(framed(message) for message in messages))
        return [msa(ack)[1] for ack in read_acks(sock, len(messages))]


def _over_http(client, world, raw) -> str:
    feed = (
        service_account_create(
            organization=world.hospital, role_name=roles.HOSPITAL_FEED, name="Feed"
        )
        if not hasattr(world, "feed")
        else world.feed
    )
    world.feed = feed
    authenticate_api_client(client, feed)
    response = client.post(
        reverse("api_hl7_adt"), data=raw, content_type="application/hl7-v2"
    )
    assert response.status_code == 200, response.content
    return msa(response.content.decode())[1]


def _settled(messages: int):
    """Every accepted message processed and every notification row written."""

    def check():
        done = InboundMessage.objects.filter(status="processed").count() == messages
        waiting = InboundMessage.objects.filter(status="pending").exists()
        from calaim.outbox.models import OutboxMessage

        undelivered = OutboxMessage.objects.exclude(status="delivered").exists()
        return done and not waiting and not undelivered

    return check


def _one_event_and_one_notification_each(world, messages):
    for message in messages:
        assert TransitionEvent.objects.filter(message=message).count() == 1
        key = f"adt:{message.pk}"
        recipients = list(
            Notification.objects.filter(key=key).values_list("recipient", flat=True)
        )
        assert sorted(recipients) == sorted(set(recipients)), key
        assert world.lead.pk in recipients


def test_worker_killed_mid_processing_loses_and_doubles_nothing(
    fast_processes, world, mllp
):
    processes = fast_processes
    processes.start_beat()
    first = processes.start_worker(include=("tests.transitions.slow_worker",))

    assert _over_mllp(mllp.port, build_adt("A01", control_id=f"{SLOW_PREFIX}1")) == [
        "AA"
    ]
    message = InboundMessage.objects.get()
    wait_until(
        lambda: InboundMessage.objects.get().attempts == 1,
        timeout=30,
        what=f"the worker starts on the message\n{processes.logs()}",
    )
    processes.kill(first)
    assert not TransitionEvent.objects.exists()

    processes.start_worker(include=("tests.transitions.slow_worker",))
    wait_until(
        _settled(1), timeout=60, what=f"processed after the crash\n{processes.logs()}"
    )
    message.refresh_from_db()
    assert message.attempts == 2
    _one_event_and_one_notification_each(world, [message])
    # Inpatient admission: the lead and the supervisor, once each.
    assert sorted(
        Notification.objects.filter(key=f"adt:{message.pk}").values_list(
            "recipient", flat=True
        )
    ) == sorted([world.lead.pk, world.supervisor.pk])


def test_redis_outage_every_message_acknowledged_and_processed_once(
    fast_processes, redis_server, world, mllp, client
):
    processes = fast_processes
    processes.start_beat()
    processes.start_worker(include=())

    redis_server.stop()
    acks = _over_mllp(
        mllp.port,
        *[
            build_adt("A04", patient_class="E", visit_number=f"OUT{n}")
            for n in range(3)
        ],
    )
    acks.append(
        _over_http(
            client, world, build_adt("A04", patient_class="E", visit_number="OUTH")
        )
    )
    assert acks == ["AA"] * 4
    assert InboundMessage.objects.filter(status="pending").count() == 4
    redis_server.start()

    wait_until(
        _settled(4), timeout=90, what=f"processed after the outage\n{processes.logs()}"
    )
    _one_event_and_one_notification_each(world, list(InboundMessage.objects.all()))
    assert Notification.objects.filter(recipient=world.lead).count() == 4


def test_same_message_twice_on_both_channels_is_one_event(
    fast_processes, world, mllp, client
):
    processes = fast_processes
    processes.start_beat()
    processes.start_worker(include=())
    raw = build_adt("A01", control_id="TWICE-1")

    acks = _over_mllp(mllp.port, raw, raw)
    acks += [_over_http(client, world, raw), _over_http(client, world, raw)]
    acks += _over_mllp(mllp.port, raw)

    assert acks == ["AA"] * 5
    assert InboundMessage.objects.count() == 1
    wait_until(_settled(1), timeout=60, what=f"processed\n{processes.logs()}")
    message = InboundMessage.objects.get()
    _one_event_and_one_notification_each(world, [message])
    assert Notification.objects.count() == 2  # the lead and the supervisor
