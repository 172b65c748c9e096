"""API endpoints, mounted at /api/v1/ of referrals."""

urlpatterns: list = []
