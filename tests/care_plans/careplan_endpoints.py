"""Permission-matrix entries for the care plan, care team and conference pages
and API (see tests/matrix.py).

Pages answer 404 to whoever may not see the member's chart, then 403 to those
who see it without the role (a plan administrator or auditor editing a plan, a
provider administrator recording a conference), and succeed for the provider's
care staff. Each write gets a fresh enrolled episode of the cast's provider and
lead care manager (built by the url lambda, before the database fingerprint),
with a draft or agreed plan made through the services, so an allowed caller gets
its success and everyone else provably changes nothing.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tests.care_plans.api_endpoints import episode_in
from tests.matrix import API, register

JSON = "application/json"

# Pages: who sees the chart, and who of them edits.
CHART_VIEWERS = {"lead_care_manager", "supervisor", "provider_admin", "plan_admin",
                 "auditor"}  # fmt: skip
PLAN_EDITORS = {"lead_care_manager", "supervisor"}
SEE_BUT_MAY_NOT_EDIT = CHART_VIEWERS - PLAN_EDITORS
TEAM_KEEPERS = {"lead_care_manager", "supervisor", "provider_admin"}

# API: roles without the read permission, or without a token scope for it.
NO_PLAN_ROLE = {"cs_provider", "other_cs_provider", "interface_admin",
                "hospital_feed"}  # fmt: skip
API_READERS = ["provider_api", "lead_care_manager", "supervisor", "provider_admin",
               "plan_admin", "auditor"]  # fmt: skip
API_EDITORS = ["provider_api", "lead_care_manager", "supervisor"]
NOT_API_EDITORS = NO_PLAN_ROLE | {"provider_admin", "plan_admin", "other_plan_admin",
                                  "auditor"}  # fmt: skip
API_TEAM_KEEPERS = ["provider_api", "lead_care_manager", "supervisor",
                    "provider_admin"]  # fmt: skip
NOT_API_TEAM_KEEPERS = NO_PLAN_ROLE | {"plan_admin", "other_plan_admin", "auditor"}


def fresh_episode(cast, purpose: str):
    """An enrolled episode of the cast's provider and lead care manager, one per
    purpose and cast (test_every_route calls every url lambda on one cast, and
    the provider's contract has a capacity)."""
    key = f"_careplan_episode_{purpose}"
    if key not in cast.__dict__:
        from care_plans.models import Episode

        episode = episode_in(cast, "enrolled")
        # Not counted against the plan's contract capacity (an episode the
        # matrix builds is no assignment); the member stays enrolled with the
        # cast's plan, so its administrator still sees them.
        Episode.objects.filter(pk=episode.pk).update(plan=None)
        episode.plan = None
        cast.__dict__[key] = episode
    return cast.__dict__[key]


def draft_plan(cast, *, goal=False, purpose="draft"):
    """A draft care plan (version 1, or 2 with a goal) for an enrolled episode
    of the cast's provider."""
    from care_plans.services import care_plan_start, goal_add

    episode = fresh_episode(cast, purpose)
    plan = care_plan_start(
        episode=episode,
        actor=cast.lead_care_manager,
        needs=[{"domain": "housing", "description": "Sleeping in a car"}],
    )
    if goal:
        goal_add(
            care_plan=plan,
            need=plan.needs.get(),
            description="A place with a door that locks",
            actor=cast.lead_care_manager,
            expected_version=1,
        )
        plan.refresh_from_db()
    return plan


def agreed_plan(cast):
    from care_plans.services import care_plan_agree

    plan = draft_plan(cast, goal=True, purpose="agreed")
    return care_plan_agree(
        care_plan=plan,
        agreed_on=timezone.localdate(),
        actor=cast.lead_care_manager,
        expected_version=plan.lock_version,
    )


def _cast_plan(cast):
    """The cast member's own plan (memoized): for the read-only calls."""
    key = "_careplan_cast_plan"
    if key not in cast.__dict__:
        from care_plans.services import care_plan_start, goal_add

        plan = care_plan_start(
            episode=cast.episode,
            actor=cast.lead_care_manager,
            needs=[{"domain": "food", "description": "Runs out of food"}],
        )
        goal_add(
            care_plan=plan,
            need=plan.needs.get(),
            description="Three meals a day",
            actor=cast.lead_care_manager,
            expected_version=1,
        )
        plan.refresh_from_db()
        cast.__dict__[key] = plan
    return cast.__dict__[key]


def _contact(cast):
    from care_plans.services import care_team_add

    episode = fresh_episode(cast, "team")
    return care_team_add(
        episode=episode,
        role="pcp",
        name="Dr. Synthetic Example",
        phone="619-555-0100",
        actor=cast.lead_care_manager,
    )


def _plan_url(name, plan, *extra):
    return reverse(name, args=[plan.uuid, *extra])


def _version(plan, **data):
    return {"version": plan.lock_version, **data}


# --- Pages ----------------------------------------------------------------------------

register(
    "careplan_detail",
    "GET",
    lambda cast: _plan_url("careplan_detail", _cast_plan(cast)),
    allowed=CHART_VIEWERS,
)
register(
    "careplan_print",
    "GET",
    lambda cast: _plan_url("careplan_print", _cast_plan(cast)),
    allowed=CHART_VIEWERS,
)
register(
    "chart_timeline",
    "GET",
    lambda cast: reverse("chart_timeline", args=[cast.member.uuid]),
    allowed=CHART_VIEWERS,
)
register(
    "careplan_start",
    "POST",
    lambda cast: reverse(
        "careplan_start", args=[fresh_episode(cast, "team").member.uuid]
    ),
    allowed=PLAN_EDITORS,
    forbidden=SEE_BUT_MAY_NOT_EDIT,
    ok_status=(302,),
    data=lambda cast: {"language": "ENG"},
)


def _draft_for(cast):
    """One draft per test (the url and data lambdas share it, in either order)."""
    key = "_careplan_matrix_draft"
    if key not in cast.__dict__:
        cast.__dict__[key] = draft_plan(cast, goal=True)
    return cast.__dict__[key]


_last = _draft_for


register(
    "careplan_need_add",
    "POST",
    lambda cast: _plan_url("careplan_need_add", _draft_for(cast)),
    allowed=PLAN_EDITORS,
    forbidden=SEE_BUT_MAY_NOT_EDIT,
    ok_status=(302,),
    data=lambda cast: _version(
        _last(cast), domain="food", description="Skips meals at month's end"
    ),
)
register(
    "careplan_goal_add",
    "POST",
    lambda cast: _plan_url("careplan_goal_add", _draft_for(cast)),
    allowed=PLAN_EDITORS,
    forbidden=SEE_BUT_MAY_NOT_EDIT,
    ok_status=(302,),
    data=lambda cast: _version(
        _last(cast),
        need=str(_last(cast).needs.get().uid),
        description="Sleep indoors every night",
        status="not_started",
    ),
)
register(
    "careplan_goal_edit",
    "POST",
    lambda cast: _plan_url(
        "careplan_goal_edit", _draft_for(cast), _last(cast).goals.get().uid
    ),
    allowed=PLAN_EDITORS,
    forbidden=SEE_BUT_MAY_NOT_EDIT,
    ok_status=(302,),
    data=lambda cast: _version(
        _last(cast),
        need=str(_last(cast).needs.get().uid),
        description="A room of my own",
        status="in_progress",
    ),
)
register(
    "careplan_intervention_add",
    "POST",
    lambda cast: _plan_url("careplan_intervention_add", _draft_for(cast)),
    allowed=PLAN_EDITORS,
    forbidden=SEE_BUT_MAY_NOT_EDIT,
    ok_status=(302,),
    data=lambda cast: _version(
        _last(cast),
        goal=str(_last(cast).goals.get().uid),
        description="Bring ID to the housing navigator",
        responsible="member",
        status="planned",
    ),
)
register(
    "careplan_remove",
    "POST",
    lambda cast: _plan_url("careplan_remove", _draft_for(cast)),
    allowed=PLAN_EDITORS,
    forbidden=SEE_BUT_MAY_NOT_EDIT,
    ok_status=(302,),
    data=lambda cast: _version(
        _last(cast), kind="goal", uid=str(_last(cast).goals.get().uid)
    ),
)
register(
    "careplan_agree",
    "POST",
    lambda cast: _plan_url("careplan_agree", _draft_for(cast)),
    allowed=PLAN_EDITORS,
    forbidden=SEE_BUT_MAY_NOT_EDIT,
    ok_status=(302,),
    data=lambda cast: _version(
        _last(cast), member_agreed_on=timezone.localdate().isoformat()
    ),
)


def _agreed_for(cast):
    key = "_careplan_matrix_agreed"
    if key not in cast.__dict__:
        cast.__dict__[key] = agreed_plan(cast)
    return cast.__dict__[key]


register(
    "careplan_revise",
    "POST",
    lambda cast: _plan_url("careplan_revise", _agreed_for(cast)),
    allowed=PLAN_EDITORS,
    forbidden=SEE_BUT_MAY_NOT_EDIT,
    ok_status=(302,),
    data=lambda cast: _version(_agreed_for(cast)),
)
register(
    "careteam_add",
    "POST",
    lambda cast: reverse(
        "careteam_add", args=[fresh_episode(cast, "team").member.uuid]
    ),
    allowed=TEAM_KEEPERS,
    forbidden={"plan_admin", "auditor"},
    ok_status=(302,),
    data=lambda cast: {
        "kind": "contact",
        "role": "pcp",
        "name": "Dr. Synthetic Example",
        "phone": "619-555-0100",
    },
)
register(
    "careteam_remove",
    "POST",
    lambda cast: reverse("careteam_remove", args=[_contact(cast).uuid]),
    allowed=TEAM_KEEPERS,
    forbidden={"plan_admin", "auditor"},
    ok_status=(302,),
)
register(
    "conference_add",
    "POST",
    lambda cast: reverse(
        "conference_add", args=[fresh_episode(cast, "team").member.uuid]
    ),
    allowed=PLAN_EDITORS,
    forbidden={"provider_admin", "plan_admin", "auditor"},
    ok_status=(302,),
    data=lambda cast: {
        "held_on": timezone.localdate().isoformat(),
        "attendees": "Lead care manager, member",
    },
)

# --- API ------------------------------------------------------------------------------

register(
    "api_episode_care_plan",
    "GET",
    lambda cast: (
        _cast_plan(cast) and reverse("api_episode_care_plan", args=[cast.episode.uuid])
    ),
    allowed=API_READERS,
    forbidden=NO_PLAN_ROLE,
    kind=API,
)
register(
    "api_episode_care_plan_create",
    "POST",
    lambda cast: reverse(
        "api_episode_care_plan", args=[fresh_episode(cast, "team").uuid]
    ),
    allowed=API_EDITORS,
    forbidden=NOT_API_EDITORS,
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {
        "language": "SPA",
        "needs": [
            {
                "domain": "food",
                "description": "Runs out of food",
                "goals": [{"description": "Three meals a day"}],
            }
        ],
    },
)
register(
    "api_episode_care_plans",
    "GET",
    lambda cast: (
        _cast_plan(cast) and reverse("api_episode_care_plans", args=[cast.episode.uuid])
    ),
    allowed=API_READERS,
    forbidden=NO_PLAN_ROLE,
    kind=API,
)
register(
    "api_care_plan_detail",
    "GET",
    lambda cast: _plan_url("api_care_plan_detail", _cast_plan(cast)),
    allowed=API_READERS,
    forbidden=NO_PLAN_ROLE,
    kind=API,
)


_api_draft = _draft_for


register(
    "api_care_plan_put",
    "PUT",
    lambda cast: _plan_url("api_care_plan_detail", _api_draft(cast)),
    allowed=API_EDITORS,
    forbidden=NOT_API_EDITORS,
    kind=API,
    content_type=JSON,
    data=lambda cast: {
        "version": 2,
        "needs": [
            {
                "uid": str(_api_draft(cast).needs.get().uid),
                "domain": "housing",
                "description": "Sleeping in a car since March",
                "goals": [
                    {
                        "description": "A place with a door that locks",
                        "target_date": (
                            timezone.localdate() + timedelta(days=90)
                        ).isoformat(),
                    }
                ],
            }
        ],
    },
)
register(
    "api_care_plan_patch",
    "PATCH",
    lambda cast: _plan_url("api_care_plan_detail", _api_draft(cast)),
    allowed=API_EDITORS,
    forbidden=NOT_API_EDITORS,
    kind=API,
    content_type=JSON,
    data=lambda cast: {
        "version": 2,
        "goals": [
            {
                "uid": str(_api_draft(cast).goals.get().uid),
                "status": "in_progress",
            }
        ],
    },
)
register(
    "api_care_plan_agree",
    "POST",
    lambda cast: _plan_url("api_care_plan_agree", _api_draft(cast)),
    allowed=API_EDITORS,
    forbidden=NOT_API_EDITORS,
    kind=API,
    content_type=JSON,
    data=lambda cast: {
        "version": 2,
        "member_agreed_on": timezone.localdate().isoformat(),
    },
)
register(
    "api_care_plan_revise",
    "POST",
    lambda cast: _plan_url("api_care_plan_revise", _agreed_for(cast)),
    allowed=API_EDITORS,
    forbidden=NOT_API_EDITORS,
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {"version": 3},
)
register(
    "api_episode_care_team",
    "GET",
    lambda cast: reverse("api_episode_care_team", args=[cast.episode.uuid]),
    allowed=API_READERS,
    forbidden=NO_PLAN_ROLE,
    kind=API,
)
register(
    "api_episode_care_team_add",
    "POST",
    lambda cast: reverse(
        "api_episode_care_team", args=[fresh_episode(cast, "team").uuid]
    ),
    allowed=API_TEAM_KEEPERS,
    forbidden=NOT_API_TEAM_KEEPERS,
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {
        "role": "pcp",
        "name": "Dr. Synthetic Example",
        "phone": "619-555-0100",
    },
)
register(
    "api_care_team_member",
    "DELETE",
    lambda cast: reverse("api_care_team_member", args=[_contact(cast).uuid]),
    allowed=API_TEAM_KEEPERS,
    forbidden=NOT_API_TEAM_KEEPERS,
    kind=API,
)
register(
    "api_episode_care_conferences",
    "GET",
    lambda cast: reverse("api_episode_care_conferences", args=[cast.episode.uuid]),
    allowed=API_READERS,
    forbidden=NO_PLAN_ROLE,
    kind=API,
)
register(
    "api_episode_care_conferences_add",
    "POST",
    lambda cast: reverse(
        "api_episode_care_conferences", args=[fresh_episode(cast, "team").uuid]
    ),
    allowed=API_EDITORS,
    forbidden=NOT_API_EDITORS,
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {
        "most_recent_care_conference_date": timezone.localdate().isoformat(),
        "attendees": "Lead care manager, member",
    },
)
