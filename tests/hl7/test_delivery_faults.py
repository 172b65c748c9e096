"""Never lost, never doubled: HL7 processing with real processes.

Each test starts its own redis-server on a free port, a Celery worker (with the
test processor of tests/hl7/processors.py, whose effect is one audit row per
committed run) and beat (hl7 sweep every second) against this run's test
database. Messages arrive through the real MLLP listener and the HTTP endpoint.
"""

import hl7.client
import pytest
from django.urls import reverse

from care_plans.hl7.models import InboundMessage
from tests import factories
from tests.api_auth import authenticate_api_client
from tests.hl7.messages import adt
from tests.hl7.processors import SLEEP_MARKER, effects
from tests.hl7.support import RunningServer, msa
from tests.support import workers
from tests.support.workers import wait_until

redis_server = workers.redis_server
app_broker = workers.app_broker
processes = workers.processes

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
WORKER_MODULES = ("tests.hl7.worker_processor",)


@pytest.fixture
def hl7_processes(processes):
    processes.env.update(
        {
            "HL7_SWEEP_SECONDS": "1",
            "HL7_SWEEP_AFTER_SECONDS": "2",
            "HL7_RETRY_BASE_SECONDS": "1",
        }
    )
    return processes


@pytest.fixture
def sender(cast):
    return factories.HL7SenderFactory(
        organization=cast.hospital,
        plan=cast.plan,
        sending_facility="MERCY_BAY",
        allowed_addresses=["127.0.0.1"],
    )


@pytest.fixture
def server(sender):
    running = RunningServer(idle_timeout=30)
    yield running
    running.stop()


def send(port, body) -> list[str]:
    with hl7.client.MLLPClient("127.0.0.1", port) as client:
        ack = client.send_message(body)
    return msa(ack.decode() if isinstance(ack, bytes) else ack)


def _status(message):
    return InboundMessage.objects.get(pk=message.pk).status


def test_a_worker_killed_mid_task_processes_the_message_once(
    hl7_processes, server, sender
):
    hl7_processes.start_beat()
    first = hl7_processes.start_worker(include=WORKER_MODULES)
    assert send(server.port, adt(control_id="KILL1") + SLEEP_MARKER + "\r")[1] == "AA"
    message = InboundMessage.objects.get(control_id="KILL1")
    wait_until(
        lambda: InboundMessage.objects.get(pk=message.pk).attempts == 1,
        timeout=30,
        what=f"the worker starts the message\n{hl7_processes.logs()}",
    )

    hl7_processes.kill(first)

    assert _status(message) == "pending"
    assert effects(message) == 0  # the killed run's effect rolled back
    hl7_processes.start_worker(include=WORKER_MODULES)
    wait_until(
        lambda: _status(message) == "processed",
        timeout=60,
        what=f"a new worker processes the message\n{hl7_processes.logs()}",
    )
    assert effects(message) == 1
    assert InboundMessage.objects.get(pk=message.pk).attempts == 2


def test_redis_down_while_messages_arrive_every_message_aa_processed_once(
    hl7_processes, redis_server, server, sender, cast, client
):
    hl7_processes.start_beat()
    hl7_processes.start_worker(include=WORKER_MODULES)
    assert send(server.port, adt(control_id="BEFORE"))[1] == "AA"
    wait_until(
        lambda: InboundMessage.objects.get(control_id="BEFORE").status == "processed",
        timeout=30,
        what=f"processing before the outage\n{hl7_processes.logs()}",
    )

    redis_server.stop()
    feed = authenticate_api_client(client, cast.hospital_feed)
    during = [f"DURING{n}" for n in range(6)]
    for control_id in during[:4]:
        assert send(server.port, adt(control_id=control_id))[1:3] == ["AA", control_id]
    for control_id in during[4:]:
        response = feed.generic(
            "POST",
            reverse("api_hl7_adt"),
            adt(control_id=control_id).encode(),
            content_type="application/hl7-v2",
        )
        assert response.status_code == 200
        assert f"MSA|AA|{control_id}" in response.content.decode()
    # The same message again on both channels during the outage: AA, nothing new.
    assert send(server.port, adt(control_id="DURING0"))[1] == "AA"
    assert InboundMessage.objects.filter(control_id__in=during).count() == 6
    assert set(
        InboundMessage.objects.filter(control_id__in=during).values_list(
            "status", flat=True
        )
    ) == {"pending"}

    redis_server.start()

    wait_until(
        lambda: not InboundMessage.objects.filter(status="pending").exists(),
        timeout=90,
        what=f"processing after Redis is back\n{hl7_processes.logs()}",
    )
    for message in InboundMessage.objects.all():
        assert message.status == "processed"
        assert effects(message) == 1, message.control_id
    assert InboundMessage.objects.count() == 7


def test_the_same_message_on_both_channels_is_processed_once(
    hl7_processes, server, sender, cast, client
):
    hl7_processes.start_beat()
    hl7_processes.start_worker(include=WORKER_MODULES)
    body = adt(control_id="TWICE")
    feed = authenticate_api_client(client, cast.hospital_feed)
    for _ in range(2):
        assert send(server.port, body)[1] == "AA"
        response = feed.generic(
            "POST", reverse("api_hl7_adt"), body.encode(), content_type="text/plain"
        )
        assert "MSA|AA|TWICE" in response.content.decode()
    (message,) = InboundMessage.objects.all()
    # A worker starting on a loaded machine can take a while.
    wait_until(
        lambda: _status(message) == "processed",
        timeout=90,
        what=f"the message is processed\n{hl7_processes.logs()}",
    )
    assert effects(message) == 1
    assert message.channel == "mllp"
