"""Reads of care plans, the care team and conferences, for the chart, the print
page and the API. Callers have already fetched the member or episode through an
access function; Part 2 goals are filtered here, once, for everyone.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q

from calaim.prepared import prepared_list
from care_plans.models import (
    CareConference,
    CarePlan,
    CareTeamMember,
    Episode,
    Goal,
    Intervention,
    Need,
)


def care_plan_goal(*, member, goal_uid) -> Goal | None:
    """The goal with `goal_uid` in the member's current plan: the agreed version,
    else the draft (a goal new in a revision). None when no current version has
    it (the contract referrals use to validate their goal_uid)."""
    member_pk = getattr(member, "pk", member)
    try:
        return (
            Goal.objects.filter(care_plan__member_id=member_pk, uid=goal_uid)
            .exclude(care_plan__status=CarePlan.Status.SUPERSEDED)
            .select_related("care_plan", "need")
            .order_by("care_plan__status")  # "agreed" sorts before "draft"
            .first()
        )
    except (ValidationError, ValueError, TypeError):
        return None


def care_plans_of_episode(episode: Episode) -> list[CarePlan]:
    """Every version of the episode's plan, newest first (one query)."""
    return list(
        CarePlan.objects.filter(episode_id=episode.pk)
        .select_related("agreed_by", "created_by")
        .order_by("-number")
    )


def current_plans(member) -> tuple[CarePlan | None, CarePlan | None]:
    """(agreed, draft) of the member's latest episode with a plan (one query)."""
    rows = prepared_list(
        "care_plans.current_plans",
        lambda member_id: (
            CarePlan.objects.filter(member_id=member_id)
            .exclude(status=CarePlan.Status.SUPERSEDED)
            .select_related("agreed_by")
            .order_by("-episode__opened_at", "-number")[:2]
        ),
        member.pk,
    )
    episode_id = rows[0].episode_id if rows else None
    agreed = next(
        (
            r
            for r in rows
            if r.episode_id == episode_id and r.status == CarePlan.Status.AGREED
        ),
        None,
    )
    draft = next(
        (r for r in rows if r.episode_id == episode_id and r.is_draft),
        None,
    )
    return agreed, draft


@dataclass
class PlanContent:
    """A plan version's needs with their goals and interventions, already read,
    with the Part 2 goals left out unless `part2_allowed`."""

    care_plan: CarePlan
    needs: list
    part2_allowed: bool
    withheld: int = 0
    shows_part2: bool = False
    goals: list = field(default_factory=list)


def plan_content(care_plan: CarePlan, *, part2_allowed: bool) -> PlanContent:
    """Read a plan's needs, goals and interventions in three queries whatever
    their number, and nest them: need.goal_list, goal.intervention_list."""
    needs = list(
        Need.objects.filter(care_plan_id=care_plan.pk).order_by("position", "id")
    )
    goals = list(
        Goal.objects.filter(care_plan_id=care_plan.pk)
        .prefetch_related(
            Prefetch(
                "interventions",
                queryset=Intervention.objects.select_related(
                    "responsible_user", "responsible_contact__user"
                ).order_by("position", "id"),
            )
        )
        .order_by("position", "id")
    )
    withheld = sum(goal.part2 for goal in goals) if not part2_allowed else 0
    shown = [goal for goal in goals if part2_allowed or not goal.part2]
    by_need = {need.pk: need for need in needs}
    for need in needs:
        need.goal_list = []
    for goal in shown:
        goal.intervention_list = list(goal.interventions.all())
        goal.need_uid = by_need[goal.need_id].uid
        by_need[goal.need_id].goal_list.append(goal)
    return PlanContent(
        care_plan=care_plan,
        needs=needs,
        part2_allowed=part2_allowed,
        withheld=withheld,
        shows_part2=any(goal.part2 for goal in shown),
        goals=shown,
    )


def care_team_of(member, *, include_removed=False) -> list[CareTeamMember]:
    """The member's care team (besides the lead care manager), in one query."""

    def build(member_id):
        rows = CareTeamMember.objects.filter(member_id=member_id).select_related(
            "user", "added_by"
        )
        if not include_removed:
            rows = rows.filter(removed_at__isnull=True)
        return rows.order_by("added_at", "id")

    return prepared_list(("care_plans.care_team", include_removed), build, member.pk)


def conferences_of(member, limit: int = 20) -> list[CareConference]:
    return prepared_list(
        ("care_plans.conferences", limit),
        lambda member_id: (
            CareConference.objects.filter(member_id=member_id)
            .select_related("recorded_by")
            .order_by("-held_on", "-id")[:limit]
        ),
        member.pk,
    )


def care_team_of_episode(episode: Episode):
    """The member's current care team (the API's list; the paginator orders)."""
    return (
        CareTeamMember.objects.filter(
            member_id=episode.member_id, removed_at__isnull=True
        )
        .select_related("user")
        .order_by()
    )


# --- The API (care_plans/api/plan_views.py) -------------------------------------------


def _api_episodes(user):
    """The episodes the API lets `user` work on: a provider's open ones, a plan's
    (open or closed), for members the access registry lets them see -- the same
    rule as care_plans.selectors.episodes_visible_to, without the RTF columns."""
    from calaim import access as registry

    if user.organization_id is None:
        return Episode.objects.none()
    ours = Q(plan_id=user.organization_id) | Q(
        ecm_provider_id=user.organization_id, closed_at__isnull=True
    )
    return Episode.objects.filter(ours, member_id__in=registry.visible_member_ids(user))


def episode_for_api(user, episode_uuid) -> Episode:
    """One episode for the API, or Http404 whether missing or not the caller's."""
    from django.http import Http404

    try:
        return (
            _api_episodes(user)
            .select_related("member", "lead_care_manager", "ecm_provider")
            .get(uuid=episode_uuid)
        )
    except (Episode.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such episode.") from missing


def care_plan_for_api(user, care_plan_uuid) -> CarePlan:
    """One plan version whose episode the API lets `user` work on (else 404)."""
    from django.http import Http404

    try:
        return CarePlan.objects.select_related("episode", "member", "agreed_by").get(
            uuid=care_plan_uuid, episode__in=_api_episodes(user).values("pk")
        )
    except (CarePlan.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such care plan.") from missing


def care_team_member_for_api(user, uuid) -> CareTeamMember:
    from django.http import Http404

    try:
        return CareTeamMember.objects.select_related("episode", "member", "user").get(
            uuid=uuid, episode__in=_api_episodes(user).values("pk")
        )
    except (CareTeamMember.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such care-team member.") from missing


def current_plan_of_episode(episode: Episode) -> CarePlan | None:
    """The draft being worked on, else the agreed version (one query)."""
    return (
        CarePlan.objects.filter(episode_id=episode.pk)
        .exclude(status=CarePlan.Status.SUPERSEDED)
        .order_by("-number")
        .first()
    )


def plan_versions(episode: Episode):
    return CarePlan.objects.filter(episode_id=episode.pk).order_by()


def conferences_of_episode(episode: Episode):
    return CareConference.objects.filter(member_id=episode.member_id).order_by()


def part2_goal_uids(care_plan: CarePlan) -> set:
    return set(
        Goal.objects.filter(care_plan=care_plan, part2=True).values_list(
            "uid", flat=True
        )
    )
