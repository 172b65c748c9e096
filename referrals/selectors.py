"""Reads of referrals, scoped to what the user may see, and the directory.

Every list here is one query (or a fixed few) whatever the volume; the tests pin
the counts.
"""

from datetime import date
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.accounts import roles
from calaim.prepared import prepared_list
from community_supports.models import ProviderContract
from referrals import states
from referrals.models import Delivery, Offer, Referral, ReferralEvent

S = states.Status
# What takes a provider's room: an offer it holds or a referral it works.
LOAD_STATUSES = (S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD)


# --- The provider's inbox and the chart ---------------------------------------------


def open_referrals_received(user) -> QuerySet[Referral]:
    """Open referrals to the user's organization (a Community Supports provider's
    inbox), oldest first, with the member and the support."""
    if user.organization_id is None:
        return Referral.objects.none()
    return (
        Referral.objects.filter(
            receiving_organization_id=user.organization_id, closed_at__isnull=True
        )
        .select_related("member", "support")
        .order_by("created_at", "id")
    )


def inbox(user) -> QuerySet[Referral]:
    """The provider's inbox: open referrals offered to or accepted by the
    user's organization, with the live offer's id and clock, oldest first (one
    query)."""
    live = Offer.objects.filter(
        referral=OuterRef("pk"),
        provider_id=user.organization_id,
        status__in=(Offer.Status.OFFERED, Offer.Status.ACCEPTED),
    )
    return (
        open_referrals_received(user)
        .select_related("referring_organization")
        .only(
            "uuid",
            "status",
            "created_at",
            "member_id",
            "authorization_number",
            "member__uuid",
            "member__first_name",
            "member__last_name",
            "member__cin",
            "support__name",
            "referring_organization__name",
        )
        .annotate(
            offer_status=Subquery(live.values("status")[:1]),
            acknowledge_by=Subquery(live.values("acknowledge_by")[:1]),
        )
    )


def chart_referrals(*, user, member, scope: str) -> list[Referral]:
    """referrals_for_member as a list (the chart's panel): for the whole chart,
    the member's referrals from a query built and compiled once."""
    if scope != registry.CHART:
        return list(referrals_for_member(user=user, member=member, scope=scope))
    return prepared_list(
        "referrals.chart",
        lambda member_id: (
            Referral.objects.filter(member_id=member_id)
            .select_related("receiving_organization", "support")
            .order_by("-created_at", "-id")
        ),
        member.pk,
    )


def referrals_for_member(*, user, member, scope: str) -> QuerySet[Referral]:
    """The member's referrals that `user` may see.

    Someone who may see the whole chart sees all of the member's referrals. A
    referral-only viewer (a Community Supports provider) sees only the referrals
    to their own organization: another provider's referral is not theirs to read
    (DESIGN.md §3, "referral data only").
    """
    referrals = Referral.objects.filter(member_id=member.pk).select_related(
        "receiving_organization", "support"
    )
    if scope != registry.CHART:
        if user.organization_id is None:
            return Referral.objects.none()
        referrals = referrals.filter(
            receiving_organization_id=user.organization_id, closed_at__isnull=True
        )
    return referrals.order_by("-created_at", "-id")


def referrals_visible_to(user) -> QuerySet[Referral]:
    """The referrals a caller may list: its organization's own (sent, received
    and open, or for a plan its members'), among the members it may see."""
    organization_id = user.organization_id
    if organization_id is None:
        return Referral.objects.none()
    own = Q(referring_organization_id=organization_id) | Q(
        receiving_organization_id=organization_id, closed_at__isnull=True
    )
    if user.has_role(roles.PLAN_ADMIN, roles.AUDITOR):
        own |= Q(plan_id=organization_id)
    visible = registry.visible_member_ids(user, scope=registry.REFERRAL)
    if visible.query.is_empty():
        return Referral.objects.none()
    return (
        Referral.objects.filter(own, member_id__in=visible)
        .select_related(
            "member", "support", "plan", "receiving_organization",
            "referring_organization",
        )
    )  # fmt: skip


def events_of(referral: Referral) -> list[ReferralEvent]:
    return list(
        ReferralEvent.objects.filter(referral=referral)
        .select_related("actor", "organization")
        .order_by("occurred_at", "id")
    )


