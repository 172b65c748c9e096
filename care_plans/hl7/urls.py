"""Pages of care_plans.hl7."""

urlpatterns: list = []
