"""Permission-matrix entries for the ECM provider API (see tests/matrix.py).

Each write gets a fresh episode of the cast's provider in a status where the step
is legal (built by the url lambda, before the database fingerprint), so an allowed
caller gets its success and everyone else provably changes nothing. Factory
episodes start at version 1, which the bodies send.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from care_plans.models import OutreachAttempt
from tests.factories import EnrollmentFactory, EpisodeFactory, MemberFactory
from tests.matrix import API, register

JSON = "application/json"

# Who holds the role for each kind of call (care_plans/apps.py). Everyone else
# with a role but no sight of the episode gets 404.
NO_EPISODE_ROLE = {"cs_provider", "other_cs_provider", "auditor", "hospital_feed",
                   "interface_admin"}  # fmt: skip
PROVIDER_STAFF_STEP = ["provider_api", "lead_care_manager", "supervisor"]
NOT_PROVIDER_STAFF = NO_EPISODE_ROLE | {"provider_admin", "plan_admin",
                                        "other_plan_admin"}  # fmt: skip
DISCONTINUERS = ["provider_api", "supervisor", "provider_admin", "plan_admin"]
NOT_DISCONTINUERS = NO_EPISODE_ROLE | {"lead_care_manager", "colleague",
                                       "other_care_manager"}  # fmt: skip
SEES_THE_EPISODE = ["provider_api", "lead_care_manager", "supervisor",
                    "provider_admin", "plan_admin"]  # fmt: skip


def episode_in(cast, status, *, attempts=()):
    """A new member of the cast's plan with an episode of the cast's provider and
    lead care manager, in `status`, assigned 40 days ago."""
    member = MemberFactory()
    EnrollmentFactory(member=member, plan=cast.plan)
    now = timezone.now()
    episode = EpisodeFactory(
        member=member,
        plan=cast.plan,
        ecm_provider=cast.ecm_provider,
        lead_care_manager=cast.lead_care_manager,
        status=status,
        assigned_at=now - timedelta(days=40),
        enrolled_on=timezone.localdate() if status == "enrolled" else None,
    )
    for days_ago, method in attempts:
        OutreachAttempt.objects.create(
            episode=episode,
            attempted_at=now - timedelta(days=days_ago),
            method=method,
            outcome="no_answer",
            minutes=5,
            staff=cast.lead_care_manager,
        )
    return episode


def _url(name, episode):
    return reverse(name, args=[episode.uuid])


register(
    "api_episode_list",
    "GET",
    lambda cast: reverse("api_episode_list"),
    allowed=["provider_api", "lead_care_manager", "colleague", "supervisor",
             "provider_admin", "other_care_manager", "plan_admin",
             "other_plan_admin"],
    forbidden=NO_EPISODE_ROLE,
    kind=API,
)  # fmt: skip
register(
    "api_episode_detail",
    "GET",
    lambda cast: _url("api_episode_detail", cast.episode),
    allowed=SEES_THE_EPISODE,
    forbidden=NO_EPISODE_ROLE,
    kind=API,
)
register(
    "api_episode_encounters_list",
    "GET",
    lambda cast: _url("api_episode_encounters", cast.episode),
    allowed=SEES_THE_EPISODE,
    forbidden=NO_EPISODE_ROLE,
    kind=API,
)
register(
    "api_episode_outreach",
    "POST",
    lambda cast: _url("api_episode_outreach", episode_in(cast, "assigned")),
    allowed=PROVIDER_STAFF_STEP,
    forbidden=NOT_PROVIDER_STAFF,
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {
        "outreach_date": (timezone.now() - timedelta(hours=1)).isoformat(),
        "outreach_method": "phone",
        "outreach_successful": False,
        "outreach_minutes": 5,
    },
)
register(
    "api_episode_enroll",
    "POST",
    lambda cast: _url("api_episode_enroll", episode_in(cast, "outreach")),
    allowed=PROVIDER_STAFF_STEP,
    forbidden=NOT_PROVIDER_STAFF,
    kind=API,
    content_type=JSON,
    data=lambda cast: {
        "version": 1,
        "consent_date": timezone.localdate().isoformat(),
        "consent_method": "verbal",
    },
)
register(
    "api_episode_decline",
    "POST",
    lambda cast: _url("api_episode_decline", episode_in(cast, "outreach")),
    allowed=PROVIDER_STAFF_STEP,
    forbidden=NOT_PROVIDER_STAFF,
    kind=API,
    content_type=JSON,
    data=lambda cast: {"version": 1, "reason": "Does not want ECM."},
)
register(
    "api_episode_unable_to_reach",
    "POST",
    lambda cast: _url(
        "api_episode_unable_to_reach",
        episode_in(
            cast,
            "outreach",
            attempts=[(35, "phone"), (20, "in_person"), (1, "mail")],
        ),
    ),
    allowed=PROVIDER_STAFF_STEP,
    forbidden=NOT_PROVIDER_STAFF,
    kind=API,
    content_type=JSON,
    data=lambda cast: {"version": 1},
)
register(
    "api_episode_discontinue",
    "POST",
    lambda cast: _url("api_episode_discontinue", episode_in(cast, "enrolled")),
    allowed=DISCONTINUERS,
    forbidden=NOT_DISCONTINUERS,
    kind=API,
    content_type=JSON,
    data=lambda cast: {"version": 1, "discontinuation_reason": "goals_met"},
)
register(
    "api_episode_encounters",
    "POST",
    lambda cast: _url("api_episode_encounters", cast.episode),
    allowed=PROVIDER_STAFF_STEP,
    forbidden=NOT_PROVIDER_STAFF,
    kind=API,
    ok_status=(201,),
    content_type=JSON,
    data=lambda cast: {
        "encounter_date": timezone.localdate().isoformat(),
        "mode": "in_person",
        "minutes": 45,
    },
)
