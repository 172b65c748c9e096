"""Pages of referrals."""

urlpatterns: list = []
