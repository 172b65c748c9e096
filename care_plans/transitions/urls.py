"""Pages of care_plans.transitions, under /transitions/."""

from django.urls import path

from care_plans.transitions import views

urlpatterns = [
    path("transitions/alerts/", views.alert_inbox, name="transition_alerts"),
    path(
        "transitions/alerts/<uuid:alert_uuid>/acknowledge/",
        views.alert_acknowledge,
        name="transition_alert_acknowledge",
    ),
    path("transitions/queue/", views.plan_queue, name="transition_queue"),
    path("transitions/unmatched/", views.unmatched_list, name="transition_unmatched"),
    path(
        "transitions/unmatched/<uuid:message_uuid>/",
        views.unmatched_detail,
        name="transition_unmatched_detail",
    ),
    path(
        "transitions/unmatched/<uuid:message_uuid>/link/",
        views.unmatched_link,
        name="transition_unmatched_link",
    ),
    path(
        "transitions/unmatched/<uuid:message_uuid>/dismiss/",
        views.unmatched_dismiss,
        name="transition_unmatched_dismiss",
    ),
]
