"""Alerts: the recipient acknowledges; unacknowledged ones escalate."""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from calaim.audit.services import audit_record
from calaim.notifications.models import Notification
from calaim.notifications.services import notification_send
from care_plans.transitions.models import (
    Alert,
)
from care_plans.transitions.services.rules import (
    ESCALATE_AFTER_HOURS,
    ESCALATION_BATCH,
    ESCALATION_KIND,
    ESCALATION_TITLE,
    adt_actor,
    alerts_link,
    supervisors_of,
)

# --- Alerts: acknowledging and escalating ------------------------------------------


def alert_may_acknowledge(alert: Alert, user) -> bool:
    return alert.recipient_id == getattr(user, "pk", None)


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor) -> Alert:
    """The recipient says "I am acting on it": stops the escalation clock.

    Idempotent; acknowledges the matching in-app notification too. Audited.
    """
    if not alert_may_acknowledge(alert, actor):
        raise PermissionDenied("Only its recipient acknowledges an alert.")
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.acknowledged_at is not None:
        return locked
    now = timezone.now()
    locked.acknowledged_at = now
    locked.acknowledged_by = actor
    locked.save(update_fields=["acknowledged_at", "acknowledged_by"])
    Notification.objects.filter(
        recipient=actor,
        key__in=[f"adt:{locked.event.message_id}", f"adt-escalation:{locked.pk}"],
        acknowledged_at__isnull=True,
    ).update(acknowledged_at=now, read_at=now)
    audit_record(
        action="update",
        object_type="transition_alert",
        object_id=str(locked.uuid),
        member_ids=[locked.event.member_id],
        actor=actor,
        reason="acknowledged",
    )
    return locked


def alerts_escalate(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Escalate lead care managers' alerts unacknowledged after 24 hours to the
    supervisors of the care manager's organization; return how many.

    Bounded and safe to overlap (FOR UPDATE SKIP LOCKED, escalated_at set in
    the same transaction); an alert whose event the hospital cancelled is not
    escalated. Each supervisor's alert and notification is unique, so a rerun
    adds nothing.
    """
    now = now or timezone.now()
    limit = limit or ESCALATION_BATCH
    cutoff = now - timedelta(hours=ESCALATE_AFTER_HOURS)
    escalated = 0
    with transaction.atomic():
        due = list(
            Alert.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                reason=Alert.Reason.LEAD,
                acknowledged_at__isnull=True,
                escalated_at__isnull=True,
                created_at__lte=cutoff,
                event__voided_by__isnull=True,
            )
            .select_related("recipient", "event__message__sender")
            .order_by("created_at", "pk")[:limit]
        )
        for alert in due:
            actor = adt_actor(alert.event.message)
            for supervisor in supervisors_of(alert.recipient.organization_id):
                if supervisor.pk == alert.recipient_id:
                    continue
                escalation, created = Alert.objects.get_or_create(
                    event=alert.event,
                    recipient=supervisor,
                    defaults={
                        "reason": Alert.Reason.ESCALATION,
                        "created_at": now,
                        "escalated_from": alert,
                    },
                )
                # A supervisor already told of the admission is told again:
                # the care manager has not acted on it.
                notification_send(
                    recipient=supervisor,
                    kind=ESCALATION_KIND,
                    title=ESCALATION_TITLE,
                    link=alerts_link(),
                    key=f"adt-escalation:{alert.pk}",
                    member_id=alert.event.member_id,
                )
                if not created and escalation.acknowledged_at is not None:
                    escalation.acknowledged_at = None
                    escalation.acknowledged_by = None
                    escalation.save(
                        update_fields=["acknowledged_at", "acknowledged_by"]
                    )
            alert.escalated_at = now
            alert.save(update_fields=["escalated_at"])
            audit_record(
                action="update",
                object_type="transition_alert",
                object_id=str(alert.uuid),
                member_ids=[alert.event.member_id],
                actor=actor,
                reason="escalated to supervisors",
            )
            escalated += 1
    return escalated
