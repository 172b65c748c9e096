"""The plan administrator's ECM screens (mounted under /ecm/ by care_plans/urls.py)."""

from django.urls import path

from care_plans import plan_views

urlpatterns = [
    path("identify/<uuid:member_uuid>/", plan_views.identify, name="ecm_identify"),
    path(
        "authorizations/",
        plan_views.authorization_queue,
        name="ecm_authorization_queue",
    ),
    path(
        "episodes/<uuid:episode_uuid>/authorize/",
        plan_views.authorize,
        name="ecm_authorize",
    ),
    path("episodes/<uuid:episode_uuid>/deny/", plan_views.deny, name="ecm_deny"),
    path("episodes/<uuid:episode_uuid>/assign/", plan_views.assign, name="ecm_assign"),
    path("assignments/", plan_views.assignment_queue, name="ecm_assignment_queue"),
    path("notices/<uuid:notice_uuid>/", plan_views.notice, name="ecm_notice"),
    path(
        "notices/<uuid:notice_uuid>/sent/",
        plan_views.notice_sent,
        name="ecm_notice_sent",
    ),
]
