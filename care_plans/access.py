"""Access rules owned by ECM (the lead care manager, the ECM provider's staff) and
the chokepoints that fetch an episode or a notice for a user."""

from django.core.exceptions import ValidationError
from django.http import Http404

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from care_plans.models import Episode, Notice
from members.access import access_member


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


def access_episode(user, episode_uuid, *, audit=True) -> Episode:
    """Fetch an episode for `user`, or raise Http404 whether missing or not allowed.

    The one chokepoint for pages about a specific episode: sight of the episode
    is sight of its member (the access registry), so a plan's administrator sees
    the plan's episodes and a provider's staff their open ones, and existence
    does not leak. Role checks (403) come after, in the caller. Records a view
    in the audit trail unless `audit` is False.
    """
    try:
        episode = Episode.objects.select_related(
            "member", "plan", "population", "ecm_provider", "lead_care_manager"
        ).get(uuid=episode_uuid)
    except (Episode.DoesNotExist, ValidationError, ValueError, TypeError) as missing:
        raise Http404("No such episode.") from missing
    if not registry.member_is_visible(user, episode.member_id):
        raise Http404("No such episode.")
    if audit:
        audit_record(
            action="view",
            object_type="ecm_episode",
            object_id=str(episode.uuid),
            member_ids=[episode.member_id],
            actor=user,
        )
    return episode


def access_notice(user, notice_uuid) -> Notice:
    """Fetch a notice for `user`: whoever may open the member's chart may read
    the notices kept on it; anyone else gets Http404, as for a missing one.

    Not audited here: the caller records what it did with the notice (a view,
    or marking it sent).
    """
    try:
        notice = Notice.objects.select_related(
            "episode__member", "episode__plan", "created_by"
        ).get(uuid=notice_uuid)
    except (Notice.DoesNotExist, ValidationError, ValueError, TypeError) as missing:
        raise Http404("No such notice.") from missing
    access_member(user, notice.episode.member.uuid, audit=False)
    return notice