def offers_of(referral: Referral) -> list[Offer]:
    return list(
        Offer.objects.filter(referral=referral)
        .select_related("provider", "responded_by")
        .order_by("offered_at", "id")
    )


def deliveries_of(referral: Referral) -> QuerySet[Delivery]:
    return Delivery.objects.filter(referral=referral).order_by("delivered_on", "id")


# --- The plan's queues --------------------------------------------------------------


def authorization_queue(user) -> QuerySet[Referral]:
    """Referrals awaiting the user's plan's decision (requested or pended),
    least time left first."""
    return (
        Referral.objects.filter(
            plan_id=user.organization_id,
            closed_at__isnull=True,
            authorization_status__in=(
                Referral.Authorization.REQUESTED,
                Referral.Authorization.PENDED,
            ),
        )
        .select_related("member", "support", "referring_organization")
        .order_by(F("authorization_due_at").asc(nulls_last=True), "id")
    )


def open_loops(user, *, provider_id: int | None = None) -> QuerySet[Referral]:
    """The plan's open referrals, oldest first, with the receiving provider."""
    loops = (
        Referral.objects.filter(plan_id=user.organization_id, closed_at__isnull=True)
        .select_related("member", "support", "receiving_organization")
        .order_by("created_at", "id")
    )
    if provider_id:
        loops = loops.filter(receiving_organization_id=provider_id)
    return loops


def open_loops_by_provider(user) -> list[dict]:
    """Per provider: how many open referrals and the oldest one's date (one
    query)."""
    return list(
        Referral.objects.filter(plan_id=user.organization_id, closed_at__isnull=True)
        .values("receiving_organization_id", "receiving_organization__name")
        .annotate(open=Count("id"), oldest=Coalesce(
            Subquery(
                Referral.objects.filter(
                    plan_id=user.organization_id,
                    closed_at__isnull=True,
                    receiving_organization_id=OuterRef("receiving_organization_id"),
                ).order_by("created_at").values("created_at")[:1]
            ),
            None,
        ))
        .order_by("receiving_organization__name")
    )  # fmt: skip


# --- Contracts, capacity and the directory ------------------------------------------


def contracts_for(*, plan_id, support, county_id, on: date) -> QuerySet:
    from community_supports.selectors import cs_contracts_in_force

    return cs_contracts_in_force(plan=plan_id, support=support, county=county_id, on=on)


def with_capacity(contracts: QuerySet) -> QuerySet:
    """Annotate each contract with what its provider holds for the plan now
    (`open_load`: open referrals for a members contract, their authorized units
    for a units contract) and what is left (`capacity_left`, None: no cap).

    One CASE picks the one subquery the contract's unit needs (PostgreSQL runs
    only the branch taken); the members count is an index-only scan of the
    open-referral index."""
    from django.db.models import Case, When

    open_here = Referral.objects.filter(
        plan_id=OuterRef("plan_id"),
        receiving_organization_id=OuterRef("provider_id"),
        closed_at__isnull=True,  # the partial index of open referrals
        status__in=LOAD_STATUSES,
    ).order_by()
    decimal = DecimalField(max_digits=12, decimal_places=2)
    # count(1): no column of the row is read, so the count is index-only.
    members = open_here.values("receiving_organization_id").annotate(n=Count(Value(1)))
    units = open_here.values("receiving_organization_id").annotate(
        n=Sum(Coalesce("approved_units", "requested_units", Value(Decimal("1"))))
    )
    load = Case(
        When(
            capacity_unit=ProviderContract.CapacityUnit.UNITS,
            then=Subquery(units.values("n")[:1], output_field=decimal),
        ),
        default=Subquery(members.values("n")[:1], output_field=decimal),
        output_field=decimal,
    )
    return contracts.annotate(
        open_load=Coalesce(load, Value(Decimal(0)), output_field=decimal)
    )


def _with_room_left(contracts) -> list:
    """The contracts with `capacity_left` (None: no cap), most room first.
    Computed here from `open_load`: in SQL the load's subquery would run twice."""
    rows = list(contracts)
    for row in rows:
        row.capacity_left = (
            None if row.capacity is None else row.capacity - row.open_load
        )
    big = Decimal(10**12)
    rows.sort(
        key=lambda row: (
            -(big if row.capacity_left is None else row.capacity_left),
            row.provider.name,
            row.pk,
        )
    )
    return rows


