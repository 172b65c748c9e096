"""Processing stored messages: the registry, the claim, retries, the sweep and
reprocessing from the unmatched queue (service level; the real worker, killed
and without Redis, is in test_delivery_faults.py)."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from care_plans.hl7 import registry
from care_plans.hl7.models import InboundMessage
from care_plans.hl7.services import (
    message_process,
    message_receive,
    message_reprocess,
    message_sweep,
)
from tests import factories
from tests.hl7.messages import adt
from tests.hl7.processors import FAIL_MARKER, effects, record_effect

pytestmark = pytest.mark.django_db


@pytest.fixture
def processor():
    with registry.replaced_processor("ADT", record_effect):
        yield record_effect


@pytest.fixture
def message(processor):
    return factories.InboundMessageFactory()


def test_a_pending_message_is_processed_with_its_effects(message):
    assert message_process(message_id=message.pk) == "processed"
    message.refresh_from_db()
    assert message.status == "processed"
    assert message.processed_at is not None
    assert message.attempts == 1
    assert effects(message) == 1


def test_processing_again_is_a_no_op(message):
    message_process(message_id=message.pk)
    assert message_process(message_id=message.pk) == "skipped"
    assert effects(message) == 1
    assert InboundMessage.objects.get(pk=message.pk).attempts == 1


def test_the_processors_status_and_member_are_saved(processor, cast):
    message = factories.InboundMessageFactory()

    def unmatched(locked):
        locked.error = "No member with this CIN."
        return "unmatched"

    with registry.replaced_processor("ADT", unmatched):
        assert message_process(message_id=message.pk) == "unmatched"
    message.refresh_from_db()
    assert message.status == "unmatched"
    assert message.error == ""  # an outcome, not an error: cleared

    def matched(locked):
        locked.member = cast.member
        return "processed"

    other = factories.InboundMessageFactory()
    with registry.replaced_processor("ADT", matched):
        message_process(message_id=other.pk)
    assert InboundMessage.objects.get(pk=other.pk).member == cast.member


def test_a_failing_processor_rolls_back_and_is_retried_later(processor, settings):
    settings.HL7_MAX_ATTEMPTS = 3
    message = factories.InboundMessageFactory(raw=adt() + FAIL_MARKER + "\r")
    before = timezone.now()
    assert message_process(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.available_at > before
    assert "RuntimeError" in message.error
    assert effects(message) == 0  # the processor's audit row rolled back
    assert message_process(message_id=message.pk) == "retry"
    assert message_process(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.processed_at is not None
    assert effects(message) == 0


def test_a_processor_error_is_logged_without_its_text(processor, caplog):
    message = factories.InboundMessageFactory(raw=adt() + FAIL_MARKER + "\r")
    message_process(message_id=message.pk)
    assert "RuntimeError" in caplog.text
    assert "TESTPERSON" not in caplog.text
    assert "19800101" not in caplog.text
    assert "TESTPERSON" in InboundMessage.objects.get(pk=message.pk).error


def test_attempts_that_died_count_and_end_in_failed(processor, settings):
    settings.HL7_MAX_ATTEMPTS = 2
    message = factories.InboundMessageFactory(attempts=2, error="worker lost")
    assert message_process(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error.startswith("Gave up after 2 attempts.")
    assert effects(message) == 0


def test_a_processor_returning_an_unknown_status_is_an_error(settings):
    message = factories.InboundMessageFactory()
    with registry.replaced_processor("ADT", lambda locked: "done"):
        assert message_process(message_id=message.pk) == "retry"
    assert "ValueError" in InboundMessage.objects.get(pk=message.pk).error


@pytest.mark.parametrize("status", ["processed", "ignored", "rejected", "error"])
def test_only_pending_messages_are_processed(message, status):
    InboundMessage.objects.filter(pk=message.pk).update(status=status)
    assert message_process(message_id=message.pk) == "skipped"
    assert effects(message) == 0


def test_without_a_processor_the_message_waits(settings):
    message = factories.InboundMessageFactory(message_type="ZZZ")
    assert message_process(message_id=message.pk) == "retry"
    assert "LookupError" in InboundMessage.objects.get(pk=message.pk).error


def test_the_sweep_runs_stale_pending_messages_only(processor, settings):
    settings.HL7_SWEEP_AFTER_SECONDS = 10
    old = timezone.now() - timedelta(seconds=30)
    stale = factories.InboundMessageFactory(available_at=old)
    fresh = factories.InboundMessageFactory()
    waiting = factories.InboundMessageFactory(
        available_at=timezone.now() + timedelta(minutes=5)
    )
    done = factories.InboundMessageFactory(available_at=old, status="processed")
    assert message_sweep() == 1
    assert InboundMessage.objects.get(pk=stale.pk).status == "processed"
    for untouched in (fresh, waiting):
        assert InboundMessage.objects.get(pk=untouched.pk).status == "pending"
    assert effects(done) == 0


def test_the_sweep_is_bounded(processor, settings):
    old = timezone.now() - timedelta(minutes=1)
    factories.InboundMessageFactory.create_batch(5, available_at=old)
    assert message_sweep(limit=3) == 3
    assert InboundMessage.objects.filter(status="pending").count() == 2


def test_stored_messages_are_handed_to_celery_after_commit(
    django_capture_on_commit_callbacks, cast
):
    factories.HL7SenderFactory(
        organization=cast.hospital, plan=cast.plan, sending_facility="MERCY_BAY"
    )
    with django_capture_on_commit_callbacks() as callbacks:
        message_receive(data=adt(), channel="mllp", peer="127.0.0.1")
        message_receive(data=adt(trigger="A31"), channel="mllp", peer="127.0.0.1")
        message_receive(data=adt(facility="X"), channel="mllp", peer="127.0.0.1")
    # Only the pending message is handed on; ignored and rejected ones are done.
    assert len(callbacks) == 1


def test_reprocess_puts_an_unmatched_message_through_again(processor, cast):
    message = factories.InboundMessageFactory(status="unmatched", attempts=1)
    message.member = cast.member
    status = message_reprocess(message=message, actor=cast.interface_admin)
    assert status == "processed"
    message.refresh_from_db()
    assert (message.status, message.member, message.attempts) == (
        "processed",
        cast.member,
        2,
    )
    assert effects(message) == 1
    from calaim.audit.models import AuditEvent

    event = AuditEvent.objects.get(object_type="hl7_message", action="update")
    assert event.member_ids == [cast.member.pk]
    assert event.actor_id == cast.interface_admin.pk


@pytest.mark.parametrize("status", ["pending", "processed", "dismissed", "rejected"])
def test_reprocess_refuses_a_message_that_is_not_unmatched(processor, cast, status):
    message = factories.InboundMessageFactory(status=status)
    with pytest.raises(ValidationError):
        message_reprocess(message=message, actor=cast.interface_admin)
    assert effects(message) == 0


def test_a_second_processor_for_a_type_is_refused():
    @registry.register_processor("TEST_ONLY")
    def first(message):
        return "processed"

    with pytest.raises(ImproperlyConfigured):

        @registry.register_processor("TEST_ONLY")
        def second(message):
            return "processed"

    registry._PROCESSORS.pop("TEST_ONLY")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_message_locked_by_another_worker_is_skipped(processor):
    message = factories.InboundMessageFactory()
    locked = threading.Event()
    release = threading.Event()

    def hold_lock():
        with transaction.atomic():
            InboundMessage.objects.select_for_update().get(pk=message.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(10)
    try:
        assert message_process(message_id=message.pk) == "skipped"
    finally:
        release.set()
        holder.join()
    assert message_process(message_id=message.pk) == "processed"
    assert effects(message) == 1
