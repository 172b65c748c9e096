"""Pages of care_plans.assessments."""

urlpatterns: list = []
