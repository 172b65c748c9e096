"""Pages of community_supports."""

urlpatterns: list = []
