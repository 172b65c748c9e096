"""Access rules owned by referrals: the receiving provider sees referral data."""

from calaim import access as registry
from calaim.accounts import roles
from referrals.models import Referral


@registry.register_rule("open_referral_to_my_organization", scope=registry.REFERRAL)
def _referred_to_us(user):
    """A CS provider's staff and system see members with an open referral to them,
    for the referral data only."""
    if not user.has_role(roles.CS_PROVIDER, roles.PROVIDER_ADMIN, roles.PROVIDER_API):
        return None
    if user.organization_id is None:
        return None
    return Referral.objects.filter(
        receiving_organization_id=user.organization_id, closed_at__isnull=True
    ).values("member_id")
