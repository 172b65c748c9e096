"""The plan's authorization of a Community Supports referral.

Standard 5 business days, expedited 72 hours (DOMAIN.md §10b); the decision is
approved, approved as modified, denied or pended, with a reason where it is not
a plain approval, and with an authorization number, units and dates when it
approves. Before approving, the member's history for the support is checked
against the support's limits (community_supports.limits.evaluate); a limit
exceeded blocks the approval unless the plan records an exception with a
reason. The member and the referrer get a notice of the decision. Sobering
centers may be authorized after the fact, whatever the referral's state.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone

from calaim import access as registry
from calaim.audit.services import audit_record
from calaim.work.models import TaskStatus
from referrals import selectors, states
from referrals.models import Referral, ReferralNotice
from referrals.services._common import (
    AUTHORIZATION_TASK,
    close_tasks,
    locked,
    move,
    notify_referrer,
    open_task,
    open_task_of,
    record,
    require_reason,
)

A = Referral.Authorization
S = states.Status
DECISIONS = (A.APPROVED, A.MODIFIED, A.DENIED, A.PENDED)


def limit_findings(
    referral: Referral,
    *,
    units=None,
    amount=None,
    start: date | None = None,
    end: date | None = None,
) -> list:
    """The support's limits checked against the member's history and what this
    authorization would add: one finding per limit, with the numbers (two
    queries: the limits, and the deliveries and authorizations)."""
    from community_supports.limits import Proposal, Usage, evaluate

    limits = list(referral.support.limits.all())
    if not limits:
        return []
    history = [
        Usage(day=day, units=units, amount=amount, stay_id=stay, exception=exception)
        for _, day, units, amount, stay, exception in selectors.usage_history(
            member_id=referral.member_id,
            support_id=referral.support_id,
            exclude_referral_id=referral.pk,
        )
    ]
    start = start or referral.requested_start or timezone.localdate()
    end = end or referral.requested_end or start
    proposed = Proposal(
        start=start,
        end=end,
        units=Decimal(units if units is not None else referral.requested_units or 1),
        amount=Decimal(
            amount if amount is not None else referral.requested_amount or 0
        ),
    )
    return list(evaluate(limits=limits, history=history, proposed=proposed))


def _require_plan_admin(actor, referral: Referral) -> None:
    registry.require_permission(actor, "referrals.authorize_referral")
    if actor.organization_id != referral.plan_id:
        raise Http404("No such referral.")


def _notice(referral: Referral, decision: str, actor) -> None:
    """Render and keep the decision notices to the member and the referrer."""
    member = referral.member
    recipients = [
        (ReferralNotice.Kind.MEMBER_DECISION, f"{member.first_name} {member.last_name}")
    ]
    if referral.referring_organization_id:
        recipients.append(
            (
                ReferralNotice.Kind.REFERRER_DECISION,
                referral.referring_organization.name,
            )
        )
    for kind, recipient in recipients:
        html = render_to_string(
            "referrals/notice.html",
            {
                "referral": referral,
                "member": member,
                "decision": decision,
                "kind": kind,
                "recipient": recipient,
                "today": timezone.localdate(),
            },
        )
        notice = ReferralNotice.objects.create(
            referral=referral,
            kind=kind,
            decision=decision,
            recipient=recipient[:200],
            html=html,
            created_by=actor,
        )
        audit_record(
            action="create",
            object_type="referral_notice",
            object_id=str(notice.uuid),
            member_ids=[referral.member_id],
            actor=actor,
        )


@transaction.atomic
def referral_authorize(
    *,
    referral: Referral,
    decision: str,
    actor,
    authorization_number: str = "",
    approved_units=None,
    approved_amount=None,
    approved_from: date | None = None,
    approved_through: date | None = None,
    reason: str = "",
    limit_exception_reason: str = "",
    expected_version: int | None = None,
):
    """Record the plan's decision on a referral (see the module docstring)."""
    _require_plan_admin(actor, referral)
    referral = locked(referral, expected_version)
    if decision not in DECISIONS:
        raise ValidationError(
            {
                "decision": ValidationError(
                    f"Unknown decision {decision!r}.", code="invalid"
                )
            }
        )
    after_the_fact = referral.support.retro_authorization_allowed
    waiting = referral.authorization_status in (A.REQUESTED, A.PENDED)
    if not waiting and not (after_the_fact and not referral.authorization_status):
        raise ValidationError(
            {
                "status": ValidationError(
                    "This referral is not awaiting an authorization decision.",
                    code="illegal_transition",
                )
            }
        )
    if decision == A.PENDED and referral.authorization_status == A.PENDED:
        raise ValidationError(
            {
                "decision": ValidationError(
                    "It is already pended.", code="illegal_transition"
                )
            }
        )
    if decision == A.PENDED and after_the_fact and not waiting:
        raise ValidationError(
            {"decision": ValidationError("Decide it; nothing waits.", code="invalid")}
        )
    now = timezone.now()
    if decision == A.PENDED:
        return _pend(referral, actor, require_reason(reason, "what is missing"), now)
    if decision == A.DENIED:
        return _deny(referral, actor, require_reason(reason, "why it is denied"), now)
    return _approve(
        referral,
        actor,
        decision=decision,
        now=now,
        authorization_number=authorization_number,
        approved_units=approved_units,
        approved_amount=approved_amount,
        approved_from=approved_from,
        approved_through=approved_through,
        reason=reason,
        limit_exception_reason=limit_exception_reason,
    )


