"""URL patterns of the care manager's screens (see care_plans/urls.py)."""

from django.urls import path

from care_plans import cm_views

urlpatterns = [
    path("caseload/", cm_views.caseload, name="ecm_caseload"),
    path(
        "episodes/<uuid:episode_uuid>/outreach/",
        cm_views.episode_outreach,
        name="ecm_outreach",
    ),
    path(
        "episodes/<uuid:episode_uuid>/enroll/",
        cm_views.episode_enroll_view,
        name="ecm_enroll",
    ),
    path(
        "episodes/<uuid:episode_uuid>/decline/",
        cm_views.episode_decline_view,
        name="ecm_decline",
    ),
    path(
        "episodes/<uuid:episode_uuid>/unable-to-reach/",
        cm_views.episode_unable_to_reach_view,
        name="ecm_unable_to_reach",
    ),
    path(
        "episodes/<uuid:episode_uuid>/encounters/",
        cm_views.episode_encounter,
        name="ecm_encounter",
    ),
    path(
        "episodes/<uuid:episode_uuid>/discontinue/",
        cm_views.episode_discontinue_view,
        name="ecm_discontinue",
    ),
    path(
        "episodes/<uuid:episode_uuid>/reassign/",
        cm_views.episode_reassign,
        name="ecm_reassign",
    ),
    path(
        "episodes/<uuid:episode_uuid>/cover/",
        cm_views.episode_cover,
        name="ecm_cover",
    ),
]
