"""ECM pages under /ecm/: the plan's screens and the care manager's."""

from care_plans import cm_urls, plan_urls

urlpatterns = [*plan_urls.urlpatterns, *cm_urls.urlpatterns]
