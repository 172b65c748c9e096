"""A referral's life: created by the referrer, offered to providers one at a
time, worked by the provider that accepted it, closed with an outcome.

Each service locks the referral (and the offer), looks the move up in the state
table (referrals.states), checks the actor's role and sight, writes, records a
ReferralEvent and an audit entry, and opens or closes the clocks. Illegal moves
and bad input raise ValidationError (400) and write nothing (the services are
atomic); a lost race or a stale version raises ConflictError (409); a role that
lacks the action PermissionDenied (403); a referral the actor cannot see Http404.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.work.calendar import due_at
from calaim.work.models import TaskStatus
from community_supports.models import CommunitySupport, ServiceCode
from members.models import Enrollment, Member
from referrals import selectors, states
from referrals.models import Delivery, Offer, ProviderIntake, Referral, ReferralEvent
from referrals.services._common import (
    ACKNOWLEDGE_BUSINESS_DAYS,
    ACKNOWLEDGEMENT_TASK,
    AUTHORIZATION_TASK,
    DELIVERY_TASK,
    SERVICE_START_BUSINESS_DAYS,
    close_tasks,
    locked,
    move,
    notify_plan,
    notify_provider,
    notify_referrer,
    open_task,
    open_task_of,
    record,
    require_provider,
    require_reason,
    require_sight,
)

S = states.Status
WORKING = {S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD}


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def enrollment_on(member: Member, on: date) -> Enrollment:
    """The enrollment span that makes a plan responsible for the member on `on`."""
    span = (
        Enrollment.objects.filter(member=member, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .select_related("plan", "county")
        .order_by("-start_date")
        .first()
    )
    if span is None:
        raise _error(
            "member", "The member is not enrolled with a plan on that day.",
            "not_enrolled",
        )  # fmt: skip
    return span


def _check_goal(member: Member, goal_uid, need_uid) -> None:
    """A referral names the care plan's goal (and need) it serves; both must be
    on the member's current care plan."""
    if goal_uid is None and need_uid is None:
        return
    from care_plans.selectors import care_plan_goal

    if goal_uid is None:
        raise _error("goal_uid", "Name the goal the need belongs to.", "required")
    goal = care_plan_goal(member=member, goal_uid=goal_uid)
    if goal is None:
        raise _error(
            "goal_uid", "That goal is not on the member's care plan.", "unknown_goal"
        )
    if need_uid is not None:
        need = getattr(goal, "need", None)
        if need is None or str(getattr(need, "uid", "")) != str(need_uid):
            raise _error(
                "need_uid", "That need is not the goal's need.", "unknown_need"
            )


def _check_offered(plan_id: int, support, county_id: str, on: date) -> None:
    from community_supports.selectors import plan_offers

    if not plan_offers(plan=plan_id, support=support, county=county_id, on=on):
        raise _error(
            "support",
            f"The member's plan does not offer {support.name} in the member's "
            f"county on {on:%b %-d, %Y}.",
            "not_offered",
        )


def _positive(value, field: str):
    if value is None:
        return None
    value = Decimal(value)
    if value <= 0:
        raise _error(field, "Must be more than zero.", "invalid")
    return value


