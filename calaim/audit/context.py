"""Request-scoped audit context: what a request touched, written as one event.

The middleware opens a context per request; access functions, selectors and
services call `services.audit_record()`, which adds to the open context, and the
middleware writes a single AuditEvent when the response is ready. Outside a request
(Celery, management commands) there is no context and each record is written at once.
"""

import contextvars
from dataclasses import dataclass, field

# From least to most significant: a request that views and updates is an update.
PRECEDENCE = [
    "view",
    "create",
    "update",
    "delete",
    "grant",
    "export",
    "break_glass",
]


@dataclass
class PendingEvent:
    request_id: str
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    reason: str = ""
    member_ids: set[int] = field(default_factory=set)

    def add(self, *, action, object_type, object_id, member_ids, reason):
        rank = PRECEDENCE.index(action) if action in PRECEDENCE else len(PRECEDENCE)
        current = PRECEDENCE.index(self.action) if self.action in PRECEDENCE else -1
        if rank >= current:
            self.action = action
            self.object_type = object_type or self.object_type
            self.object_id = object_id or self.object_id
            self.reason = reason or self.reason
        self.member_ids.update(member_ids)


current_event: contextvars.ContextVar[PendingEvent | None] = contextvars.ContextVar(
    "calaim_audit_event", default=None
)
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "calaim_request_id", default=""
)
