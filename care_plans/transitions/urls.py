"""Pages of care_plans.transitions."""

urlpatterns: list = []
