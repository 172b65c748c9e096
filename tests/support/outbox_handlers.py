"""Outbox handlers that exist only in tests.

Imported by the outbox tests and, for the fault tests, by the real worker process
(`celery -A calaim worker -I tests.support.outbox_handlers`). Only the registry is
imported at module level: a worker may import this before Django's apps are ready.
Their effect is a Notification (unique per recipient and key), the same idempotent
effect the real "notification.create" handler has.
"""

import time

from calaim.outbox.registry import register_handler

SLOW = "test.slow_notification"
FLAKY = "test.flaky_notification"
TAKEN_OVER = "test.taken_over_notification"
BACKEND = "test.backend_notification"
# What a careless exception message might quote; it must not reach the outbox row.
LEAKY_ERROR_TEXT = "Casey Castmember born 1980-05-17"


def _create(payload):
    from calaim.notifications.services import notification_create

    fields = {
        name: payload[name]
        for name in ("recipient_id", "kind", "key", "title", "link", "member_id")
        if name in payload
    }
    return notification_create(**fields)


@register_handler(SLOW)
def slow_notification(message):
    """Create the effect, then (first attempt only) block so a test can kill us."""
    _create(message.payload)
    if message.attempts == 1:
        time.sleep(message.payload.get("sleep_first_attempt", 0))


@register_handler(FLAKY)
def flaky_notification(message):
    """Fail the first `fail_attempts` attempts with a message quoting PHI."""
    if message.attempts <= message.payload.get("fail_attempts", 0):
        raise RuntimeError(LEAKY_ERROR_TEXT)
    _create(message.payload)


@register_handler(TAKEN_OVER)
def taken_over_notification(message):
    """Create the effect while another worker takes the message over."""
    import uuid

    from calaim.outbox.models import OutboxMessage

    _create(message.payload)
    OutboxMessage.objects.filter(pk=message.pk).update(claim_token=uuid.uuid4())


@register_handler(BACKEND)
def backend_notification(message):
    """Create the effect titled with the PostgreSQL backend that ran it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    _create({**message.payload, "title": f"backend {backend}"})
