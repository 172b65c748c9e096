"""Access rules owned by referrals, and the chokepoints that fetch a referral or
an offer for a user."""

from django.core.exceptions import ValidationError
from django.http import Http404

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from referrals.models import Offer, Referral


@registry.register_rule("open_referral_to_my_organization", scope=registry.REFERRAL)
def _referred_to_us(user):
    """A CS provider's staff and system see members with an open referral
    offered to (or accepted by) them, for the referral data only."""
    if not user.has_role(roles.CS_PROVIDER, roles.PROVIDER_ADMIN, roles.PROVIDER_API):
        return None
    if user.organization_id is None:
        return None
    return Referral.objects.filter(
        receiving_organization_id=user.organization_id, closed_at__isnull=True
    ).values("member_id")


def access_referral(user, referral_uuid, *, audit=True) -> Referral:
    """Fetch a referral for `user`, or raise Http404 whether missing or not
    allowed: the chart's viewers see the member's referrals, a provider the open
    ones whose live offer is to its organization. Audited as a view."""
    from referrals.selectors import get_referral
    from referrals.services._common import referral_visible

    try:
        referral = get_referral(referral_uuid)
    except ValidationError as missing:
        raise Http404("No such referral.") from missing
    if not referral_visible(user, referral):
        raise Http404("No such referral.")
    if audit:
        audit_record(
            action="view",
            object_type="referral",
            object_id=str(referral.uuid),
            member_ids=[referral.member_id],
            actor=user,
        )
    return referral


def live_offer(referral: Referral) -> Offer | None:
    """The referral's offer waiting for an answer, if any."""
    return (
        Offer.objects.filter(referral=referral, status=Offer.Status.OFFERED)
        .select_related("provider")
        .first()
    )
