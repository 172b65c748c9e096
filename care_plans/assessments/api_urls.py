"""API endpoints, mounted at /api/v1/ of care_plans.assessments."""

from django.urls import path

from care_plans.assessments import api

urlpatterns = [
    path(
        "members/<uuid:member_id>/assessments",
        api.MemberAssessments.as_view(),
        name="api_member_assessments",
    ),
    path(
        "assessments/<uuid:assessment_id>",
        api.AssessmentDetail.as_view(),
        name="api_assessment_detail",
    ),
    path(
        "assessments/<uuid:assessment_id>/complete",
        api.AssessmentComplete.as_view(),
        name="api_assessment_complete",
    ),
    path(
        "assessment-templates",
        api.AssessmentTemplates.as_view(),
        name="api_assessment_templates",
    ),
]