@transaction.atomic
def referral_create(
    *,
    member: Member,
    support: CommunitySupport,
    actor,
    urgency: str = Referral.Urgency.STANDARD,
    need_uid=None,
    goal_uid=None,
    note: str = "",
    requested_units=None,
    requested_amount=None,
    requested_start: date | None = None,
    requested_end: date | None = None,
    preferred_provider=None,
    submit: bool = True,
) -> Referral:
    """Refer a member for a Community Support their plan offers in their county.

    Checked first, nothing written otherwise: the actor sees the member; the
    plan offers the support in the member's county today; some provider has a
    contract in force for it; the goal/need are on the care plan. Submitted at
    once unless `submit` is False (a draft).
    """
    registry.require_permission(actor, "referrals.add_referral")
    if not registry.member_is_visible(actor, member.pk):
        raise Http404("No such member.")
    if urgency not in Referral.Urgency.values:
        raise _error("urgency", f"Unknown urgency {urgency!r}.", "invalid")
    if support is None or not support.active:
        raise _error("support", "Choose a Community Support.", "required")
    today = timezone.localdate()
    span = enrollment_on(member, today)
    _check_offered(span.plan_id, support, span.county_id, today)
    if not selectors.contracts_for(
        plan_id=span.plan_id, support=support, county_id=span.county_id, on=today
    ).exists():
        raise _error(
            "support",
            f"No provider has a contract in force for {support.name} in the "
            "member's county.",
            "no_contract",
        )
    _check_goal(member, goal_uid, need_uid)
    requested_units = _positive(requested_units, "requested_units")
    requested_amount = _positive(requested_amount, "requested_amount")
    if requested_start and requested_end and requested_end < requested_start:
        raise _error("requested_end", "The request ends before it starts.", "invalid")
    now = timezone.now()
    referral = Referral.objects.create(
        member=member,
        plan_id=span.plan_id,
        county_id=span.county_id,
        support=support,
        need_uid=need_uid,
        goal_uid=goal_uid,
        referring_organization_id=actor.organization_id,
        referred_by=actor,
        preferred_provider=preferred_provider,
        urgency=urgency,
        status=S.DRAFT,
        status_changed_at=now,
        note=(note or "").strip(),
        requested_units=requested_units,
        requested_amount=requested_amount,
        requested_start=requested_start,
        requested_end=requested_end,
    )
    ReferralEvent.objects.create(
        referral=referral,
        action="create",
        to_status=S.DRAFT,
        actor=actor,
        organization_id=actor.organization_id,
        occurred_at=now,
        details={"support": support.code},
    )
    audit_record(
        action="create",
        object_type="referral",
        object_id=str(referral.uuid),
        member_ids=[member.pk],
        actor=actor,
    )
    if submit:
        referral = referral_submit(referral=referral, actor=actor)
    return referral


def authorization_clock(referral: Referral, start):
    if referral.urgency == Referral.Urgency.EXPEDITED:
        return due_at(start, hours=72)
    return due_at(start, business_days=5)


