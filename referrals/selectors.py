"""Reads of referrals, scoped to what the user may see."""

from django.db.models import QuerySet

from calaim import access as registry
from referrals.models import Referral


def open_referrals_received(user) -> QuerySet[Referral]:
    """Open referrals to the user's organization (a Community Supports provider's
    inbox), oldest first, with the member."""
    if user.organization_id is None:
        return Referral.objects.none()
    return (
        Referral.objects.filter(
            receiving_organization_id=user.organization_id, closed_at__isnull=True
        )
        .select_related("member")
        .order_by("created_at", "id")
    )


def referrals_for_member(*, user, member, scope: str) -> QuerySet[Referral]:
    """The member's referrals that `user` may see.

    Someone who may see the whole chart sees all of the member's referrals. A
    referral-only viewer (a Community Supports provider) sees only the referrals
    to their own organization: another provider's referral is not theirs to read
    (DESIGN.md §3, "referral data only").
    """
    referrals = Referral.objects.filter(member_id=member.pk).select_related(
        "receiving_organization"
    )
    if scope != registry.CHART:
        if user.organization_id is None:
            return Referral.objects.none()
        referrals = referrals.filter(receiving_organization_id=user.organization_id)
    return referrals.order_by("-created_at", "-id")
