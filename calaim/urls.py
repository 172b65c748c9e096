"""Root URLs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from calaim.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("health/", web_views.health, name="health"),
    path("accounts/login/", web_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("session/keepalive/", web_views.session_keepalive, name="session_keepalive"),
    path("audit/", include("calaim.audit.urls")),
    path("api/", include("calaim.api.urls")),
    path("api/v1/", include("members.api_urls")),
    path("api/v1/", include("care_plans.api_urls")),
    path("api/v1/", include("care_plans.assessments.api_urls")),
    path("api/v1/", include("care_plans.hl7.api_urls")),
    path("api/v1/", include("care_plans.transitions.api_urls")),
    path("api/v1/", include("community_supports.api_urls")),
    path("api/v1/", include("referrals.api_urls")),
    path("o/", include("calaim.api.oauth_urls")),
    path("notifications/", include("calaim.notifications.urls")),
    path("tasks/", include("calaim.work.urls")),
    path("links/", include("calaim.links.urls")),
    path("members/", include("members.urls")),
    path("ecm/", include("care_plans.urls")),
    # These choose their own paths under the root.
    path("", include("care_plans.assessments.urls")),
    path("", include("care_plans.hl7.urls")),
    path("", include("care_plans.transitions.urls")),
    path("", include("community_supports.urls")),
    path("", include("referrals.urls")),
    path("admin/", admin.site.urls),
]

# Under /api/ these answer in the API's error shape; elsewhere Django's pages.
handler404 = "calaim.api.views.page_not_found"
handler500 = "calaim.api.views.server_error"
