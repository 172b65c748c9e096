"""Reads of ECM episodes, scoped to what the user may see."""

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, JSONObject
from django.http import Http404
from django.utils import timezone

from calaim import access as registry
from calaim.accounts import roles
from calaim.accounts.models import PlanCode
from calaim.prepared import fresh_placeholder, prepared_list
from calaim.web.panels import columns_shown
from calaim.work.models import Task, TaskStatus
from care_plans.assessments.models import Assessment

# The care plan's reads live in care_plan_selectors; referrals call this one by
# its contract name, care_plans.selectors.care_plan_goal.
from care_plans.care_plan_selectors import care_plan_goal  # noqa: F401
from care_plans.models import (
    CareConference,
    CarePlan,
    Encounter,
    EncounterMode,
    Episode,
    EpisodeEvent,
    EpisodeStatus,
    Goal,
    Notice,
    OutreachAttempt,
)
from members.models import Enrollment, MemberPopulation
from members.part2 import part2_disclosure_allowed


def care_plan_goals(*, member, user) -> list[Goal]:
    """The goals of the member's current care plan, each with its need (the
    referral form's picker).

    The current plan is the one `care_plan_goal` resolves a goal_uid in: of the
    member's latest episode with a plan, the agreed version, else the draft.
    One query; Part 2 goals are left out unless `user` may see the member's
    Part 2 content (a second query, only when the plan has one). The caller has
    already fetched `member` through members.access.access_member.
    """
    member_pk = getattr(member, "pk", member)
    current = (
        CarePlan.objects.filter(member_id=member_pk)
        .exclude(status=CarePlan.Status.SUPERSEDED)
        # Latest episode first; in it "agreed" sorts before "draft".
        .order_by("-episode__opened_at", "status", "-number")
        .values("pk")[:1]
    )
    goals = list(
        Goal.objects.filter(care_plan_id=Subquery(current))
        .select_related("need")
        .order_by("need__position", "need_id", "position", "id")
    )
    if any(goal.part2 for goal in goals) and not part2_disclosure_allowed(
        user, member_pk
    ):
        goals = [goal for goal in goals if not goal.part2]
    return goals


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
        .select_related("ecm_provider", "lead_care_manager", "population")
        .first()
    )


# --- The care manager's caseload page (care_plans/cm_views.py) ------------------------

# Statuses in which the provider is still trying to reach the member.
OUTREACH_STATUSES = (EpisodeStatus.ASSIGNED, EpisodeStatus.OUTREACH)


def caseload_scope(user) -> str | None:
    """Whose caseload `user` sees: "own" (a care manager's), "organization" (a
    supervisor's or provider administrator's), or None (no caseload page)."""
    if user.has_role(roles.SUPERVISOR, roles.PROVIDER_ADMIN):
        return "organization" if user.organization_id else None
    if user.has_role(roles.CARE_MANAGER):
        return "own"
    return None


def _current_populations(today) -> QuerySet[MemberPopulation]:
    return MemberPopulation.objects.filter(start_date__lte=today).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=today)
    )


# What the caseload page reads of a row (care_plans/cm/caseload.html).
CASELOAD_ROW_FIELDS = (
    "uuid",
    "status",
    "member_id",
    "lead_care_manager_id",
    "ecm_provider_id",
    "member__uuid",
    "member__cin",
    "member__first_name",
    "member__last_name",
    "lead_care_manager__full_name",
)


def caseload_rows(
    user,
    *,
    status: str = "",
    population: str = "",
    needs_outreach: bool = False,
    search: str = "",
    lead_care_manager_id: int | None = None,
) -> QuerySet[Episode]:
    """The open episodes of a caseload, each annotated for the caseload page.

    A care manager gets the episodes they lead; a supervisor or provider
    administrator the organization's (optionally one lead care manager's). Every
    row carries its last contact (latest outreach attempt or encounter), its
    next due item (the earliest open Task about the member owned by the user,
    the lead care manager or the provider's queue), whether that is overdue, and
    the outreach counts the outreach rule needs, all as correlated subqueries, so
    the page costs the same few queries for 5 rows or 500. The member's current
    populations of focus come as an array in the row (`current_populations`).
    Only the columns the page shows are read. Overdue rows come first, then by
    due date, then by name.
    """
    scope = caseload_scope(user)
    if scope is None:
        return Episode.objects.none()
    return _caseload_query(
        scope,
        visible=registry.visible_member_ids(user),
        user_pk=user.pk,
        organization_id=user.organization_id,
        today=timezone.localdate(),
        now=timezone.now(),
        status=status,
        population=population,
        needs_outreach=needs_outreach,
        search=search,
        lead_care_manager_id=lead_care_manager_id,
    )