def _pend(referral, actor, reason, now):
    # The clock stops while the plan waits for information: keep what was left.
    task = open_task_of(referral, AUTHORIZATION_TASK)
    due = task.due_at if task else referral.authorization_due_at
    referral.authorization_time_left = max(due - now, timedelta(0)) if due else None
    referral.authorization_status = A.PENDED
    referral.authorization_reason = reason
    close_tasks(referral, AUTHORIZATION_TASK, actor, TaskStatus.CANCELLED)
    record(
        referral,
        action="authorization_pended",
        actor=actor,
        reason=reason,
        fields=(
            "authorization_status",
            "authorization_reason",
            "authorization_time_left",
        ),
    )
    notify_referrer(
        referral, event="pended", title="A referral's authorization is pended"
    )
    return referral


@transaction.atomic
def referral_authorization_resume(*, referral: Referral, actor, expected_version=None):
    """The information a pended authorization waited for arrived: the clock
    runs again with the time it had left."""
    _require_plan_admin(actor, referral)
    referral = locked(referral, expected_version)
    if referral.authorization_status != A.PENDED:
        raise ValidationError(
            {"status": ValidationError("It is not pended.", code="illegal_transition")}
        )
    now = timezone.now()
    referral.authorization_due_at = now + (
        referral.authorization_time_left or timedelta(0)
    )
    referral.authorization_time_left = None
    referral.authorization_status = A.REQUESTED
    record(
        referral,
        action="authorization_resumed",
        actor=actor,
        fields=(
            "authorization_status",
            "authorization_due_at",
            "authorization_time_left",
        ),
    )
    open_task(
        AUTHORIZATION_TASK,
        source=referral,
        organization=referral.plan,
        due_at=referral.authorization_due_at,
        member_id=referral.member_id,
        actor=actor,
    )
    return referral


def _deny(referral, actor, reason, now):
    referral.authorization_status = A.DENIED
    referral.authorization_reason = reason
    referral.authorization_decided_at = now
    referral.authorization_decided_by = actor
    fields = (
        "authorization_status",
        "authorization_reason",
        "authorization_decided_at",
        "authorization_decided_by",
    )
    if referral.status in (S.DRAFT, S.REQUESTED):
        move(referral, action="deny", actor=actor, reason=reason, fields=fields)
    else:
        # Denied after the fact: the service was given, the plan will not pay.
        record(referral, action="authorization_denied", actor=actor, reason=reason,
               fields=fields)  # fmt: skip
    close_tasks(referral, AUTHORIZATION_TASK, actor)
    _notice(referral, A.DENIED, actor)
    notify_referrer(referral, event="denied", title="A referral was denied by the plan")
    return referral


