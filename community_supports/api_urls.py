"""API endpoints, mounted at /api/v1/ of community_supports."""

urlpatterns: list = []
