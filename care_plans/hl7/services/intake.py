"""HL7 v2 intake: receive and acknowledge (both channels), hand on to Celery.

`message_receive` reads MSH only, decides the ACK code, stores the message raw
and commits before it returns the ACK (DESIGN.md §4.3: "stored and acknowledged
at once"). Nothing here parses past MSH.
"""

import ipaddress
import logging
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from calaim.bulk import insert_returning
from care_plans.hl7 import er7
from care_plans.hl7.models import (
    AckCode,
    Channel,
    HL7Sender,
    InboundMessage,
    MessageStatus,
)

logger = logging.getLogger(__name__)

ADT = "ADT"
# The ADT triggers the transitions of care act on (DOMAIN.md §5c); any other
# trigger is acknowledged and stored as ignored.
ACTED_ON_TRIGGERS = frozenset(
    ["A01", "A02", "A03", "A04", "A06", "A07", "A08", "A11", "A12", "A13"]
)
ACCEPTED_ONCE = "hl7_message_accepted_once"
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- Receiving ------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What the intake answered: the ACK (ER7 text) and the stored message."""

    ack: str
    ack_code: str
    message: InboundMessage | None
    duplicate: bool = False


class SenderCache:
    """Senders by MSH-4 for a few seconds, for a long-running listener.

    The MLLP server sees the same few facilities thousands of times a minute; a
    sender deactivated or changed in the registry takes effect within `ttl`.
    """

    def __init__(self, ttl: float = 5.0):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, HL7Sender | None]] = {}
        self._lock = threading.Lock()

    def get(self, facility: str) -> HL7Sender | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(facility)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        sender = _sender_lookup(facility)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()  # unknown facilities must not grow it forever
            self._entries[facility] = (now, sender)
        return sender


def _sender_lookup(facility: str) -> HL7Sender | None:
    if not facility:
        return None
    return HL7Sender.objects.filter(sending_facility=facility).first()


def address_allowed(sender: HL7Sender, peer: str) -> bool:
    """Whether `peer` (an IP address) is one of the sender's MLLP addresses."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for allowed in sender.allowed_addresses:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


def _sender_refusal(sender, *, channel, peer, organization) -> str:
    """Why `sender` may not send this message here, or "" when it may."""
    if sender is None:
        return "Unknown sending facility (MSH-4)."
    if not sender.active:
        return "The sending facility is not active."
    if channel == Channel.MLLP and not address_allowed(sender, peer):
        return "The sending facility may not send from this address."
    if channel == Channel.HTTP and (
        organization is None or organization.pk != sender.organization_id
    ):
        return "The sending facility does not belong to the calling organization."
    return ""


@dataclass(frozen=True)
class Decision:
    """What to answer a message and what to store (before anything is written)."""

    header: er7.Header
    code: str
    status: str
    fields: dict
    error: tuple[str, str] | None = None
    text: str = ""

    def ack(self) -> str:
        return er7.build_ack(self.header, self.code, error=self.error, text=self.text)

    def row(self, now) -> InboundMessage:
        return InboundMessage(
            **self.fields,
            ack_code=self.code,
            status=self.status,
            error=self.text,
            received_at=now,
            available_at=now,
            processed_at=None if self.status == MessageStatus.PENDING else now,
        )


def decide(
    text: str,
    *,
    channel: str,
    peer: str = "",
    organization=None,
    senders: SenderCache | None = None,
) -> Decision:
    """The ACK code and the row for one message, from its MSH and the registry.

    Raises er7.NoHeader when the message has no readable MSH.
    """
    header = er7.read_header(text)
    facility = header.sending_facility[:180]
    sender = senders.get(facility) if senders else _sender_lookup(facility)
    refusal = _sender_refusal(
        sender, channel=channel, peer=peer, organization=organization
    )
    fields = {
        "sender": sender,
        "sending_facility": facility,
        "control_id": header.control_id[:199],
        "message_type": header.message_type[:20],
        "trigger": header.trigger[:20],
        "version": header.version[:20],
        "channel": channel,
        "peer": peer[:100],
        "raw": text,
    }

    def refuse(code, error, reason):
        status = (
            MessageStatus.REJECTED if code == AckCode.REJECT else MessageStatus.ERROR
        )
        return Decision(header, code, status, fields, error, reason)

    if refusal:
        return refuse(AckCode.REJECT, er7.UNKNOWN_KEY, refusal)
    if header.message_type != ADT:
        return refuse(
            AckCode.REJECT,
            er7.UNSUPPORTED_MESSAGE_TYPE,
            "Only ADT messages are accepted.",
        )
    if not header.control_id:
        return refuse(
            AckCode.ERROR,
            er7.REQUIRED_FIELD_MISSING,
            "The message control id (MSH-10) is missing.",
        )
    if len(header.control_id) > 199:
        return refuse(
            AckCode.ERROR,
            er7.REQUIRED_FIELD_MISSING,
            "The message control id (MSH-10) is longer than 199 characters.",
        )
    if not er7.version_supported(header.version):
        return refuse(
            AckCode.ERROR,
            er7.UNSUPPORTED_VERSION,
            "The version (MSH-12) must be 2.3 to 2.8.",
        )
    status = (
        MessageStatus.PENDING
        if header.trigger in ACTED_ON_TRIGGERS
        else MessageStatus.IGNORED
    )
    return Decision(header, AckCode.ACCEPT, status, fields)


