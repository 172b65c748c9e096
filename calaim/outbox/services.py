"""Writing, delivering and sweeping outbox messages.

The guarantee: an effect enqueued in a transaction that commits is carried out
once, however often the broker loses, repeats or delays its message, and one
enqueued in a transaction that rolls back is never carried out.

- `outbox_enqueue` writes the row in the caller's transaction; only after commit is
  the message handed to Celery. A broker that is down then is logged, not raised:
  the caller's change stands and the sweep sends the message later.
- `outbox_deliver` claims the row with a conditional UPDATE, so of two deliveries
  racing only one works; the handler's effects and the "delivered" mark commit in
  one transaction, and roll back together if the claim was lost meanwhile.
- `outbox_sweep` (beat) hands the broker again what waited too long: a message that
  was never sent, lost with a dead worker, or due for a retry.
"""

import json
import logging
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from calaim.bulk import insert_unless_conflict
from calaim.outbox.models import OutboxMessage, OutboxStatus
from calaim.outbox.registry import handler_for

logger = logging.getLogger(__name__)

# Handing a message to the broker from a request must not stall the request.
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
WORKER_LOST = "worker lost: killed or over the time limit on every attempt"
_PAYLOAD_SCALARS = (int, float, str, bool, type(None))
_MAX_PAYLOAD_STRING = 500


class ClaimLostError(Exception):
    """Another worker took the message over while this attempt ran."""


def _check_payload(payload) -> None:
    # A flat map of short scalars keeps payloads to ids and codes; anything
    # richer is a sign that a record (and with it PHI) is being copied in.
    if not isinstance(payload, dict):
        raise TypeError("An outbox payload is a dict of ids and short values.")
    for name, value in payload.items():
        if not isinstance(name, str) or not isinstance(value, _PAYLOAD_SCALARS):
            raise TypeError(f"Outbox payload field {name!r} must be a plain value.")
        if isinstance(value, str) and len(value) > _MAX_PAYLOAD_STRING:
            raise ValueError(f"Outbox payload field {name!r} is too long.")


def outbox_enqueue(*, kind: str, key: str, payload: dict) -> OutboxMessage:
    """Record an effect to carry out once the caller's transaction commits.

    `key` names the effect (e.g. "notification.create:42:adt-123"): enqueueing
    the same key again returns the existing message and sends nothing new, so a
    repeated request or a duplicate HL7 message cannot double an effect. Inside
    `outbox_batch()` the hand-off to the broker waits for the batch's end and
    goes as one task with the batch's other messages.
    """
    handler_for(kind)  # an unknown kind is a bug: fail in the caller, not later
    _check_payload(payload)
    message = OutboxMessage(
        kind=kind, key=key, payload=payload, enqueued_at=timezone.now()
    )
    if not insert_unless_conflict(message, ["key"]):
        message = OutboxMessage.objects.get(key=key)
        if message.kind != kind:
            raise ValueError(f"Outbox key {key!r} is already used by another kind.")
        return message
    batch = _batch.get()
    if batch is not None:
        # Only once the transaction commits (a rolled-back savepoint drops it).
        transaction.on_commit(partial(batch.add, message.pk))
    else:
        transaction.on_commit(partial(_hand_to_broker, message.pk))
    return message


class _Batch:
    def __init__(self):
        self.ids: list[int] = []
        self.open = True

    def add(self, message_id: int) -> None:
        if self.open:
            self.ids.append(message_id)
        else:  # committed after the batch ended (an outer transaction): at once
            _hand_to_broker(message_id)


_batch: ContextVar[_Batch | None] = ContextVar("outbox_batch", default=None)


@contextmanager
def outbox_batch() -> Iterator[None]:
    """Hand the messages enqueued (and committed) in the block to the broker as
    one task when the block ends, instead of one task each.

    For a worker that commits many effects at once (the HL7 processor's group):
    one broker round trip and one task to run instead of one per e-mail. Wrap the
    transaction (the block must end after its commit). Nested, it joins the
    outer batch.
    """
    if _batch.get() is not None:
        yield
        return
    batch = _Batch()
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
        batch.open = False
        if batch.ids:  # committed: their hooks ran
            _hand_many_to_broker(batch.ids)


def _hand_to_broker(message_id: int) -> bool:
    """Send the delivery task; on a broker failure log it and leave it to the sweep."""
    from calaim.outbox.tasks import deliver

    return _publish(deliver, [message_id], message_id)


def _hand_many_to_broker(message_ids: list[int]) -> bool:
    from calaim.outbox.tasks import deliver, deliver_many

    if len(message_ids) == 1:
        return _publish(deliver, message_ids, message_ids[0])
    return _publish(deliver_many, [message_ids], message_ids)


