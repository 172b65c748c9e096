"""Reads of the audit trail, scoped to the auditor's organization and members."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Q, QuerySet
from django.utils import timezone

from calaim import access as registry
from calaim.audit.models import AuditEvent

PAGE_SIZE = 50


@dataclass
class AuditFilters:
    member_cin: str = ""
    actor_email: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    before_id: int | None = None


def audit_events_for(user, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Events an auditor may read: those by people of their own organization, and
    those touching members the auditor may see (a plan's privacy officer sees who,
    from any organization, opened the plan's members)."""
    visible_ids = registry.visible_member_ids(user)
    mine = Q(organization_id=user.organization_id)
    if not visible_ids.query.is_empty():
        mine |= Q(member_ids__overlap=ArraySubquery(visible_ids))
    events = AuditEvent.objects.filter(mine)
    if filters.member_cin:
        member = (
            registry.visible_members(user)
            .filter(cin=filters.member_cin.strip().upper())
            .values_list("pk", flat=True)
            .first()
        )
        if member is None:
            return AuditEvent.objects.none()
        events = events.filter(member_ids__contains=[member])
    if filters.actor_email:
        events = events.filter(actor_label__iexact=filters.actor_email.strip())
    if filters.action:
        events = events.filter(action=filters.action)
    tz = timezone.get_current_timezone()
    if filters.date_from:
        events = events.filter(
            occurred_at__gte=datetime.combine(filters.date_from, time.min, tzinfo=tz)
        )
    if filters.date_to:
        events = events.filter(
            occurred_at__lte=datetime.combine(filters.date_to, time.max, tzinfo=tz)
        )
    if filters.before_id:
        events = events.filter(id__lt=filters.before_id)
    return events.order_by("-id")


def audit_page(
    user, filters: AuditFilters
) -> tuple[list[AuditEvent], int | None, dict]:
    """One page of events (keyset-paginated, newest first), the id to continue
    from, and the CINs of the members on the page that the auditor may see."""
    rows = list(audit_events_for(user, filters)[: PAGE_SIZE + 1])
    next_before = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    member_ids = {pk for event in rows for pk in event.member_ids}
    cins = (
        dict(
            registry.visible_members(user)
            .filter(pk__in=member_ids)
            .values_list("pk", "cin")
        )
        if member_ids
        else {}
    )
    for event in rows:
        # Members the auditor may not see show as an internal number, never a CIN.
        event.member_labels = [cins.get(pk, f"member #{pk}") for pk in event.member_ids]
    return rows, next_before, cins
