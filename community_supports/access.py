"""The one place a contract or an offering is fetched for a user.

Missing and not-yours answer the same 404. A plan's administrators see their
plan's contracts and offerings; a provider's staff see their own organization's
contracts once they leave draft (read-only).
"""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404

from community_supports.models import PlanOffering, ProviderContract

NOT_FOUND = "No such contract."


def _get(queryset, uuid):
    try:
        return queryset.get(uuid=uuid)
    except (queryset.model.DoesNotExist, ValidationError, ValueError):
        raise Http404(NOT_FOUND) from None


def access_contract(user, contract_uuid) -> ProviderContract:
    """A contract the user's organization is party to (provider: not a draft)."""
    org = user.organization_id
    if org is None:
        raise Http404(NOT_FOUND)
    visible = Q(plan_id=org) | (
        Q(provider_id=org) & ~Q(status=ProviderContract.Status.DRAFT)
    )
    return _get(
        ProviderContract.objects.filter(visible)
        .select_related("plan", "provider")
        .prefetch_related("supports", "counties"),
        contract_uuid,
    )


def access_plan_contract(user, contract_uuid) -> ProviderContract:
    """A contract of the user's own plan (to change it)."""
    return _get(
        ProviderContract.objects.filter(plan_id=user.organization_id).select_related(
            "plan", "provider"
        ),
        contract_uuid,
    )


def access_offering(user, offering_uuid) -> PlanOffering:
    """An offering of the user's own plan."""
    return _get(
        PlanOffering.objects.filter(plan_id=user.organization_id).select_related(
            "support", "county"
        ),
        offering_uuid,
    )
