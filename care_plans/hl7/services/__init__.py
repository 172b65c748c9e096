"""HL7 v2 intake: receive and acknowledge, then process once.

One service for both channels (the MLLP server and POST /api/v1/hl7/adt):

- `message_receive` reads MSH only, decides the ACK code, stores the message raw
  and commits before it returns the ACK (DESIGN.md §4.3: "stored and acknowledged
  at once"). Nothing here parses past MSH.
- `messages_process` (and `message_process`, for one) hands pending messages to
  the processor of their type (registry.py) inside a transaction that holds the
  rows locked, each message in a savepoint; the processor's effects, the status
  and processed_at commit together. A Celery task runs it
  after the intake commits; `message_sweep` (beat) runs what a lost broker
  message, a dead worker or a failed attempt left pending, so no message is lost
  while Redis or the worker is away.
- `message_reprocess` puts an unmatched message through the processor again once
  an interface administrator has linked its member.
"""

from care_plans.hl7.services.intake import (  # noqa: F401
    ACTED_ON_TRIGGERS,
    Receipt,
    SenderCache,
    address_allowed,
    message_publish,
    message_receive,
    messages_publish,
    messages_receive,
    reject_unreadable,
)
from care_plans.hl7.services.processing import (  # noqa: F401
    message_process,
    message_reprocess,
    message_sweep,
    messages_process,
)
from care_plans.hl7.services.senders import sender_register, sender_update  # noqa: F401
