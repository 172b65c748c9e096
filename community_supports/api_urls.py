"""API endpoints, mounted at /api/v1/ of community_supports."""

from django.urls import path

from community_supports import api

urlpatterns = [
    path(
        "community-supports",
        api.CommunitySupportList.as_view(),
        name="api_community_supports",
    ),
]
