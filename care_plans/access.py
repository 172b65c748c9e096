"""Access rules owned by ECM: the lead care manager and the ECM provider's staff."""

from calaim import access as registry
from calaim.accounts import roles
from care_plans.models import Episode


@registry.register_rule("lead_care_manager")
def _my_caseload(user):
    """The lead care manager of the member's open ECM episode."""
    if not user.has_role(roles.CARE_MANAGER, roles.SUPERVISOR):
        return None
    return Episode.objects.filter(
        lead_care_manager_id=user.pk, closed_at__isnull=True
    ).values("member_id")


@registry.register_rule("ecm_provider_organization")
def _my_organizations_episodes(user):
    """Supervisors, provider admins and the provider's API client see the
    members of their organization's open episodes."""
    if not user.has_role(roles.SUPERVISOR, roles.PROVIDER_ADMIN, roles.PROVIDER_API):
        return None
    if user.organization_id is None:
        return None
    return Episode.objects.filter(
        ecm_provider_id=user.organization_id, closed_at__isnull=True
    ).values("member_id")
