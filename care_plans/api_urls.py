"""The ECM provider API, mounted at /api/v1/ (see care_plans/api.py)."""

from django.urls import path

from care_plans.api import plan_views as plans
from care_plans.api import views as api

EPISODE = "episodes/<uuid:episode_id>"
PLAN = "care-plans/<uuid:care_plan_id>"

urlpatterns = [
    path("episodes/", api.EpisodeList.as_view(), name="api_episode_list"),
    path(EPISODE, api.EpisodeDetail.as_view(), name="api_episode_detail"),
    path(
        f"{EPISODE}/outreach",
        api.EpisodeOutreach.as_view(),
        name="api_episode_outreach",
    ),
    path(f"{EPISODE}/enroll", api.EpisodeEnroll.as_view(), name="api_episode_enroll"),
    path(
        f"{EPISODE}/decline", api.EpisodeDecline.as_view(), name="api_episode_decline"
    ),
    path(
        f"{EPISODE}/unable-to-reach",
        api.EpisodeUnableToReach.as_view(),
        name="api_episode_unable_to_reach",
    ),
    path(
        f"{EPISODE}/discontinue",
        api.EpisodeDiscontinue.as_view(),
        name="api_episode_discontinue",
    ),
    path(
        f"{EPISODE}/encounters",
        api.EpisodeEncounters.as_view(),
        name="api_episode_encounters",
    ),
    path(
        f"{EPISODE}/care-plan",
        plans.EpisodeCarePlan.as_view(),
        name="api_episode_care_plan",
    ),
    path(
        f"{EPISODE}/care-plans",
        plans.EpisodeCarePlanVersions.as_view(),
        name="api_episode_care_plans",
    ),
    path(PLAN, plans.CarePlanDetail.as_view(), name="api_care_plan_detail"),
    path(f"{PLAN}/agree", plans.CarePlanAgree.as_view(), name="api_care_plan_agree"),
    path(f"{PLAN}/revise", plans.CarePlanRevise.as_view(), name="api_care_plan_revise"),
    path(
        f"{EPISODE}/care-team",
        plans.EpisodeCareTeam.as_view(),
        name="api_episode_care_team",
    ),
    path(
        "care-team/<uuid:team_member_id>",
        plans.CareTeamMemberDetail.as_view(),
        name="api_care_team_member",
    ),
    path(
        f"{EPISODE}/care-conferences",
        plans.EpisodeCareConferences.as_view(),
        name="api_episode_care_conferences",
    ),
]
