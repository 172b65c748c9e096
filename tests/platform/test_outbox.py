"""The transactional outbox: enqueue after commit, idempotent delivery, the sweep,
retries with backoff. Delivery runs in-process here; tests/platform/
test_outbox_faults.py runs it in a real worker that gets killed."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from calaim import celery_app
from calaim.notifications.models import Notification
from calaim.outbox import tasks
from calaim.outbox.models import OutboxMessage, OutboxStatus
from calaim.outbox.services import (
    outbox_batch,
    outbox_deliver,
    outbox_enqueue,
    outbox_sweep,
)
from tests import factories
from tests.support import outbox_handlers

QUEUE = "celery"


class Broker:
    """The real Redis queue the app publishes to (this run's own Redis db)."""

    def _connection(self):
        return celery_app.connection_for_write()

    def purge(self):
        with self._connection() as connection:
            connection.default_channel.queue_purge(QUEUE)

    def take_all(self) -> list[dict]:
        """Remove and return the waiting messages as {"task", "args"}."""
        taken = []
        with self._connection() as connection, connection.SimpleQueue(QUEUE) as queue:
            while True:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    return taken
                args, _kwargs, _embed = message.decode()
                taken.append({"task": message.headers["task"], "args": args})
                message.ack()


@pytest.fixture
def broker():
    broker = Broker()
    broker.purge()
    yield broker
    broker.purge()


@pytest.fixture
def recipient(db):
    return factories.UserFactory(email="recipient@cast.example")


def _payload(recipient, key, **extra):
    return {
        "recipient_id": recipient.pk,
        "kind": "test",
        "key": key,
        "title": "Something happened",
        "link": "/tasks/",
        **extra,
    }


def _enqueue(kind, recipient, key, **extra):
    return outbox_enqueue(
        kind=kind, key=f"{kind}:{key}", payload=_payload(recipient, key, **extra)
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_enqueue_in_rolled_back_transaction_sends_nothing(broker, recipient):
    def change_that_fails():
        with transaction.atomic():
            _enqueue(outbox_handlers.FLAKY, recipient, "rolled-back")
            raise RuntimeError("the caller's change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert not OutboxMessage.objects.exists()
    assert broker.take_all() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_enqueue_in_committed_transaction_sends_the_row_id_only(broker, recipient):
    with transaction.atomic():
        message = _enqueue(outbox_handlers.FLAKY, recipient, "committed")
        assert broker.take_all() == [], "sent before the commit"

    assert broker.take_all() == [{"task": "outbox.deliver", "args": [message.pk]}]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_batch_hands_its_committed_messages_on_as_one_task(broker, recipient):
    with outbox_batch():
        with transaction.atomic():
            first = _enqueue(outbox_handlers.FLAKY, recipient, "batch-1")
            try:
                with transaction.atomic():  # a savepoint that rolls back
                    _enqueue(outbox_handlers.FLAKY, recipient, "batch-gone")
                    raise RuntimeError
            except RuntimeError:
                pass
            second = _enqueue(outbox_handlers.FLAKY, recipient, "batch-2")
        assert broker.take_all() == [], "sent before the batch ended"

    assert broker.take_all() == [
        {"task": "outbox.deliver_many", "args": [[first.pk, second.pk]]}
    ]
    assert tasks.deliver_many([first.pk, second.pk]) == 2
    assert set(Notification.objects.values_list("key", flat=True)) == {
        "batch-1",
        "batch-2",
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_batch_of_one_sends_the_plain_task_and_a_rolled_back_batch_nothing(
    broker, recipient
):
    with outbox_batch(), transaction.atomic():
        only = _enqueue(outbox_handlers.FLAKY, recipient, "alone")
    assert broker.take_all() == [{"task": "outbox.deliver", "args": [only.pk]}]

    def change_that_fails():
        with outbox_batch(), transaction.atomic():
            _enqueue(outbox_handlers.FLAKY, recipient, "never")
            raise RuntimeError("the caller's change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert broker.take_all() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_message_committed_after_its_batch_ended_is_still_handed_on(broker, recipient):
    """An outer transaction commits after the batch's block: nothing is left
    behind in the closed batch."""
    with transaction.atomic():
        with outbox_batch(), transaction.atomic():
            late = _enqueue(outbox_handlers.FLAKY, recipient, "late")
        assert broker.take_all() == []
    assert broker.take_all() == [{"task": "outbox.deliver", "args": [late.pk]}]


def test_enqueue_same_key_twice_yields_one_message(recipient):
    first = _enqueue(outbox_handlers.FLAKY, recipient, "same")
    second = _enqueue(outbox_handlers.FLAKY, recipient, "same")

    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1


def test_enqueue_refuses_unknown_kinds_and_nested_payloads(recipient):
    with pytest.raises(LookupError):
        outbox_enqueue(kind="no.such.kind", key="k", payload={})
    with pytest.raises(TypeError):
        outbox_enqueue(
            kind=outbox_handlers.FLAKY, key="k", payload={"member": {"name": "X"}}
        )
    assert not OutboxMessage.objects.exists()


def test_delivery_is_idempotent_when_the_task_runs_twice(recipient):
    message = _enqueue(outbox_handlers.FLAKY, recipient, "twice")

    assert tasks.deliver(message.pk) == "delivered"
    assert tasks.deliver(message.pk) == "skipped"

    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    assert message.attempts == 1
    assert message.delivered_at is not None
    assert Notification.objects.filter(recipient=recipient, key="twice").count() == 1


def test_handler_finds_an_existing_effect_instead_of_doubling_it(recipient):
    """Two messages with the same effect (as "notification.create" and
    "notification.email" have): the second finds the row the first wrote."""
    _enqueue(outbox_handlers.FLAKY, recipient, "effect-first")
    second = outbox_enqueue(
        kind="notification.create",
        key="notification.create:effect-first",
        payload=_payload(recipient, "effect-first"),
    )
    outbox_deliver(message_id=OutboxMessage.objects.get(kind=outbox_handlers.FLAKY).pk)

    assert outbox_deliver(message_id=second.pk) == "delivered"
    assert Notification.objects.filter(key="effect-first").count() == 1


def test_stale_sending_claim_is_taken_over_and_delivered_once(recipient):
    message = _enqueue(outbox_handlers.FLAKY, recipient, "stale")
    # A worker claimed it a minute ago and died.
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.SENDING,
        claimed_at=timezone.now() - timedelta(minutes=1),
        attempts=1,
    )

    assert outbox_deliver(message_id=message.pk) == "delivered"
    message.refresh_from_db()
    assert message.attempts == 2
    assert Notification.objects.filter(key="stale").count() == 1


def test_message_whose_every_attempt_died_with_its_worker_fails(
    broker, recipient, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = _enqueue(outbox_handlers.FLAKY, recipient, "killed-thrice")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.SENDING,
        claimed_at=timezone.now() - timedelta(minutes=1),
        attempts=3,
    )

    assert outbox_deliver(message_id=message.pk) == "skipped"
    assert outbox_sweep() == 0

    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    assert message.last_error.startswith("worker lost")
    assert broker.take_all() == []


def test_fresh_sending_claim_is_left_alone(recipient):
    message = _enqueue(outbox_handlers.FLAKY, recipient, "fresh")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.SENDING, claimed_at=timezone.now(), attempts=1
    )

    assert outbox_deliver(message_id=message.pk) == "skipped"
    assert not Notification.objects.filter(key="fresh").exists()


def test_attempt_that_lost_its_claim_rolls_its_effect_back(recipient):
    message = _enqueue(outbox_handlers.TAKEN_OVER, recipient, "taken-over")

    assert outbox_deliver(message_id=message.pk) == "lost"

    assert not Notification.objects.filter(key="taken-over").exists()
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENDING  # the other worker finishes it


def test_failed_handler_backs_off_then_succeeds(recipient, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 5
    message = _enqueue(outbox_handlers.FLAKY, recipient, "flaky", fail_attempts=1)

    assert outbox_deliver(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.available_at >= message.claimed_at + timedelta(seconds=5)
    assert message.enqueued_at is None  # the sweep sends it when it is due
    # Not due yet: a delivery now does nothing.
    assert outbox_deliver(message_id=message.pk) == "skipped"

    OutboxMessage.objects.filter(pk=message.pk).update(available_at=timezone.now())
    assert outbox_deliver(message_id=message.pk) == "delivered"
    message.refresh_from_db()
    assert message.attempts == 2
    assert Notification.objects.filter(key="flaky").count() == 1


def test_backoff_doubles_and_the_last_attempt_fails_without_phi(recipient, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 5
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = _enqueue(outbox_handlers.FLAKY, recipient, "broken", fail_attempts=99)
    delays = []
    for _ in range(2):
        assert outbox_deliver(message_id=message.pk) == "retry"
        message.refresh_from_db()
        delays.append(message.available_at - message.claimed_at)
        OutboxMessage.objects.filter(pk=message.pk).update(available_at=timezone.now())

    assert outbox_deliver(message_id=message.pk) == "failed"

    message.refresh_from_db()
    assert timedelta(seconds=5) <= delays[0] < timedelta(seconds=10)
    assert timedelta(seconds=10) <= delays[1] < timedelta(seconds=20)
    assert message.status == OutboxStatus.FAILED
    assert message.attempts == 3
    assert message.last_error == "builtins.RuntimeError"
    assert "Castmember" not in message.last_error
    assert outbox_deliver(message_id=message.pk) == "skipped"
    assert not Notification.objects.filter(key="broken").exists()


def test_sweep_resends_pending_and_stuck_rows_once(broker, recipient, settings):
    settings.OUTBOX_REDELIVER_AFTER_SECONDS = 10
    long_ago = timezone.now() - timedelta(minutes=5)
    never_sent = _enqueue(outbox_handlers.FLAKY, recipient, "never-sent")
    stuck = _enqueue(outbox_handlers.FLAKY, recipient, "stuck")
    just_sent = _enqueue(outbox_handlers.FLAKY, recipient, "just-sent")
    not_due = _enqueue(outbox_handlers.FLAKY, recipient, "not-due")
    delivered = _enqueue(outbox_handlers.FLAKY, recipient, "delivered")
    OutboxMessage.objects.filter(pk=never_sent.pk).update(enqueued_at=long_ago)
    OutboxMessage.objects.filter(pk=stuck.pk).update(
        status=OutboxStatus.SENDING, claimed_at=long_ago, enqueued_at=long_ago
    )
    OutboxMessage.objects.filter(pk=not_due.pk).update(
        enqueued_at=None, available_at=timezone.now() + timedelta(minutes=5)
    )
    OutboxMessage.objects.filter(pk=delivered.pk).update(
        status=OutboxStatus.DELIVERED, enqueued_at=long_ago
    )
    broker.purge()

    assert outbox_sweep() == 2

    sent = broker.take_all()
    assert sorted(m["args"][0] for m in sent) == sorted([never_sent.pk, stuck.pk])
    assert {m["task"] for m in sent} == {"outbox.deliver"}
    assert just_sent.pk not in [m["args"][0] for m in sent]
    # Stamped as sent: the next sweep leaves them alone for a while.
    assert outbox_sweep() == 0
    assert broker.take_all() == []


def test_sweep_is_bounded(broker, recipient):
    for number in range(5):
        _enqueue(outbox_handlers.FLAKY, recipient, f"batch-{number}")
    OutboxMessage.objects.update(enqueued_at=None)

    assert outbox_sweep(limit=3) == 3
    assert outbox_sweep(limit=3) == 2
    assert len(broker.take_all()) == 5


def test_swept_message_is_delivered_by_the_task(broker, recipient):
    message = _enqueue(outbox_handlers.FLAKY, recipient, "swept")
    OutboxMessage.objects.filter(pk=message.pk).update(enqueued_at=None)
    outbox_sweep()

    for sent in broker.take_all():
        tasks.deliver(*sent["args"])

    assert Notification.objects.filter(key="swept").count() == 1
