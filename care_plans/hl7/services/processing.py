"""Processing stored messages: once, never lost.

`message_process` hands one pending message to the processor of its type
(registry.py) inside a transaction that holds the row locked; the processor's
effects, the status and processed_at commit together. A Celery task runs it after
the intake commits; `message_sweep` (beat) runs what a lost broker message, a
dead worker or a failed attempt left pending, so no message is lost while Redis
or the worker is away. `message_reprocess` puts an unmatched message through the
processor again once an interface administrator has linked its member.
"""

import logging
import traceback
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from calaim.audit.models import AuditAction
from calaim.audit.services import audit_record
from calaim.memo import memo_clear, memo_scope
from calaim.outbox.services import outbox_batch
from calaim.prepared import statement_cursor
from care_plans.hl7.models import PROCESSOR_STATUSES, InboundMessage, MessageStatus
from care_plans.hl7.registry import processor_for
from care_plans.hl7.services.intake import _setting

logger = logging.getLogger(__name__)
# The sweep processes what it finds in groups of this many (one commit each).
SWEEP_GROUP = 20


# --- Processing ------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}"


def _retry_delay(attempts: int) -> timedelta:
    base = _setting("HL7_RETRY_BASE_SECONDS", 5.0)
    seconds = base * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, _setting("HL7_RETRY_MAX_SECONDS", 3600)))


def _lock_pending(message_ids, *, related=()):
    """The pending messages of `message_ids` nobody else holds, locked, by id."""
    return list(
        InboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=message_ids, status=MessageStatus.PENDING)
        .select_related(*related)
        .order_by("pk")
    )


def message_process(*, message_id: int) -> str:
    """Run the processor on one pending message; return what happened
    ("processed", "unmatched", ..., "retry", "failed" or "skipped").
    See `messages_process`."""
    return messages_process(message_ids=[message_id])[message_id]


def messages_process(*, message_ids) -> dict[int, str]:
    """Run the processor on pending messages; return what happened to each id.

    Safe to call any number of times and concurrently: the rows are claimed with
    FOR UPDATE SKIP LOCKED, so a message another caller holds (or one that is no
    longer pending) comes back "skipped". The attempts are counted in a
    transaction of their own first, so that attempts that die with their worker
    (SIGKILL, the hard time limit) count too: after HL7_MAX_ATTEMPTS a message is
    marked failed (one statement claims, counts and gives up). Then the messages
    are processed in one transaction: a processor's exception rolls back that
    message's effects only and leaves it pending until a later try (the group
    runs again, each message in a savepoint of its own: see `_process_group`),
    and the statuses of the whole group commit together with their effects (one
    commit for the group the MLLP listener handed on, without waiting for the WAL
    flush: see below).
    """
    max_attempts = _setting("HL7_MAX_ATTEMPTS", 5)
    message_ids = list(dict.fromkeys(message_ids))
    outcomes = dict.fromkeys(message_ids, "skipped")
    with transaction.atomic(), connection.cursor() as cursor:
        # The count is advisory (it bounds retries): it need not wait for a disk
        # flush, which would cost every group a second synchronous commit. Giving
        # up on a message is not: then the flush is asked for again.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        with statement_cursor() as claiming:
            claiming.execute(_CLAIM, {"ids": message_ids, "max_attempts": max_attempts})
            claimed = claiming.fetchall()
        given_up = [message_id for message_id, spent in claimed if spent]
        live = [message_id for message_id, spent in claimed if not spent]
        if given_up:
            cursor.execute("SET LOCAL synchronous_commit TO ON")
    outcomes.update(dict.fromkeys(given_up, MessageStatus.FAILED))
    if not live:
        return outcomes
    try:
        _process_group(live, outcomes, max_attempts=max_attempts, savepoints=False)
    except _GroupFailed:
        # A processor failed, and the group rolled back whole. Once more, each
        # message in a savepoint of its own: only the failing message's effects
        # are lost (it stays pending for a later try, or fails for good).
        _process_group(live, outcomes, max_attempts=max_attempts, savepoints=True)
    return outcomes


class _GroupFailed(Exception):
    """A processor raised while its group ran without savepoints."""


def _process_group(live, outcomes, *, max_attempts: int, savepoints: bool) -> None:
    """Process the claimed messages in one transaction.

    Without `savepoints` (the usual case) the messages run straight in the
    group's transaction, two round trips per message fewer; any processor
    exception then rolls the whole group back (`_GroupFailed`) for the caller to
    run it again with them.
    """
    # What the processors look up once per group (the service account, say)
    # is remembered until the group commits.
    # Their e-mails go to the broker as one task after the commit.
    with outbox_batch(), memo_scope(), transaction.atomic():
        # Nor does processing wait for a disk flush: the raw message was stored
        # durably before its ACK, and its effects commit with its status, so a
        # database crash can only lose both, which leaves the message pending to be
        # processed again (the sweep), with the same outcome.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        messages = _lock_pending(live, related=("sender__organization",))
        for message in messages:
            if savepoints:
                outcomes[message.pk] = _run_processor(
                    message, max_attempts=max_attempts, save=False
                )
                continue
            try:
                outcomes[message.pk] = _apply_outcome(message, _call_processor(message))
            except Exception as error:
                memo_clear()
                raise _GroupFailed from error
        _write_statuses(messages)