def providers_for_referral(referral: Referral, on: date | None = None) -> list:
    """The contracts (one per provider) that may get this referral's next offer:
    in force for its plan, support and county, with room, never offered it
    before; most room first (one query)."""
    on = on or timezone.localdate()
    offered = Offer.objects.filter(referral=referral).values("provider_id")
    contracts = with_capacity(
        contracts_for(
            plan_id=referral.plan_id,
            support=referral.support_id,
            county_id=referral.county_id,
            on=on,
        )
    ).exclude(provider_id__in=offered)
    seen, rows = set(), []
    for contract in _with_room_left(contracts):
        has_room = contract.capacity_left is None or contract.capacity_left > 0
        if has_room and contract.provider_id not in seen:
            seen.add(contract.provider_id)
            rows.append(contract)
    return rows


def directory(*, member, support, on: date | None = None) -> list:
    """Who can serve this member for this support in their county today, with
    capacity left (None: no cap), fullest last (one query after the span)."""
    from referrals.services.referrals import enrollment_on

    on = on or timezone.localdate()
    span = enrollment_on(member, on)
    return _with_room_left(
        with_capacity(
            contracts_for(
                plan_id=span.plan_id, support=support, county_id=span.county_id,
                on=on,
            )
        )
    )  # fmt: skip


USAGE_SQL = """
SELECT d.referral_id, d.delivered_on, d.units, d.amount,
       coalesce(nullif(d.stay_id, ''), 'referral:' || d.referral_id),
       r.limit_exception_reason <> ''
FROM referrals_delivery d
JOIN referrals_referral r ON r.id = d.referral_id
WHERE d.member_id = %(member)s AND d.support_id = %(support)s
UNION ALL
SELECT r.id, r.approved_from, coalesce(r.approved_units, 1),
       coalesce(r.approved_amount, 0), 'referral:' || r.id,
       r.limit_exception_reason <> ''
FROM referrals_referral r
WHERE r.member_id = %(member)s AND r.support_id = %(support)s
  AND r.approved_from IS NOT NULL AND r.id <> %(exclude)s
  AND r.authorization_status IN ('approved', 'modified')
  AND r.status NOT IN ('cancelled', 'rejected')
  AND NOT EXISTS (SELECT 1 FROM referrals_delivery x WHERE x.referral_id = r.id)
"""


def usage_history(*, member_id: int, support_id: int, exclude_referral_id=None):
    """The member's history for a support, as (referral id, day, units,
    amount, stay, exception) rows for limits.evaluate, in one query: every
    delivery, and every approved authorization with no delivery yet (it has
    been promised). A delivery without a stay counts its referral as the stay,
    so a deposit paid in two parts is one occurrence.

    A fixed statement rather than the ORM: it runs before every approval, and
    composing the union of two annotated querysets cost more than running it
    (bench/referrals.py)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            USAGE_SQL,
            {
                "member": member_id,
                "support": support_id,
                "exclude": exclude_referral_id or 0,
            },
        )
        return cursor.fetchall()


def overdue_clocks(user) -> QuerySet:
    """The referral clocks past due in the user's organization's queue."""
    from calaim.work.models import Task, TaskStatus
    from referrals.services._common import TASK_KINDS

    return Task.objects.filter(
        kind__in=TASK_KINDS,
        status=TaskStatus.OPEN,
        organization_id=user.organization_id,
        due_at__lt=timezone.now(),
    ).order_by("due_at", "id")


def members_by_id(ids) -> dict:
    from members.models import Member

    return {m.pk: m for m in Member.objects.filter(pk__in=set(ids))}


def get_referral(referral_uuid) -> Referral:
    try:
        return Referral.objects.select_related(
            "member", "support", "plan", "receiving_organization",
            "referring_organization", "referred_by",
        ).get(uuid=referral_uuid)  # fmt: skip
    except (Referral.DoesNotExist, ValueError, TypeError) as missing:
        raise Http404("No such referral.") from missing
