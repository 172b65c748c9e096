"""Fault tests with real processes: a Celery worker killed mid-task, Redis stopped
while changes are recorded. Every effect must happen exactly once.

Each test starts its own redis-server on a free port, a worker and beat (short
sweep interval) against it and against this run's test database, and kills them
all at the end, also on failure. Run them alone with `pytest -m worker`.
"""

import pytest
from django.db import transaction

from calaim.notifications.models import Notification
from calaim.notifications.services import notification_send
from calaim.outbox.models import OutboxMessage, OutboxStatus
from calaim.outbox.services import outbox_enqueue
from tests import factories
from tests.support import outbox_handlers, workers
from tests.support.workers import wait_until

# The real-process fixtures (tests/support/workers.py), used by name below.
redis_server = workers.redis_server
app_broker = workers.app_broker
processes = workers.processes

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def recipient():
    return factories.UserFactory(email="fault.recipient@cast.example")


def _status(message_id):
    return OutboxMessage.objects.get(pk=message_id).status


def test_worker_killed_mid_task_effect_happens_exactly_once(processes, recipient):
    processes.start_beat()
    first_worker = processes.start_worker()
    key = "killed-mid-task"
    with transaction.atomic():
        message = outbox_enqueue(
            kind=outbox_handlers.SLOW,
            key=f"{outbox_handlers.SLOW}:{key}",
            payload={
                "recipient_id": recipient.pk,
                "kind": "test",
                "key": key,
                "title": "Something happened",
                "sleep_first_attempt": 120,
            },
        )
    wait_until(
        lambda: _status(message.pk) == OutboxStatus.SENDING,
        timeout=30,
        what=f"the worker claims the message\n{processes.logs()}",
    )

    processes.kill(first_worker)

    assert not Notification.objects.filter(key=key).exists()
    processes.start_worker()
    wait_until(
        lambda: _status(message.pk) == OutboxStatus.DELIVERED,
        timeout=30,
        what=f"a new worker delivers the message\n{processes.logs()}",
    )
    assert Notification.objects.filter(recipient=recipient, key=key).count() == 1
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 2


def test_redis_outage_delays_but_never_loses_or_doubles_effects(
    processes, redis_server, recipient
):
    processes.start_beat()
    processes.start_worker()

    def send(key):
        with transaction.atomic():
            notification_send(
                recipient=recipient,
                kind="test",
                title="Something happened",
                link="/tasks/",
                key=key,
            )

    def delivered(keys):
        return lambda: (
            OutboxMessage.objects.filter(payload__key__in=keys)
            .exclude(status=OutboxStatus.DELIVERED)
            .count()
            == 0
        )

    # The pipeline works before the outage.
    send("before-outage")
    wait_until(
        delivered(["before-outage"]),
        timeout=30,
        what=f"delivery before the outage\n{processes.logs()}",
    )

    redis_server.stop()
    outage_keys = [f"during-outage-{number}" for number in range(3)]
    for key in outage_keys:
        send(key)  # the broker is down: must not raise into the caller
    assert (
        OutboxMessage.objects.filter(
            payload__key__in=outage_keys, status=OutboxStatus.PENDING
        ).count()
        == 6
    )
    redis_server.start()

    wait_until(
        delivered(outage_keys),
        timeout=60,
        what=f"delivery after Redis is back\n{processes.logs()}",
    )
    for key in ["before-outage", *outage_keys]:
        assert Notification.objects.filter(recipient=recipient, key=key).count() == 1
    mail = processes.sent_mail()
    assert len(mail) == 4
    assert {message["To"] for message in mail} == {recipient.email}


def test_worker_keeps_its_database_connection_between_tasks(processes, recipient):
    """Celery's Django fixup would open a new PostgreSQL connection for every
    task; calaim.celery keeps it for CONN_MAX_AGE, as Django does for requests."""
    processes.env["CONN_MAX_AGE"] = "60"
    processes.start_worker()
    keys = [f"backend-{number}" for number in range(3)]
    for key in keys:
        with transaction.atomic():  # one task each
            outbox_enqueue(
                kind=outbox_handlers.BACKEND,
                key=f"{outbox_handlers.BACKEND}:{key}",
                payload={
                    "recipient_id": recipient.pk,
                    "kind": "test",
                    "key": key,
                    "title": "-",
                },
            )
    wait_until(
        lambda: Notification.objects.filter(key__in=keys).count() == 3,
        timeout=30,
        what=f"the worker runs the three tasks\n{processes.logs()}",
    )
    titles = set(
        Notification.objects.filter(key__in=keys).values_list("title", flat=True)
    )
    assert len(titles) == 1, titles