def _approve(
    referral,
    actor,
    *,
    decision,
    now,
    authorization_number,
    approved_units,
    approved_amount,
    approved_from,
    approved_through,
    reason,
    limit_exception_reason,
):
    errors = {}
    if not (authorization_number or "").strip():
        errors["authorization_number"] = ValidationError(
            "An authorization number is required.", code="required"
        )
    if approved_from is None or approved_through is None:
        errors["approved_from"] = ValidationError(
            "Give the authorized dates.", code="required"
        )
    elif approved_through < approved_from:
        errors["approved_through"] = ValidationError(
            "The authorization ends before it starts.", code="invalid"
        )
    for field, value in (
        ("approved_units", approved_units),
        ("approved_amount", approved_amount),
    ):
        if value is not None and Decimal(value) <= 0:
            errors[field] = ValidationError("Must be more than zero.", code="invalid")
    if decision == A.MODIFIED and len((reason or "").strip()) < 3:
        errors["reason"] = ValidationError(
            "Say what was modified and why.", code="reason_required"
        )
    if errors:
        raise ValidationError(errors)
    findings = limit_findings(
        referral,
        units=approved_units,
        amount=approved_amount,
        start=approved_from,
        end=approved_through,
    )
    exceeded = [finding for finding in findings if finding.exceeded]
    exception = (limit_exception_reason or "").strip()
    spent = [
        finding
        for finding in exceeded
        if finding.limit.exception_allowed_once and not finding.exception_available
    ]
    if spent:
        raise ValidationError(
            {
                "limit_exception_reason": ValidationError(
                    " ".join(finding.message for finding in spent)
                    + " The one exception this limit allows was already used.",
                    code="exception_used",
                )
            }
        )
    if exceeded and len(exception) < 10:
        raise ValidationError(
            {
                "limit_exception_reason": ValidationError(
                    " ".join(finding.message for finding in exceeded)
                    + " Record an exception with its reason to approve anyway.",
                    code="limit_exceeded",
                )
            }
        )
    referral.authorization_status = decision
    referral.authorization_number = authorization_number.strip()
    referral.approved_units = (
        Decimal(approved_units) if approved_units is not None else None
    )
    referral.approved_amount = (
        Decimal(approved_amount) if approved_amount is not None else None
    )
    referral.approved_from = approved_from
    referral.approved_through = approved_through
    referral.authorization_reason = (reason or "").strip()
    referral.limit_exception_reason = exception if exceeded else ""
    referral.authorization_decided_at = now
    referral.authorization_decided_by = actor
    fields = (
        "authorization_status",
        "authorization_number",
        "approved_units",
        "approved_amount",
        "approved_from",
        "approved_through",
        "authorization_reason",
        "limit_exception_reason",
        "authorization_decided_at",
        "authorization_decided_by",
    )
    details = {
        "decision": decision,
        "limits": [
            {"limit": str(f.limit.key), "exceeded": f.exceeded} for f in findings
        ],
    }
    close_tasks(referral, AUTHORIZATION_TASK, actor)
    _notice(referral, decision, actor)
    if referral.status == S.DRAFT:
        from referrals.services.referrals import offer_next

        move(
            referral,
            action="request",
            actor=actor,
            reason=referral.authorization_reason,
            details=details,
            fields=fields,
        )
        return offer_next(referral=referral, actor=actor)
    return record(referral, action="authorize", actor=actor, details=details,
                  reason=referral.authorization_reason, fields=fields)  # fmt: skip
