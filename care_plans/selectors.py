"""Reads of ECM episodes, scoped to what the user may see."""

from django.db.models import QuerySet

from calaim import access as registry
from care_plans.models import Episode


def _open_episodes_visible_to(user) -> QuerySet[Episode]:
    return Episode.objects.filter(
        closed_at__isnull=True,
        member_id__in=registry.visible_member_ids(user),
    )


def caseload_for(user) -> QuerySet[Episode]:
    """The open episodes whose lead care manager is `user`, by member name.

    Filtered through the access registry as well as by lead care manager, so a
    caseload can never show a member the user could not open.
    """
    return (
        _open_episodes_visible_to(user)
        .filter(lead_care_manager_id=user.pk)
        .select_related("member")
        .order_by("member__last_name", "member__first_name", "member_id")
    )


def open_episodes_of_organization(user) -> QuerySet[Episode]:
    """The open episodes of the user's ECM provider organization (supervisors and
    provider administrators), with member and lead care manager."""
    if user.organization_id is None:
        return Episode.objects.none()
    return (
        _open_episodes_visible_to(user)
        .filter(ecm_provider_id=user.organization_id)
        .select_related("member", "lead_care_manager")
        .order_by("member__last_name", "member__first_name", "member_id")
    )


def open_episode_for(member) -> Episode | None:
    """The member's open episode with its provider and lead care manager.

    Callers have already fetched `member` through members.access.access_member.
    """
    return (
        Episode.objects.filter(member_id=member.pk, closed_at__isnull=True)
        .select_related("ecm_provider", "lead_care_manager")
        .first()
    )
