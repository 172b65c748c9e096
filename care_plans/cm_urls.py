"""URL patterns of the care manager's screens (see care_plans/urls.py)."""

from django.urls import path

from care_plans import careplan_views, chart_views, cm_views

PLAN = "care-plans/<uuid:care_plan_uuid>"

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
    path(
        "members/<uuid:member_uuid>/timeline/",
        chart_views.timeline_more,
        name="chart_timeline",
    ),
    path(
        "members/<uuid:member_uuid>/care-plan/start/",
        careplan_views.careplan_start,
        name="careplan_start",
    ),
    path(f"{PLAN}/", careplan_views.careplan_detail, name="careplan_detail"),
    path(f"{PLAN}/print/", careplan_views.careplan_print, name="careplan_print"),
    path(f"{PLAN}/needs/", careplan_views.careplan_need_add, name="careplan_need_add"),
    path(f"{PLAN}/goals/", careplan_views.careplan_goal_add, name="careplan_goal_add"),
    path(
        f"{PLAN}/goals/<uuid:goal_uid>/",
        careplan_views.careplan_goal_edit,
        name="careplan_goal_edit",
    ),
    path(
        f"{PLAN}/interventions/",
        careplan_views.careplan_intervention_add,
        name="careplan_intervention_add",
    ),
    path(f"{PLAN}/remove/", careplan_views.careplan_remove, name="careplan_remove"),
    path(f"{PLAN}/agree/", careplan_views.careplan_agree, name="careplan_agree"),
    path(f"{PLAN}/revise/", careplan_views.careplan_revise, name="careplan_revise"),
    path(
        "members/<uuid:member_uuid>/care-team/",
        careplan_views.careteam_add,
        name="careteam_add",
    ),
    path(
        "care-team/<uuid:team_member_uuid>/remove/",
        careplan_views.careteam_remove,
        name="careteam_remove",
    ),
    path(
        "members/<uuid:member_uuid>/conferences/",
        careplan_views.conference_add,
        name="conference_add",
    ),
]