def message_receive(
    *,
    data: bytes | str,
    channel: str,
    peer: str = "",
    organization=None,
    senders: SenderCache | None = None,
    publish: bool = True,
) -> Receipt:
    """Store one HL7 v2 message and return its ACK; raise er7.NoHeader when the
    message has no readable MSH (the caller answers 400, or a bare AR over MLLP).

    AR (stored as rejected, never processed): unknown or inactive sender, an MLLP
    peer not allowed for it, an HTTP caller whose organization is not the
    sender's, a type other than ADT. AE (stored as error): no control id, version
    outside 2.3-2.8. AA: a duplicate (same MSH-4 and MSH-10 accepted before, on
    either channel; nothing changes), an ADT trigger we do not act on (stored as
    ignored), or a message stored as pending. AA only after the commit.

    `publish=False` leaves handing the message to Celery to the caller
    (`message_publish`).
    """
    text = er7.decode(data)[0] if isinstance(data, bytes) else data
    decision = decide(
        text.replace("\x00", "\ufffd"),
        channel=channel,
        peer=peer,
        organization=organization,
        senders=senders,
    )
    try:
        with transaction.atomic():
            message = decision.row(timezone.now())
            message.save(force_insert=True)
            if message.status == MessageStatus.PENDING and publish:
                transaction.on_commit(lambda: message_publish(message_id=message.pk))
    except IntegrityError as error:
        if _constraint(error) != ACCEPTED_ONCE:
            raise
        # The same sender and control id was accepted before: acknowledge it again
        # and change nothing.
        return Receipt(
            ack=er7.build_ack(decision.header, AckCode.ACCEPT),
            ack_code=AckCode.ACCEPT,
            message=None,
            duplicate=True,
        )
    return Receipt(ack=decision.ack(), ack_code=decision.code, message=message)


@dataclass(frozen=True)
class BatchReceipt:
    """One message of a batch: its ACK and, when it waits for processing, its id."""

    ack: str
    publish_id: int | None


def messages_receive(
    items: list[tuple[str, str]], *, channel: str, senders: SenderCache | None = None
) -> list[BatchReceipt]:
    """Store a batch of messages in one transaction; their ACKs, in order.

    The MLLP listener's path: the messages that arrived on all connections while
    the previous batch was being written share one INSERT and one commit (one
    disk flush), so the listener keeps up with many senders. The rules are those
    of `message_receive`. `items` are (text, peer); a text without a readable MSH
    gets the bare AR and stores nothing. When the batch holds a duplicate (of an
    accepted message, or within the batch), the one INSERT fails and the batch is
    stored message by message instead, each duplicate answered AA unchanged.
    """
    decisions: list[Decision | None] = []
    for text, peer in items:
        try:
            decisions.append(decide(text, channel=channel, peer=peer, senders=senders))
        except er7.NoHeader:
            decisions.append(None)
    now = timezone.now()
    rows = {
        index: decision.row(now)
        for index, decision in enumerate(decisions)
        if decision is not None
    }
    try:
        # One statement outside a transaction block commits by itself, whole or
        # not at all: no BEGIN and COMMIT round trips on the listener's path.
        # Inside a caller's transaction, a savepoint keeps a refusal local.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            insert_returning(InboundMessage, list(rows.values()))
    except IntegrityError as error:
        if _constraint(error) != ACCEPTED_ONCE:
            raise
        rows = {index: _store_one(row) for index, row in rows.items()}
    receipts = []
    for index, decision in enumerate(decisions):
        if decision is None:
            receipts.append(BatchReceipt(reject_unreadable(), None))
            continue
        row = rows[index]
        publish_id = (
            row.pk if row is not None and row.status == MessageStatus.PENDING else None
        )
        receipts.append(BatchReceipt(decision.ack(), publish_id))
    return receipts


def _store_one(row: InboundMessage) -> InboundMessage | None:
    """Insert one row; None when it duplicates an accepted message."""
    row.pk = None
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError as error:
        if _constraint(error) != ACCEPTED_ONCE:
            raise
        return None
    return row


def _constraint(error: IntegrityError) -> str:
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", "") or ""


def reject_unreadable(text: str = "") -> str:
    """The AR for a frame without a readable MSH (MLLP: every frame is answered)."""
    return er7.build_ack(
        None,
        AckCode.REJECT,
        error=er7.REQUIRED_FIELD_MISSING,
        text=text or "No readable MSH segment.",
    )


# --- Handing to Celery ------------------------------------------------------------

_broker_down_until = 0.0
_broker_lock = threading.Lock()


def message_publish(*, message_id: int) -> bool:
    """Send the processing task for a stored message; on a broker failure log it
    and leave the message to the sweep."""
    return messages_publish(message_ids=[message_id])


def messages_publish(*, message_ids: list[int]) -> bool:
    """Send one processing task for several stored messages (see message_publish).

    After a broker failure the broker is not tried again for a few seconds, so
    that an outage does not slow every acknowledgement down by a connection
    timeout; the sweep runs what was not handed on.
    """
    global _broker_down_until
    from care_plans.hl7.tasks import process_message, process_messages

    if not message_ids or time.monotonic() < _broker_down_until:
        return False
    try:
        if len(message_ids) == 1:
            process_message.apply_async(
                args=[message_ids[0]], retry=True, retry_policy=PUBLISH_RETRY_POLICY
            )
        else:
            process_messages.apply_async(
                args=[list(message_ids)], retry=True, retry_policy=PUBLISH_RETRY_POLICY
            )
    except Exception as error:  # any broker failure: the sweep sends it later
        with _broker_lock:
            _broker_down_until = time.monotonic() + _setting(
                "HL7_BROKER_BACKOFF_SECONDS", 5.0
            )
        logger.warning(
            "%s hl7 messages not handed to the broker (%s); the sweep will run them",
            len(message_ids),
            type(error).__name__,
        )
        return False
    return True
