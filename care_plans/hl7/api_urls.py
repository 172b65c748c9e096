"""API endpoints, mounted at /api/v1/ of care_plans.hl7."""

urlpatterns: list = []
