"""Steps every referral service shares: lock, move, record, notify, clocks."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.notifications.services import notification_send
from calaim.work.models import Task, TaskStatus
from calaim.work.services import source_key, task_create, tasks_close_for_source
from referrals import states
from referrals.models import Referral, ReferralEvent

AUTHORIZATION_TASK = "referrals.authorization_decision"
ACKNOWLEDGEMENT_TASK = "referrals.offer_acknowledgement"
DELIVERY_TASK = "referrals.service_start"
TASK_KINDS = (AUTHORIZATION_TASK, ACKNOWLEDGEMENT_TASK, DELIVERY_TASK)

ACKNOWLEDGE_BUSINESS_DAYS = getattr(settings, "REFERRAL_ACKNOWLEDGE_BUSINESS_DAYS", 2)
SERVICE_START_BUSINESS_DAYS = getattr(
    settings, "REFERRAL_SERVICE_START_BUSINESS_DAYS", 10
)


def locked(referral: Referral, expected_version: int | None = None) -> Referral:
    """Re-read the referral under a row lock; refuse a stale version (409)."""
    current = Referral.objects.select_for_update().get(pk=referral.pk)
    if expected_version is not None and expected_version != current.version:
        raise ConflictError(
            f"This referral changed since you loaded it (version {expected_version}, "
            f"now {current.version}); reload and try again.",
            code="stale_version",
        )
    return current


def require_sight(actor, referral: Referral) -> None:
    """Whoever may not see the referral gets 404, as for a missing one."""
    if not referral_visible(actor, referral):
        raise Http404("No such referral.")


def referral_visible(user, referral: Referral) -> bool:
    """The chart's viewers see every referral of the member; a provider's
    staff and system see the referrals offered to or worked by their
    organization, open or closed (their own record of the service), and
    nothing else of the member."""
    if (
        user.organization_id is not None
        and referral.receiving_organization_id == user.organization_id
        and user.has_perm("referrals.view_referral")
    ):
        return True
    return registry.member_is_visible(user, referral.member_id)


def move(
    referral: Referral,
    *,
    action: str,
    actor,
    reason: str = "",
    details: dict | None = None,
    fields: tuple = (),
) -> Referral:
    """Move the (locked) referral by the state table; save, bump the version,
    record the event and the audit entry."""
    from_status = referral.status
    to_status = states.next_status(from_status, action, reason=reason)
    return record(
        referral,
        action=action,
        actor=actor,
        to_status=to_status,
        reason=reason,
        details=details,
        fields=fields,
        from_status=from_status,
    )


def record(
    referral: Referral,
    *,
    action: str,
    actor,
    to_status: str | None = None,
    reason: str = "",
    details: dict | None = None,
    fields: tuple = (),
    from_status: str | None = None,
) -> Referral:
    """Save a change that may not move the status (an authorization decision,
    a delivery), with its event."""
    now = timezone.now()
    from_status = referral.status if from_status is None else from_status
    to_status = referral.status if to_status is None else to_status
    changed = {"version", "updated_at", *fields}
    if to_status != referral.status or from_status != to_status:
        referral.status = to_status
        referral.status_changed_at = now
        changed |= {"status", "status_changed_at"}
    if to_status in states.CLOSED and referral.closed_at is None:
        referral.closed_at = now
        referral.closure_reason = (reason or "").strip() or states.LOOP_CLOSURE.get(
            to_status, ""
        )
        changed |= {"closed_at", "closure_reason"}
    referral.version += 1
    referral.save(update_fields=sorted(changed))
    ReferralEvent.objects.create(
        referral=referral,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        organization_id=actor.organization_id,
        occurred_at=now,
        reason=(reason or "").strip(),
        details=details or {},
    )
    audit_record(
        action="update",
        object_type="referral",
        object_id=str(referral.uuid),
        member_ids=[referral.member_id],
        actor=actor,
        reason=action,
    )
    return referral


def require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationError(
            {
                "reason": ValidationError(
                    f"Give the reason ({what}).", code="reason_required"
                )
            }
        )
    return reason


def require_provider(actor, referral: Referral, *, via_link: bool = False) -> None:
    """Only the receiving provider's staff (or its system, or its signed action
    link) work the referral."""
    if not via_link:
        registry.require_permission(actor, "referrals.work_referral")
    if (
        actor.organization_id is None
        or actor.organization_id != referral.receiving_organization_id
    ):
        raise PermissionDenied("Only the receiving provider does this.")


def staff_of(organization_id: int, *role_names: str):
    from calaim.accounts.models import User

    return User.objects.filter(
        organization_id=organization_id,
        is_active=True,
        is_service_account=False,
        groups__name__in=role_names,
    ).distinct()


def referral_link(referral: Referral) -> str:
    return reverse("referral_detail", args=[referral.uuid])


def notify_referrer(referral: Referral, *, event: str, title: str) -> None:
    """Tell the referring person (by id only; the link is behind access)."""
    if referral.referred_by_id is None or referral.referred_by.is_service_account:
        return
    notification_send(
        recipient=referral.referred_by,
        kind="referral",
        title=title,
        link=referral_link(referral),
        key=f"referral:{referral.pk}:v{referral.version}:{event}",
        member_id=referral.member_id,
    )


def notify_provider(
    referral: Referral, organization_id: int, *, event: str, title: str
):
    for user in staff_of(organization_id, roles.CS_PROVIDER, roles.PROVIDER_ADMIN):
        notification_send(
            recipient=user,
            kind="referral",
            title=title,
            link=reverse("referral_inbox"),
            key=f"referral:{referral.pk}:{event}",
            member_id=referral.member_id,
        )


def notify_plan(referral: Referral, *, event: str, title: str) -> None:
    if referral.plan_id is None:
        return
    for user in staff_of(referral.plan_id, roles.PLAN_ADMIN):
        notification_send(
            recipient=user,
            kind="referral",
            title=title,
            link=referral_link(referral),
            key=f"referral:{referral.pk}:{event}",
            member_id=referral.member_id,
        )


def open_task(kind: str, *, source, organization, due_at, member_id, actor) -> Task:
    return task_create(
        kind=kind,
        due_at=due_at,
        organization=organization,
        member_id=member_id,
        source=source,
        actor=actor,
    )


def close_tasks(source, kind: str, actor, status: str = TaskStatus.DONE) -> int:
    return tasks_close_for_source(source=source, kind=kind, actor=actor, status=status)


def open_task_of(source, kind: str) -> Task | None:
    source_type, source_id = source_key(source)
    return Task.objects.filter(
        kind=kind, source_type=source_type, source_id=source_id, status=TaskStatus.OPEN
    ).first()
