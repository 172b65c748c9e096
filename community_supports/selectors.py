"""Reads of the provider network."""

from datetime import date

from django.db.models import Q, QuerySet

from community_supports.models import ProviderContract


def contracts_in_force(
    *, plan_id: int, service: str, county_code: str | None, on: date
) -> QuerySet[ProviderContract]:
    """Contracts of a plan for a service, in force on a day, covering a county."""
    contracts = ProviderContract.objects.filter(
        plan_id=plan_id, service=service, start_date__lte=on
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
    if county_code:
        contracts = contracts.filter(counties=county_code)
    return contracts.select_related("provider")
