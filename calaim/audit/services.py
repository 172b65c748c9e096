"""Writing the audit trail. Only these functions create AuditEvent rows."""

import functools
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from calaim.audit.context import current_event, current_request_id
from calaim.audit.models import AuditEvent
from calaim.prepared import statement_cursor


def audit_record(
    *,
    action: str,
    object_type: str = "",
    object_id: str = "",
    member_ids: Iterable[int] = (),
    actor=None,
    reason: str = "",
) -> AuditEvent | None:
    """Record that `actor` did `action` touching `member_ids`.

    Inside a request it joins the request's single event (written by the audit
    middleware when the response is ready, with the request's user, address and
    id); outside one (Celery, commands) it is written at once, and `actor` must be
    given (a named service account for system work).
    """
    pending = current_event.get()
    member_ids = [int(pk) for pk in member_ids]
    if pending is not None:
        pending.add(
            action=action,
            object_type=object_type,
            object_id=str(object_id or ""),
            member_ids=member_ids,
            reason=reason,
        )
        return None
    return _insert(
        occurred_at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_label=getattr(actor, "email", "") or "",
        organization_id=getattr(actor, "organization_id", None),
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        member_ids=sorted(set(member_ids)),
        reason=reason,
        request_id=current_request_id.get(),
    )


def audit_write_request_event(*, request, pending, status_code) -> AuditEvent:
    """Write the one event for a request (called by the audit middleware)."""
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    return _insert(
        occurred_at=timezone.now(),
        actor_id=user.pk if authenticated else None,
        actor_label=user.email if authenticated else "",
        organization_id=user.organization_id if authenticated else None,
        action=pending.action,
        object_type=pending.object_type,
        object_id=pending.object_id,
        member_ids=sorted(pending.member_ids),
        reason=pending.reason,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=pending.request_id,
        method=request.method,
        path=request.path[:300],
        status_code=status_code,
    )


def audit_login(*, request, user, action: str, attempted: str = "") -> AuditEvent:
    """Record a sign-in, a failed sign-in or a sign-out, at once."""
    return _insert(
        occurred_at=timezone.now(),
        actor_id=getattr(user, "pk", None),
        actor_label=(getattr(user, "email", "") or attempted or "")[:254],
        organization_id=getattr(user, "organization_id", None),
        action=action,
        object_type="session",
        ip_address=client_ip(request) if request is not None else None,
        user_agent=(
            request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""
        ),
        request_id=current_request_id.get(),
        method=getattr(request, "method", "") or "",
        path=(getattr(request, "path", "") or "")[:300],
    )


def client_ip(request) -> str | None:
    """The client's address. Behind a proxy, REMOTE_ADDR is set by gunicorn's
    forwarded-allow-ips handling, so a client cannot spoof it with a header."""
    return request.META.get("REMOTE_ADDR") or None


@functools.cache
def _insert_statement() -> tuple[list, str]:
    fields = [
        field for field in AuditEvent._meta.concrete_fields if not field.primary_key
    ]
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    table, key = quote(AuditEvent._meta.db_table), quote(AuditEvent._meta.pk.column)
    # Identifiers from the model only.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {key}"  # noqa: S608
    return fields, sql


def _insert(**values) -> AuditEvent:
    """INSERT one event as a prepared statement (calaim.prepared): every page
    writes one, and the ORM's create spent more in Python than the INSERT took.
    Values go through each field's own preparation, as the ORM's would."""
    event = AuditEvent(**values)
    fields, sql = _insert_statement()
    connection = connections[DEFAULT_DB_ALIAS]
    with statement_cursor() as cursor:
        cursor.execute(
            sql,
            [
                field.get_db_prep_save(getattr(event, field.attname), connection)
                for field in fields
            ],
        )
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = DEFAULT_DB_ALIAS
    return event
