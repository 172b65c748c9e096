"""API endpoints, mounted at /api/v1/ of care_plans.assessments."""

urlpatterns: list = []