@transaction.atomic
def referral_submit(*, referral: Referral, actor, expected_version=None) -> Referral:
    """Send a draft on: to the plan for authorization (5 business days, or 72
    hours when expedited), or, for a support authorized after the fact (sobering
    centers), straight to a provider."""
    require_sight(actor, referral)
    referral = locked(referral, expected_version)
    if referral.status != S.DRAFT or referral.authorization_status:
        raise states._illegal(referral.status, "submit")
    if referral.support.retro_authorization_allowed:
        move(referral, action="request", actor=actor)
        return offer_next(referral=referral, actor=actor)
    now = timezone.now()
    referral.authorization_status = Referral.Authorization.REQUESTED
    referral.authorization_requested_at = now
    referral.authorization_due_at = authorization_clock(referral, now)
    record(
        referral,
        action="request_authorization",
        actor=actor,
        fields=(
            "authorization_status",
            "authorization_requested_at",
            "authorization_due_at",
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
    notify_plan(
        referral, event="authorization_requested",
        title="A Community Supports referral awaits authorization",
    )  # fmt: skip
    return referral


# --- Offers -------------------------------------------------------------------------


def offer_next(*, referral: Referral, actor) -> Referral:
    """Offer the (locked) referral to the next contracted provider with capacity
    that has not had it; when none is left the referral is rejected.

    The provider the referrer chose from the directory goes first when it has
    a contract and capacity.
    """
    candidates = selectors.providers_for_referral(referral)
    preferred = referral.preferred_provider_id
    if preferred is not None:
        candidates = sorted(candidates, key=lambda row: row.provider_id != preferred)
    contract = candidates[0] if candidates else None
    if contract is None:
        referral.receiving_organization = None
        move(
            referral,
            action="exhaust",
            actor=actor,
            reason="No contracted provider with capacity is left to offer it to.",
            fields=("receiving_organization",),
        )
        close_tasks(referral, DELIVERY_TASK, actor, TaskStatus.CANCELLED)
        notify_referrer(
            referral, event="exhausted", title="A referral found no provider"
        )
        return referral
    now = timezone.now()
    acknowledge_by = due_at(now, business_days=ACKNOWLEDGE_BUSINESS_DAYS)
    offer = Offer.objects.create(
        referral=referral,
        provider_id=contract.provider_id,
        contract=contract,
        offered_at=now,
        acknowledge_by=acknowledge_by,
    )
    referral.receiving_organization_id = contract.provider_id
    action = "offer" if referral.status == S.REQUESTED else "reoffer"
    move(
        referral,
        action=action,
        actor=actor,
        details={"provider": contract.provider_id, "offer": str(offer.uuid)},
        fields=("receiving_organization",),
    )
    open_task(
        ACKNOWLEDGEMENT_TASK,
        source=offer,
        organization=contract.provider,
        due_at=acknowledge_by,
        member_id=referral.member_id,
        actor=actor,
    )
    notify_provider(
        referral, contract.provider_id, event=f"offer:{offer.pk}",
        title="A new Community Supports referral was offered to you",
    )  # fmt: skip
    send_action_links(offer, ("accept", "reject"))
    return referral


def _locked_offer(offer: Offer, expected_version: int | None) -> Offer:
    current = Offer.objects.select_for_update().get(pk=offer.pk)
    if current.status != Offer.Status.OFFERED:
        raise ConflictError(
            "This offer was already answered "
            f"({current.get_status_display().lower()}).",
            code="offer_already_answered",
        )
    if expected_version is not None and expected_version != current.version:
        raise ConflictError(
            "This offer changed since you loaded it; reload and try again.",
            code="stale_version",
        )
    return current


def _answer(offer: Offer, *, status: str, actor, reason: str = "") -> Offer:
    # A conditional UPDATE on the version: of two people answering at once, one
    # changes the row and the other finds it changed (409).
    changed = Offer.objects.filter(
        pk=offer.pk, version=offer.version, status=Offer.Status.OFFERED
    ).update(
        status=status,
        version=offer.version + 1,
        responded_at=timezone.now(),
        responded_by=actor,
        reason=reason,
    )
    if changed != 1:
        raise ConflictError("Someone answered this offer first.", code="conflict")
    offer.refresh_from_db()
    return offer


def _offer_for_actor(offer: Offer, actor, via_link: bool = False) -> Referral:
    referral = offer.referral
    if not via_link:
        require_sight(actor, referral)
    if referral.receiving_organization_id != offer.provider_id:
        raise ConflictError(
            "This offer is no longer live.", code="offer_already_answered"
        )
    require_provider(actor, referral, via_link=via_link)
    return referral


@transaction.atomic
def offer_accept(
    *, offer: Offer, actor, expected_version: int | None = None, via_link=False
) -> Offer:
    """The provider accepts the offer: the referral is accepted and the
    delivery clock starts. Two staff accepting at once: one wins, one gets 409.
    `via_link`: the provider's signed action link stands in for a sign-in."""
    referral = _offer_for_actor(offer, actor, via_link)
    offer = _locked_offer(offer, expected_version)
    referral = locked(referral)
    states.next_status(referral.status, "accept")
    offer = _answer(offer, status=Offer.Status.ACCEPTED, actor=actor)
    now = timezone.now()
    referral.delivery_due_at = due_at(now, business_days=SERVICE_START_BUSINESS_DAYS)
    move(
        referral,
        action="accept",
        actor=actor,
        details={"offer": str(offer.uuid)},
        fields=("delivery_due_at",),
    )
    close_tasks(offer, ACKNOWLEDGEMENT_TASK, actor)
    open_task(
        DELIVERY_TASK,
        source=referral,
        organization=offer.provider,
        due_at=referral.delivery_due_at,
        member_id=referral.member_id,
        actor=actor,
    )
    notify_referrer(referral, event="accepted", title="A referral was accepted")
    send_action_links(offer, ("complete",))
    return offer


@transaction.atomic
def offer_reject(
    *,
    offer: Offer,
    reason: str,
    actor,
    expected_version: int | None = None,
    via_link=False,
) -> Offer:
    """The provider declines (no capacity, not a fit): the reason is required,
    the referral stays open and goes to the next provider (or is rejected when
    none is left)."""
    reason = require_reason(reason, "why the offer is declined")
    referral = _offer_for_actor(offer, actor, via_link)
    offer = _locked_offer(offer, expected_version)
    referral = locked(referral)
    if referral.status != S.RECEIVED:
        raise states._illegal(referral.status, "reject")
    offer = _answer(offer, status=Offer.Status.REJECTED, actor=actor, reason=reason)
    record(
        referral,
        action="offer_rejected",
        actor=actor,
        reason=reason,
        details={"offer": str(offer.uuid), "provider": offer.provider_id},
    )
    close_tasks(offer, ACKNOWLEDGEMENT_TASK, actor)
    offer_next(referral=referral, actor=actor)
    return offer


def offer_expire(*, offer: Offer, actor) -> Offer | None:
    """The acknowledgement clock ran out: the offer expires and the next
    provider gets one (the sweep calls this; idempotent)."""
    with transaction.atomic():
        current = Offer.objects.select_for_update().get(pk=offer.pk)
        if current.status != Offer.Status.OFFERED:
            return None
        referral = locked(current.referral)
        if referral.status != S.RECEIVED:
            return None
        current = _answer(current, status=Offer.Status.EXPIRED, actor=actor,
                          reason="Not acknowledged in time.")  # fmt: skip
        record(
            referral,
            action="offer_expired",
            actor=actor,
            reason="The provider did not answer within "
            f"{ACKNOWLEDGE_BUSINESS_DAYS} business days.",
            details={"offer": str(current.uuid), "provider": current.provider_id},
        )
        close_tasks(current, ACKNOWLEDGEMENT_TASK, actor, TaskStatus.CANCELLED)
        notify_referrer(
            referral, event="offer_expired", title="A referral offer expired"
        )
        offer_next(referral=referral, actor=actor)
        return current


# --- The provider's work ------------------------------------------------------------


def _pause_delivery_clock(referral: Referral, actor) -> tuple:
    task = open_task_of(referral, DELIVERY_TASK)
    if task is None:
        return ()
    referral.delivery_time_left = max(task.due_at - timezone.now(), timedelta(0))
    close_tasks(referral, DELIVERY_TASK, actor, TaskStatus.CANCELLED)
    return ("delivery_time_left",)


def _resume_delivery_clock(referral: Referral, actor) -> tuple:
    if referral.delivery_time_left is None:
        return ()
    referral.delivery_due_at = timezone.now() + referral.delivery_time_left
    referral.delivery_time_left = None
    open_task(
        DELIVERY_TASK,
        source=referral,
        organization=referral.receiving_organization,
        due_at=referral.delivery_due_at,
        member_id=referral.member_id,
        actor=actor,
    )
    return ("delivery_due_at", "delivery_time_left")


@transaction.atomic
def referral_hold(
    *, referral: Referral, reason: str, actor, expected_version: int | None = None
) -> Referral:
    """The provider puts the referral on hold (reason required); the delivery
    clock stops until it resumes."""
    require_sight(actor, referral)
    require_provider(actor, referral)
    referral = locked(referral, expected_version)
    states.next_status(referral.status, "hold", reason=reason)
    referral.on_hold_since = timezone.now()
    fields = ("on_hold_since", *_pause_delivery_clock(referral, actor))
    return move(referral, action="hold", actor=actor, reason=reason, fields=fields)


@transaction.atomic
def referral_resume(
    *, referral: Referral, actor, expected_version: int | None = None
) -> Referral:
    """Back from hold to in progress; the delivery clock runs on with the time
    it had left."""
    require_sight(actor, referral)
    require_provider(actor, referral)
    referral = locked(referral, expected_version)
    states.next_status(referral.status, "resume")
    referral.on_hold_since = None
    fields = ("on_hold_since", *_resume_delivery_clock(referral, actor))
    return move(referral, action="resume", actor=actor, fields=fields)


def _check_service_code(referral: Referral, hcpcs: str, modifier: str, on: date):
    code = (
        ServiceCode.objects.filter(
            support_id=referral.support_id,
            hcpcs=hcpcs,
            modifier=modifier,
            effective_from__lte=on,
        )
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        .first()
    )
    if code is None:
        pair = "-".join(part for part in (hcpcs, modifier) if part)
        raise _error(
            "hcpcs",
            f"{pair} is not a code of {referral.support.name} in effect on "
            f"{on:%b %-d, %Y}.",
            "unknown_service_code",
        )
    return code


@transaction.atomic
def delivery_record(
    *,
    referral: Referral,
    delivered_on: date,
    units,
    hcpcs: str,
    modifier: str = "",
    amount=Decimal("0"),
    stay_id: str = "",
    note: str = "",
    actor,
) -> Delivery:
    """Record a service given: the day, the units, the amount and the HCPCS
    pair, which must be one of the support's codes in effect that day. Refused:
    after completion, while on hold, beyond the authorized units or dates."""
    require_sight(actor, referral)
    require_provider(actor, referral)
    referral = locked(referral)
    if referral.status == S.COMPLETED:
        raise _error(
            "referral", "The referral is completed; no delivery can be added.",
            "delivery_after_completion",
        )  # fmt: skip
    if referral.status not in (S.ACCEPTED, S.IN_PROGRESS):
        raise states._illegal(referral.status, "record a delivery for")
    hcpcs = (hcpcs or "").strip().upper()
    modifier = (modifier or "").strip().upper()
    try:
        units = Decimal(units)
        amount = Decimal(amount or 0)
    except (ArithmeticError, TypeError, ValueError):
        raise _error("units", "Units and amount are numbers.", "invalid") from None
    if units <= 0:
        raise _error("units", "Units must be more than zero.", "invalid")
    if amount < 0:
        raise _error("amount", "The amount cannot be negative.", "invalid")
    if delivered_on > timezone.localdate():
        raise _error("delivered_on", "A delivery cannot be in the future.", "future")
    _check_service_code(referral, hcpcs, modifier, delivered_on)
    if referral.approved_from and delivered_on < referral.approved_from:
        raise _error(
            "delivered_on", "The day is before the authorization starts.",
            "outside_authorization",
        )  # fmt: skip
    if referral.approved_through and delivered_on > referral.approved_through:
        raise _error(
            "delivered_on", "The day is after the authorization ends.",
            "outside_authorization",
        )  # fmt: skip
    if referral.approved_units is not None:
        used = referral.deliveries.aggregate(total=Sum("units"))["total"] or 0
        if used + units > referral.approved_units:
            raise _error(
                "units",
                f"{used + units} units would exceed the {referral.approved_units} "
                f"authorized ({used} delivered so far).",
                "units_exceed_authorization",
            )
    if referral.approved_amount is not None:
        spent = referral.deliveries.aggregate(total=Sum("amount"))["total"] or 0
        if spent + amount > referral.approved_amount:
            raise _error(
                "amount",
                f"${spent + amount} would exceed the ${referral.approved_amount} "
                f"authorized (${spent} so far).",
                "amount_exceeds_authorization",
            )
    delivery = Delivery.objects.create(
        referral=referral,
        member_id=referral.member_id,
        support_id=referral.support_id,
        provider_id=referral.receiving_organization_id,
        delivered_on=delivered_on,
        units=units,
        amount=amount,
        hcpcs=hcpcs,
        modifier=modifier,
        stay_id=(stay_id or "").strip(),
        note=(note or "").strip(),
        recorded_by=actor,
    )
    details = {"delivery": str(delivery.uuid), "units": str(units)}
    if referral.status == S.ACCEPTED:
        move(referral, action="start", actor=actor, details=details)
    else:
        record(referral, action="deliver", actor=actor, details=details)
    close_tasks(referral, DELIVERY_TASK, actor)
    return delivery


@transaction.atomic
def referral_complete(
    *,
    referral: Referral,
    actor,
    note: str = "",
    expected_version: int | None = None,
    via_link=False,
) -> Referral:
    """The provider closes the loop: services received. The care plan's goal
    stays open (a completed referral is not a met need)."""
    if not via_link:
        require_sight(actor, referral)
    require_provider(actor, referral, via_link=via_link)
    referral = locked(referral, expected_version)
    if via_link and referral.status == S.ACCEPTED:
        # A provider without an account records no deliveries: its link
        # confirms the services were received, which starts and ends them.
        move(referral, action="start", actor=actor, details={"via": "link"})
    states.next_status(referral.status, "complete")
    if not via_link and not referral.deliveries.exists():
        raise _error(
            "referral", "Record the services delivered before completing.",
            "no_delivery",
        )  # fmt: skip
    move(
        referral,
        action="complete",
        actor=actor,
        reason=states.SERVICES_RECEIVED,
        details={"note": (note or "").strip()[:500]} if note else None,
    )
    close_tasks(referral, DELIVERY_TASK, actor)
    notify_referrer(referral, event="completed", title="A referral was completed")
    return referral


@transaction.atomic
def referral_fail(
    *, referral: Referral, reason: str, actor, expected_version: int | None = None
) -> Referral:
    """The provider could not deliver (the member moved, declined, ...)."""
    require_sight(actor, referral)
    require_provider(actor, referral)
    referral = locked(referral, expected_version)
    move(referral, action="fail", actor=actor, reason=reason)
    close_tasks(referral, DELIVERY_TASK, actor, TaskStatus.CANCELLED)
    notify_referrer(referral, event="failed", title="A referral closed without service")
    return referral


@transaction.atomic
def referral_cancel(
    *, referral: Referral, reason: str, actor, expected_version: int | None = None
) -> Referral:
    """The referrer (or the plan) withdraws an open referral; the live offer is
    withdrawn and every clock stops."""
    require_sight(actor, referral)
    registry.require_permission(actor, "referrals.change_referral")
    if actor.organization_id not in (
        referral.referring_organization_id,
        referral.plan_id,
    ):
        raise PermissionDenied("Only the referrer or the plan cancels a referral.")
    referral = locked(referral, expected_version)
    move(referral, action="cancel", actor=actor, reason=reason)
    for offer in referral.offers.filter(status=Offer.Status.OFFERED):
        _answer(offer, status=Offer.Status.WITHDRAWN, actor=actor, reason=reason)
        close_tasks(offer, ACKNOWLEDGEMENT_TASK, actor, TaskStatus.CANCELLED)
    for kind in (AUTHORIZATION_TASK, DELIVERY_TASK):
        close_tasks(referral, kind, actor, TaskStatus.CANCELLED)
    return referral


LINK_DAYS = timedelta(days=14)


def send_action_links(offer: Offer, actions: tuple[str, ...]) -> int:
    """E-mail the provider's intake address signed links for `actions` on this
    offer (a provider without an account or a system); each works once and
    expires. The links module e-mails them through the outbox; ids only."""
    from calaim.accounts.services import system_account
    from calaim.links import action_link_create

    intake = ProviderIntake.objects.filter(
        organization_id=offer.provider_id, send_action_links=True
    ).first()
    if intake is None:
        return 0
    actor = system_account(organization=offer.provider, name="Referral action links")
    for action in actions:
        action_link_create(
            action=f"referral.{action}",
            object_id=str(offer.uuid),
            recipient_email=intake.email,
            expires_in=LINK_DAYS,
            actor=actor,
        )
    return len(actions)