def caseload_first_page(user, size: int) -> list[Episode] | None:
    """The first `size` rows of caseload_rows(user) with no filter, each with
    `total` (the caseload's size), or None when `user` has no caseload page.

    The same query as caseload_rows, built and compiled once per scope
    (calaim.prepared): only the access registry's part, which reads the clock
    and the user's grants, is compiled afresh on each call, with the user, the
    organization, the day and the time as parameters. Compiling the row's
    dozen subqueries cost more than running them.
    """
    scope = caseload_scope(user)
    if scope is None:
        return None
    if user.organization_id is None and scope == "organization":
        return None

    def build(user_pk, today, now, organization_id=None):
        return _caseload_query(
            scope,
            visible=fresh_placeholder(),
            user_pk=user_pk,
            organization_id=organization_id,
            today=today,
            now=now,
        ).annotate(total=Window(Count("pk")))[:size]

    values = [user.pk, timezone.localdate(), timezone.now()]
    if scope == "organization":
        values.append(user.organization_id)
    return prepared_list(
        ("care_plans.caseload_first_page", scope, size),
        build,
        *values,
        fresh=registry.visible_member_ids(user),
    )


def _caseload_query(
    scope,
    *,
    visible,
    user_pk,
    organization_id,
    today,
    now,
    status="",
    population="",
    needs_outreach=False,
    search="",
    lead_care_manager_id=None,
) -> QuerySet[Episode]:
    """caseload_rows' query, from explicit values only (`visible`: the member ids
    the access registry lets the user see)."""
    episodes = Episode.objects.filter(closed_at__isnull=True, member_id__in=visible)
    if scope == "own":
        episodes = episodes.filter(lead_care_manager_id=user_pk)
    else:
        episodes = episodes.filter(ecm_provider_id=organization_id)
        if lead_care_manager_id:
            episodes = episodes.filter(lead_care_manager_id=lead_care_manager_id)
    if status:
        episodes = episodes.filter(status=status)
    if needs_outreach:
        episodes = episodes.filter(status__in=OUTREACH_STATUSES)
    if population:
        episodes = episodes.filter(
            Exists(
                _current_populations(today).filter(
                    member_id=OuterRef("member_id"), population_id=population
                )
            )
        )
    for word in search.split()[:5]:
        episodes = episodes.filter(
            Q(member__last_name__icontains=word)
            | Q(member__first_name__icontains=word)
            | Q(member__cin__iexact=word)
        )

    attempts = OutreachAttempt.objects.filter(episode_id=OuterRef("pk")).order_by()
    encounters = Encounter.objects.filter(episode_id=OuterRef("pk")).order_by()
    tasks = Task.objects.filter(
        Q(owner_id=user_pk)
        | Q(owner_id=OuterRef("lead_care_manager_id"))
        | Q(organization_id=OuterRef("ecm_provider_id")),
        member_id=OuterRef("member_id"),
        status=TaskStatus.OPEN,
    ).order_by("due_at", "id")

    def outreach_aggregate(expression):
        return Subquery(
            attempts.values("episode_id").annotate(value=expression).values("value")
        )

    return (
        episodes.select_related("member", "lead_care_manager")
        # Only the columns the page shows: an episode row has some forty, and
        # building them (a dozen timestamps) cost more than the query.
        .only(*CASELOAD_ROW_FIELDS)
        .annotate(
            # [{"population": {"code", "name"}}, ...], as the page lists them:
            # an array in the row rather than a second query and 2 objects a row.
            current_populations=ArraySubquery(
                _current_populations(today)
                .filter(member_id=OuterRef("member_id"))
                .order_by("population__sort_order", "population_id")
                .values(
                    json=JSONObject(
                        population=JSONObject(
                            code="population_id", name="population__name"
                        )
                    )
                )
            ),
            last_outreach_at=outreach_aggregate(Max("attempted_at")),
            first_outreach_at=outreach_aggregate(Min("attempted_at")),
            outreach_count=Coalesce(outreach_aggregate(Count("pk")), 0),
            outreach_methods=Coalesce(
                outreach_aggregate(Count("method", distinct=True)), 0
            ),
            last_encounter_on=Subquery(
                encounters.values("episode_id")
                .annotate(value=Max("occurred_on"))
                .values("value")
            ),
            next_due_at=Subquery(tasks.values("due_at")[:1]),
            next_due_kind=Subquery(tasks.values("kind")[:1]),
        )
        .annotate(
            is_overdue=Case(
                When(next_due_at__lt=now, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by(
            F("is_overdue").desc(),
            F("next_due_at").asc(nulls_last=True),
            "member__last_name",
            "member__first_name",
            "member_id",
        )
    )


def outreach_rule_state(episode) -> tuple[bool, str]:
    """outreach_rule_met's answer from caseload_rows' annotations (no query).

    The same thresholds as care_plans.services.episodes.outreach_rule_met, which
    stays the authority when closing an episode; tests/care_plans/
    test_cm_pages.py checks the two agree.
    """
    from care_plans.services import episodes as rules

    count, methods = episode.outreach_count, episode.outreach_methods
    span = (episode.last_outreach_at - episode.first_outreach_at).days if count else 0
    if count < rules.OUTREACH_MIN_ATTEMPTS:
        return False, f"{count} of {rules.OUTREACH_MIN_ATTEMPTS} attempts so far."
    if methods < rules.OUTREACH_MIN_METHODS:
        return (
            False,
            f"Attempts used {methods} method; {rules.OUTREACH_MIN_METHODS} needed.",
        )
    if span < rules.OUTREACH_MIN_DAYS:
        return False, f"Attempts span {span} days; {rules.OUTREACH_MIN_DAYS} needed."
    return True, "The outreach rule is met."


def caseload_care_managers(user) -> QuerySet:
    """The active care managers of a supervisor's organization (the filter menu)."""
    from django.contrib.auth import get_user_model

    if user.organization_id is None:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(
            organization_id=user.organization_id,
            is_active=True,
            is_service_account=False,
            groups__name=roles.CARE_MANAGER,
        )
        .order_by("full_name", "pk")
    )


# --- The chart's ECM panels -------------------------------------------------------


def latest_episode_for(member) -> Episode | None:
    """The member's open episode, or else their most recent closed one, with its
    provider and lead care manager (the chart's outreach and encounter panels)."""
    rows = prepared_list(
        "care_plans.chart.latest_episode",
        lambda member_id: (
            Episode.objects.filter(member_id=member_id)
            .select_related("ecm_provider", "lead_care_manager", "population")
            .only(
                *columns_shown(
                    Episode,
                    "ecm_provider__name",
                    "lead_care_manager__full_name",
                    "lead_care_manager__phone",
                    "population__name",
                )
            )
            .order_by(F("closed_at").desc(nulls_first=True), "-opened_at", "-pk")[:1]
        ),
        member.pk,
    )
    return rows[0] if rows else None


def episode_events_for(member, limit: int = 100) -> list[EpisodeEvent]:
    """The member's ECM history across all episodes, newest first."""
    return list(
        EpisodeEvent.objects.filter(episode__member_id=member.pk)
        .select_related("actor__organization")
        .only(
            *columns_shown(
                EpisodeEvent, "actor__full_name", "actor__organization__name"
            )
        )
        .order_by("-occurred_at", "-pk")[:limit]
    )


def notices_for(member) -> list[Notice]:
    """The notices generated for the member's episodes, newest first (no HTML)."""
    return prepared_list(
        "care_plans.chart.notices",
        lambda member_id: (
            Notice.objects.filter(episode__member_id=member_id)
            .defer("html")
            .order_by("-created_at", "-pk")
        ),
        member.pk,
    )


# --- The provider API (care_plans/api/) -------------------------------------------


def _encounter_rollup(aggregate):
    """One aggregate over the episode's encounters, as a correlated subquery.

    A subquery per value rather than a JOIN with GROUP BY: the page's other joins
    stay one row per episode, and each subquery uses the (episode, occurred_on)
    index.
    """
    return Subquery(
        Encounter.objects.filter(episode_id=OuterRef("pk"))
        .order_by()
        .values("episode_id")
        .annotate(value=aggregate)
        .values("value")
    )


def _rollup(rows, key: str, aggregate):
    """One aggregate over related rows as a correlated subquery (see
    _encounter_rollup)."""
    return Subquery(
        rows.order_by().values(key).annotate(value=aggregate).values("value")
    )


def with_rtf_fields(episodes: QuerySet[Episode]) -> QuerySet[Episode]:
    """Join and annotate everything the API's RTF projection reads
    (`care_plans.rtf.episode_row`), so a page of episodes is one query.

    `changed_at` is the latest of the episode's, the member's and the newest
    encounter's write: what `updated_since` filters on, since a new encounter
    changes the RTF counts without touching the episode row.
    """
    in_person = Q(mode=EncounterMode.IN_PERSON)
    return episodes.select_related(
        "member", "plan", "ecm_provider", "lead_care_manager"
    ).annotate(
        most_recent_encounter_date=_encounter_rollup(Max("occurred_on")),
        in_person_encounter_count=Coalesce(
            _encounter_rollup(Count("pk", filter=in_person)), 0
        ),
        telephonic_video_encounter_count=Coalesce(
            _encounter_rollup(Count("pk", filter=~in_person)), 0
        ),
        primary_payer_id=Subquery(
            Enrollment.objects.filter(
                member_id=OuterRef("member_id"), plan_id=OuterRef("plan_id")
            )
            .order_by("-start_date")
            .annotate(
                code=Subquery(
                    PlanCode.objects.filter(
                        plan_id=OuterRef("plan_id"), county_id=OuterRef("county_id")
                    ).values("code")[:1]
                )
            )
            .values("code")[:1]
        ),
        # RTF 20-23: the care plan, the care conference, the assessment.
        latest_care_plan_revision_date=_rollup(
            CarePlan.objects.filter(
                episode_id=OuterRef("pk"), member_agreed_on__isnull=False
            ),
            "episode_id",
            Max("member_agreed_on"),
        ),
        most_recent_care_conference_date=_rollup(
            CareConference.objects.filter(episode_id=OuterRef("pk")),
            "episode_id",
            Max("held_on"),
        ),
        assessment_started_at=_rollup(
            Assessment.objects.filter(member_id=OuterRef("member_id")),
            "member_id",
            Max("started_at"),
        ),
        most_recent_completed_assessment_at=_rollup(
            Assessment.objects.filter(
                member_id=OuterRef("member_id"), status=Assessment.Status.COMPLETED
            ),
            "member_id",
            Max("completed_at"),
        ),
        populations_of_focus=ArraySubquery(
            MemberPopulation.objects.filter(
                member_id=OuterRef("member_id"), end_date__isnull=True
            )
            .order_by("population_id")
            .values("population_id")
        ),
        # GREATEST skips NULLs in PostgreSQL: an episode without encounters
        # still has a changed_at.
        changed_at=Greatest(
            "updated_at",
            "member__updated_at",
            _encounter_rollup(Max("created_at")),
            _rollup(
                CarePlan.objects.filter(episode_id=OuterRef("pk")),
                "episode_id",
                Max("updated_at"),
            ),
            _rollup(
                CareConference.objects.filter(episode_id=OuterRef("pk")),
                "episode_id",
                Max("created_at"),
            ),
        ),
    )


def episodes_visible_to(user) -> QuerySet[Episode]:
    """The episodes the API shows `user`, with the RTF fields.

    A plan's staff see the plan's episodes, open or closed; a provider's staff
    and its system see their organization's open episodes. Both only for members
    the access registry lets them see, so a care manager gets their caseload and
    a colleague without responsibility nothing. Narrower than the chart on
    purpose: a provider serving a member now does not see the episodes that
    member had with another provider.
    """
    if user.organization_id is None:
        return Episode.objects.none()
    ours = Q(plan_id=user.organization_id) | Q(
        ecm_provider_id=user.organization_id, closed_at__isnull=True
    )
    return with_rtf_fields(
        Episode.objects.filter(
            ours, member_id__in=registry.visible_member_ids(user)
        ).order_by()
    )


def episode_visible_to(user, episode_uuid) -> Episode:
    """One episode of `episodes_visible_to(user)`, or Http404 whether it is
    missing or not the caller's (existence does not leak)."""
    try:
        return episodes_visible_to(user).get(uuid=episode_uuid)
    except (Episode.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such episode.") from missing


def episode_with_rtf_fields(episode: Episode) -> Episode:
    """Re-read an episode the caller has just changed, for the API's answer.

    Not scoped: the service that made the change checked the caller, and a
    provider that discontinues an episode no longer sees it in its list.
    """
    return with_rtf_fields(Episode.objects.filter(pk=episode.pk)).get()


def encounters_of(episode: Episode) -> QuerySet[Encounter]:
    """The encounters of an episode the caller has already been given access to."""
    return (
        Encounter.objects.filter(episode_id=episode.pk)
        .select_related("episode")
        .order_by()
    )
