"""Pages of care_plans.assessments (mounted at the root)."""

from django.urls import path

from care_plans.assessments import views

urlpatterns = [
    path(
        "members/<uuid:member_uuid>/assessments/",
        views.assessment_history,
        name="assessment_history",
    ),
    path(
        "members/<uuid:member_uuid>/assessments/start/",
        views.assessment_start_view,
        name="assessment_start",
    ),
    path(
        "assessments/<uuid:assessment_uuid>/",
        views.assessment_detail,
        name="assessment_detail",
    ),
    path(
        "assessments/<uuid:assessment_uuid>/edit/",
        views.assessment_edit,
        name="assessment_edit",
    ),
    path(
        "assessments/<uuid:assessment_uuid>/edit/refresh/",
        views.assessment_refresh,
        name="assessment_refresh",
    ),
]
