"""Reads of the provider network and the Community Supports catalog."""

from datetime import date

from django.db.models import Prefetch, Q, QuerySet

from community_supports.models import (
    CommunitySupport,
    PlanOffering,
    ProviderContract,
    ServiceCode,
    SupportLimit,
)


def _in_force(on: date, start="start_date", end="end_date") -> Q:
    return Q(**{f"{start}__lte": on}) & (
        Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": on})
    )


def contracts_in_force(
    *, plan_id: int, service: str, county_code: str | None, on: date
) -> QuerySet[ProviderContract]:
    """Active contracts of a plan for a service, in force on a day, in a county."""
    contracts = ProviderContract.objects.filter(
        _in_force(on),
        plan_id=plan_id,
        service=service,
        status=ProviderContract.Status.ACTIVE,
    )
    if county_code:
        contracts = contracts.filter(counties=county_code)
    return contracts.select_related("provider")


def plan_offers(*, plan, support, county, on: date) -> bool:
    """Does `plan` offer `support` in `county` on `on`? (one query)

    Each argument may be the object or its key (county: the 2-digit code).
    """
    return PlanOffering.objects.filter(
        _in_force(on),
        plan=plan,
        support=support,
        county=county,
    ).exists()


def cs_contracts_in_force(
    *, plan, support, county, on: date
) -> QuerySet[ProviderContract]:
    """Active Community Supports contracts of `plan` covering `support` in `county`
    on `on`, with their provider (one query)."""
    return (
        ProviderContract.objects.filter(
            _in_force(on),
            plan=plan,
            service=ProviderContract.Service.COMMUNITY_SUPPORTS,
            status=ProviderContract.Status.ACTIVE,
            supports=support,
            counties=county,
        )
        .select_related("provider")
        .order_by("provider__name", "pk")
    )


def catalog(*, on: date | None = None) -> QuerySet[CommunitySupport]:
    """The active supports with their codes (in effect on `on`, when given) and
    limits prefetched: three queries, whatever the size of the catalog."""
    codes = ServiceCode.objects.order_by("hcpcs", "modifier", "modifier_2")
    if on is not None:
        codes = codes.filter(_in_force(on, "effective_from", "effective_to"))
    return CommunitySupport.objects.filter(active=True).prefetch_related(
        Prefetch("service_codes", queryset=codes),
        Prefetch("limits", queryset=SupportLimit.objects.order_by("key")),
    )


def support_for_pair(*, hcpcs: str, modifier: str, on: date) -> ServiceCode | None:
    """The service code row (and so the support) an HCPCS + modifier pair bills on
    a day; never the code alone (DOMAIN.md §3c)."""
    return (
        ServiceCode.objects.filter(
            _in_force(on, "effective_from", "effective_to"),
            hcpcs=hcpcs.upper(),
            modifier=modifier.upper(),
        )
        .select_related("support")
        .order_by("modifier_2")
        .first()
    )


def offerings_for_plan(plan) -> QuerySet[PlanOffering]:
    """A plan's offerings, for its administrators' pages."""
    return PlanOffering.objects.filter(plan=plan).select_related("support", "county")


def contracts_for_plan(plan) -> QuerySet[ProviderContract]:
    """A plan's contracts, with provider, supports and counties (three queries)."""
    return (
        ProviderContract.objects.filter(plan=plan)
        .select_related("provider")
        .prefetch_related("supports", "counties")
        .order_by("provider__name", "service", "start_date", "pk")
    )


def contracts_for_provider(provider) -> QuerySet[ProviderContract]:
    """A provider organization's contracts with every plan (read-only for it)."""
    return (
        ProviderContract.objects.filter(provider=provider)
        .exclude(status=ProviderContract.Status.DRAFT)
        .select_related("plan")
        .prefetch_related("supports", "counties")
        .order_by("plan__name", "service", "start_date", "pk")
    )
