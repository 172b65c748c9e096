"""Access rules owned by ECM (the lead care manager, the ECM provider's staff) and
the chokepoints that fetch an episode or a notice for a user."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.accounts import roles
from calaim.audit.services import audit_record
from care_plans.models import CarePlan, CareTeamMember, Episode, Notice
from members.access import access_member
from members.part2 import register_treating_rule


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


# --- 42 CFR Part 2: the member's treating care team (members.part2) ------------------


@register_treating_rule("lead_care_manager")
def _treating_lead_care_manager(user):
    """The lead care manager of the member's open ECM episode treats them."""
    if not user.has_role(roles.CARE_MANAGER, roles.SUPERVISOR):
        return None
    return Episode.objects.filter(
        lead_care_manager_id=user.pk, closed_at__isnull=True
    ).values("member_id")


@register_treating_rule("care_team_staff")
def _treating_care_team_staff(user):
    """Staff on the member's care team, while their place (and access) lasts."""
    if user.is_service_account:
        return None
    return (
        CareTeamMember.objects.filter(
            user_id=user.pk,
            removed_at__isnull=True,
            episode__closed_at__isnull=True,
        )
        .filter(Q(access_until__isnull=True) | Q(access_until__gt=timezone.now()))
        .values("member_id")
    )


def access_care_plan(user, care_plan_uuid, *, audit=True) -> CarePlan:
    """Fetch a care plan version for `user`, or Http404 whether it is missing or
    its member is not visible to them (the chart's rule). Audited as a view."""
    try:
        care_plan = CarePlan.objects.select_related(
            "member", "episode", "episode__lead_care_manager", "agreed_by"
        ).get(uuid=care_plan_uuid)
    except (CarePlan.DoesNotExist, ValidationError, ValueError, TypeError) as missing:
        raise Http404("No such care plan.") from missing
    if not registry.member_is_visible(user, care_plan.member_id):
        raise Http404("No such care plan.")
    if audit:
        audit_record(
            action="view",
            object_type="care_plan",
            object_id=str(care_plan.uuid),
            member_ids=[care_plan.member_id],
            actor=user,
        )
    return care_plan


def access_care_team_member(user, uuid) -> CareTeamMember:
    """Fetch a care-team row for `user` (Http404 unless they see the member)."""
    try:
        row = CareTeamMember.objects.select_related("member", "episode", "user").get(
            uuid=uuid
        )
    except (CareTeamMember.DoesNotExist, ValidationError, ValueError, TypeError) as e:
        raise Http404("No such care-team member.") from e
    if not registry.member_is_visible(user, row.member_id):
        raise Http404("No such care-team member.")
    return row
