"""The ECM provider API, mounted at /api/v1/ (see care_plans/api.py)."""

from django.urls import path

from care_plans.api import views as api

EPISODE = "episodes/<uuid:episode_id>"

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
]
