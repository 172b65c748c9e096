"""API endpoints, mounted at /api/v1/ of care_plans.hl7."""

from django.urls import path

from care_plans.hl7 import api

urlpatterns = [
    path("hl7/adt", api.AdtIntake.as_view(), name="api_hl7_adt"),
]
