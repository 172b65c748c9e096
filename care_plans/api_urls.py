"""URL patterns (see care_plans/urls.py)."""

urlpatterns = []