# Claim the group (FOR UPDATE SKIP LOCKED) and, in the same statement, count an
# attempt on each message, or give up on those that used all theirs.
_CLAIM = """
    WITH claimed AS (
        SELECT id, attempts >= %(max_attempts)s AS spent FROM hl7_inboundmessage
        WHERE id = ANY(%(ids)s) AND status = 'pending'
        ORDER BY id FOR UPDATE SKIP LOCKED)
    UPDATE hl7_inboundmessage AS m SET
        attempts = CASE WHEN c.spent THEN m.attempts ELSE m.attempts + 1 END,
        status = CASE WHEN c.spent THEN 'failed' ELSE m.status END,
        processed_at = CASE WHEN c.spent THEN now() ELSE m.processed_at END,
        error = CASE WHEN c.spent
            THEN trim('Gave up after ' || m.attempts || ' attempts. ' || m.error)
            ELSE m.error END
    FROM claimed AS c
    WHERE m.id = c.id
    RETURNING m.id, c.spent"""
_WRITE_STATUSES = """
    UPDATE hl7_inboundmessage AS m SET status = v.status,
        processed_at = v.processed_at, error = v.error, member_id = v.member_id,
        available_at = v.available_at
    FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::text[],
                %s::bigint[], %s::timestamptz[])
        AS v(id, status, processed_at, error, member_id, available_at)
    WHERE m.id = v.id"""


def _write_statuses(messages: list[InboundMessage]) -> None:
    """Write what the processors set on the messages, in one statement."""
    if not messages:
        return
    columns = zip(
        *(
            (
                message.pk,
                message.status,
                message.processed_at,
                message.error,
                message.member_id,
                message.available_at,
            )
            for message in messages
        ),
        strict=True,
    )
    with statement_cursor() as cursor:
        cursor.execute(_WRITE_STATUSES, [list(column) for column in columns])


def _call_processor(message: InboundMessage) -> str:
    status = processor_for(message.message_type)(message)
    if status not in PROCESSOR_STATUSES:
        raise ValueError(f"A processor returned {status!r}.")
    return status


def _apply_outcome(message: InboundMessage, status: str) -> str:
    """Set the status fields of a message its processor handled."""
    message.status = status
    message.processed_at = timezone.now()
    if status != MessageStatus.FAILED:
        message.error = ""
    return status


def _run_processor(message: InboundMessage, *, max_attempts: int, save=True) -> str:
    """Call the processor in a savepoint of the caller's locked transaction; set
    the message's status fields (and save them, unless `save` is False: the
    caller then writes them)."""
    now = timezone.now()
    member_id = message.member_id
    try:
        with transaction.atomic():
            status = _call_processor(message)
    except Exception as error:  # any processor failure is retried, then failed
        memo_clear()  # what it remembered may have rolled back with it
        frames = "".join(traceback.format_tb(error.__traceback__, limit=-8))
        # The class and the place only: an exception's message can quote PHI.
        logger.warning(
            "hl7 message %s attempt %s failed with %s\n%s",
            message.pk,
            message.attempts,
            _describe(error),
            frames,
        )
        # What the processor set on the message rolled back with its effects.
        message.member_id = member_id
        # The row is PHI-scoped (it holds the raw message), so it may say more.
        message.error = f"{_describe(error)}: {error}"[:2000]
        fields = ["error"]
        if message.attempts >= max_attempts:
            message.status = MessageStatus.FAILED
            message.processed_at = now
            fields += ["status", "processed_at"]
            outcome = MessageStatus.FAILED
        else:
            message.available_at = now + _retry_delay(message.attempts)
            fields.append("available_at")
            outcome = "retry"
        if save:
            message.save(update_fields=fields)
        return outcome
    _apply_outcome(message, status)
    if save:
        message.save(update_fields=["status", "processed_at", "error", "member"])
    return status


def message_sweep(*, limit: int | None = None) -> int:
    """Process the pending messages nobody has run in time; return how many.

    A message is stale when it has been due for HL7_SWEEP_AFTER_SECONDS: its task
    was lost (Redis was down), its worker died, or a failed attempt's back-off has
    passed. Bounded, and safe to overlap with other sweeps and with the tasks:
    each message is claimed with SKIP LOCKED.
    """
    limit = limit or _setting("HL7_SWEEP_BATCH", 200)
    stale = timezone.now() - timedelta(
        seconds=_setting("HL7_SWEEP_AFTER_SECONDS", 10.0)
    )
    message_ids = list(
        InboundMessage.objects.filter(
            status=MessageStatus.PENDING, available_at__lte=stale
        )
        .order_by("available_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for start in range(0, len(message_ids), SWEEP_GROUP):
        outcomes = messages_process(
            message_ids=message_ids[start : start + SWEEP_GROUP]
        )
        done += sum(1 for outcome in outcomes.values() if outcome != "skipped")
    if message_ids:
        logger.info("hl7 sweep ran %s of %s stale messages", done, len(message_ids))
    return done


@transaction.atomic
def message_reprocess(*, message: InboundMessage, actor) -> str:
    """Put an unmatched message through its processor again; return its status.

    Used by the unmatched queue once an interface administrator has linked the
    member (the caller sets `message.member` first). Runs at once, in this
    transaction, with the row locked; an unmatched message that another admin
    handled meanwhile raises ValidationError. Audited as an update of the message.
    """
    locked = (
        InboundMessage.objects.select_for_update(of=("self",))
        .filter(pk=message.pk)
        .first()
    )
    if locked is None or locked.status != MessageStatus.UNMATCHED:
        raise ValidationError(
            "Only an unmatched message can be processed again.", code="not_unmatched"
        )
    if message.member_id != locked.member_id:
        locked.member_id = message.member_id
        locked.save(update_fields=["member"])
    locked.attempts += 1
    locked.save(update_fields=["attempts"])
    status = _run_processor(locked, max_attempts=locked.attempts)
    audit_record(
        action=AuditAction.UPDATE,
        object_type="hl7_message",
        object_id=str(locked.uuid),
        member_ids=[locked.member_id] if locked.member_id else [],
        actor=actor,
        reason="reprocessed from the unmatched queue",
    )
    message.refresh_from_db()
    return status