def _publish(task, args, message_ids) -> bool:
    try:
        task.apply_async(args=args, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as error:  # any broker failure: the sweep resends it
        logger.warning(
            "outbox message %s not handed to the broker (%s); the sweep will send it",
            message_ids,
            type(error).__name__,
        )
        return False
    return True


def _redeliver_before(now):
    return now - timedelta(seconds=settings.OUTBOX_REDELIVER_AFTER_SECONDS)


def _describe(error: BaseException) -> str:
    # The class only: exception messages can quote the data that failed.
    return f"{type(error).__module__}.{type(error).__qualname__}"[:300]


def _retry_delay(attempts: int) -> timedelta:
    seconds = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


_CLAIM = """
    UPDATE outbox_outboxmessage
    SET status = 'sending', claimed_at = %(now)s, claim_token = %(token)s,
        attempts = attempts + 1
    WHERE id = %(id)s AND available_at <= %(now)s AND (
        status = 'pending'
        OR (status = 'sending' AND claimed_at < %(stale)s
            AND attempts < %(max_attempts)s))
    RETURNING kind, payload, attempts"""


_DELIVERED = """
    UPDATE outbox_outboxmessage
    SET status = 'delivered', delivered_at = %s, last_error = ''
    WHERE id = %s AND status = 'sending' AND claim_token = %s"""


def _no_flush_wait(cursor) -> None:
    """Commit this transaction without waiting for its WAL flush.

    Safe for a delivery: the claim, the handler's database effects and the
    "delivered" mark commit together, so a database crash can only lose them
    together, which leaves the message pending (or its claim stale) and the sweep
    delivers it again; the effect is then recreated exactly once. What leaves the
    database (an e-mail) was at-least-once already. Saves two disk flushes per
    delivery, which under write load cost more than the delivery itself.
    """
    cursor.execute("SET LOCAL synchronous_commit TO OFF")


def outbox_deliver(*, message_id: int) -> str:
    """Carry out one message if nobody else is; return what happened.

    Safe to call any number of times, concurrently too: the conditional UPDATE lets
    one caller claim a pending message (or one whose SENDING claim went stale with a
    dead worker), and every other call returns "skipped".
    """
    now = timezone.now()
    token = uuid.uuid4()
    # Claim and read in one statement (raw SQL: this runs for every effect).
    with transaction.atomic(), connection.cursor() as cursor:
        _no_flush_wait(cursor)
        cursor.execute(
            _CLAIM,
            {
                "token": token,
                "now": now,
                "id": message_id,
                "stale": _redeliver_before(now),
                "max_attempts": settings.OUTBOX_MAX_ATTEMPTS,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return "skipped"
    message = OutboxMessage(
        pk=message_id,
        kind=row[0],
        # Django reads jsonb as text (JSONField decodes it): decode it here.
        payload=json.loads(row[1]) if isinstance(row[1], str) else row[1],
        attempts=row[2],
        status=OutboxStatus.SENDING,
        claimed_at=now,
        claim_token=token,
    )
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                _no_flush_wait(cursor)
            handler_for(message.kind)(message)
            with connection.cursor() as cursor:
                cursor.execute(_DELIVERED, [timezone.now(), message_id, token])
                if cursor.rowcount != 1:
                    raise ClaimLostError
    except ClaimLostError:
        logger.info(
            "outbox message %s was taken over; this attempt rolled back", message_id
        )
        return "lost"
    except Exception as error:  # any handler failure is retried
        return _record_failure(message=message, token=token, error=error)
    return "delivered"


def _record_failure(*, message: OutboxMessage, token, error: BaseException) -> str:
    now = timezone.now()
    if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        status, changes = "failed", {"status": OutboxStatus.FAILED}
    else:
        status = "retry"
        changes = {
            "status": OutboxStatus.PENDING,
            "available_at": now + _retry_delay(message.attempts),
            # Due again at available_at: the next sweep after that sends it.
            "enqueued_at": None,
        }
    OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.SENDING, claim_token=token
    ).update(last_error=_describe(error), **changes)
    # Where it failed, without the exception's message (it can quote PHI).
    frames = "".join(traceback.format_tb(error.__traceback__, limit=-8))
    logger.warning(
        "outbox message %s (%s) attempt %s failed with %s -> %s\n%s",
        message.pk,
        message.kind,
        message.attempts,
        _describe(error),
        status,
        frames,
    )
    return status


def outbox_sweep(*, limit: int | None = None) -> int:
    """Hand the broker again every message that waited too long; return how many.

    Bounded (OUTBOX_SWEEP_BATCH a run) and safe to overlap: rows are picked with
    FOR UPDATE SKIP LOCKED and stamped as sent before the lock is released, so two
    sweeps never pick the same row, and a resent message is not resent again for
    OUTBOX_REDELIVER_AFTER_SECONDS. A duplicate that still reaches a worker is
    harmless: only one delivery can claim the row.
    """
    limit = limit or settings.OUTBOX_SWEEP_BATCH
    now = timezone.now()
    stale = _redeliver_before(now)
    # A message whose every attempt died with its worker (killed, or over the hard
    # time limit) never reached _record_failure: give up on it here.
    given_up = OutboxMessage.objects.filter(
        status=OutboxStatus.SENDING,
        claimed_at__lt=stale,
        attempts__gte=settings.OUTBOX_MAX_ATTEMPTS,
    ).update(status=OutboxStatus.FAILED, last_error=WORKER_LOST)
    if given_up:
        logger.warning("outbox sweep gave up on %s messages (worker lost)", given_up)
    not_recently_sent = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale)
    due = Q(status=OutboxStatus.PENDING, available_at__lte=now)
    stuck = Q(status=OutboxStatus.SENDING, claimed_at__lt=stale)
    with transaction.atomic():
        message_ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter((due | stuck) & not_recently_sent)
            .order_by("available_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if message_ids:
            OutboxMessage.objects.filter(pk__in=message_ids).update(enqueued_at=now)
    sent = 0
    for message_id in message_ids:
        if not _hand_to_broker(message_id):
            break  # the broker is away; the rest wait for a later sweep
        sent += 1
    if message_ids:
        logger.info("outbox sweep resent %s of %s messages", sent, len(message_ids))
    return sent
