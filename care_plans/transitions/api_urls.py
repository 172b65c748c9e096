"""API endpoints, mounted at /api/v1/ of care_plans.transitions."""

urlpatterns: list = []
